"""Hostile inputs (issue 19): scenario text never steers output paths; CSV text cells are formula-safe."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from sim.cli import main
from sim.fileio import csv_bytes, format_number, safe_text

from .conftest import ROOT, scenario_path


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _child(tmp_path: Path, body: str, name: str = "child.yaml") -> Path:
    f = tmp_path / name
    f.write_text(f"schema_version: 1\nextends: {scenario_path('aid_only')}\n{body}")
    return f


@pytest.mark.parametrize("name", ["../../../escaped", "/tmp/absolute-escape", "a/b", ".hidden", "x" * 81, "a b"])
def test_a_scenario_name_cannot_steer_where_files_are_written(tmp_path, monkeypatch, capsys, name):
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    f = _child(work, f"name: {name!r}\n")
    for args in (
        ["run", f, "-n", 10, "--weeks", 3, "--no-plots"],
        ["run", scenario_path("aid_only"), "-n", 10, "--weeks", 3, "--no-plots", "--set", f"name={name}"],
        ["compare", scenario_path("aid_only"), f, "-n", 10, "--weeks", 3, "--no-plots", "--out", work / "cmp"],
    ):
        code, _, err = _run(args, capsys)
        assert code == 1 and "name" in err and "Traceback" not in err, err
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.name != "child.yaml")
    assert written == [Path("work"), Path("work/deep")], written  # nothing written anywhere
    assert not Path("/tmp/absolute-escape").exists()


def test_a_file_name_with_odd_characters_gives_a_safe_folder_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "=evil $(name).yaml"
    f.write_text(f"schema_version: 1\nextends: {scenario_path('aid_only')}\nname: null\n")
    code, _, err = _run(["run", f, "-n", 10, "--weeks", 3, "--no-plots"], capsys)
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("evil_name_-") and folder.parent == tmp_path / "runs"


def test_text_cells_that_start_a_formula_are_neutralised():
    for bad in ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert format_number(bad) == "'" + bad and safe_text(bad) == "'" + bad
    assert [format_number(v) for v in (-1, -0.5, 3, "ukraine", True)] == ["-1", "-0.5", "3", "ukraine", "True"]
    rows = list(csv.reader(io.StringIO(csv_bytes(["=h", "ok"], [["@x", -1.5]]).decode())))
    assert rows == [["'=h", "ok"], ["'@x", "-1.5"]]


def test_actor_ids_that_start_a_formula_reach_the_csvs_as_text(tmp_path, capsys):
    text = (ROOT / "scenarios" / "baseline.yaml").read_text().replace("uk_europe", '"@uk"')
    text = text.replace("seeds: [", f"seeds: [{ROOT / 'scenarios'}/")
    f = tmp_path / "evil.yaml"
    f.write_text(text)
    out = tmp_path / "out"
    code, _, err = _run(["run", f, "-n", 20, "--weeks", 4, "--no-plots", "--out", out], capsys)
    assert code == 0, err
    for name in ("trajectories.csv", "positions.csv", "outcomes.csv"):
        cells = [c for row in csv.reader(io.StringIO((out / name).read_text())) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "@", "+", "\t", "\r")], name
        assert not [c for c in cells if c.startswith("-") and not _is_number(c)], name
    assert "'@uk" in (out / "trajectories.csv").read_text()
    assert ",-1," in (out / "outcomes.csv").read_text()  # numbers stay numbers (no first ceasefire: -1)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
