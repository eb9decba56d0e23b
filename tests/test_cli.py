"""The negsim command: every subcommand, outputs, reproducibility, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

from .conftest import ARRANGEMENTS, BUNDLED, ROOT, scenario_path

DATA = ("summary.json", "outcomes.csv", "trajectories.csv")
PLOTS = ("positions", "states", "outcomes", "survival", "costs")


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", BUNDLED)
def test_run_writes_the_run_folder(tmp_path, capsys, name):
    out = tmp_path / name
    code, stdout, err = _run(["run", scenario_path(name), "-n", 200, "--out", out, "-q"], capsys)
    assert code == 0, err
    for f in (*DATA, "manifest.json", *(f"{p}.png" for p in PLOTS)):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "scenario",
        "replicates",
        "seed",
        "weeks",
        "p_ceasefire",
        "median_weeks_to_ceasefire",
        "ceasefire_survival_52w",
        "outcome_shares",
        "outcome_shares_95",
        "costs",
    ):
        assert key in summary
    assert summary["scenario"] == name and summary["replicates"] == 200
    assert set(summary["outcome_shares"]) == {
        "nato_entry",
        "reassurance_backstop",
        "reassurance_only",
        "aid_only",
        "no_agreement",
    }
    assert "Ceasefire agreed within horizon" in stdout and str(out) in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == summary["seed"] and manifest["complete"] is True
    assert {"negsim", "mesa", "numpy"} <= set(manifest["versions"])
    assert manifest["scenario_files_sha256"]
    assert set(manifest["outputs_sha256"]) >= set(DATA)
    rows = (out / "outcomes.csv").read_text().splitlines()
    assert len(rows) == 201
    header = (out / "trajectories.csv").read_text().splitlines()[0]
    assert header == "week,quantity,actor,issue,mean,q05,q25,q50,q75,q95"


def test_same_seed_gives_byte_identical_data_files(tmp_path, capsys):
    args = [
        "run",
        scenario_path("reassurance_backstop"),
        "-n",
        300,
        "--seed",
        42,
        "--no-plots",
        "-q",
    ]
    assert _run([*args, "--out", tmp_path / "a"], capsys)[0] == 0
    assert _run([*args, "--out", tmp_path / "b"], capsys)[0] == 0
    for f in DATA:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert _run([*args[:-2], "--seed", 43, "-q", "--out", tmp_path / "c"], capsys)[0] == 0
    assert (tmp_path / "a" / "outcomes.csv").read_bytes() != (tmp_path / "c" / "outcomes.csv").read_bytes()


def test_options_weeks_set_format(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _run(
        [
            "run",
            scenario_path("aid_only"),
            "-n",
            50,
            "--weeks",
            20,
            "--seed",
            3,
            "--set",
            "actors.us.resolve=0.7",
            "--format",
            "svg",
            "--out",
            out,
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    assert s["weeks"] == 20 and s["seed"] == 3
    m = json.loads((out / "manifest.json").read_text())
    assert m["overrides"] == {"actors.us.resolve": 0.7}
    assert m["resolved_parameters"]["actors"]["us"]["resolve"] == 0.7
    assert (out / "survival.svg").read_text().lstrip().startswith("<?xml")


def test_existing_out_refused_unless_force(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, _, err = _run(["run", scenario_path("aid_only"), "-n", 20, "--out", out, "--no-plots"], capsys)
    assert code != 0 and "--force" in err and "Traceback" not in err
    assert (out / "precious.txt").read_text() == "keep me"
    code, _, err = _run(
        ["run", scenario_path("aid_only"), "-n", 20, "--out", out, "--no-plots", "--force", "-q"],
        capsys,
    )
    assert code == 0, err
    assert not (out / "precious.txt").exists() and (out / "summary.json").exists()
    # no temporary folders left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_default_out_is_a_new_folder_under_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, _, err = _run(["run", scenario_path("aid_only"), "-n", 10, "--weeks", 5, "--no-plots", "-q"], capsys)
        assert code == 0, err
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(r.name.startswith("aid_only-") for r in runs)


def test_compare_prints_one_table(tmp_path, capsys):
    out = tmp_path / "cmp"
    code, stdout, err = _run(
        ["compare", *(scenario_path(n) for n in ARRANGEMENTS), "-n", 200, "--out", out, "-q"],
        capsys,
    )
    assert code == 0, err
    table = [line for line in stdout.splitlines() if line.split(" ")[0] in ARRANGEMENTS]
    assert [line.split()[0] for line in table] == ARRANGEMENTS
    assert stdout.count("scenario") >= 1
    assert (out / "comparison.csv").read_text().count("\n") == 5
    for n in ARRANGEMENTS:
        assert (out / n / "summary.json").is_file()
    assert (out / "compare_survival.png").is_file() and (out / "compare_outcomes.png").is_file()


def test_validate_and_list(tmp_path, capsys):
    code, out, _ = _run(["validate", *(scenario_path(n) for n in BUNDLED)], capsys)
    assert code == 0 and sum(line.startswith("ok ") for line in out.splitlines()) == 5
    bad = tmp_path / "bad.yaml"
    bad.write_text(scenario_path("baseline").read_text().replace("    revisionism: 0.85", "    revisionism: 3"))
    code, _, err = _run(["validate", scenario_path("baseline"), bad], capsys)
    assert code != 0 and f"{bad}:" in err and "actors.russia.revisionism" in err
    code, out, _ = _run(["list"], capsys)
    assert code == 0
    assert all(n + ".yaml" in out for n in BUNDLED)
    assert len(out.strip().splitlines()) == len(list((ROOT / "scenarios").glob("*.yaml")))


def test_list_finds_the_bundled_scenarios_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no scenarios/ here: the checkout's own are listed, by full path
    code, out, _ = _run(["list"], capsys)
    paths = [line.split()[0] for line in out.strip().splitlines()]
    assert code == 0 and len(paths) == len(list((ROOT / "scenarios").glob("*.yaml")))
    assert all(Path(p).is_file() and Path(p).parent == ROOT / "scenarios" for p in paths)


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("    name: Russia\n", "    name: Russia\n   bad: [unclosed\n", "invalid YAML"),
        ("    revisionism: 0.85", "    revisionsim: 0.85", "unknown key 'revisionsim'"),
        ("  weeks: 104", "  weeks: many", "settings.weeks"),
        ("    resolve: 0.3 ", "    resolve: 1.7 ", "out of range"),
        (
            "veto: [security_guarantee, territory]\n",
            "veto: [security_guarantee, teritory]\n",
            "unknown issue 'teritory'",
        ),
        ("sides: [ukraine, russia]", "sides: [ukraine, rusia]", "unknown actor 'rusia'"),
    ],
)
def test_bad_scenarios_give_one_clear_message(tmp_path, capsys, old, new, expect):
    bad = tmp_path / "bad.yaml"
    text = scenario_path("baseline").read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    code, out, err = _run(["run", bad, "-n", 10, "--out", tmp_path / "o"], capsys)
    assert code != 0
    assert err.startswith(f"negsim: error: {bad}:")
    line = err[len(f"negsim: error: {bad}:") :].split(":")[0]
    assert line.isdigit()
    assert expect in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bad_cli_values(tmp_path, capsys):
    code, _, err = _run(["run", scenario_path("aid_only"), "-n", 0], capsys)
    assert code != 0 and "--replicates must be at least 1" in err
    code, _, err = _run(["run", scenario_path("aid_only"), "--set", "novalue"], capsys)
    assert code != 0 and "KEY.PATH=VALUE" in err
    code, _, err = _run(["run", tmp_path / "missing.yaml"], capsys)
    assert code != 0 and "file not found" in err


def test_entry_points_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "negsim"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "run" in r.stdout and "compare" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode != 0 and "file not found" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "sim"], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "usage" in r.stdout
