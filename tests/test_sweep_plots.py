"""Sweep plots: built headless from synthetic sweep tables, labelled, NaN cells explained."""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from sim.errors import RunError
from sim.experiments import plots as sweep_plots

CRED = {
    "name": "actors.us.guarantees.reassurance_backstop.credibility",
    "label": "US backstop credibility",
    "lo": 0.0,
    "hi": 1.0,
    "baseline": 0.6,
}
RES = {"name": "actors.russia.resolve", "label": "Russian resolve", "lo": 0.5, "hi": 1.0, "baseline": 0.85}
COST = {"name": "actors.russia.cost_tolerance", "label": None, "lo": 0.2, "hi": 0.9, "baseline": None}
INFO = {"scenario": "Reassurance force with a US backstop", "replicates": 1000, "seed": 7, "points": 400}
METRIC = "ceasefire_survival_52w"


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    c, r = df[CRED["name"]], df[RES["name"]]
    s = 1 / (1 + np.exp(-(5 * (c - 0.45) - 9 * (r - 0.75))))
    out = pd.DataFrame({METRIC: s, f"{METRIC}_lo": np.clip(s - 0.03, 0, 1), f"{METRIC}_hi": np.clip(s + 0.03, 0, 1)})
    undefined = ((r > 0.93) & (c < 0.25)).to_numpy()
    out.loc[undefined, :] = np.nan
    out["p_ceasefire"] = 1 / (1 + np.exp(-(2 - 6 * (r - 0.75))))
    return out


def _table(X: np.ndarray, factors: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=[f["name"] for f in factors])
    df.insert(0, "point", np.arange(len(df)))
    df.insert(1, "seed", 100 + np.arange(len(df)))
    return pd.concat([df, _metrics(df)], axis=1)


@pytest.fixture(scope="module")
def grid():
    X = np.array([(a, b) for a in np.linspace(0, 1, 20) for b in np.linspace(0.5, 1, 20)])
    return _table(X, [CRED, RES])


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    return buf.getvalue()


def _texts(fig: Figure) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for leg in fig.legends + [a.get_legend() for a in fig.axes if a.get_legend()]:
        out += [t.get_text() for t in leg.get_texts()]
        out.append(leg.get_title().get_text())
    return out


def test_labels_and_subtitle():
    assert sweep_plots.metric_label(METRIC) == "52-week ceasefire survival (probability)"
    assert sweep_plots.metric_info(f"{METRIC}_lo")[0].endswith("(95% lower bound)")
    assert sweep_plots.metric_info("p_something_new") == ("P(something new)", "probability")
    assert sweep_plots.is_probability("share_nato_entry") and not sweep_plots.is_probability(
        "median_weeks_to_ceasefire"
    )
    assert sweep_plots.metric_info("median_weeks_to_ceasefire")[1] == "weeks"
    info = {**INFO, "design": "grid"}
    assert sweep_plots.subtitle(info) == "400 design points × 1,000 replicates, seed 7, grid design"
    assert sweep_plots.subtitle({"replicates": 1, "seed": 0}) == "1 replicate per design point, seed 0"
    assert "no ceasefire" in sweep_plots.nan_meaning(METRIC)
    # a parameter path wraps after its dots, never inside a key
    wrapped = sweep_plots.factor_label({"name": CRED["name"], "label": None}, 24)
    assert wrapped.replace("\n", "") == CRED["name"] and all(len(x) <= 25 for x in wrapped.splitlines())


