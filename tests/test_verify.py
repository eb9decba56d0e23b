"""negsim verify: complete, unmodified run folders pass; anything missing, modified or unfinished fails."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.output.verify import verify_run

from .conftest import BUNDLED, SCENARIOS, scenario_path

ALL_SCENARIOS = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
DATA = ("summary.json", "outcomes.csv", "trajectories.csv")


def _cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _make_run(out: Path, scenario: Path, capsys, *extra) -> Path:
    code, _, err = _cli(["run", scenario, "-n", 200, "--no-plots", "-q", "--out", out, *extra], capsys)
    assert code == 0, err
    return out


def _status(report, name: str) -> str:
    return next(c.status for c in report.checks if c.name == name)


@pytest.mark.parametrize("name", ALL_SCENARIOS)
def test_fresh_run_of_every_bundled_scenario_verifies(tmp_path, capsys, name):
    out = _make_run(tmp_path / name, scenario_path(name), capsys)
    report = verify_run(out)
    assert report.ok, "\n".join(report.lines())
    assert report.kind == "run"
    for f in ("manifest.json", *DATA):
        assert _status(report, f) == "ok"


@pytest.mark.parametrize("name", BUNDLED)
def test_rerun_reproduces_each_arrangement(tmp_path, capsys, name):
    out = _make_run(tmp_path / name, scenario_path(name), capsys, "--seed", 11, "--weeks", 60)
    report = verify_run(out, rerun=True)
    assert report.ok, "\n".join(report.lines())
    for f in DATA:
        assert _status(report, f"rerun {f}") == "ok"
    assert any(c.name.startswith("scenario ") and c.status == "ok" for c in report.checks)


def test_cli_verify_with_plots_overrides_and_rerun(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _cli(
        ["run", scenario_path("aid_only"), "-n", 200, "--set", "actors.us.resolve=0.7", "-q", "--out", out], capsys
    )
    assert code == 0, err
    code, stdout, err = _cli(["verify", out, "--rerun"], capsys)
    assert code == 0, err
    lines = stdout.splitlines()
    for f in ("manifest.json", *DATA, "positions.png", "survival.png"):
        assert any(line.split()[:2] == ["ok", f] for line in lines), f
    for f in DATA:
        assert any(line.split()[:3] == ["ok", "rerun", f] for line in lines), f
    assert "reproduced by a rerun" in lines[-1] and err == ""


def test_rerun_works_from_another_working_directory(tmp_path, capsys, monkeypatch, root):
    monkeypatch.chdir(root)
    out = _make_run(tmp_path / "o", Path("scenarios/nato_entry.yaml"), capsys)
    assert json.loads((out / "manifest.json").read_text())["scenario_file"] == "scenarios/nato_entry.yaml"
    monkeypatch.chdir(tmp_path)
    report = verify_run(out, rerun=True)
    assert report.ok, "\n".join(report.lines())


def test_modified_file_fails(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("baseline"), capsys)
    p = out / "outcomes.csv"
    p.write_bytes(p.read_bytes().replace(b"\n1,", b"\n0,", 1))
    report = verify_run(out)
    assert not report.ok and _status(report, "outcomes.csv") == "MODIFIED"
    assert _status(report, "summary.json") == "ok"
    code, stdout, err = _cli(["verify", out], capsys)
    assert code == 1
    assert any(line.startswith("MODIFIED") and "outcomes.csv" in line for line in stdout.splitlines())
    assert err.count("\n") == 1 and "failed verification: 1 MODIFIED" in err and "Traceback" not in err


def test_deleted_file_fails(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("baseline"), capsys)
    (out / "trajectories.csv").unlink()
    report = verify_run(out)
    assert not report.ok and _status(report, "trajectories.csv") == "MISSING"
    code, stdout, err = _cli(["verify", out], capsys)
    assert code == 1 and "MISSING" in stdout and "1 MISSING" in err


def test_incomplete_or_missing_manifest_fails(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("baseline"), capsys)
    man = json.loads((out / "manifest.json").read_text())
    man["complete"] = False
    (out / "manifest.json").write_text(json.dumps(man))
    report = verify_run(out)
    assert not report.ok and _status(report, "manifest.json") == "INCOMPLETE"
    code, stdout, err = _cli(["verify", out], capsys)
    assert code == 1 and "did not finish" in stdout and "INCOMPLETE" in err
    (out / "manifest.json").unlink()
    report = verify_run(out)
    assert not report.ok and _status(report, "manifest.json") == "MISSING"
    (out / "manifest.json").write_text("{not json")
    assert _status(verify_run(out), "manifest.json") == "INVALID"
    code, _, err = _cli(["verify", tmp_path / "nowhere"], capsys)
    assert code == 1 and "MISSING" in err and "Traceback" not in err


def test_leftover_temp_files_and_unfinished_folders_fail(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("baseline"), capsys)
    (out / ".outcomes.csv.tmp-12345").write_text("half")
    (out / "notes.txt").write_text("mine")
    report = verify_run(out)
    assert not report.ok and _status(report, ".outcomes.csv.tmp-12345") == "LEFTOVER"
    assert _status(report, "notes.txt") == "note"
    (out / ".outcomes.csv.tmp-12345").unlink()
    assert verify_run(out).ok
    # a temporary run folder is never taken for a run, even when every file in it is complete
    partial = tmp_path / ".o.partial-12345"
    shutil.copytree(out, partial)
    report = verify_run(partial)
    assert not report.ok and "temporary folder" in report.problems[0].detail


def test_edited_manifest_settings_are_inconsistent(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("aid_only"), capsys, "--seed", 5, "--weeks", 30)
    man = json.loads((out / "manifest.json").read_text())
    man["seed"] = 6
    (out / "manifest.json").write_text(json.dumps(man))
    report = verify_run(out, rerun=True)
    assert not report.ok
    assert "INCONSISTENT" in {c.status for c in report.checks if c.name == "manifest.json"}
    assert "seed: manifest 6, summary 5" in report.problems[0].detail
    assert _status(report, "rerun outcomes.csv") == "DIFFERS"


def _copy_scenarios(tmp_path: Path, *names: str) -> None:
    for n in names:
        shutil.copy(scenario_path(n), tmp_path / f"{n}.yaml")


def test_rerun_fails_when_the_scenario_file_changed(tmp_path, capsys):
    _copy_scenarios(tmp_path, "baseline")
    scen = tmp_path / "baseline.yaml"
    out = _make_run(tmp_path / "o", scen, capsys, "--weeks", 30)
    assert verify_run(out, rerun=True).ok
    text = scen.read_text()
    assert "    resolve: 0.3 " in text
    scen.write_text(text.replace("    resolve: 0.3 ", "    resolve: 0.4 ", 1))
    assert verify_run(out).ok  # the run folder itself is intact
    report = verify_run(out, rerun=True)
    assert not report.ok
    changed = [c for c in report.problems if c.status == "CHANGED"]
    assert len(changed) == 1 and str(scen) in changed[0].name and "changed since the run" in changed[0].detail
    code, stdout, err = _cli(["verify", out, "--rerun"], capsys)
    assert code == 1 and "scenario file changed since the run" in stdout and "1 CHANGED" in err
    scen.unlink()
    report = verify_run(out, rerun=True)
    assert not report.ok and "no longer exists" in report.problems[0].detail


def test_rerun_fails_when_a_parent_scenario_changed(tmp_path, capsys):
    _copy_scenarios(tmp_path, "baseline", "nato_entry")
    out = _make_run(tmp_path / "o", tmp_path / "nato_entry.yaml", capsys, "--weeks", 30)
    assert verify_run(out, rerun=True).ok
    with open(tmp_path / "baseline.yaml", "a") as fh:
        fh.write("# edited after the run\n")
    report = verify_run(out, rerun=True)
    changed = [c for c in report.problems if c.status == "CHANGED"]
    assert [Path(c.name.split(" ", 1)[1]).name for c in changed] == ["baseline.yaml"]


def test_compare_folder_verifies_and_reruns(tmp_path, capsys):
    out = tmp_path / "cmp"
    names = ["aid_only", "reassurance_only"]
    code, _, err = _cli(
        ["compare", *(scenario_path(n) for n in names), "-n", 150, "--weeks", 40, "--no-plots", "-q", "--out", out],
        capsys,
    )
    assert code == 0, err
    report = verify_run(out, rerun=True)
    assert report.ok, "\n".join(report.lines())
    assert report.kind == "compare"
    assert _status(report, "comparison.csv") == "ok" and _status(report, "rerun comparison.csv") == "ok"
    for n in names:
        assert _status(report, f"{n}/summary.json") == "ok"
        assert _status(report, f"rerun {n}/outcomes.csv") == "ok"
    (out / "aid_only" / "summary.json").write_text("{}\n")
    shutil.rmtree(out / "reassurance_only")
    code, stdout, err = _cli(["verify", out], capsys)
    assert code == 1
    assert any(line.startswith("MODIFIED") and "aid_only/summary.json" in line for line in stdout.splitlines())
    assert any(line.startswith("MISSING") and "reassurance_only/" in line for line in stdout.splitlines())


def test_verify_notes_a_run_in_progress_beside_the_folder(tmp_path, capsys):
    out = _make_run(tmp_path / "o", scenario_path("aid_only"), capsys, "--weeks", 20)
    (tmp_path / f".o.partial-{os.getpid()}").mkdir()
    report = verify_run(out)
    assert report.ok
    assert any(c.status == "note" and "writing a new version" in c.detail for c in report.checks)
