"""Protocols as a family (registry contract) plus each established model through the whole pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.protocols import PROTOCOLS, Protocol, get_protocol
from sim.rules import theory

from .conftest import scenario_path

FIX = Path(__file__).resolve().parent / "fixtures"
DATASETS = {
    "bdm": FIX / "bdm-eu-emissions" / "input.csv",
    "smp": FIX / "ktab-smp-dummy" / "input.csv",
    "decide": FIX / "exchange-small" / "input_sample_toll.tsv",
}


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _import(tmp_path, fmt, capsys):
    out = tmp_path / f"{fmt}.yaml"
    code, stdout, err = _run(["import", DATASETS[fmt], "-o", out], capsys)
    assert code == 0, err
    return out


def test_registry_contract():
    assert set(PROTOCOLS) == {"mediated_single_text", "compromise", "bdm", "smp", "exchange"}
    for name, cls in PROTOCOLS.items():
        assert issubclass(cls, Protocol) and cls.name == name
        assert {"stochastic", "multi_issue", "moves_positions", "yields_agreement"} <= set(cls.traits)
        assert isinstance(get_protocol(name), cls)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_runs_the_war_layer_deterministically(name):
    s = sim.load(scenario_path("reassurance_backstop"), overrides={"negotiation.protocol": f"{{name: {name}}}"})
    a = sim.run(s, replicates=60, seed=3, weeks=20)
    b = sim.run(s, replicates=60, seed=3, weeks=20)
    assert a.summary == b.summary
    assert sum(a.summary["outcome_shares"].values()) == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= a.summary["forecast"]["mean"]["security_guarantee"] <= 4.0
    pos = a.records["positions"][..., 1:]
    assert np.all(np.isfinite(pos))


@pytest.mark.parametrize("fmt", sorted(DATASETS))
def test_import_round_trips_through_validate(tmp_path, capsys, fmt):
    out = _import(tmp_path, fmt, capsys)
    code, stdout, err = _run(["validate", "--strict", out], capsys)
    assert code == 0, err
    s = sim.load(out)
    assert s.spec.war is None and len(s.spec.actors) >= 2
    code, _, err = _run(["import", DATASETS[fmt], "-o", out], capsys)
    assert code != 0 and "--force" in err  # never overwrites silently


def test_import_keeps_decide_labels_and_bdm_metadata(tmp_path, capsys):
    tsv = tmp_path / "labelled.tsv"
    tsv.write_text(
        "#A\ta\tActor A\n#A\tb\tActor B\n#P\ttoll\tToll level\tHow high the toll is\n"
        "#M\ttoll\t0\tNo toll\n#M\ttoll\t50\tModerate toll\n#M\ttoll\t100\tHigh toll\n"
        "#D\ta\ttoll\t20\t0.5\t1\n#D\tb\ttoll\t80\t0.7\t0.5\n"
    )
    out = tmp_path / "labelled.yaml"
    code, _, err = _run(["import", tsv, "-o", out, "--format", "decide"], capsys)
    assert code == 0, err
    s = sim.load(out)
    assert s.spec.issues["toll"].points == {0.0: "No toll", 50.0: "Moderate toll", 100.0: "High toll"}
    assert s.spec.issues["toll"].label == "Toll level"
    assert s.spec.actors["a"].name == "Actor A" and s.spec.actors["b"].capability == 0.5
    bdm = tmp_path / "bdm_extra.csv"
    bdm.write_text("salience,POSITION,actor,Capability,Region\n80,4,A,0.1,North\n40,7,B,0.2,South\n")
    out = tmp_path / "bdm_extra.yaml"
    assert _run(["import", bdm, "-o", out], capsys)[0] == 0
    s = sim.load(out)
    assert s.spec.actors["a"].metadata == {"Region": "North"}
    assert s.spec.actors["a"].positions["issue"].salience == 0.8  # 0-100 saliences rescaled
    assert s.spec.actors["b"].capability == 1.0 and s.spec.actors["a"].capability == 0.5


def test_bdm_protocol_reproduces_the_reference_through_the_pipeline(tmp_path, capsys):
    """negsim import + run --protocol bdm (scholz2011): all 10 rounds at 1e-9."""
    scen = _import(tmp_path, "bdm", capsys)
    out = tmp_path / "run"
    code, stdout, err = _run(
        ["run", scen, "--protocol", "bdm", "--set", "negotiation.protocol.variant=scholz2011", "--out", out], capsys
    )
    assert code == 0, err
    assert "Forecast for" in stdout and "median" in stdout and "round" in stdout
    got = {}
    for row in csv.DictReader((out / "positions.csv").read_text().splitlines()):
        got[(int(row["step"]), row["actor"])] = float(row["position"])
    names = {a.name: k for k, a in sim.load(scen).spec.actors.items()}
    n = 0
    for row in csv.DictReader((FIX / "bdm-eu-emissions" / "expected.csv").read_text().splitlines()):
        key = (int(row["round"]), names[row["actor"]])
        assert got[key] == pytest.approx(float(row["position_after_round"]), abs=1e-9), key
        n += 1
    assert n == 110
    summary = json.loads((out / "summary.json").read_text())
    assert summary["forecast_by_round"]["median"][0]["issue"] == 7.0
    assert summary["forecast_by_round"]["mean"][0]["issue"] == pytest.approx(5003 / 677, abs=1e-6)
    assert (out / "quad_map.png").is_file() and (out / "rounds.png").is_file()


def test_compromise_forecast_is_the_weighted_mean_and_median(tmp_path, capsys):
    scen = _import(tmp_path, "bdm", capsys)
    r = sim.run(sim.load(scen, overrides={"negotiation.protocol": "{name: compromise}"}), weeks=2)
    rows = list(csv.DictReader((FIX / "bdm-eu-emissions" / "input.csv").read_text().splitlines()))
    x = [float(r_["Position"]) for r_ in rows]
    w = [float(r_["Capability"]) * float(r_["Salience"]) for r_ in rows]
    assert r.summary["forecast"]["mean"]["issue"] == pytest.approx(theory.weighted_mean(x, w), abs=1e-6)
    assert r.summary["forecast"]["median"]["issue"] == theory.weighted_median(x, w) == 7


def test_smp_protocol_through_the_pipeline(tmp_path, capsys):
    scen = _import(tmp_path, "smp", capsys)
    out = tmp_path / "run"
    code, stdout, err = _run(["run", scen, "--out", out], capsys)
    assert code == 0, err
    assert (out / "win_probability.png").is_file()
    s = json.loads((out / "summary.json").read_text())
    assert s["protocol"] == "smp" and set(s["forecast"]) == {"mode", "mean"}
    for vals in s["forecast"].values():
        assert all(0 <= v <= 100 for v in vals.values())


def test_exchange_protocol_round_zero_outcome_is_exact(tmp_path, capsys):
    scen = _import(tmp_path, "decide", capsys)
    r = sim.run(sim.load(scen), weeks=1)
    first = r.summary["forecast_by_round"]["mean"][0]
    assert first["tolheffing_binnenstad"] == pytest.approx(9920 / 201, abs=1e-6)


def test_unknown_protocol_and_bad_params(tmp_path):
    with pytest.raises(sim.ScenarioError, match="unknown protocol") as info:
        sim.load(scenario_path("baseline"), overrides={"negotiation.protocol.name": "bdmm"})
    assert "bdm" in info.value.allowed
    with pytest.raises(sim.ScenarioError, match="variant"):
        sim.load(scenario_path("baseline"), overrides={"negotiation.protocol": "{name: bdm, variant: x}"})
    with pytest.raises(sim.ScenarioError, match="unknown key 'foo'"):
        sim.load(scenario_path("baseline"), overrides={"negotiation.protocol": "{name: smp, foo: 1}"})


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_each_declared_trait_holds(tmp_path, capsys, name):
    """The registry's traits are claims: each is checked on an imported talks-only scenario."""
    cls = PROTOCOLS[name]
    s = sim.load(_import(tmp_path, "smp", capsys), overrides={"negotiation.protocol": f"{{name: {name}}}"})
    a, b = (sim.run(s, replicates=4, seed=seed, weeks=6) for seed in (1, 2))
    same = a.summary["forecast_by_round"] == b.summary["forecast_by_round"]
    if cls.traits["stochastic"] is False:
        assert same and np.array_equal(a.records["positions"], b.records["positions"])
    pos = a.records["positions"]
    if cls.traits["moves_positions"] is True:
        assert not np.allclose(pos[-1], pos[0]), f"{name} declares moves_positions but positions never moved"
    if cls.traits["multi_issue"] is True:
        assert len(a.issues) > 1 and all(v is not None for v in a.summary["forecast"]["mean"].values())
