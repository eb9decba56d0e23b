"""Tests for sim.rules.exchange: the Equal Gain exchange model against DECIDE's published numbers.

Reference: tests/fixtures/exchange-small (copies of shared/reference-cases/exchange-small; see PROVENANCE.md).
Tolerances: outcomes and the rex fixture are checked as exact fractions (object arrays of Fraction); the
sample_toll exchange values are DECIDE ``Decimal`` prints with 27-28 significant digits and are checked
against this engine's exact fractions at a relative 1e-25; the same quantities from the float engine at a
relative 1e-12.
"""

from __future__ import annotations

import csv
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rules.exchange import (
    ExchangeParams,
    ExchangeState,
    adjusted_outcome,
    candidate_exchanges,
    exchange_round,
    run_exchange,
    weighted_outcome,
)
from sim.scenario.readers import read_decide_tsv

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exchange-small"
REX_TSV = FIXTURES / "input_rex_two_actor.tsv"
REX_CSV = FIXTURES / "expected_rex_two_actor.csv"
TOLL_TSV = FIXTURES / "input_sample_toll.tsv"
TOLL_CSV = FIXTURES / "expected_sample_toll.csv"

DECIMAL_REL = Fraction(1, 10**25)  # DECIDE prints Decimals with 28 significant digits
FLOAT_REL = 1e-12


def _exact(expr: str) -> Fraction:
    """Parse the reference's exact column: ``85+5/7``, ``1000/7``, ``48``."""
    total = Fraction(0)
    for term in expr.split("+"):
        total += Fraction(term.strip())
    return total


def _rex_expected() -> dict[str, str]:
    with open(REX_CSV, newline="") as fh:
        return {row["quantity"]: row for row in csv.DictReader(fh)}


def _toll_expected() -> dict[str, dict[str, str]]:
    with open(TOLL_CSV, newline="") as fh:
        return {row["quantity"]: row for row in csv.DictReader(fh)}


def _close(value: Fraction, reference: str, rel: Fraction = DECIMAL_REL) -> bool:
    ref = Fraction(reference)
    return abs(value - ref) <= rel * abs(ref)


@pytest.fixture(scope="module")
def toll_exact():
    return read_decide_tsv(TOLL_TSV, exact=True)


@pytest.fixture(scope="module")
def toll_float():
    return read_decide_tsv(TOLL_TSV)


@pytest.fixture(scope="module")
def toll_round1_exact(toll_exact):
    return exchange_round(toll_exact.to_state())


# ---------------------------------------------------------------------------
# rex two-actor fixture (hand-computed, exact fractions)
# ---------------------------------------------------------------------------


def test_rex_outcomes_exact():
    data = read_decide_tsv(REX_TSV, exact=True)
    exp = _rex_expected()
    out = data.to_state().outcome()
    assert out[0] == _exact(exp["NBS[Issue-1]"]["exact"]) == 85 + Fraction(5, 7)
    assert out[1] == _exact(exp["NBS[Issue-2]"]["exact"]) == 35 + Fraction(5, 7)
    # the float engine agrees with the printed values
    out_f = read_decide_tsv(REX_TSV).to_state().outcome()
    assert out_f[0] == pytest.approx(85 + 5 / 7, rel=FLOAT_REL)
    assert out_f[1] == pytest.approx(float(exp["NBS[Issue-2]"]["expected"]), rel=1e-9)


