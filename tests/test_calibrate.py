"""``negsim calibrate`` / ``sim.calibrate``: ABC-SMC fits, honesty checks, bad input, resume, backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

import sim
from sim.cli import main
from sim.experiments import backends, calibrate
from sim.experiments.calibrate import Prior, make_calibration, parse_target, run_calibration, weighted_quantile
from sim.experiments.metrics import extra_metrics

from .conftest import scenario_path

BACKSTOP = scenario_path("reassurance_backstop")
RESOLVE = "actors.russia.resolve"
CRED = "actors.us.guarantees.reassurance_backstop.credibility"
SMALL = {"replicates": 100, "weeks": 60, "particles": 12, "generations": 3, "seed": 5}


def _cal(**kw):
    args = {"fit": [f"{RESOLVE}=0.5:0.95"], "targets": ["p_ceasefire_by_52w=0.3+-0.1"], **SMALL, **kw}
    return make_calibration(BACKSTOP, **args)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cal") / "small"
    return run_calibration(_cal(), folder, backend="serial", log=lambda m: None)


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- parts


def test_target_forms():
    assert parse_target("p_ceasefire_by_60w=0±0.03") == calibrate.Target("p_ceasefire_by_60w", 0.0, 0.03)
    assert parse_target(" p_ceasefire = 0.5 +- 0.1 ") == calibrate.Target("p_ceasefire", 0.5, 0.1)
    assert parse_target("share_aid_only=0.2+/-0.05").sd == 0.05
    for bad in ("p_ceasefire=0.5", "p_ceasefire", "=1±2", "p_ceasefire=x±0.1"):
        with pytest.raises(sim.ScenarioError) as exc:
            parse_target(bad)
        assert "METRIC=VALUE±SD" in exc.value.message


def test_week_metrics_agree_with_the_summary():
    r = sim.run(BACKSTOP, replicates=500, seed=3, weeks=104)
    got = extra_metrics(r.result, ["ceasefire_survival_52w", "p_ceasefire_by_104w", "p_ceasefire_by_1w"])
    assert got["ceasefire_survival_52w"] == r.summary["ceasefire_survival_52w"]
    assert got["p_ceasefire_by_104w"] == r.summary["p_ceasefire"]
    cfw = r.outcomes["first_ceasefire_week"]
    assert got["p_ceasefire_by_1w"] == round(float(np.mean((cfw >= 0) & (cfw < 1))), 6)
    assert extra_metrics(r.result, ["ceasefire_survival_104w"])["ceasefire_survival_104w"] is None  # never followed


@pytest.mark.parametrize(
    ("kind", "args"), [("uniform", ()), ("normal", (0.7, 0.1)), ("beta", (2.0, 5.0)), ("triangular", (0.6,))]
)
def test_priors_stay_in_their_range_and_have_the_stated_shape(kind, args):
    p = Prior(kind, args, 0.5, 1.0)
    rng = np.random.default_rng(1)
    x = np.array([p.sample(rng) for _ in range(4000)])
    assert x.min() >= 0.5 and x.max() <= 1.0
    assert p.pdf(np.array([0.4, 1.1])).tolist() == [0.0, 0.0]
    grid = np.linspace(0.5, 1.0, 2001)
    dens = p.pdf(grid) / np.trapezoid(p.pdf(grid), grid)
    mean = float(np.trapezoid(grid * dens, grid))
    assert x.mean() == pytest.approx(mean, abs=0.01)  # samples follow the density the weights use


def test_weighted_quantile():
    assert weighted_quantile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0]), 0.5) == 2.0
    assert weighted_quantile(np.array([1.0, 2.0]), np.array([0.9, 0.1]), 0.5) == 1.0
    assert weighted_quantile(np.array([1.0, np.nan, 5.0]), np.array([0.5, 0.2, 0.3]), 0.95) == 5.0


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--fit", "actors.russia.resolv=0.5:0.9", "--target", "p_ceasefire=0.5+-0.1"], "actors.russia.resolve"),
        (["--fit", f"{RESOLVE}=0.9:0.5", "--target", "p_ceasefire=0.5+-0.1"], "LO must be below HI"),
        (["--fit", f"{RESOLVE}=0.5:0.9:5", "--target", "p_ceasefire=0.5+-0.1"], "takes no STEPS"),
        (["--fit", f"{RESOLVE}=0.5:0.9", "--target", "p_ceasfire=0.5+-0.1"], "p_ceasefire_by_<W>w"),
        (["--fit", f"{RESOLVE}=0.5:0.9", "--target", "p_ceasefire_by_300w=0.5+-0.1"], "horizon is 104 weeks"),
        (["--fit", f"{RESOLVE}=0.5:0.9", "--target", "p_ceasefire=0.5+-0"], "SD must be a number > 0"),
        (["--fit", f"{RESOLVE}=0.5:0.9", "--target", "p_ceasefire=0.5"], "METRIC=VALUE±SD"),
        (["--target", "p_ceasefire=0.5+-0.1"], "nothing to fit"),
        (["--fit", f"{RESOLVE}=0.5:0.9"], "no target to fit"),
        (["--fit", f"{RESOLVE}=0.5:0.9", "--target", "p_ceasefire=0.5+-0.1", "--particles", "0"], "at least 1"),
    ],
)
def test_bad_input_is_one_line_with_what_is_allowed(tmp_path, capsys, args, expect):
    code, out, err = _run(["calibrate", BACKSTOP, *args, "--out", tmp_path / "x"], capsys)
    assert code == 1 and expect in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x").exists()  # nothing written before the checks pass


def test_targets_file_errors_name_file_and_line(tmp_path, capsys):
    f = tmp_path / "targets.yaml"
    f.write_text(
        f"scenario: {BACKSTOP}\nfit:\n  {RESOLVE}: {{bounds: [0.5, 0.9], prior: {{normal: [0.7, -1]}}}}\n"
        "targets:\n  p_ceasefire: {value: 0.5, sd: 0.1}\n"
    )
    code, _, err = _run(["calibrate", "--targets", f], capsys)
    assert code == 1 and f"{f}:3" in err and "sd must be > 0" in err
    head = f"scenario: {BACKSTOP}\nfit:\n  {RESOLVE}: [0.5, 0.9]\n"
    f.write_text(
        f"scenario: {BACKSTOP}\nfit:\n  {RESOLVE}: [0.5, 0.9]\ntargets:\n  p_ceasefire: {{value: 0.5, sd: -1}}\n"
    )
    code, _, err = _run(["calibrate", "--targets", f], capsys)
    assert code == 1 and f"{f}:5" in err and "targets.p_ceasefire.sd" in err
    f.write_text(head + "targetz: {}\n")
    code, _, err = _run(["calibrate", "--targets", f], capsys)
    assert code == 1 and f"{f}:4" in err and "targetz" in err


def test_talks_only_scenarios_are_refused(tmp_path, capsys):
    smp = sim.import_file(Path(__file__).parent / "fixtures" / "ktab-smp-dummy" / "input.csv", tmp_path / "s.yaml")
    with pytest.raises(sim.ScenarioError, match="with a war"):
        make_calibration(smp, fit=["actors.hlj.capability=1:50"], targets=["p_ceasefire=0.5+-0.1"])


# ----------------------------------------------------------------------------- results and honesty


def test_folder_files_and_tables(small):
    folder = small.folder
    assert set(small.files) == {
        "calibration.json",
        "particles.jsonl",
        "posterior.csv",
        "targets.csv",
        "generations.csv",
        "posterior.yaml",
        "posterior.png",
        "predictive.png",
        "manifest.json",
    }
    assert all((folder / f).is_file() for f in small.files)
    post = small.posterior
    assert list(post.columns) == ["particle", "weight", RESOLVE, "distance", "p_ceasefire_by_52w"]
    assert len(post) == 12 and post["weight"].sum() == pytest.approx(1.0)
    assert post[RESOLVE].between(0.5, 0.95).all()
    gens = small.generations
    assert list(gens["generation"]) == list(range(len(gens))) and np.all(np.diff(gens["epsilon"][1:]) <= 0)
    assert (post["distance"] <= gens["epsilon"].iloc[-1]).all()  # every particle within the final tolerance
    t = small.targets.iloc[0]
    assert t["target"] == "p_ceasefire_by_52w" and t["observed"] == 0.3 and t["reached"]
    assert t["posterior_q05"] <= t["posterior_median"] <= t["posterior_q95"]
    assert isinstance(small.plot.posterior(), Figure) and isinstance(small.plot.predictive(), Figure)


def test_posterior_yaml_is_a_scenario_whose_sources_cite_the_fit(small, capsys):
    loaded = small.to_scenario()
    v = loaded.spec.actors["russia"].resolve
    assert v.kind == "normal"
    w = small.posterior["weight"].to_numpy()
    assert v.args[0] == pytest.approx(float(w @ small.posterior[RESOLVE].to_numpy()), rel=1e-5)
    code, out, err = _run(["explain", small.folder / "posterior.yaml"], capsys)
    assert code == 0 and "fitted: negsim calibrate" in out and "p_ceasefire_by_52w=0.3±0.1" in out
    assert "1 fitted to data" in out
    rows = sim.sources(loaded).set_index("path")
    assert rows.loc[RESOLVE, "kind"] == "fitted"
    assert sim.run(loaded, replicates=50, weeks=20).summary["replicates"] == 50


def test_verify_checks_a_calibration_folder(small, tmp_path, capsys):
    code, out, _ = _run(["verify", small.folder], capsys)
    assert code == 0 and "complete calibration folder" in out
    copy = tmp_path / "c"
    shutil.copytree(small.folder, copy)
    (copy / "posterior.csv").write_text("particle,weight\n0,1\n")
    code, out, _ = _run(["verify", copy], capsys)
    assert code == 1 and any(line.startswith("MODIFIED") and "posterior.csv" in line for line in out.splitlines())


def test_parameter_recovery(tmp_path):
    """Outcomes simulated at known values are recovered inside the posterior's 90% interval."""
    truth = {RESOLVE: 0.72, CRED: 0.8}
    obs = sim.run(BACKSTOP, replicates=4000, seed=99, weeks=80, set=truth)
    p52 = extra_metrics(obs.result, ["p_ceasefire_by_52w"])["p_ceasefire_by_52w"]
    s26 = extra_metrics(obs.result, ["ceasefire_survival_26w"])["ceasefire_survival_26w"]
    res = sim.calibrate(
        BACKSTOP,
        fit={RESOLVE: (0.5, 0.95), CRED: (0.0, 1.0)},
        targets={"p_ceasefire_by_52w": (p52, 0.04), "ceasefire_survival_26w": (s26, 0.04)},
        replicates=300,
        weeks=80,
        particles=40,
        generations=4,
        seed=2,
        out=tmp_path / "rec",
        backend="pool",
        plots=False,
    )
    w = res.posterior["weight"].to_numpy()
    for name, value in truth.items():
        x = res.posterior[name].to_numpy()
        lo, hi = weighted_quantile(x, w, 0.05), weighted_quantile(x, w, 0.95)
        assert lo <= value <= hi, (name, lo, value, hi)
    x = res.posterior[RESOLVE].to_numpy()
    assert weighted_quantile(x, w, 0.95) - weighted_quantile(x, w, 0.05) < 0.2  # resolve is identified (prior 0.45)
    assert res.targets["reached"].all() and not [n for n in res.notes if "not reached" in n]


