"""Plots: built headless, labelled, one colour per actor across figures."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

import sim
from sim.output import plots

from .conftest import scenario_path


@pytest.fixture(scope="module")
def result():
    return sim.run(sim.load(scenario_path("reassurance_backstop")), replicates=300, seed=1)


@pytest.mark.parametrize("name", list(plots.SINGLE_PLOTS))
def test_single_plots_are_labelled(result, name):
    fig = plots.SINGLE_PLOTS[name](result)
    assert isinstance(fig, Figure)
    title = fig._suptitle.get_text()
    assert result.scenario.spec.title in title and "300 replicates" in title
    for ax in fig.axes:
        if ax.axison:
            assert ax.get_xlabel(), f"{name}: x axis unlabelled"
            assert ax.get_ylabel() or ax.get_yticklabels(), f"{name}: y axis unlabelled"
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_positions_use_scale_labels_and_actor_colours(result):
    fig = plots.positions(result)
    ax = fig.axes[0]
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert "NATO membership" in labels and "none" in labels
    lines = {ln.get_label(): ln.get_color() for ln in ax.get_lines()}
    assert lines["Ukraine"] == plots.actor_colour(0)
    assert lines["Russia"] == plots.actor_colour(2)
    costs = plots.costs(result)
    clines = {ln.get_label(): ln.get_color() for a in costs.axes for ln in a.get_lines()}
    assert clines["Russia"] == lines["Russia"] and clines["United States"] == plots.actor_colour(1)


def test_compare_plots(result):
    other = sim.run(sim.load(scenario_path("aid_only")), replicates=300, seed=1)
    for fn in plots.COMPARE_PLOTS.values():
        fig = fn([result, other])
        assert isinstance(fig, Figure)
        texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert any("backstop" in t for t in texts) and any("Aid only" in t for t in texts)


def test_survival_plot_without_any_ceasefire():
    r = sim.run(sim.load(scenario_path("nato_entry")), replicates=20, seed=1, weeks=2)
    fig = plots.survival(r)
    assert "No ceasefire" in " ".join(t.get_text() for t in fig.axes[0].texts)