def test_rex_roles_adjusted_outcomes_and_decide_utilities():
    data = read_decide_tsv(REX_TSV, exact=True)
    exp = _rex_expected()
    state = data.to_state()
    x, c, s = state.positions, state.power, state.salience
    a1, a2 = data.actors.index("Actor-1"), data.actors.index("Actor-2")
    i1, i2 = data.issues.index("Issue-1"), data.issues.index("Issue-2")

    cands = candidate_exchanges(state)
    assert cands.n_candidates == 1 and len(cands.exchanges) == 1
    e = cands.exchanges[0]
    # "i=Actor-2 supplies Issue-2; j=Actor-1 supplies Issue-1": i demands p = Issue-1, supplies q = Issue-2
    assert (e.i, e.j, e.p, e.q) == (a2, a1, i1, i2)
    assert exp["exchange_roles"]["expected"] == "i=Actor-2 supplies Issue-2; j=Actor-1 supplies Issue-1"

    nbs1, nbs2 = state.outcome()
    adj1 = adjusted_outcome(x, c, s, a1, i1, x[a2, i1])  # Actor-1 moves to 100 on Issue-1
    adj2 = adjusted_outcome(x, c, s, a2, i2, x[a1, i2])  # Actor-2 moves to 0 on Issue-2
    assert adj1 == _exact(exp["adjusted_NBS_Issue-1_if_Actor-1_moves_to_100"]["exact"]) == 100
    assert adj2 == _exact(exp["adjusted_NBS_Issue-2_if_Actor-2_moves_to_0"]["exact"]) == 0

    def u(actor, issue, delta):  # |delta NBS| * s * c, as in the reference's definitions
        return delta * s[actor, issue] * c[actor]

    loss1 = u(a1, i1, abs(nbs1 - adj1))
    gain2 = u(a2, i1, abs(nbs1 - adj1))
    gain1 = u(a1, i2, abs(nbs2 - adj2))
    loss2 = u(a2, i2, abs(nbs2 - adj2))
    ratio = s[a2, i2] / (s[a1, i2] + s[a2, i2])
    d2u1 = loss1 / (ratio * s[a1, i2])
    d2u2 = gain2 / (ratio * s[a2, i2])
    got = {
        "loss_actor1_issue1": loss1,
        "gain_actor2_issue1": gain2,
        "gain_actor1_issue2": gain1,
        "loss_actor2_issue2": loss2,
        "s_ratio": ratio,
        "delta_2_u1": d2u1,
        "delta_2_u2": d2u2,
        "max_eu_actor_1": ratio * s[a1, i2] * d2u2 - loss1,
        "max_eu_actor_2": gain2 - ratio * s[a2, i2] * d2u1,
    }
    for name, value in got.items():
        assert value == _exact(exp[name]["exact"]), name
    assert got["max_eu_actor_2"] == pytest.approx(float(exp["max_eu_actor_2"]["expected"]), abs=1e-4)


def test_rex_equal_gain_exchange_hand_derived():
    """Not in the reference CSV: the Equal Gain exchange itself, derived by hand from the README's step 4.

    J = Actor-1 moves all the way (0 -> 100) on Issue-1: dp = 100 * 10 / 70 = 100/7, the outcome lands
    exactly on Actor-2's position; dq = dp (60 + 10) / (50 + 90) = 50/7; Actor-2 moves dq * 140 / 50 = 20
    on Issue-2 (100 -> 80); gain = 60 dp - 50 dq = 90 dq - 10 dp = 500 for each.
    """
    state = read_decide_tsv(REX_TSV, exact=True).to_state()
    hist = run_exchange(state, rounds=3)
    assert hist.n_exchanges == [1, 0, 0]
    e = hist.rounds[0].exchanges[0]
    assert (e.dp, e.dq, e.move_j, e.move_i) == (Fraction(100, 7), Fraction(50, 7), 100, 20)
    assert e.gain_i == e.gain_j == 500
    assert e.binding == "j_full_move"
    assert hist.states[1].positions.tolist() == [[100, 0], [100, 80]]
    assert hist.rounds[0].outcome.tolist() == [100, Fraction(200, 7)]


# ---------------------------------------------------------------------------
# sample_toll fixture (DECIDE test_model.py / test_calculations.py numbers)
# ---------------------------------------------------------------------------