def test_a_target_the_model_cannot_reach_is_reported_not_fitted(tmp_path):
    res = run_calibration(
        _cal(targets=["p_ceasefire_by_8w=0.9+-0.01"], generations=2), tmp_path / "u", backend="serial", plots=False
    )
    row = res.targets.iloc[0]
    assert not row["reached"] and row["posterior_q95"] < 0.5
    assert any("not reached" in n and "p_ceasefire_by_8w" in n for n in res.notes)
    assert "not reached" in json.loads((tmp_path / "u" / "manifest.json").read_text())["notes"][0]


def test_a_parameter_piling_up_at_a_bound_is_warned_about(tmp_path):
    res = run_calibration(
        # the target wants resolve near 0.74, above the range
        _cal(fit=[f"{RESOLVE}=0.5:0.65"], targets=["p_ceasefire_by_52w=0.3+-0.05"], particles=20, generations=5),
        tmp_path / "b",
        backend="serial",
        plots=False,
    )
    assert any(f"{RESOLVE} piles up at its upper bound" in n for n in res.notes), res.notes


# ----------------------------------------------------------------------------- determinism, resume, backends


def test_same_posterior_in_process_in_the_pool_and_on_dask(small, tmp_path):
    pytest.importorskip("dask.distributed")
    want = (small.folder / "posterior.csv").read_bytes()
    for backend in ("pool", "dask"):
        res = run_calibration(_cal(), tmp_path / backend, backend=backend, plots=False, log=lambda m: None)
        assert (res.folder / "posterior.csv").read_bytes() == want, backend
        assert (res.folder / "targets.csv").read_bytes() == (small.folder / "targets.csv").read_bytes()


