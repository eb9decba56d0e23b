"""Scenario discovery (CART, PRIM) recovers a known box; conditions parsed; clear errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from sim.errors import RunError
from sim.experiments import discovery

FACTORS = [{"name": f"x{i}", "label": f"X{i}", "lo": 0.0, "hi": 1.0, "baseline": 0.5} for i in (1, 2, 3, 4)]
INFO = {"scenario": "Synthetic", "replicates": 100, "seed": 1, "points": 800, "design": "lhs"}


def _table(n: int = 800, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.uniform(size=(n, 4)), columns=[f["name"] for f in FACTORS])
    df.insert(0, "point", np.arange(n))
    df.insert(1, "seed", np.arange(n) + 10)
    inside = (df["x1"] > 0.6) & (df["x2"] < 0.3)
    # a metric well above 0.5 inside the box and well below outside, plus a noise-free companion
    df["p_durable_ceasefire"] = np.where(inside, 0.7, 0.2) + rng.uniform(-0.1, 0.1, n)
    df["median_weeks_to_ceasefire"] = np.where(df["x3"] > 0.9, np.nan, 40.0)
    return df


@pytest.fixture(scope="module")
def table():
    return _table()


@pytest.mark.parametrize("method", ["cart", "prim"])
def test_recovers_the_box(table, method):
    res = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", method)
    truth = ((table["x1"] > 0.6) & (table["x2"] < 0.3)).to_numpy()
    assert res.n_points == 800 and res.n_interest == int(truth.sum()) and res.n_nan == 0
    box = res.best
    assert set(box.limits) == {"x1", "x2"}  # x3, x4 stay unrestricted
    lo1, hi1 = box.limits["x1"]
    lo2, hi2 = box.limits["x2"]
    assert hi1 is None and lo2 is None  # one-sided, as the truth
    assert lo1 == pytest.approx(0.6, abs=0.04) and hi2 == pytest.approx(0.3, abs=0.04)
    assert box.density >= 0.9 and box.coverage >= 0.8
    # the statistics agree with the box's own limits
    inside = box.contains(table)
    assert box.n == int(inside.sum()) and box.n_interest == int((inside & truth).sum())
    assert box.coverage == pytest.approx(box.n_interest / res.n_interest)
    assert box.density == pytest.approx(box.n_interest / box.n)


def test_cart_details(table):
    res = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "cart", seed=3)
    assert res.params == {"max_depth": 3, "min_samples_leaf": 16, "seed": 3}  # max(5, 2% of 800)
    assert res.trajectory == [] and res.chosen_step is None
    scores = [b.coverage * b.density for b in res.boxes]
    assert scores == sorted(scores, reverse=True)


def test_prim_trajectory_and_choice(table):
    res = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "prim", threshold=0.8)
    traj = res.trajectory
    assert len(traj) > 5 and traj[0]["coverage"] == 1.0 and traj[0]["restricted"] == []
    assert {"step", "coverage", "density", "n", "restricted"} <= set(traj[0])
    c = res.chosen_step
    dense = [t for t in traj if t["density"] >= 0.8]
    assert traj[c]["coverage"] == max(t["coverage"] for t in dense)
    assert set(traj[c]["restricted"]) == set(res.best.limits)


def test_prim_falls_back_to_the_densest_box(table):
    # 10% of the labels flipped at random: no box reaches density 1, so the densest box is kept
    flip = np.random.default_rng(9).uniform(size=len(table)) < 0.1
    noisy = table.assign(
        p_durable_ceasefire=np.where(flip, 0.9 - table["p_durable_ceasefire"], table["p_durable_ceasefire"])
    )
    res = discovery.discover(noisy, FACTORS, "p_durable_ceasefire >= 0.5", "prim", threshold=1.0)
    densities = [t["density"] for t in res.trajectory]
    assert max(densities) < 1.0
    assert res.chosen_step == int(np.argmax(densities))
    assert res.best.density == pytest.approx(max(densities))


def test_deterministic(table):
    big = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "cart", seed=2**63 - 1)  # a root seed
    assert set(big.best.limits) == {"x1", "x2"}
    for method in ("cart", "prim"):
        a = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", method, seed=5)
        b = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", method, seed=5)
        assert a.to_dict() == b.to_dict()


def test_reports(table):
    res = discovery.discover(table, FACTORS, " p_durable_ceasefire >= 0.5 ", "cart")
    text = res.rules_text()
    assert text.startswith("Scenario discovery (CART): p_durable_ceasefire >= 0.5")
    assert f"{res.n_interest} of 800 design points meet the condition" in text
    line = text.splitlines()[2]
    assert line.startswith("  1. X1 >= 0.") and " AND X2 <= 0." in line
    assert "coverage" in line and "density" in line and line.endswith("points")
    d = res.to_dict()
    again = json.loads(json.dumps(d))
    assert again["boxes"][0]["limits"]["x1"]["hi"] is None and again["rules"][0] == res.box_text(res.best)
    header, rows = res.boxes_table()
    assert header == list(discovery.DiscoveryResult.BOXES_HEADER)
    first = dict(zip(header, rows[0], strict=True))
    assert first["box"] == 1 and first["parameter"] == "x1" and first["label"] == "X1" and first["hi"] is None
    assert {r[1] for r in rows if r[0] == 1} == {"x1", "x2"}


def test_nan_counts_as_not_meeting(table):
    # median weeks is NaN where x3 > 0.9: those points are not cases of interest, and are counted
    res = discovery.discover(table, FACTORS, "median_weeks_to_ceasefire < 50", "cart")
    n_nan = int(table["median_weeks_to_ceasefire"].isna().sum())
    assert res.n_nan == n_nan > 0 and res.n_interest == 800 - n_nan
    assert res.best.limits == {"x3": (None, pytest.approx(0.9, abs=0.03))}
    assert f"({n_nan} where median_weeks_to_ceasefire is undefined count as not meeting it)" in res.rules_text()


def test_parse_condition():
    assert discovery.parse_condition("p_durable_ceasefire >= 0.5") == ("p_durable_ceasefire", ">=", 0.5)
    assert discovery.parse_condition("median_weeks_to_ceasefire<26") == ("median_weeks_to_ceasefire", "<", 26.0)
    assert discovery.parse_condition("x > -1e-3", ["x"]) == ("x", ">", -0.001)
    assert discovery.parse_condition("x <= .25") == ("x", "<=", 0.25)
    for bad in ("p_ceasefire = 0.5", "p_ceasefire >= high", ">= 0.5", "p_ceasefire >= 0.5 and x < 1", ""):
        with pytest.raises(RunError, match="METRIC OP VALUE"):
            discovery.parse_condition(bad)
    with pytest.raises(RunError, match=r"unknown metric 'p_peace' \(available: p_ceasefire, p_durable"):
        discovery.parse_condition("p_peace >= 0.5", ["p_ceasefire", "p_durable_ceasefire"])


def test_errors(table):
    with pytest.raises(RunError, match=r"unknown metric 'x1'.*available: p_durable_ceasefire"):
        discovery.discover(table, FACTORS, "x1 >= 0.5")  # a factor is not a metric
    with pytest.raises(RunError, match=r"no design point meets 'p_durable_ceasefire >= 0.95'.*loosen"):
        discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.95")
    with pytest.raises(RunError, match=r"every one of the 800 design points.*tighten"):
        discovery.discover(table, FACTORS, "p_durable_ceasefire > 0")
    with pytest.raises(RunError, match="unknown discovery method 'svm'"):
        discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "svm")
    with pytest.raises(RunError, match=r"threshold must be in \(0, 1\]"):
        discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "prim", threshold=0)


def test_prim_without_ema_workbench(table, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    with pytest.raises(RunError, match=r"pip install 'negsim\[ema\]'"):
        discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", "prim")


@pytest.mark.parametrize("method", ["cart", "prim"])
def test_plot(table, method):
    from matplotlib.figure import Figure

    res = discovery.discover(table, FACTORS, "p_durable_ceasefire >= 0.5", method)
    fig = discovery.plot(res, table, FACTORS, INFO)
    assert isinstance(fig, Figure)
    assert "where does 'p_durable_ceasefire >= 0.5' hold?" in fig._suptitle.get_text()
    assert len(fig.axes) == (4 if method == "prim" else 2)  # PRIM: + the trade-off and its colour bar
    assert all(a.get_xlabel() for a in fig.axes[: 3 if method == "prim" else 2])
    limits_ax = fig.axes[0]
    labels = [t.get_text() for t in limits_ax.get_yticklabels()]
    assert set(labels[-2:]) == {"X1", "X2"}  # restricted factors on top
    scatter_ax = fig.axes[1]
    assert {scatter_ax.get_xlabel(), scatter_ax.get_ylabel()} == {"X1", "X2"}
    if method == "prim":
        assert fig.axes[2].get_xlabel().startswith("Coverage")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_plot_one_factor():
    rng = np.random.default_rng(1)
    t = pd.DataFrame({"x1": rng.uniform(size=200)})
    t["m"] = (t["x1"] > 0.5).astype(float)
    res = discovery.discover(t, FACTORS[:1], "m >= 0.5", "cart")
    assert res.best.limits == {"x1": (pytest.approx(0.5, abs=0.02), None)}
    fig = discovery.plot(res, t, FACTORS[:1], INFO)
    assert len(fig.axes) == 1