def test_toll_outcomes_exact(toll_exact, toll_float):
    exp = _toll_expected()
    out = toll_exact.to_state().outcome()
    out_f = toll_float.to_state().outcome()
    for d, issue in enumerate(toll_exact.issues):
        row = exp[f"NBS[{issue}]"]
        frac = Fraction(re.search(r"exact fraction (\d+/\d+)", row["source"]).group(1))
        assert out[d] == frac, issue
        assert out_f[d] == pytest.approx(float(row["value"]), rel=FLOAT_REL), issue


def test_toll_candidate_count(toll_exact, toll_float):
    exp = _toll_expected()
    n = int(exp["number_of_candidate_exchanges_round1 (sum over issue pairs of |a|*|d|+|b|*|c|)"]["value"])
    assert n == 240
    assert candidate_exchanges(toll_exact.to_state()).n_candidates == n
    assert candidate_exchanges(toll_float.to_state()).n_candidates == n


def test_toll_highest_exchange_and_its_moves(toll_exact, toll_float):
    exp = _toll_expected()
    for data, exact in ((toll_exact, True), (toll_float, False)):
        best = candidate_exchanges(data.to_state()).exchanges[0]
        names = (data.actors[best.i], data.actors[best.j], data.issues[best.p], data.issues[best.q])
        # "Willems supplies extra-investering, Wcentr supplies tolheffing-binnenstad"
        assert names == ("Willems", "Wcentr", "tolheffing-binnenstad", "extra-investering")
        assert best.binding == "i_full_move"  # Wcentr's full move would overshoot; Willems moves 25 -> 100
        checks = {
            "gain_of_highest_exchange": best.gain,
            # DECIDE's "dp" is the shift on the fully-moving actor's issue (ours: dq), its "dq" ours dp.
            "exchange(Wcentr,Willems,p=tolheffing-binnenstad,q=extra-investering): by_absolute_move dp": best.dq,
            "same exchange: by_exchange_ratio dq": best.dp,
            "same exchange: reverse_move of j on its supply issue": best.move_j,
        }
        for name, value in checks.items():
            ref = exp[name]["value"]
            if exact:
                assert _close(value, ref), name
            else:
                assert value == pytest.approx(float(ref), rel=FLOAT_REL), name
        if exact:
            assert best.gain == Fraction(75, 38) and best.dq == Fraction(250, 19)
            assert best.dp == Fraction(3750, 361) and best.move_j == Fraction(418750, 6859)
            assert best.move_i == 75 and best.gain_i == best.gain_j


def test_toll_second_exchange_after_removing_invalid(toll_round1_exact, toll_exact):
    exp = _toll_expected()
    _, info = toll_round1_exact
    first, second = info.exchanges[:2]
    assert _close(first.gain, exp["gain_of_highest_exchange"]["value"])
    assert _close(second.gain, exp["gain_of_second_exchange_after_removing_invalid"]["value"])
    assert second.gain == Fraction(26730, 14911)
    names = [toll_exact.actors[second.i], toll_exact.actors[second.j]]
    assert names == ["Wcentr", "PvdA"]
    _, info_f = exchange_round(read_decide_tsv(TOLL_TSV).to_state())
    assert info_f.exchanges[1].gain == pytest.approx(
        float(exp["gain_of_second_exchange_after_removing_invalid"]["value"]), rel=FLOAT_REL
    )


def test_toll_float_and_exact_engines_agree(toll_round1_exact, toll_float):
    _, info = toll_round1_exact
    _, info_f = exchange_round(toll_float.to_state())
    assert len(info.exchanges) == len(info_f.exchanges) == 32
    for e, f in zip(info.exchanges, info_f.exchanges, strict=True):
        assert (e.i, e.j, e.p, e.q, e.binding) == (f.i, f.j, f.p, f.q, f.binding)
        assert float(e.gain) == pytest.approx(f.gain, rel=1e-9)
    np.testing.assert_allclose(np.array(info.outcome, dtype=float), info_f.outcome, rtol=1e-12)


# ---------------------------------------------------------------------------
# invariants on the fixture runs
# ---------------------------------------------------------------------------


