"""Every number traceable: sources, claim ids, explain, validate --strict, the editor schema."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import sim
from sim.cli import main
from sim.scenario import json_schema, provenance

from .conftest import BUNDLED, ROOT, SCENARIOS, scenario_path

ALL_SCENARIOS = sorted(SCENARIOS.glob("*.yaml"))


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", ALL_SCENARIOS, ids=lambda p: p.stem)
def test_every_parameter_has_a_source_or_assumption(path):
    prov = provenance.check(sim.load(path))
    assert prov.errors == []
    assert prov.warnings() == []
    written = [e for e in prov.entries if e.source is not provenance.DEFAULT]
    assert len(written) > 80
    assert all(e.source is not None for e in prov.entries)
    # the claims cited exist in the digest, with their quotes
    for e in written:
        for cid in e.source.claims:
            assert prov.claims[cid].quote


def test_key_parameters_cite_the_article():
    prov = provenance.check(sim.load(scenario_path("baseline")))
    by_path = {e.path: e.source for e in prov.entries}
    assert "trump_rejects_nato_entry" in by_path["actors.us.positions.security_guarantee.ideal"].claims
    assert "trump_rejects_nato_entry" in by_path["actors.us.red_lines.security_guarantee.max"].claims
    assert "starmer_us_backstop" in by_path["actors.uk_europe.red_lines.security_guarantee.exclude"].claims
    assert "hardie_another_conflict_likely" in by_path["actors.russia.revisionism"].claims
    assert "zelenskyy_no_guarantees_no_ceasefire" in by_path["actors.ukraine.red_lines.security_guarantee.min"].claims
    assert by_path["actors.ukraine.capability"].assumption


def test_child_scenarios_source_what_they_change():
    prov = provenance.check(sim.load(scenario_path("nato_entry")))
    src = {e.path: e.source for e in prov.entries}["actors.us.positions.security_guarantee.ideal"]
    assert src.file.endswith("nato_entry.yaml") and "reversed" in src.note


def test_validate_strict_passes_on_bundled(capsys):
    code, out, err = _run(["validate", "--strict", *ALL_SCENARIOS], capsys)
    assert code == 0, err
    assert sum(line.startswith("ok ") for line in out.splitlines()) == len(ALL_SCENARIOS)
    assert "traced to claims" in out


def _copy(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _baseline_with(tmp_path: Path, old: str, new: str) -> Path:
    text = scenario_path("baseline").read_text()
    assert old in text, old
    return _copy(tmp_path, text.replace(old, new, 1))


def test_claim_id_typo_is_an_error_with_a_suggestion(tmp_path, capsys):
    p = _baseline_with(
        tmp_path, "revisionism: [hardie_another_conflict_likely,", "revisionism: [hardie_another_conflict_likly,"
    )
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(p)
    e = info.value
    assert "unknown claim id 'hardie_another_conflict_likly'" in e.message
    assert e.file == str(p) and e.line is not None
    assert e.path == "actors.russia.sources.revisionism"
    assert "hardie_another_conflict_likely" in e.allowed
    code, _, err = _run(["validate", p], capsys)
    assert code != 0 and "unknown claim id" in err and f"{p}:" in err


def test_source_for_a_non_parameter_is_an_error(tmp_path):
    p = _baseline_with(tmp_path, '      capability: {assume: "UK and', '      capabilty: {assume: "UK and')
    with pytest.raises(sim.ScenarioError, match="not a parameter") as info:
        sim.load(p)
    assert "capability" in info.value.allowed


def test_malformed_source_entry(tmp_path):
    p = _baseline_with(tmp_path, '      resolve: {assume: "moderate cost tolerance"}', "      resolve: {asume: x}")
    with pytest.raises(sim.ScenarioError, match="a source must be"):
        sim.load(p)


def test_unsourced_parameter_warns_and_strict_fails(tmp_path, capsys):
    p = _baseline_with(tmp_path, '      resolve: {assume: "moderate cost tolerance"}\n', "")
    prov = provenance.check(sim.load(p))
    assert [e.path for e in prov.unsourced] == ["actors.uk_europe.resolve"]
    code, out, err = _run(["validate", p], capsys)
    assert code == 0 and "warning: actors.uk_europe.resolve: no source" in err
    code, out, err = _run(["validate", "--strict", p], capsys)
    assert code != 0 and "actors.uk_europe.resolve" in err


def test_override_without_new_source_is_flagged(tmp_path, capsys):
    (tmp_path / "baseline.yaml").write_text(scenario_path("baseline").read_text())
    child = _copy(
        tmp_path,
        "schema_version: 1\nextends: baseline.yaml\nname: child\nactors:\n  us:\n    resolve: 0.9\n",
        "child.yaml",
    )
    prov = provenance.check(sim.load(child))
    assert any(e.path == "actors.us.resolve" for e, _ in prov.stale)
    code, _, err = _run(["validate", "--strict", child], capsys)
    assert code != 0 and "actors.us.resolve: value set in" in err


def test_digest_problems(tmp_path):
    text = (ROOT / "seeds" / "article-2025-02-27.yaml").read_text()
    long_quote = " ".join(["word"] * 26)
    bad = text.replace('quote: "I want to find a NATO path or something similar."', f'quote: "{long_quote}"', 1)
    assert bad != text
    p = tmp_path / "digest.yaml"
    p.write_text(bad)
    with pytest.raises(sim.ScenarioError) as info:
        provenance.load_digest(p)
    assert "26 words" in info.value.message and info.value.path == "claims.0.quote" and info.value.line
    dup = text.replace("- id: zelenskyy_step_down_for_nato", "- id: zelenskyy_nato_path", 1)
    p.write_text(dup)
    with pytest.raises(sim.ScenarioError, match="duplicate claim id"):
        provenance.load_digest(p)
    p.write_text(text.replace("seed: 1", "seed: 1\nseed: 2", 1) + "\nclaims: []\n")
    with pytest.raises(sim.ScenarioError, match="duplicate key"):
        provenance.load_digest(p)


def test_missing_digest_is_a_clear_error(tmp_path):
    p = _baseline_with(tmp_path, "seeds: [../seeds/article-2025-02-27.yaml]", "seeds: [../seeds/nope.yaml]")
    with pytest.raises(sim.ScenarioError, match="file not found"):
        sim.load(p)


@pytest.mark.parametrize("fmt", ["text", "md", "csv"])
def test_explain_shows_every_parameter(capsys, fmt):
    code, out, err = _run(["explain", scenario_path("reassurance_backstop"), "--format", fmt], capsys)
    assert code == 0, err
    prov = provenance.check(sim.load(scenario_path("reassurance_backstop")))
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == len(prov.entries)
        assert {r["kind"] for r in rows} <= {"claim", "assumption", "default"}
        assert all(r["source"] for r in rows)
        us_sal = next(
            r for r in rows if r["group"] == "us" and r["parameter"] == "positions.security_guarantee.salience"
        )
        assert "could forget about" in us_sal["source"] and us_sal["speaker"] == "Donald Trump"
    elif fmt == "md":
        assert out.startswith("# Reassurance force with a US backstop")
        assert "## United States" in out and "| `resolve` | 0.3 |" in out
    else:
        assert "United States" in out and "0 without a source" in out
        assert "[starmer_us_backstop] Keir Starmer" in out


def test_schema_is_generated_and_committed_copy_is_current(capsys):
    code, out, _ = _run(["schema"], capsys)
    assert code == 0
    emitted = json.loads(out)
    assert emitted == json_schema()
    committed = json.loads((SCENARIOS / "scenario.schema.json").read_text())
    assert committed == emitted, "run `negsim schema -o scenarios/scenario.schema.json`"
    jsonschema.Draft202012Validator.check_schema(emitted)


def _as_json(data):
    return json.loads(json.dumps(data, default=str))


@pytest.mark.parametrize("path", ALL_SCENARIOS, ids=lambda p: p.stem)
def test_schema_validates_every_bundled_file(path):
    schema = json_schema()
    text = path.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=scenario.schema.json"
    jsonschema.validate(_as_json(yaml.safe_load(text)), schema, cls=jsonschema.Draft202012Validator)
    merged = sim.load(path).raw
    merged = {k: v for k, v in merged.items() if k != "extends"}
    jsonschema.validate(_as_json(merged), schema, cls=jsonschema.Draft202012Validator)


def test_schema_catches_what_the_loader_catches():
    schema = json_schema()
    v = jsonschema.Draft202012Validator(schema)
    data = _as_json(yaml.safe_load(scenario_path("baseline").read_text()))
    data["actors"]["us"]["resolv"] = 0.3
    assert any("resolv" in e.message for e in v.iter_errors(data))
    data = _as_json(yaml.safe_load(scenario_path("baseline").read_text()))
    data["actors"]["us"]["resolve"] = 1.7
    assert list(v.iter_errors(data))
    data["actors"]["us"]["resolve"] = {"normal": [0.5, 0.1]}
    assert not list(v.iter_errors(data))
    child = {"schema_version": 1, "extends": "baseline.yaml", "actors": {"us": {"resolve": 0.9}}}
    assert not list(v.iter_errors(child))
    child["actors"]["us"]["resolv"] = 0.9
    assert list(v.iter_errors(child))


def test_bundled_list_includes_all(capsys):
    code, out, _ = _run(["list"], capsys)
    assert code == 0
    for name in BUNDLED:
        assert f"{name}.yaml" in out


VARIANTS = [
    "aid_frozen_assets",
    "minerals_side_payment",
    "zelenskyy_steps_down",
    "european_force_large",
    "european_force_token",
]


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_run_from_the_cli(tmp_path, capsys, name):
    code, out, err = _run(["run", scenario_path(name), "-n", 300, "--no-plots", "-q", "--out", tmp_path / name], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / name / "summary.json").read_text())
    assert summary["scenario"] == name
    code, out, _ = _run(["list"], capsys)
    assert f"{name}.yaml" in out


def test_variants_move_results_the_way_their_claims_say():
    def run(n):
        return sim.run(sim.load(scenario_path(n)), replicates=2000).summary

    base, large, token = run("reassurance_backstop"), run("european_force_large"), run("european_force_token")
    assert large["ceasefire_survival_52w"] > base["ceasefire_survival_52w"] > token["ceasefire_survival_52w"]
    assert run("minerals_side_payment")["ceasefire_survival_52w"] > base["ceasefire_survival_52w"]
    aid, frozen = run("aid_only"), run("aid_frozen_assets")
    assert frozen["costs"]["us"]["spending_bn"] < 0.2 * aid["costs"]["us"]["spending_bn"]
    assert run("zelenskyy_steps_down")["p_ceasefire"] > run("nato_entry")["p_ceasefire"]
