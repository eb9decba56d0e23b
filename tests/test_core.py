"""Exact values for the negotiation, war and deterrence arithmetic in sim.rules.core."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rules import core, theory


def test_unit_scale_round_trip():
    lo, hi = np.array([0.0, 1.0]), np.array([4.0, 3.0])
    x = np.array([[3.0, 2.0]])
    u = core.to_unit(x, lo, hi)
    assert u.tolist() == [[0.75, 0.5]]
    assert core.from_unit(u, lo, hi).tolist() == x.tolist()


def test_loss_exponent():
    assert core.loss_exponent(np.array([-1.0, 0.0, 1.0])).tolist() == [0.5, 1.0, 2.0]


def test_utility_by_hand():
    # two issues, weights 3/4 and 1/4, distances 1/2 and 1: U = 1 - (3/8 + 1/4) = 3/8
    pkg = np.array([[0.5, 1.0]])
    ideal = np.array([[0.0, 0.0]])
    w = core.salience_weights(np.array([[0.6, 0.2]]))
    np.testing.assert_allclose(w, [[0.75, 0.25]])
    assert core.utility(pkg, ideal, w, np.array([1.0]))[0] == pytest.approx(3 / 8, abs=1e-15)
    # quadratic loss (risk-averse): 1 - (3/4 * 1/4 + 1/4 * 1) = 9/16
    assert core.utility(pkg, ideal, w, np.array([2.0]))[0] == pytest.approx(9 / 16, abs=1e-15)


def test_salience_weights_all_zero_are_equal():
    assert core.salience_weights(np.zeros((1, 4))).tolist() == [[0.25] * 4]


def test_weighted_compromise_matches_theory_and_hand_value():
    # 3 actors, one issue: sum(c s x) / sum(c s) = (1*1*0 + 2*0.5*1 + 1*1*0.5) / (1 + 1 + 1) = 1.5/3
    pos = np.array([[[0.0]], [[1.0]], [[0.5]]])
    cap = np.array([[1.0], [2.0], [1.0]])
    sal = np.array([[[1.0]], [[0.5]], [[1.0]]])
    got = core.weighted_compromise(pos, cap, sal)[0, 0]
    assert got == pytest.approx(0.5, abs=1e-15)
    assert got == pytest.approx(theory.weighted_mean([0.0, 1.0, 0.5], [1.0, 1.0, 1.0]))


def test_weighted_compromise_no_weight_falls_back_to_mean():
    pos = np.array([[[0.2]], [[0.6]]])
    got = core.weighted_compromise(pos, np.zeros((2, 1)), np.zeros((2, 1, 1)))
    assert got[0, 0] == pytest.approx(0.4)


def test_snap_to_nearest_point_ties_low():
    pts = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert core.snap(np.array([0.1, 0.13, 0.125, 0.99]), pts).tolist() == [0.0, 0.25, 0.0, 1.0]


def test_equilibrium_balance_by_hand():
    # S_a = 0.25 + 0.2 * 1 = 0.45, S_b = 0.5: b* = 0.45 / 0.95 = 9/19
    b = core.equilibrium_balance(np.array([0.25]), np.array([0.5]), np.array([1.0]), np.array([0.2]))
    assert b[0] == pytest.approx(9 / 19, abs=1e-15)


def test_balance_step_exact_on_logit_scale():
    b = np.array([0.5])
    target = np.array([0.8])
    # logit(0.5) = 0, logit(0.8) = ln 4; theta = 0.5, no shock: L' = ln 2 -> b' = 2/3
    out = core.balance_step(b, target, np.array([0.5]), np.array([0.0]), np.array([0.0]))
    assert out[0] == pytest.approx(2 / 3, abs=1e-12)
    # a shock of one sd moves the logit by sigma
    out = core.balance_step(b, b, np.array([0.0]), np.array([np.log(3)]), np.array([1.0]))
    assert out[0] == pytest.approx(0.75, abs=1e-12)


def test_forecast_balance():
    out = core.forecast_balance(np.array([0.4]), np.array([0.5]), np.array([0.5]), 2)
    assert out[0] == pytest.approx(0.475)


def test_weekly_losses_even_balance():
    la, lb = core.weekly_losses(np.array([0.5, 0.25]), np.array([1.0, 2.0]))
    assert la.tolist() == [1.0, 2.5]
    assert lb.tolist() == [1.0, 1.5]


def test_reservation_and_pressure():
    p = core.pressure(np.array([0.75]), np.array([0.4]), np.array([0.2]))
    assert p[0] == pytest.approx(0.3)
    assert core.reservation(np.array([0.6]), p)[0] == pytest.approx(0.3)


def _accepts(x: float, p: float, cost: float, ideal: float, resolve: float = 0.0) -> bool:
    """Two-actor, one-issue acceptance as the model computes it (risk neutral)."""
    pkg = np.array([[x]])
    ideal_a = np.array([[ideal]])
    w = np.array([[1.0]])
    e = np.array([1.0])
    u_prop = core.utility(pkg, ideal_a, w, e)
    u_war = core.war_lottery_utility(ideal_a, w, e, np.array([p]), np.array([[1.0]]), np.array([[0.0]]))
    press = core.pressure(np.array([resolve]), np.array([cost]), np.array([0.0]))
    return bool(u_prop[0] >= core.reservation(u_war, press)[0] - 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    p=st.floats(0.05, 0.95),
    ca=st.floats(0.0, 0.3),
    cb=st.floats(0.0, 0.3),
    x=st.floats(0.0, 1.0),
)
def test_acceptance_region_is_fearons_bargaining_range(p, ca, cb, x):
    """Side a (ideal 1) and b (ideal 0) both accept x exactly inside Fearon's (1995) range."""
    rng = theory.fearon_bargaining_range(p, ca, cb)
    both = _accepts(x, p, ca, 1.0) and _accepts(x, p, cb, 0.0)
    lo, hi = rng
    if lo + 1e-9 < x < hi - 1e-9:
        assert both
    elif x < lo - 1e-9 or x > hi + 1e-9:
        assert not both


