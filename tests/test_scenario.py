"""Scenario loading: bundled files, extends, overrides, and clear errors for bad input."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

import sim
from sim.scenario import OUTCOME_CLASSES
from sim.scenario.params import Dist

from .conftest import BUNDLED, ROOT, SCENARIOS, scenario_path


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenarios_load(name):
    s = sim.load(scenario_path(name))
    assert s.name == name
    assert s.spec.schema_version == 1
    assert s.spec.description
    assert set(s.spec.actors) == {"ukraine", "us", "russia", "uk_europe"}
    assert {
        "security_guarantee",
        "aid_level",
        "aid_financing",
        "territory",
        "minerals_deal",
    } <= set(s.spec.issues)
    sg = s.spec.issues["security_guarantee"]
    assert sorted(sg.points) == [0, 1, 2, 3, 4]
    assert set(s.spec.outcomes.classes.values()) == set(OUTCOME_CLASSES)


@pytest.mark.parametrize(
    ("name", "value"),
    [("nato_entry", 4), ("reassurance_backstop", 3), ("reassurance_only", 2), ("aid_only", 1)],
)
def test_arrangement_scenarios_fix_the_arrangement_and_extend_baseline(name, value):
    s = sim.load(scenario_path(name))
    assert s.spec.negotiation.fixed == {"security_guarantee": value}
    assert s.spec.extends == "baseline.yaml"
    files = [Path(f).name for f, _ in s.files]
    assert files == [f"{name}.yaml", "baseline.yaml"]
    # everything not overridden comes from the baseline
    base = sim.load(scenario_path("baseline"))
    assert s.spec.actors["russia"] == base.spec.actors["russia"]
    assert s.spec.war == base.spec.war


def test_every_bundled_file_is_commented_and_short():
    """Children only write what differs; every file explains itself."""
    for f in SCENARIOS.glob("*.yaml"):
        text = f.read_text()
        assert text.startswith("#"), f
        assert "schema_version: 1" in text
        if f.stem != "baseline":
            assert len(text.splitlines()) < 40, f"{f} repeats the baseline"


def test_distributions_parse():
    s = sim.load(scenario_path("baseline"))
    r = s.spec.actors["russia"].resolve
    assert isinstance(r, Dist) and r.kind == "triangular" and r.args == (0.6, 0.8, 0.95)
    assert r.mean == pytest.approx((0.6 + 0.8 + 0.95) / 3)


def test_set_overrides_and_types():
    s = sim.load(scenario_path("baseline"), overrides={"actors.us.resolve": "0.7", "settings.weeks": 10})
    assert s.spec.actors["us"].resolve == 0.7
    assert s.spec.settings.weeks == 10
    s2 = s.with_overrides({"actors.russia.revisionism": "{uniform: [0, 0.2]}"})
    assert isinstance(s2.spec.actors["russia"].revisionism, Dist)
    assert s2.spec.actors["us"].resolve == 0.7


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    """Write a scenario where its ``seeds:`` path (../seeds/...) resolves, as in the repo."""
    seeds = tmp_path.parent / "seeds"
    if not seeds.exists():
        shutil.copytree(ROOT / "seeds", seeds)
    p = tmp_path / name
    p.write_text(text)
    return p


def _mutate(tmp_path: Path, old: str, new: str) -> Path:
    text = scenario_path("baseline").read_text()
    assert old in text, old
    return _write(tmp_path, text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def _err(path: Path, **kw) -> sim.ScenarioError:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(path, **kw)
    return info.value


def test_malformed_yaml_names_file_and_line(tmp_path):
    p = _mutate(tmp_path, "    name: Russia\n", "    name: Russia\n   bad: [unclosed\n")
    e = _err(p)
    assert e.file == str(p) and e.line is not None
    assert "invalid YAML" in e.message and str(p) in e.message


def test_unknown_key_lists_allowed_keys(tmp_path):
    p = _mutate(tmp_path, "    revisionism: 0.85", "    revisionsim: 0.85")
    e = _err(p)
    assert "revisionsim" in e.message
    assert e.line == _line_of(p, "revisionsim")
    assert "actors.russia.revisionsim" in e.message
    assert "revisionism" in e.allowed and "capability" in e.allowed


def test_wrong_type_names_key_path_and_line(tmp_path):
    p = _mutate(tmp_path, "  weeks: 104", "  weeks: many")
    e = _err(p)
    assert e.path == "settings.weeks" and e.line == _line_of(p, "weeks: many")
    assert "'many'" in e.message


def test_out_of_range_value_says_allowed_range(tmp_path):
    p = _mutate(tmp_path, "    resolve: 0.3 ", "    resolve: 1.7 ")
    e = _err(p)
    assert e.path == "actors.us.resolve"
    assert e.line == _line_of(p, "resolve: 1.7")
    assert "out of range" in e.message and "[0, 1]" in e.message


def test_unknown_issue_in_veto_list(tmp_path):
    p = _mutate(
        tmp_path,
        "veto: [security_guarantee, territory]\n",
        "veto: [security_guarantee, teritory]\n",
    )
    e = _err(p)
    assert e.path == "actors.russia.veto.1"
    assert e.line == _line_of(p, "teritory")
    assert "teritory" in e.message and "territory" in e.allowed


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("sides: [ukraine, russia]", "sides: [ukraine, rusia]", "war.sides.1"),
        (
            "      ukraine: 0.25           # aid",
            "      ukrain: 0.25           # aid",
            "actors.us.leverage.ukrain",
        ),
        ("challenger: russia", "challenger: moscow", "deterrence.challenger"),
        ("mediator: us}", "mediator: usa}", "negotiation.protocol.mediator"),
        ("donors: {us: 0.5,", "donors: {usa: 0.5,", "war.donors.usa"),
    ],
)
def test_unknown_actor_references(tmp_path, old, new, path):
    e = _err(_mutate(tmp_path, old, new))
    assert e.path == path
    assert "unknown actor" in e.message
    assert "ukraine, us, russia, uk_europe" in e.allowed


def test_position_outside_scale(tmp_path):
    p = _mutate(tmp_path, "territory: {ideal: 3, salience: 0.7}", "territory: {ideal: 7, salience: 0.7}")
    e = _err(p)
    assert e.path == "actors.russia.positions.territory.ideal"
    assert "[0, 3]" in e.allowed


def test_bad_distribution(tmp_path):
    p = _mutate(tmp_path, "resolve: {triangular: [0.6, 0.8, 0.95]}", "resolve: {gamma: [1, 2]}")
    e = _err(p)
    assert "gamma" in e.message and "normal" in e.message
    p = _mutate(tmp_path, "resolve: {triangular: [0.6, 0.8, 0.95]}", "resolve: {uniform: [0.2, 1.5]}")
    assert "uniform" in _err(p).message


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf", "true", "[1, 2]", "'0.5'"])
def test_non_numbers_rejected(tmp_path, bad):
    p = _mutate(tmp_path, "    revisionism: 0.85", f"    revisionism: {bad}")
    e = _err(p)
    assert e.path == "actors.russia.revisionism"


def test_duplicate_key(tmp_path):
    p = _mutate(tmp_path, "  seed: 20250227", "  seed: 1\n  seed: 2")
    e = _err(p)
    assert "duplicate key 'seed'" in e.message and e.line == _line_of(p, "seed: 2")


def test_missing_required_key(tmp_path):
    p = _mutate(tmp_path, "  base_hazard: 0.05 ", "  #base_hazard: 0.05 ")
    e = _err(p)
    assert e.path == "deterrence.base_hazard" and "missing" in e.message


def test_schema_version(tmp_path):
    e = _err(_mutate(tmp_path, "schema_version: 1", "schema_version: 2"))
    assert e.path == "schema_version" and e.allowed == "1"
    e = _err(_write(tmp_path, "description: x\n"))
    assert "schema_version" in e.message


def test_extends_cycle_and_missing_parent(tmp_path):
    _write(tmp_path, "schema_version: 1\nextends: b.yaml\n", "a.yaml")
    _write(tmp_path, "schema_version: 1\nextends: a.yaml\n", "b.yaml")
    e = _err(tmp_path / "a.yaml")
    assert "circular extends" in e.message
    e = _err(_write(tmp_path, "schema_version: 1\nextends: nowhere.yaml\n", "c.yaml"))
    assert "no such file" in e.message and e.path == "extends"


def test_extends_is_relative_to_the_file(tmp_path):
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    rel = Path("..") / ".." / "base.yaml"
    (tmp_path / "base.yaml").write_text(scenario_path("baseline").read_text())
    child = _write(sub, f"schema_version: 1\nextends: {rel.as_posix()}\nname: child\nsettings: {{weeks: 12}}\n")
    s = sim.load(child)
    assert s.name == "child" and s.spec.settings.weeks == 12 and len(s.spec.actors) == 4


def test_error_in_parent_names_parent_file(tmp_path):
    (tmp_path / "base.yaml").write_text(
        scenario_path("baseline").read_text().replace("    revisionism: 0.85", "    revisionism: 9")
    )
    child = _write(tmp_path, "schema_version: 1\nextends: base.yaml\nname: child\n")
    e = _err(child)
    assert e.file == str(tmp_path / "base.yaml") and e.path == "actors.russia.revisionism"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "not a text file"),
        (b"\xff\xfe\xfa junk", "not UTF-8"),
        (b"- a list\n- not a mapping\n", "must be a mapping"),
        (b"just a string", "must be a mapping"),
    ],
)
def test_junk_files(tmp_path, content, needle):
    p = tmp_path / "junk.yaml"
    p.write_bytes(content)
    assert needle in _err(p).message


def test_missing_file_and_directory(tmp_path):
    assert "not found" in _err(tmp_path / "nope.yaml").message
    d = tmp_path / "dir.yaml"
    d.mkdir()
    assert "directory" in _err(d).message


def test_set_unknown_paths():
    e = _err(scenario_path("baseline"), overrides={"actors.usa.resolve": "0.5"})
    assert e.file == "--set" and "us" in e.allowed
    e = _err(scenario_path("baseline"), overrides={"actors.us.resolv": "0.5"})
    assert "unknown key 'resolv'" in e.message and "resolve" in e.allowed
    e = _err(scenario_path("baseline"), overrides={"actors.us.resolve": "abc"})
    assert e.path == "actors.us.resolve"


def test_no_expression_evaluation(tmp_path):
    p = _mutate(
        tmp_path,
        "    revisionism: 0.85",
        "    revisionism: !!python/object/apply:os.system ['echo hi']",
    )
    e = _err(p)
    assert "invalid YAML" in e.message


def test_yaml_keys_may_be_numbers_for_points():
    s = sim.load(scenario_path("baseline"))
    assert s.spec.issues["aid_level"].points[0.5] == "halved"
    assert math.isclose(s.spec.issues["aid_level"].hi, 1.5)


def test_a_child_replaces_a_distribution_and_a_source_whole(tmp_path):
    """extends: a child's distribution and source entry replace the parent's whole."""
    child = tmp_path / "child.yaml"
    child.write_text(
        f"schema_version: 1\nextends: {scenario_path('baseline')}\nname: child\n"
        "actors:\n  russia:\n    resolve: {normal: [0.7, 0.05]}\n"
        "    sources:\n      resolve: {assume: 'fitted elsewhere'}\n"
    )
    s = sim.load(child)
    assert s.raw["actors"]["russia"]["resolve"] == {"normal": [0.7, 0.05]}
    assert s.raw["actors"]["russia"]["sources"]["resolve"] == {"assume": "fitted elsewhere"}
    assert "revisionism" in s.raw["actors"]["russia"]["sources"]  # the parent's other entries stay
