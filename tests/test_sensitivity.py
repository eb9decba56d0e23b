"""Sobol' and Morris analyses checked against closed forms (Ishigami, linear models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.errors import RunError
from sim.experiments import sensitivity

PI = np.pi
ISHIGAMI = [{"name": f"x{i}", "label": f"x{i}", "lo": -PI, "hi": PI, "baseline": 0.0} for i in (1, 2, 3)]
# Ishigami & Homma (1990) with a = 7, b = 0.1: V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2, closed-form indices
A, B = 7.0, 0.1
V1 = 0.5 * (1 + B * PI**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
V = V1 + V2 + V13
S1_EXACT = np.array([V1 / V, V2 / V, 0.0])
ST_EXACT = np.array([(V1 + V13) / V, V2 / V, V13 / V])


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_closed_form_matches_the_published_values():
    np.testing.assert_allclose(S1_EXACT, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(ST_EXACT, [0.5576, 0.4424, 0.2437], atol=1e-4)


@pytest.fixture(scope="module")
def ishigami_table():
    prob = sensitivity.problem(ISHIGAMI)
    X = sobol_sample.sample(prob, 2**12, calc_second_order=True, seed=3)
    Y = ishigami(X)
    return X, Y, sensitivity.sobol(ISHIGAMI, X, Y, second_order=True, seed=11, num_resamples=500)


def test_ishigami_indices(ishigami_table):
    _, _, df = ishigami_table
    assert list(df.columns) == sensitivity.SOBOL_COLUMNS
    assert list(df["index"]) == ["S1"] * 3 + ["ST"] * 3 + ["S2"] * 3
    s1 = df[df["index"] == "S1"].set_index("parameter")
    st = df[df["index"] == "ST"].set_index("parameter")
    names = ["x1", "x2", "x3"]
    # the 95% bootstrap half-widths at N = 4096 are 0.01-0.04; the estimate must sit within 2 half-widths
    # (a ~99.99% band under normality) plus a small floor for the bootstrap's own noise
    for got, exact in ((s1, S1_EXACT), (st, ST_EXACT)):
        err = np.abs(got.loc[names, "value"].to_numpy() - exact)
        tol = 2 * got.loc[names, "conf"].to_numpy() + 0.01
        assert (err <= tol).all(), (got, exact)
        assert (got.loc[names, "conf"] > 0).all() and (got.loc[names, "conf"] < 0.06).all()
    # ranking: ST puts x1 first, x3 last; x3 has no first-order effect but a clear interaction with x1
    assert st["value"].idxmax() == "x1" and st["value"].idxmin() == "x3"
    s2 = df[df["index"] == "S2"].set_index(["parameter", "parameter_2"])["value"]
    assert s2[("x1", "x3")] == pytest.approx(V13 / V, abs=0.06)
    assert abs(s2[("x1", "x2")]) < 0.05 and abs(s2[("x2", "x3")]) < 0.05
    assert (df.loc[df["index"] != "S2", "parameter_2"] == "").all()


def test_deterministic_given_seed(ishigami_table):
    X, Y, df = ishigami_table
    again = sensitivity.sobol(ISHIGAMI, X, Y, second_order=True, seed=11, num_resamples=500)
    pd.testing.assert_frame_equal(df, again)
    other = sensitivity.sobol(ISHIGAMI, X, Y, second_order=True, seed=12, num_resamples=500)
    np.testing.assert_array_equal(df["value"], other["value"])  # the point estimates do not resample
    assert not np.array_equal(df["conf"], other["conf"])


def test_linear_model_indices_are_exact_shares_of_variance():
    # y = sum c_i x_i with independent uniform x_i: S1_i = ST_i = c_i^2 var_i / sum_j c_j^2 var_j
    factors = [
        {"name": "a", "label": None, "lo": 0.0, "hi": 1.0, "baseline": None},
        {"name": "b", "label": None, "lo": -1.0, "hi": 3.0, "baseline": None},
        {"name": "c", "label": None, "lo": 10.0, "hi": 12.0, "baseline": 11.0},
    ]
    c = np.array([3.0, -1.0, 0.5])
    var = np.array([(f["hi"] - f["lo"]) ** 2 / 12 for f in factors])
    exact = c**2 * var / (c**2 * var).sum()
    prob = sensitivity.problem(factors)
    X = sobol_sample.sample(prob, 2**12, calc_second_order=False, seed=5)
    df = sensitivity.sobol(factors, X, X @ c, second_order=False, seed=1, num_resamples=200)
    assert set(df["index"]) == {"S1", "ST"}
    for idx in ("S1", "ST"):
        got = df[df["index"] == idx]["value"].to_numpy()
        np.testing.assert_allclose(got, exact, atol=0.02)


def test_morris_on_a_linear_function():
    factors = [
        {"name": "a", "label": "A", "lo": 0.0, "hi": 1.0, "baseline": 0.5},
        {"name": "b", "label": "B", "lo": -2.0, "hi": 2.0, "baseline": None},
        {"name": "c", "label": "C", "lo": 5.0, "hi": 5.5, "baseline": None},
    ]
    c = np.array([2.0, -0.5, 4.0])
    prob = sensitivity.problem(factors)
    X = morris_sample.sample(prob, 20, num_levels=4, seed=2)
    df = sensitivity.morris(factors, X, X @ c + 1.0, num_levels=4, seed=2)
    assert list(df.columns) == sensitivity.MORRIS_COLUMNS
    assert list(df["parameter"]) == ["a", "b", "c"]
    span = np.array([f["hi"] - f["lo"] for f in factors])
    np.testing.assert_allclose(df["mu_star"], np.abs(c) * span, rtol=1e-9)
    np.testing.assert_allclose(df["mu"], c * span, rtol=1e-9)
    np.testing.assert_allclose(df["sigma"], 0.0, atol=1e-9)
    np.testing.assert_allclose(df["mu_star_conf"], 0.0, atol=1e-9)


def test_nan_metric_is_refused_with_advice():
    prob = sensitivity.problem(ISHIGAMI)
    X = sobol_sample.sample(prob, 8, calc_second_order=False, seed=1)
    Y = ishigami(X)
    Y[[0, 3, 7]] = np.nan
    with pytest.raises(RunError, match=r"ceasefire_survival_52w.*NaN\) at 3 of 40 design points.*choose a metric"):
        sensitivity.sobol(ISHIGAMI, X, Y, second_order=False, seed=1, metric="ceasefire_survival_52w")


def test_sample_count_must_fit_the_design():
    prob = sensitivity.problem(ISHIGAMI)
    X = sobol_sample.sample(prob, 8, calc_second_order=False, seed=1)  # 8 x (3 + 2) = 40 points
    Y = ishigami(X)
    # 40 = 5 x 8 fits N x (2k + 2) only with N = 5, not a power of two
    with pytest.raises(RunError, match=r"N x \(2k \+ 2\) = N x 8 points with N a power of two, but 40"):
        sensitivity.sobol(ISHIGAMI, X, Y, second_order=True, seed=1)
    with pytest.raises(RunError, match="but 36 metric values"):
        sensitivity.sobol(ISHIGAMI, X[:36], Y[:36], second_order=True, seed=1)
    with pytest.raises(RunError, match="shape"):
        sensitivity.sobol(ISHIGAMI, X[:-1], Y, second_order=False, seed=1)
    with pytest.raises(RunError, match=r"r x \(k \+ 1\)"):
        sensitivity.morris(ISHIGAMI, X[:39], Y[:39], num_levels=4, seed=1)


def test_constant_metric_and_bad_factors_are_refused():
    prob = sensitivity.problem(ISHIGAMI)
    X = sobol_sample.sample(prob, 8, calc_second_order=False, seed=1)
    with pytest.raises(RunError, match="same .* at all 40 design points"):
        sensitivity.sobol(ISHIGAMI, X, np.full(40, 0.25), second_order=False, seed=1)
    with pytest.raises(RunError, match="at least one"):
        sensitivity.problem([])
    with pytest.raises(RunError, match="unique"):
        sensitivity.problem([ISHIGAMI[0], ISHIGAMI[0]])