def test_fearon_range_exact_case():
    # p = 0.6, costs 0.1 and 0.2: a accepts x >= 0.5, b accepts x <= 0.8
    assert _accepts(0.5, 0.6, 0.1, 1.0) and not _accepts(0.49, 0.6, 0.1, 1.0)
    assert _accepts(0.8, 0.6, 0.2, 0.0) and not _accepts(0.81, 0.6, 0.2, 0.0)
    assert theory.fearon_bargaining_range(0.6, 0.1, 0.2) == pytest.approx((0.5, 0.8))


def test_risk_aversion_widens_acceptance():
    # with a convex loss (risk averse) the war lottery is worth less than its mean outcome
    ideal = np.array([[1.0]])
    w = np.array([[1.0]])
    lottery = lambda e: core.war_lottery_utility(  # noqa: E731
        ideal, w, np.array([e]), np.array([0.5]), np.array([[1.0]]), np.array([[0.0]])
    )[0]
    sure = lambda e: core.utility(np.array([[0.5]]), ideal, w, np.array([e]))[0]  # noqa: E731
    assert sure(1.0) == pytest.approx(lottery(1.0))
    assert sure(2.0) > lottery(2.0)
    assert sure(0.5) < lottery(0.5)


def test_red_lines():
    prop = np.array([[0.25, 0.5], [0.75, 0.5]])
    lo = np.array([[0.5, -np.inf]] * 2)
    hi = np.full((2, 2), np.inf)
    never = np.full((2, 2), np.inf)
    press = np.array([0.0, 0.0])
    assert core.red_line_ok(prop, lo, hi, never, press).tolist() == [False, True]
    breaks = np.full((2, 2), 0.4)
    assert core.red_line_ok(prop, lo, hi, breaks, np.array([0.5, 0.0])).tolist() == [True, True]
    excl = np.array([[0.75], [np.nan]])
    assert core.red_line_ok(prop, np.full((2, 2), -np.inf), hi, never, press, excl).tolist() == [
        True,
        False,
    ]


def test_concession_by_hand():
    w = np.array([[0.5, 0.25, 0.25]])
    rate = core.concession_rate(np.array([0.1]), np.array([2.0]), w)  # pressure capped at 1
    np.testing.assert_allclose(rate, [[0.05, 0.075, 0.075]])
    out = core.concede(np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 0.0]]), rate)
    np.testing.assert_allclose(out, [[0.05, 0.075, 0.925]])


def test_deterrent_and_hazard_by_hand():
    commit = np.array([[0.5], [0.5]])
    cred = np.array([[0.6], [0.6]])
    cap = np.array([[1.0], [0.6]])
    d = core.deterrent(commit, cred, cap, np.array([4.0]), np.array([0.35]), np.array([1.0]))
    assert d[0] == pytest.approx(4 * (0.3 + 0.18) + 0.35)
    h = core.resumption_hazard(np.array([0.05]), np.array([0.85]), d)
    assert h[0] == pytest.approx(0.05 * 0.85 * np.exp(-2.27))
    assert core.resumption_hazard(np.array([0.05]), np.array([0.0]), d)[0] == 0.0


def test_wilson_interval_known_value():
    # Wilson (1927) for 8/10 at 95%: (0.4902, 0.9433)
    lo, hi = core.wilson_interval(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4)
    assert hi == pytest.approx(0.94332, abs=1e-4)
    assert core.wilson_interval(0, 50)[0] == 0.0
    assert core.wilson_interval(50, 50)[1] == 1.0


def test_kaplan_meier_textbook():
    # durations 1,2,2,3(censored),4: S(1)=4/5, S(2)=4/5*2/4=2/5, S(4)=2/5*0=0 (one at risk at 4)
    t, s, lo, hi = core.kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([1, 1, 1, 0, 1], dtype=bool))
    assert t.tolist() == [0, 1, 2, 4]
    assert [Fraction(v).limit_denominator(100) for v in s] == [1, Fraction(4, 5), Fraction(2, 5), 0]
    assert core.km_at(t, s, 3) == pytest.approx(0.4)
    assert core.km_at(t, s, 0.5) == 1.0
    assert np.all(lo <= s + 1e-12) and np.all(hi >= s - 1e-12)


def test_kaplan_meier_all_censored_is_flat():
    t, s, _, _ = core.kaplan_meier(np.array([5.0, 7.0]), np.array([False, False]))
    assert t.tolist() == [0.0] and s.tolist() == [1.0]


def test_veto_engaged_only_when_the_text_changes_a_veto_issue():
    sq = np.array([0.25, 0.5])
    prop = np.array([[0.25, 0.5], [0.25, 0.6], [0.75, 0.5]])
    changed = core.changes_status_quo(prop, sq)
    assert changed.tolist() == [[False, False], [False, True], [True, False]]
    assert core.veto_engaged(changed, np.array([True, False])).tolist() == [False, False, True]
    assert core.veto_engaged(changed, np.array([False, False])).tolist() == [False, False, False]