def test_a_killed_calibration_resumes_to_the_same_posterior(small, tmp_path):
    copy = tmp_path / "k"
    shutil.copytree(small.folder, copy)
    lines = (copy / "particles.jsonl").read_bytes().splitlines(keepends=True)
    keep = len(lines) // 2
    (copy / "particles.jsonl").write_bytes(b"".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2])
    for f in ("posterior.csv", "targets.csv", "manifest.json"):
        (copy / f).unlink()
    res = run_calibration(_cal(), copy, backend="serial", plots=False)
    assert res.ran == len(lines) - keep
    for f in ("posterior.csv", "targets.csv", "generations.csv"):
        assert (copy / f).read_bytes() == (small.folder / f).read_bytes(), f


def test_ctrl_c_saves_finished_candidates_and_says_how_to_resume(small, tmp_path, monkeypatch, capsys):
    real = backends.BACKENDS["serial"]

    def dies(*args, **kw):
        for k, item in enumerate(real(*args, **kw)):
            if k == 7:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setitem(backends.BACKENDS, "serial", dies)
    out = tmp_path / "i"
    args = ["calibrate", BACKSTOP, "--fit", f"{RESOLVE}=0.5:0.95", "--target", "p_ceasefire_by_52w=0.3+-0.1"]
    args += ["-n", 100, "--weeks", 60, "--particles", 12, "--generations", 3, "--seed", 5, "--backend", "serial"]
    code, _, err = _run([*args, "--out", out, "-q"], capsys)
    assert code == 130 and "Re-run the same command to resume" in err
    assert len((out / "particles.jsonl").read_bytes().splitlines()) == 7
    monkeypatch.setitem(backends.BACKENDS, "serial", real)
    code, stdout, _ = _run([*args, "--out", out, "-q", "--no-plots"], capsys)
    assert code == 0 and "NOT REACHED" not in stdout
    assert (out / "posterior.csv").read_bytes() == (small.folder / "posterior.csv").read_bytes()


def test_a_folder_of_another_calibration_is_refused(small, capsys):
    code, _, err = _run(
        [
            "calibrate",
            BACKSTOP,
            "--fit",
            f"{RESOLVE}=0.5:0.9",
            "--target",
            "p_ceasefire=0.5+-0.1",
            "--out",
            small.folder,
        ],
        capsys,
    )
    assert code == 1 and "holds another calibration" in err