def _replay(state: ExchangeState, info) -> None:
    """Apply a round's exchanges one by one and check every claim of the Equal Gain model exactly."""
    x = np.array(state.positions, dtype=object)
    c, s = state.power, state.salience
    out = weighted_outcome(x, c, s)
    assert list(out) == list(info.outcome_start)
    for e in info.exchanges:
        assert e.gain_i == e.gain_j > 0
        assert e.move_i > 0 and e.move_j > 0 and e.dp > 0 and e.dq > 0
        assert x[e.j, e.p] == e.from_j and x[e.i, e.q] == e.from_i
        # roles: i and j are on opposite sides of the outcome on both issues
        assert (x[e.i, e.p] <= out[e.p]) != (x[e.j, e.p] <= out[e.p])
        assert (x[e.i, e.q] <= out[e.q]) != (x[e.j, e.q] <= out[e.q])
        # each mover moves towards its partner's position, never past it
        assert min(e.from_j, x[e.i, e.p]) <= e.to_j <= max(e.from_j, x[e.i, e.p])
        assert min(e.from_i, x[e.j, e.q]) <= e.to_i <= max(e.from_i, x[e.j, e.q])
        assert abs(e.to_j - e.from_j) == e.move_j and abs(e.to_i - e.from_i) == e.move_i
        # utilities -s|O - x| at the pre-exchange positions
        u_before_i = -s[e.i, e.p] * abs(out[e.p] - x[e.i, e.p]) - s[e.i, e.q] * abs(out[e.q] - x[e.i, e.q])
        u_before_j = -s[e.j, e.p] * abs(out[e.p] - x[e.j, e.p]) - s[e.j, e.q] * abs(out[e.q] - x[e.j, e.q])
        old_ip, old_jq = x[e.i, e.p], x[e.j, e.q]
        old_iq, old_jp = x[e.i, e.q], x[e.j, e.p]
        x[e.j, e.p], x[e.i, e.q] = e.to_j, e.to_i
        new = weighted_outcome(x, c, s)
        # the outcome moves by dp towards i on p and by dq towards j on q, and does not pass them
        assert abs(new[e.p] - out[e.p]) == e.dp and abs(new[e.q] - out[e.q]) == e.dq
        assert abs(new[e.p] - old_ip) == abs(out[e.p] - old_ip) - e.dp
        assert abs(new[e.q] - old_jq) == abs(out[e.q] - old_jq) - e.dq
        u_after_i = -s[e.i, e.p] * abs(new[e.p] - old_ip) - s[e.i, e.q] * abs(new[e.q] - old_iq)
        u_after_j = -s[e.j, e.p] * abs(new[e.p] - old_jp) - s[e.j, e.q] * abs(new[e.q] - old_jq)
        assert u_after_i - u_before_i == e.gain_i
        assert u_after_j - u_before_j == e.gain_j
        out = new
    assert list(out) == list(info.outcome)


def test_replay_toll_round1_exact(toll_exact, toll_round1_exact):
    _replay(toll_exact.to_state(), toll_round1_exact[1])


