"""The notebook API (sim.api): typed summaries, DataFrames, plot accessors, comparisons, HTML views."""

from __future__ import annotations

import base64
import dataclasses
from html.parser import HTMLParser

import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from sim import api
from sim.api import ActorCosts, Comparison, Interval, Summary
from sim.errors import RunError
from sim.output import plots
from sim.output.runfolder import COMPARE_COLUMNS, compare_row

from .conftest import ROOT, scenario_path

BDM_CSV = ROOT / "tests" / "fixtures" / "bdm-eu-emissions" / "input.csv"
SMP_CSV = ROOT / "tests" / "fixtures" / "ktab-smp-dummy" / "input.csv"


@pytest.fixture(scope="module")
def result():
    return sim.run(sim.load(scenario_path("reassurance_backstop")), replicates=300, seed=1)


@pytest.fixture(scope="module")
def talks(tmp_path_factory):
    loaded = sim.import_file(BDM_CSV, tmp_path_factory.mktemp("imp") / "eu.yaml", name="eu_emissions")
    return sim.run(loaded)


class Cells(HTMLParser):
    """Text of every table cell, and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Cells:
    p = Cells()
    p.feed(html)
    p.close()
    return p


def test_public_names_resolve():
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert sim.compare is sim.api.compare and sim.Summary is Summary
    with pytest.raises(AttributeError):
        sim.not_a_name  # noqa: B018


def test_summary_info_is_typed_and_frozen(result):
    s = result.summary_info
    d = result.summary
    assert isinstance(d, dict)  # the dict stays for the CLI and the writer
    assert isinstance(s, Summary) and not s.talks_only
    assert s.p_ceasefire == d["p_ceasefire"] and s.replicates == 300 and s.seed == 1 and s.weeks == 104
    assert s.p_ceasefire_95 == Interval(*d["p_ceasefire_95"]) and s.p_ceasefire_95.lo <= s.p_ceasefire
    assert s.median_weeks_to_ceasefire == d["median_weeks_to_ceasefire"]
    assert s.ceasefire_survival_52w == d["ceasefire_survival_52w"]
    assert tuple(s.ceasefire_survival_52w_95) == tuple(d["ceasefire_survival_52w_95"])
    assert s.outcome_shares == d["outcome_shares"] and abs(sum(s.outcome_shares.values()) - 1) < 1e-5
    assert s.outcome_shares_95["no_agreement"] == Interval(*d["outcome_shares_95"]["no_agreement"])
    assert set(s.costs) == set(result.actors) and isinstance(s.costs["us"], ActorCosts)
    assert s.costs["us"].spending_bn == d["costs"]["us"]["spending_bn"]
    assert "p_ceasefire" in s.definitions
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.p_ceasefire = 0.5  # type: ignore[misc]


def test_dataframes_match_the_csv_files(result, tmp_path):
    folder = result.write(tmp_path / "run")
    out = result.outcomes_df
    assert isinstance(out, pd.DataFrame) and len(out) == 300
    assert isinstance(result.outcomes, dict)
    csv = pd.read_csv(folder / "outcomes.csv")
    assert list(out.columns) == list(csv.columns)
    pd.testing.assert_frame_equal(out, csv, check_dtype=False, atol=1e-6)
    traj = result.trajectories_df
    tcsv = pd.read_csv(folder / "trajectories.csv", keep_default_na=False, na_values=[""])
    assert list(traj.columns) == list(tcsv.columns) and len(traj) == len(tcsv)
    assert set(traj["quantity"]) >= {"position", "proposal", "balance", "share_ceasefire"}
    pcsv = pd.read_csv(folder / "positions.csv")
    assert list(result.positions_df.columns) == list(pcsv.columns) and len(result.positions_df) == len(pcsv)


@pytest.mark.parametrize("name", list(plots.SINGLE_PLOTS))
def test_plot_accessor_returns_the_sim_plots_figure(result, name):
    fig = getattr(result.plot, name)()
    assert isinstance(fig, Figure)
    assert fig._suptitle.get_text() == plots.SINGLE_PLOTS[name](result)._suptitle.get_text()


def test_plot_accessor_refuses_the_wrong_kind_of_run(result, talks):
    with pytest.raises(RunError, match="talks-only"):
        result.plot.rounds()
    with pytest.raises(RunError, match="talks only"):
        talks.plot.survival()
    with pytest.raises(RunError, match="smp"):
        talks.plot.win_probability()
    assert isinstance(talks.plot.rounds(), Figure) and isinstance(talks.plot.quad_map(), Figure)
    assert set(result.plot.all()) == set(plots.SINGLE_PLOTS)
    assert set(talks.plot.all()) == {"rounds", "quad_map"}
    assert "survival()" in repr(result.plot) and "rounds()" in repr(talks.plot)


def test_talks_only_summary_and_frames(talks):
    s = talks.summary_info
    assert s.talks_only and s.p_ceasefire is None and s.rounds_run == 10
    assert s.forecast["median"]["issue"] == pytest.approx(7.0)  # the BDM weighted median of the reference data
    assert talks.outcomes_df.empty and not talks.trajectories_df.empty
    p = parse(talks._repr_html_())
    assert "table" in p.tags and any("forecast: median" in c for c in p.cells)


def test_run_result_html(result):
    html = result._repr_html_()
    p = parse(html)
    assert p.tags.count("table") == 1
    assert "Reassurance force with a US backstop" in html and "300 replicates" in html
    row = p.cells.index("Ceasefire agreed within the horizon")
    assert p.cells[row + 1] == f"{result.summary['p_ceasefire'] * 100:.1f}%"
    assert any(c.startswith("Outcome: Aid only") for c in p.cells)


def test_loaded_scenario_html():
    s = sim.load(scenario_path("baseline"))
    assert not hasattr(s, "_repr_html_")  # data carries no display: the notebook face registers it with IPython
    p = parse(api.scenario_repr_html(s))
    assert p.tags.count("table") == 1
    assert p.tags.count("tr") == 1 + len(s.spec.actors)
    for a in s.spec.actors.values():
        assert any(c.startswith(a.name) for c in p.cells)
    for issue in s.spec.issues.values():
        assert any(issue.label in c for c in p.cells)
    assert any("reassurance_backstop: 0.5 × 0.6" in c for c in p.cells)  # the US backstop


def test_compare_runs_scenarios_with_the_settings_of_a_finished_run(result, tmp_path):
    c = sim.compare([result, scenario_path("aid_only")])
    assert isinstance(c, Comparison) and len(c) == 2
    assert [r.name for r in c] == ["reassurance_backstop", "aid_only"]
    assert c["aid_only"].replicates == 300 and c["aid_only"].seed == 1 and c[0] is result
    t = c.table
    assert list(t.index) == ["reassurance_backstop", "aid_only"] and list(t.columns) == COMPARE_COLUMNS[1:]
    assert t.loc["aid_only", "p_ceasefire"] == compare_row(c["aid_only"])[1]
    for name in ("survival", "outcomes", "states"):
        assert isinstance(getattr(c.plot, name)(), Figure)
    html = c._repr_html_()
    assert "aid_only" in html and "reassurance_backstop" in html and "300 replicates each" in html
    folder = c.write(tmp_path / "cmp")
    csv = pd.read_csv(folder / "comparison.csv", index_col="scenario")
    pd.testing.assert_frame_equal(t, csv, check_names=False, atol=1e-6)
    with pytest.raises(KeyError):
        c["nato_entry"]


def test_compare_labels_protocol_variants_and_tables_forecasts():
    smp = sim.import_file(SMP_CSV, name="dummy")
    runs = [sim.run(smp, set={"negotiation.protocol": f"{{name: {p}}}"}) for p in ("smp", "compromise")]
    c = sim.compare(runs)
    assert c.labels == ["dummy (smp)", "dummy (compromise)"]
    f = c.forecasts
    assert set(f["protocol"]) == {"smp", "compromise"} and set(f["forecast"]) == {"mode", "mean", "median"}
    t = c.table
    assert list(t.index) == c.labels and ("mean", "pstn1") in t.columns
    assert "dummy (smp)" in c._repr_html_()
    with pytest.raises(RunError, match="talks only"):
        c.plot.survival()
    with pytest.raises(RunError, match="distinct"):
        c.write("never-written")


def test_compare_needs_runs_and_matching_labels(result):
    with pytest.raises(RunError):
        sim.compare([])
    with pytest.raises(RunError, match="labels"):
        sim.compare([result], labels=["a", "b"])
    assert sim.compare([result], labels=["mine"]).labels == ["mine"]


def test_sources_and_claims_tables():
    s = sim.load(scenario_path("reassurance_backstop"))
    src = sim.sources(s)
    assert list(src.columns) == ["group", "parameter", "path", "value", "kind", "claims", "speaker", "source"]
    row = src.set_index("path").loc["actors.us.guarantees.reassurance_backstop.credibility"]
    assert "starmer_us_backstop" in row["claims"] and row["kind"] == "claim" and "Starmer" in row["speaker"]
    assert set(src["kind"]) <= {"claim", "assumption", "default", "MISSING"}
    cl = sim.claims(s)
    assert "starmer_us_backstop" in cl.index and cl.loc["starmer_us_backstop", "speaker"] == "Keir Starmer"
    used = {cid for ids in src["claims"] for cid in ids}
    assert used <= set(cl.index)


def test_import_file_writes_a_loadable_scenario(tmp_path):
    s = sim.import_file(BDM_CSV, tmp_path / "x" / "eu.yaml", protocol="compromise", title="EC emissions")
    assert s.path == tmp_path / "x" / "eu.yaml" and s.spec.title == "EC emissions"
    assert s.spec.negotiation.protocol.name == "compromise" and s.spec.war is None and len(s.spec.actors) == 10


def test_plain_text_views_are_one_line(result, talks):
    class Printer:
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s

    for obj, want in ((result, "ceasefire"), (talks, "rounds"), (sim.load(scenario_path("aid_only")), "4 actors")):
        p = Printer()
        obj._repr_pretty_(p, False)
        assert "\n" not in p.out and len(p.out) < 300 and want in p.out
    c = sim.compare([result], labels=["x"])
    assert repr(c) == "<Comparison of 1 runs: x>"


def test_figures_are_drawn_in_ipython_without_pyplot(monkeypatch, result):
    import IPython
    from IPython.core.formatters import PNGFormatter

    from sim.api import show_figures_in_ipython

    class Shell:
        class display_formatter:  # noqa: N801 (IPython's attribute name)
            formatters = {"image/png": PNGFormatter()}

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    assert show_figures_in_ipython()
    png = Shell.display_formatter.formatters["image/png"](result.plot.survival())
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not show_figures_in_ipython()  # registered once; an existing formatter is left alone
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert not show_figures_in_ipython()


def test_scenarios_are_shown_as_tables_in_ipython(monkeypatch):
    import IPython
    from IPython.core.formatters import HTMLFormatter

    class Shell:
        class display_formatter:  # noqa: N801 (IPython's attribute name)
            formatters = {"text/html": HTMLFormatter()}

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    assert api.show_scenarios_in_ipython()
    s = sim.load(scenario_path("baseline"))
    html = Shell.display_formatter.formatters["text/html"](s)
    assert html == api.scenario_repr_html(s) and "<table" in html
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert not api.show_scenarios_in_ipython()


def test_a_run_is_the_engines_result_with_a_face(result):
    from sim.engine.result import RunResult

    assert isinstance(result.result, RunResult) and not hasattr(result.result, "plot")
    assert result.summary is result.result.summary and repr(result) == repr(result.result)
    assert sim.compare([result.result]).results[0].result is result.result
