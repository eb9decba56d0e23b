"""``negsim report`` and ``RunResult.report``: one self-contained HTML file per run or comparison."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.output.verify import verify_run

from .conftest import ROOT, scenario_path

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)


class Page(HTMLParser):
    """What a self-contained page is checked for: title, tables, images, every src/href, section ids."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.tables = 0
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self.scripts = 0
        self.stylesheets = 0
        self._in_title = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in_title = tag == "title"
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "script":
            self.scripts += 1
        if tag == "link" and "stylesheet" in (a.get("rel") or ""):
            self.stylesheets += 1
        for k in ("src", "href"):
            if a.get(k) is not None:
                self.links.append(a[k])
        if a.get("id"):
            self.ids.append(a["id"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.text.append(data)


def parse(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    p = Page()
    p.feed(text)
    p.close()
    return p


def check_self_contained(page: Page, html: str) -> None:
    assert not [x for x in page.links if EXTERNAL.match(x)], "external src/href"
    assert all(x.startswith(("data:", "#")) for x in page.links), page.links[:5]
    assert page.scripts == 0 and page.stylesheets == 0
    assert "url(" not in html and "@import" not in html and "@font-face" not in html


def embedded_pngs(page: Page) -> list[bytes]:
    out = []
    for src in page.images:
        head, _, data = src.partition(",")
        if head == "data:image/png;base64":
            out.append(base64.b64decode(data))
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    r = sim.run(
        sim.load(scenario_path("reassurance_backstop")),
        replicates=200,
        seed=3,
        set={"actors.us.guarantees.reassurance_backstop.credibility": 0.9},
    )
    return sim.write_run(r, tmp_path_factory.mktemp("rep") / "run", command=["negsim", "run", "test"])


def test_cli_report_structure(run_dir, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    page = parse(out)
    assert page.title == "negsim report: Reassurance force with a US backstop"
    assert page.tables >= 5  # headline, outcomes, costs, one per parameter group, manifest
    pngs = sorted(run_dir.glob("*.png"))
    assert len(pngs) == 5
    embedded = embedded_pngs(page)
    assert len(page.images) == len(embedded) == len(pngs)
    assert sorted(embedded) == sorted(p.read_bytes() for p in pngs)
    check_self_contained(page, html)
    assert {"summary", "plots", "parameters", "manifest"} <= set(page.ids)
    text = " ".join(page.text)
    # the parameters with their sources: a quote, its speaker, an assumption, and the override marked
    assert "any reassurance force would require" in text and "Keir Starmer" in text
    assert "assumption" in text and "override" in text
    assert "actors.us.guarantees.reassurance_backstop.credibility" in text  # manifest: overrides
    assert re.search(r"[0-9a-f]{64}", html)  # manifest: hashes
    assert "Ceasefire agreed within the horizon" in text


def test_default_output_and_overwrite(run_dir, capsys):
    default = run_dir / "report.html"
    assert main(["report", str(run_dir)]) == 0 and default.is_file()
    assert main(["report", str(run_dir)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--force"]) == 0
    assert verify_run(run_dir).ok  # a report beside the run is noted, not a problem
    default.unlink()


def test_api_report_matches_the_run(tmp_path):
    r = sim.run(sim.load(scenario_path("aid_only")), replicates=150, seed=2)
    out = r.report(tmp_path / "sub" / "aid.html")
    page = parse(out)
    html = out.read_text(encoding="utf-8")
    assert "Aid only" in page.title and len(embedded_pngs(page)) == len(page.images) == 5
    check_self_contained(page, html)
    assert "Python API" in html and "hardie_another_conflict_likely" in html
    with pytest.raises(sim.RunError, match="exists"):
        r.report(out, force=False)
    assert not list(tmp_path.glob("**/*.png"))  # the temporary run folder is gone


def test_compare_folder_report(tmp_path):
    c = sim.compare([scenario_path("nato_entry"), scenario_path("aid_only")], replicates=100, seed=1, weeks=60)
    folder = c.write(tmp_path / "cmp")
    out = sim.write_report(folder)
    page = parse(out)
    pngs = list(folder.glob("**/*.png"))
    assert len(pngs) == 3 + 2 * 5
    assert len(embedded_pngs(page)) == len(page.images) == len(pngs)
    check_self_contained(page, out.read_text(encoding="utf-8"))
    assert {"comparison", "run-nato_entry", "run-aid_only"} <= set(page.ids)


def test_talks_only_report(tmp_path):
    s = sim.import_file(ROOT / "tests/fixtures/ktab-smp-dummy/input.csv", tmp_path / "dummy.yaml")
    folder = sim.run(s).write(tmp_path / "run")
    page = parse(sim.write_report(folder))
    assert len(page.images) == len(list(folder.glob("*.png"))) == 2  # rounds, win_probability
    assert "Forecast of protocol smp" in " ".join(page.text)


@pytest.mark.parametrize("opts", [["--no-plots"], ["--format", "svg"]])
def test_report_without_png_plots(tmp_path, opts, capsys):
    run = tmp_path / "run"
    args = ["run", str(scenario_path("aid_only")), "-n", "50", "--weeks", "30", "-q", "--out", str(run)]
    assert main([*args, *opts]) == 0
    assert main(["report", str(run)]) == 0
    page = parse(run / "report.html")
    assert not embedded_pngs(page)
    if "--no-plots" in opts:
        assert not page.images and "without plots" in " ".join(page.text)
    else:
        assert len(page.images) == 5 and all(s.startswith("data:image/svg+xml;base64,") for s in page.images)


def test_report_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not a negsim run folder" in err and err.count("\n") == 1
    assert main(["report", str(tmp_path / "missing")]) == 1