def test_toll_ten_rounds_float_invariants(toll_float):
    state = toll_float.to_state()
    hist = run_exchange(state, rounds=10)
    assert len(hist.states) == 11 and len(hist.rounds) == 10
    assert hist.n_exchanges[0] == 32 and not any(r.truncated for r in hist.rounds)
    pos = hist.positions
    assert np.isfinite(pos).all() and np.isfinite(hist.outcomes).all()
    lo, hi = state.positions.min(axis=0), state.positions.max(axis=0)  # the initial positions' range
    assert ((pos >= lo - 1e-9) & (pos <= hi + 1e-9)).all()
    assert ((pos >= state.lower) & (pos <= state.upper)).all()
    for before, after, info in zip(hist.states[:-1], hist.states[1:], hist.rounds, strict=True):
        np.testing.assert_allclose(info.outcome, after.outcome(), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(info.outcome_start, before.outcome(), rtol=1e-12, atol=1e-9)
        for e in info.exchanges:
            assert e.gain_i == pytest.approx(e.gain_j, rel=1e-9, abs=1e-12)
            assert e.gain_i > 0
        # an actor's moves on an issue within one round go one way
        moves = {}
        for e in info.exchanges:
            for key, step in (((e.j, e.p), e.to_j - e.from_j), ((e.i, e.q), e.to_i - e.from_i)):
                assert moves.setdefault(key, np.sign(step)) == np.sign(step)
    np.testing.assert_array_equal(hist.states[-1].salience, state.salience)


# ---------------------------------------------------------------------------
# property tests (exact arithmetic on small random problems)
# ---------------------------------------------------------------------------


@st.composite
def problems(draw, min_actors=2, max_actors=5, max_issues=3):
    n_a = draw(st.integers(min_actors, max_actors))
    n_i = draw(st.integers(2, max_issues))
    ints = st.integers(0, 100)
    x = [[Fraction(draw(ints)) for _ in range(n_i)] for _ in range(n_a)]
    s = [[Fraction(draw(st.integers(0, 10))) for _ in range(n_i)] for _ in range(n_a)]
    c = [Fraction(draw(st.integers(0, 10))) for _ in range(n_a)]
    x, s, c = np.array(x, dtype=object), np.array(s, dtype=object), np.array(c, dtype=object)
    # every issue needs someone with positive weight; give actor 0 power and salience if not
    if not all(sum(c[a] * s[a, d] for a in range(n_a)) > 0 for d in range(n_i)):
        c[0] = max(c[0], Fraction(1))
        s[0] = [max(v, Fraction(1)) for v in s[0]]
    return ExchangeState(positions=x, power=c, salience=s)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_outcome_is_a_weighted_mean(state):
    out = state.outcome()
    w = state.power[:, None] * state.salience
    for d in range(state.n_issues):
        held = [state.positions[a, d] for a in range(state.n_actors) if w[a, d] > 0]
        assert min(held) <= out[d] <= max(held)
        # exact identity: sum of weighted deviations from the outcome is zero
        assert sum(w[a, d] * (state.positions[a, d] - out[d]) for a in range(state.n_actors)) == 0


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(1, 7))
def test_outcome_and_exchanges_invariant_to_power_scale(state, k):
    scaled = ExchangeState(positions=state.positions, power=state.power * k, salience=state.salience)
    assert list(scaled.outcome()) == list(state.outcome())
    _, a = exchange_round(state)
    _, b = exchange_round(scaled)
    assert [(e.i, e.j, e.p, e.q, e.to_i, e.to_j, e.gain) for e in a.exchanges] == [
        (e.i, e.j, e.p, e.q, e.to_i, e.to_j, e.gain) for e in b.exchanges
    ]


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(1, 5))
def test_salience_scale_scales_gains_only(state, k):
    scaled = ExchangeState(positions=state.positions, power=state.power, salience=state.salience * k)
    _, a = exchange_round(state)
    _, b = exchange_round(scaled)
    assert [(e.i, e.j, e.p, e.q, e.to_i, e.to_j, e.gain * k) for e in a.exchanges] == [
        (e.i, e.j, e.p, e.q, e.to_i, e.to_j, e.gain) for e in b.exchanges
    ]


@settings(max_examples=40, deadline=None)
@given(problems())
def test_rounds_replay_exactly_and_stay_in_range(state):
    hist = run_exchange(state, rounds=3)
    lo = [min(state.positions[:, d]) for d in range(state.n_issues)]
    hi = [max(state.positions[:, d]) for d in range(state.n_issues)]
    for before, info in zip(hist.states[:-1], hist.rounds, strict=True):
        _replay(before, info)
    for later in hist.states[1:]:
        for d in range(state.n_issues):
            assert all(lo[d] <= v <= hi[d] for v in later.positions[:, d])
            assert all(0 <= v <= 100 for v in later.positions[:, d])