def test_heatmap(grid):
    fig = sweep_plots.heatmap(grid, [CRED, RES], METRIC, {**INFO, "design": "grid"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "US backstop credibility" and ax.get_ylabel() == "Russian resolve"
    title = fig._suptitle.get_text()
    assert INFO["scenario"] in title and "400 design points × 1,000 replicates, seed 7, grid design" in title
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    assert mesh.get_clim() == (0.0, 1.0)  # probabilities: a fixed scale
    assert mesh.get_cmap().name.startswith("viridis")
    data = mesh.get_array()
    assert data.shape == (20, 20) and 0 < np.ma.count_masked(data) < 400  # NaN cells masked (grey)
    assert np.allclose(mpl.colors.to_rgba(mesh.get_cmap().get_bad())[:3], mpl.colors.to_rgb("#d9d9d9"))
    assert fig.axes[1].get_ylabel() == "52-week ceasefire survival (probability)"  # the colour bar
    texts = _texts(fig)
    assert any(t.startswith("Undefined (no ceasefire") for t in texts)
    assert any("Scenario as written (0.6, 0.85)" in t for t in texts)
    assert any(t == "Contours at 0.25, 0.50, 0.75" for t in texts)
    assert {t.get_text() for t in ax.texts} >= {"0.25", "0.50", "0.75", "scenario\nas written"}
    # the grid is oriented as labelled: x = credibility (survival rises), y = resolve (survival falls)
    z = np.ma.filled(data.astype(float), np.nan).reshape(20, 20)
    assert z[0, -1] > z[0, 0] and z[0, -1] > z[-1, -1]
    _png(fig)


def test_heatmap_without_nan_or_baseline_and_not_a_probability(grid):
    t = grid.assign(median_weeks_to_ceasefire=20 + 60 * grid[RES["name"]])
    fig = sweep_plots.heatmap(t, [{**CRED, "baseline": None}, RES], "median_weeks_to_ceasefire", INFO)
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    assert mesh.get_clim() == pytest.approx((50.0, 80.0))
    texts = _texts(fig)
    assert not any("Undefined" in t or "Scenario as written" in t for t in texts)
    assert fig.axes[1].get_ylabel() == "Median weeks to ceasefire (weeks)"
    _png(fig)


def test_heatmap_refuses_what_it_cannot_draw(grid):
    with pytest.raises(RunError, match="exactly two"):
        sweep_plots.heatmap(grid, [CRED], METRIC, INFO)
    with pytest.raises(RunError, match="not a full grid"):
        sweep_plots.heatmap(grid.iloc[:-3], [CRED, RES], METRIC, INFO)
    with pytest.raises(RunError, match="no column 'nope'"):
        sweep_plots.heatmap(grid, [CRED, RES], "nope", INFO)


def test_response_curve_with_band_and_undefined_points():
    X = np.column_stack([np.linspace(0, 1, 21), np.full(21, 0.95)])
    t = _table(X, [CRED, RES]).sample(frac=1.0, random_state=1)  # order must not matter
    fig = sweep_plots.response(t, CRED, METRIC, {**INFO, "points": 21, "design": "grid"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "US backstop credibility"
    assert "52-week ceasefire survival" in ax.get_ylabel()
    assert ax.get_ylim() == (-0.02, 1.02)
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("52-week"))
    assert np.all(np.diff(line.get_xdata()) > 0)
    assert len(ax.collections) >= 1  # the band
    texts = _texts(fig)
    assert "95% interval of the ensemble estimate" in texts
    assert any("5 points undefined" in t.replace("\n", " ") for t in texts)
    assert "Scenario as written (0.6)" in texts
    _png(fig)
    # a metric without _lo/_hi: no band, no NaN entry
    fig = sweep_plots.response(t, CRED, "p_ceasefire", INFO)
    assert "95% interval of the ensemble estimate" not in _texts(fig)


def test_scatter_overview():
    rng = np.random.default_rng(3)
    factors = [CRED, RES, COST]
    X = np.column_stack([rng.uniform(f["lo"], f["hi"], 150) for f in factors])
    t = _table(X, factors)
    fig = sweep_plots.scatter(t, factors, METRIC, {**INFO, "points": 150, "design": "lhs"})
    axes = [a for a in fig.axes if a.axison]
    assert [a.get_xlabel() for a in axes] == [
        "US backstop credibility",
        "Russian resolve",
        "actors.russia.cost_tolerance",
    ]
    assert axes[0].get_ylabel()
    n_nan = int(t[METRIC].isna().sum())
    assert n_nan > 0
    texts = _texts(fig)
    assert any(f"Not shown: {n_nan} design points" in t for t in texts)
    assert {"design point", "mean in ten bins", "scenario as written"} <= set(texts)
    _png(fig)
    fig4 = sweep_plots.scatter(t.assign(x4=0.5), [*factors, {**COST, "name": "x4", "label": "X4"}], METRIC, INFO)
    assert sum(a.axison for a in fig4.axes) == 4


def test_sobol_index_chart():
    df = pd.DataFrame(
        {
            "index": ["S1", "S1", "S1", "ST", "ST", "ST", "S2", "S2", "S2"],
            "parameter": [CRED["name"], RES["name"], COST["name"]] * 2 + [CRED["name"], CRED["name"], RES["name"]],
            "parameter_2": [""] * 6 + [RES["name"], COST["name"], COST["name"]],
            "value": [0.30, 0.45, 0.0, 0.40, 0.55, 0.02, 0.05, 0.0, 0.0],
            "conf": [0.03, 0.04, 0.01, 0.04, 0.05, 0.01, 0.02, 0.01, 0.01],
        }
    )
    fig = sweep_plots.indices(df, [CRED, RES, COST], "p_durable_ceasefire", "sobol", {**INFO, "design": "sobol"})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "Russian resolve" and labels[-2] == "US backstop credibility"  # largest ST on top
    assert labels[0].replace("\n", "") == COST["name"]
    assert "Sobol' index (share of output variance" in ax.get_xlabel()
    texts = _texts(fig)
    assert any(t.startswith("First order S1") for t in texts) and any(t.startswith("Total order ST") for t in texts)
    assert "0.75" in ax.get_title() and "25% of the variance comes from interactions" in ax.get_title()
    _png(fig)


def test_morris_chart():
    df = pd.DataFrame(
        {
            "parameter": [CRED["name"], RES["name"], COST["name"]],
            "mu": [0.4, -0.6, 0.01],
            "mu_star": [0.4, 0.6, 0.05],
            "mu_star_conf": [0.05, 0.06, 0.01],
            "sigma": [0.1, 0.3, 0.04],
        }
    )
    fig = sweep_plots.indices(df, [CRED, RES, COST], "p_ceasefire", "morris", {**INFO, "design": "morris"})
    ax, ax2 = fig.axes[:2]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Russian resolve  (1)"
    assert ax.get_xlabel().startswith("μ*") and ax2.get_ylabel().startswith("σ")
    assert sorted(t.get_text() for t in ax2.texts) == ["1", "2", "3"]
    _png(fig)
    with pytest.raises(RunError, match="unknown kind"):
        sweep_plots.indices(df, [CRED, RES, COST], "p_ceasefire", "fast", INFO)