@settings(max_examples=40, deadline=None)
@given(problems())
def test_mirrored_scale_gives_mirrored_exchanges(state):
    mirrored = ExchangeState(positions=100 - state.positions, power=state.power, salience=state.salience)
    assert list(mirrored.outcome()) == [100 - o for o in state.outcome()]
    a = candidate_exchanges(state)
    b = candidate_exchanges(mirrored)
    # "left" means x <= O, so mirroring changes sides only for actors exactly at the outcome
    exactly_at = any(state.positions[a_, d] == o for a_ in range(state.n_actors) for d, o in enumerate(state.outcome()))
    if not exactly_at:
        key = lambda e: (e.i, e.j, e.p, e.q)  # noqa: E731
        assert sorted((key(e), e.gain) for e in a.exchanges) == sorted((key(e), e.gain) for e in b.exchanges)


@settings(max_examples=40, deadline=None)
@given(problems(min_actors=3), st.data())
def test_zero_power_actors_never_move_and_count_for_nothing(state, data):
    n_a = state.n_actors
    idle = data.draw(st.integers(0, n_a - 1))
    power = state.power.copy()
    power[idle] = Fraction(0)
    others = [a for a in range(n_a) if a != idle]
    w = power[:, None] * state.salience
    if not all(w[others, d].sum() > 0 for d in range(state.n_issues)):
        return  # the idle actor was the only one with weight on an issue
    st0 = ExchangeState(positions=state.positions, power=power, salience=state.salience)
    without = ExchangeState(positions=state.positions[others], power=power[others], salience=state.salience[others])
    assert list(st0.outcome()) == list(without.outcome())
    hist = run_exchange(st0, rounds=2)
    assert all(idle not in (e.i, e.j) for r in hist.rounds for e in r.exchanges)
    assert (hist.positions[:, idle] == state.positions[idle]).all()


def test_zero_power_float_no_nan():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 100, (6, 4))
    s = rng.uniform(0, 1, (6, 4))
    s[2] = 0.0  # an actor with no salience anywhere
    c = np.array([1.0, 0.0, 0.5, 0.0, 0.8, 0.3])
    with np.errstate(all="raise"):
        hist = run_exchange(ExchangeState(positions=x, power=c, salience=s), rounds=5)
    assert np.isfinite(hist.positions).all() and np.isfinite(hist.outcomes).all()
    for r in hist.rounds:
        for e in r.exchanges:
            assert {e.i, e.j}.isdisjoint({1, 2, 3})
    np.testing.assert_array_equal(hist.positions[:, [1, 2, 3]], np.broadcast_to(x[[1, 2, 3]], (6, 3, 4)))


def test_weighted_outcome_zero_total_weight_raises():
    with pytest.raises(ValueError, match="zero total weight"):
        weighted_outcome(np.array([[10.0, 20.0]]), np.array([0.0]), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="positive power"):
        ExchangeState(positions=np.array([[10.0, 20.0]]), power=np.array([0.0]), salience=np.ones((1, 2)))


def test_state_validation():
    x = np.array([[10.0, 20.0], [90.0, 80.0]])
    with pytest.raises(ValueError, match="within"):
        ExchangeState(positions=x, power=np.ones(2), salience=np.ones((2, 2)), upper=np.array([50.0, 100.0]))
    with pytest.raises(ValueError, match=">= 0"):
        ExchangeState(positions=x, power=np.array([1.0, -1.0]), salience=np.ones((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        ExchangeState(positions=x, power=np.ones(3), salience=np.ones((2, 2)))
    with pytest.raises(ValueError, match="rounds"):
        run_exchange(ExchangeState(positions=x, power=np.ones(2), salience=np.ones((2, 2))), rounds=-1)


def test_inputs_are_not_modified_and_state_is_read_only():
    x = np.array([[0.0, 0.0], [100.0, 100.0]])
    s = np.array([[10.0, 90.0], [60.0, 50.0]])
    c = np.ones(2)
    state = ExchangeState(positions=x, power=c, salience=s)
    new, info = exchange_round(state)
    assert len(info.exchanges) == 1
    np.testing.assert_array_equal(x, [[0.0, 0.0], [100.0, 100.0]])
    np.testing.assert_array_equal(state.positions, x)
    np.testing.assert_array_equal(new.positions, [[100.0, 0.0], [100.0, 80.0]])
    assert new.round == 1 and state.round == 0
    with pytest.raises(ValueError):
        new.positions[0, 0] = 5.0


def test_equal_salience_ratios_give_no_exchange():
    # proportional saliences: any equal-gain exchange has zero gain
    x = np.array([[0.0, 0.0], [100.0, 100.0]])
    s = np.array([[1.0, 2.0], [3.0, 6.0]])
    _, info = exchange_round(ExchangeState(positions=x, power=np.ones(2), salience=s))
    assert info.n_candidates == 1 and info.exchanges == ()


def test_outcome_cap_lands_on_the_demander():
    # Other actors beyond the demander: a full move of the supplier would push the outcome past the
    # demander's position, so the shift is capped and the outcome lands exactly on it.
    x = np.array([[19, 26], [27, 71], [4, 100]], dtype=object) + Fraction(0)
    s = np.array([[6, 4], [4, 6], [6, 8]], dtype=object) + Fraction(0)
    c = np.array([5, 1, 4], dtype=object) + Fraction(0)
    cands = candidate_exchanges(ExchangeState(positions=x, power=c, salience=s))
    on_p = cands.find(0, 2, 0, 1)
    on_q = cands.find(2, 1, 0, 1)
    assert on_p.binding == "outcome_p_at_i" and on_q.binding == "outcome_q_at_j"
    for e, issue, target in ((on_p, 0, x[0, 0]), (on_q, 1, x[1, 1])):
        new = x.copy()
        new[e.j, e.p], new[e.i, e.q] = e.to_j, e.to_i
        assert weighted_outcome(new, c, s)[issue] == target
        assert e.gain_i == e.gain_j > 0
        # the uncapped full move would have overshot
        full = x.copy()
        full[e.j, e.p] = x[e.i, e.p] if issue == 0 else x[e.j, e.p]
        full[e.i, e.q] = x[e.j, e.q] if issue == 1 else x[e.i, e.q]
        o_full, o_now = weighted_outcome(full, c, s)[issue], weighted_outcome(x, c, s)[issue]
        assert abs(o_full - o_now) > abs(target - o_now)


def test_missing_positions_are_ignored(tmp_path):
    text = (
        "#D\tactor\tissue\tposition\tsalience\tpower\n"
        "#D\ta\tp\t0\t0.2\t1\n#D\ta\tq\t0\t0.9\t1\n#D\ta\tr\t30\t0.5\t1\n"
        "#D\tb\tp\t100\t0.6\t1\n#D\tb\tq\t100\t0.5\t1\n"
        "#D\tc\tp\t40\t0.5\t1\n#D\tc\tr\t90\t0.5\t1\n"
    )
    path = tmp_path / "missing.tsv"
    path.write_text(text)
    data = read_decide_tsv(path)
    assert np.isnan(data.positions[1, 2]) and np.isnan(data.positions[2, 1])
    state = data.to_state()
    out = state.outcome()
    assert out[2] == pytest.approx((30 * 0.5 + 90 * 0.5) / 1.0)
    hist = run_exchange(state, rounds=3)
    assert np.isnan(hist.positions[:, 1, 2]).all() and np.isnan(hist.positions[:, 2, 1]).all()
    for r in hist.rounds:
        for e in r.exchanges:
            assert not np.isnan(state.positions[[e.i, e.j]][:, [e.p, e.q]]).any()


def test_max_exchanges_per_round_truncates():
    state = read_decide_tsv(TOLL_TSV).to_state()
    _, info = exchange_round(state, ExchangeParams(max_exchanges_per_round=3))
    assert len(info.exchanges) == 3 and info.truncated


# ---------------------------------------------------------------------------
# read_decide_tsv
# ---------------------------------------------------------------------------


def test_read_decide_tsv_sample_keeps_labels(toll_float, toll_exact):
    d = toll_float
    assert d.actors == ("Willems", "PvdA", "GL", "VVDs", "SP", "CDA", "D66", "CU", "KvK", "Wcentr")
    assert d.issues[1] == "tol-hoogte" and len(d.issues) == 6
    assert d.actor_comments["Willems"] == "Test" and d.actor_comments["PvdA"] == ""
    assert d.issue_comments["wanneer-tol"] == "Wat is dit voor onzin?"
    assert d.scale_labels["tol-hoogte"] == ((0.5, ""), (7.0, ""))
    assert d.lower.tolist() == [0, 0.5, 0, 0, 0, 0] and d.upper.tolist() == [100, 7, 100, 100, 100, 100]
    assert d.positions.shape == d.salience.shape == d.power.shape == (10, 6)
    assert d.positions[9, 4] == 100.0 and d.salience[9, 4] == 0.9 and d.power[9, 4] == 0.9
    assert toll_exact.salience[0, 0] == Fraction(95, 100)
    assert toll_exact.scale_labels["tol-hoogte"][0] == (Fraction(1, 2), "")
    state = d.to_state()
    assert state.power.shape == (10,) and state.actors == d.actors and state.issues == d.issues


def test_read_decide_tsv_labels_comments_and_header(tmp_path):
    text = (
        "#0\tsome comment\n"
        "'#A'\t'EU'\t'European Union'\t'bloc'\n"
        "#A\tUS\tUnited States\n"
        "#P\tlegal\tLegal form\tbinding or not\n"
        "#M\tlegal\t0\tNo binding agreement\n"
        "#M\tlegal\t50\t'Binding, with targets'\n"
        "#M\tlegal\t100\tBinding country-specific targets\n"
        "#P\tmoney\tFinance\n"
        "#/\tanother comment\n"
        "#D\tactor\tissue\tposition\tsalience\tpower\n"
        "#D\tEU\tlegal\t70\t0.75\t0.8\n"
        "#D\tUS\tlegal\t20\t0.95\t1\n"
        "#D\tEU\tmoney\t60\t0.5\t0.8\n"
        "#D\tUS\tmoney\t10\t0.7\t1\n"
    )
    path = tmp_path / "in.tsv"
    path.write_text(text)
    d = read_decide_tsv(path)
    assert d.actors == ("EU", "US") and d.actor_names == {"EU": "European Union", "US": "United States"}
    assert d.actor_comments == {"EU": "bloc", "US": ""}
    assert d.issue_names["legal"] == "Legal form" and d.issue_comments["legal"] == "binding or not"
    assert d.scale_labels["legal"] == (
        (0.0, "No binding agreement"),
        (50.0, "Binding, with targets"),
        (100.0, "Binding country-specific targets"),
    )
    assert d.scale_labels["money"] == ()
    assert d.lower.tolist() == [0.0, 0.0] and d.upper.tolist() == [100.0, 100.0]
    assert d.positions.tolist() == [[70.0, 60.0], [20.0, 10.0]]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("#A\ta\ta\n#P\tp\tp\n#D\tb\tp\t10\t1\t1\n", "not declared"),
        ("#A\ta\ta\n#P\tp\tp\n#M\tp\t0\n#M\tp\t10\n#D\ta\tp\t20\t1\t1\n", "outside"),
        ("#A\ta\ta\n#P\tp\tp\n#D\ta\tp\tten\t1\t1\n#D\ta\tp\t10\t1\t1\n", "malformed"),
        ("#A\ta\ta\n#P\tp\tp\n#D\ta\tp\t10\t1\t1\n#D\ta\tp\t20\t1\t1\n", "second #D"),
        ("#X\tfoo\n", "unknown row type"),
    ],
)
def test_read_decide_tsv_errors(tmp_path, body, match):
    path = tmp_path / "bad.tsv"
    path.write_text(body)
    with pytest.raises(ValueError, match=match):
        read_decide_tsv(path)
