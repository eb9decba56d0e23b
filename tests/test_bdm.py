"""Bueno de Mesquita's expected-utility model (sim.rules.bdm) against the EC car-emissions reference case."""

from __future__ import annotations

import csv
import math
import re
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rules import bdm

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bdm-eu-emissions"
TOL = 1e-9


def _read(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def actors():
    rows = _read("input.csv")
    return {
        "names": [r["Actor"] for r in rows],
        "x": np.array([float(r["Position"]) for r in rows]),
        "c": np.array([float(r["Capability"]) for r in rows]),
        "s": np.array([float(r["Salience"]) for r in rows]),
        # exact decimal values of the table, for the closed-form benchmarks
        "xq": np.array([Fraction(r["Position"]) for r in rows], dtype=object),
        "cq": np.array([Fraction(r["Capability"]) for r in rows], dtype=object),
        "sq": np.array([Fraction(r["Salience"]) for r in rows], dtype=object),
    }


@pytest.fixture(scope="module")
def static():
    return {r["quantity"]: r for r in _read("static_benchmarks.csv")}


@pytest.fixture(scope="module")
def expected():
    return _read("expected.csv")


@pytest.fixture(scope="module")
def scholz(actors):
    return bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=10, variant="scholz2011")


@pytest.fixture(scope="module")
def default_run(actors):
    return bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=10)


# ---------------------------------------------------------------------------
# static benchmarks, exact
# ---------------------------------------------------------------------------


def test_total_weight_exact(actors, static):
    assert (actors["cq"] * actors["sq"]).sum() == Fraction(static["total c*s"]["exact"]) == Fraction(677, 1000)


def test_weighted_mean_exact(actors, static):
    exact = Fraction(static["weighted_mean (compromise model)"]["exact"])
    assert exact == Fraction(5003, 677)
    assert bdm.weighted_mean(actors["xq"], actors["cq"] * actors["sq"]) == exact
    got = float(bdm.weighted_mean(actors["x"], actors["c"] * actors["s"]))
    assert abs(got - float(exact)) <= 2 * math.ulp(float(exact))  # float input: to rounding
    assert abs(got - float(static["weighted_mean (compromise model)"]["value"])) <= 2 * math.ulp(got)


def test_weighted_median_exact(actors, static):
    exact = Fraction(static["weighted_median"]["exact"])
    assert bdm.weighted_median(actors["xq"], actors["cq"] * actors["sq"]) == exact == 7
    assert bdm.weighted_median(actors["x"], actors["c"] * actors["s"]) == 7.0
    median, mean = bdm.forecast(bdm.initial_state(actors["x"], actors["c"], actors["s"]))
    assert median.tolist() == [7.0]
    assert abs(mean[0] - 5003 / 677) <= 2 * math.ulp(5003 / 677)


@pytest.mark.parametrize(("a", "b"), [(7, 4), (7, 10), (4, 10)])
def test_pairwise_votes_exact(actors, static, a, b):
    row = static[f"pairwise vote {a} vs {b}"]
    votes = bdm.pairwise_votes(actors["xq"], actors["cq"], actors["sq"], Fraction(6))
    ia, ib = list(actors["x"]).index(a), list(actors["x"]).index(b)
    assert votes[ia, ib] == Fraction(row["exact"])
    assert votes[ib, ia] == -Fraction(row["exact"])
    fv = bdm.pairwise_votes(actors["x"], actors["c"], actors["s"], 6.0)
    assert fv[ia, ib] == pytest.approx(float(row["value"]), abs=1e-15)


def test_seven_is_the_condorcet_winner_by_a_razor_thin_margin(actors):
    votes = bdm.pairwise_votes(actors["xq"], actors["cq"], actors["sq"], Fraction(6))
    winners = {actors["xq"][a] for a in range(10) if all(votes[a, b] >= 0 for b in range(10))}
    assert winners == {7}
    i7, i10 = list(actors["x"]).index(7), list(actors["x"]).index(10)
    assert votes[i7, i10] == Fraction(1, 400)


# ---------------------------------------------------------------------------
# Scholz-Calbert-Smith variant: the whole 10-round trajectory
# ---------------------------------------------------------------------------


def test_scholz_positions_every_round(scholz, expected, actors):
    positions = scholz.positions
    assert positions.shape == (11, 10, 1)
    worst = 0.0
    for row in expected:
        t, a = int(row["round"]), actors["names"].index(row["actor"])
        err = abs(positions[t, a, 0] - float(row["position_after_round"]))
        assert err <= TOL, (t, row["actor"], positions[t, a, 0], row["position_after_round"])
        worst = max(worst, err)
    print(f"scholz2011 positions, 10 rounds: max |error| = {worst:.2e}")


def test_scholz_risk_exponents_every_round(scholz, expected, actors):
    risk = scholz.risk
    assert risk.shape == (10, 10, 1)
    worst = 0.0
    for row in expected:
        t, a = int(row["round"]), actors["names"].index(row["actor"])
        if t == 0:
            assert row["risk_exponent_r_used_in_round"] == ""
            continue
        err = abs(risk[t - 1, a, 0] - float(row["risk_exponent_r_used_in_round"]))
        assert err <= TOL, (t, row["actor"], risk[t - 1, a, 0], row["risk_exponent_r_used_in_round"])
        worst = max(worst, err)
    print(f"scholz2011 risk exponents: max |error| = {worst:.2e}")


MOVE = re.compile(r"(\w+) with (\w+) \(eu_ij=(\S+), eu_ji=(\S+)\)")


def test_scholz_moves_partners_and_expected_utilities(scholz, expected, actors):
    names = actors["names"]
    for row in expected:
        t, a = int(row["round"]), names.index(row["actor"])
        if t == 0:
            continue
        info = scholz.rounds[t - 1]
        if not row["move_in_round"]:
            assert info.chosen_kind[a, 0] == bdm.NO_OFFER and info.chosen_partner[a, 0] == -1
            continue
        kind, partner, eu_ij, eu_ji = MOVE.fullmatch(row["move_in_round"]).groups()
        o = names.index(partner)
        assert bdm.OFFER_KINDS[info.chosen_kind[a, 0]] == kind, (t, row["actor"])
        assert info.chosen_partner[a, 0] == o, (t, row["actor"])
        assert info.eu_challenge[0, a, o] == pytest.approx(float(eu_ij), abs=TOL)
        assert info.eu_challenged[0, a, o] == pytest.approx(float(eu_ji), abs=TOL)


def test_scholz_weighted_mean_every_round(scholz, expected):
    means = {int(r["round"]): float(r["weighted_mean_after_round"]) for r in expected}
    np.testing.assert_allclose(scholz.mean[:, 0], [means[t] for t in range(11)], rtol=0, atol=TOL)
    assert [round(m, 5) for m in scholz.mean[:, 0]] == [
        7.38996, 7.46131, 7.55250, 7.59014, 7.35813, 7.34917, 7.41488, 7.51046, 7.57245, 7.32499, 7.24213
    ]  # fmt: skip


def test_scholz_only_belgium_luxembourg_ireland_move_and_nobody_capitulates(scholz, actors):
    moved = np.any(scholz.positions[1:] != scholz.positions[:-1], axis=(0, 2))
    assert [n for n, m in zip(actors["names"], moved, strict=True) if m] == ["Belgium", "Luxembourg", "Ireland"]
    for info in scholz.rounds:
        assert info.offer_counts["capitulation"].tolist() == [0]
        assert not np.any(info.offer_kind == bdm.CAPITULATION)
        assert info.offer_counts["confrontation"].tolist() == [2]
        assert info.offer_counts["compromise"].tolist() == [1]


def test_scholz_round4_jump_comes_from_the_compromise_choice_quirk(scholz):
    """Belgium at 9.96 takes the Netherlands' offer (to 4.80) because the quirk minimises a weighted position."""
    before = scholz.states[2]
    belgium, netherlands, france = 1, 0, 4
    info = scholz.rounds[3]
    assert info.chosen_partner[belgium, 0] == netherlands
    assert info.positions[belgium, 0] == pytest.approx(4.800881140632622, abs=TOL)
    rules = replace(bdm.VARIANTS["scholz2011"], compromise_choice="smallest_move")
    _, alt = bdm.bdm_round(before, bdm.BDMParams(variant="scholz2011", rules=rules))
    assert alt.chosen_partner[belgium, 0] == france
    assert alt.positions[belgium, 0] > 9.99


def test_scholz_probabilities_use_the_all_pairs_denominator(scholz):
    prob = scholz.rounds[0].probability[0]
    off = ~np.eye(10, dtype=bool)
    assert prob.max() < 0.05  # small: the denominator sums over every ordered pair of actors
    assert np.all((prob + prob.T)[off] < 1.0)


def test_scholz_capitulation_quirk_matters(actors, scholz):
    """Re-enabling capitulation changes the trajectory: the reference's dead branch is not harmless."""
    rules = replace(bdm.VARIANTS["scholz2011"], capitulation=True)
    alt = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=10, params=bdm.BDMParams("scholz2011", rules=rules))
    assert alt.rounds[0].offer_counts["capitulation"].sum() > 0
    assert not np.allclose(alt.positions, scholz.positions)


# ---------------------------------------------------------------------------
# the default (published) variant: properties
# ---------------------------------------------------------------------------


def test_default_is_the_published_variant():
    assert bdm.BDMParams().variant == "bdm"
    assert bdm.BDMParams().effective_rules == bdm.BDMRules()
    assert bdm.VARIANTS["bdm"] != bdm.VARIANTS["scholz2011"]


def test_default_probabilities_are_complementary(default_run):
    for info in default_run.rounds:
        prob = info.probability[0]
        x = info.positions_before[:, 0]
        apart = x[:, None] != x[None, :]  # P is 0 between actors at the same position
        assert np.all((prob >= 0) & (prob <= 1)) and np.all(prob[~apart] == 0)
        np.testing.assert_allclose((prob + prob.T)[apart], 1.0, atol=1e-12)


def test_default_median_stays_at_the_condorcet_winner_and_positions_converge(default_run, actors):
    w = actors["c"] * actors["s"]
    assert default_run.median[:, 0].tolist() == [7.0] * 11
    spread = [(w * np.abs(p[:, 0] - 7.0)).sum() / w.sum() for p in default_run.positions]
    assert spread[-1] < 0.2 * spread[0]  # 2.59 -> 0.35 years
    assert abs(default_run.mean[-1, 0] - 7.0) < abs(default_run.mean[0, 0] - 7.0)


def test_default_converges_toward_consensus_on_a_larger_case():
    rng = np.random.default_rng(20250227)
    x = rng.uniform(0, 100, (20, 3))
    c = rng.uniform(0, 1, 20)
    s = rng.uniform(0.1, 1, (20, 3))
    hist = bdm.run_bdm(x, c, s, rounds=30, scale=[0, 100])
    w = c[:, None] * s
    spread = (w * np.abs(hist.positions - hist.median[:, None, :])).sum(axis=1) / w.sum(axis=0)
    assert np.all(spread[-1] < 0.5 * spread[0])
    assert np.all((hist.median[-1] >= x.min(axis=0)) & (hist.median[-1] <= x.max(axis=0)))


def test_dominant_bloc_pulls_dissenters_in_until_consensus():
    x = np.array([0.6, 0.6, 0.6, 0.0, 0.2, 1.0])
    c = np.array([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    s = np.array([0.8, 0.8, 0.8, 0.5, 0.5, 0.5])
    hist = bdm.run_bdm(x, c, s, rounds=12, scale=[0, 1])
    pos = hist.positions[:, :, 0]
    gap = np.abs(pos[:, 3:] - pos[:, :1])
    assert np.all(np.diff(gap, axis=0) <= 1e-12)  # dissenters only ever close in on the bloc
    assert np.all(gap[-1] == 0.0)
    assert np.all(np.abs(hist.median - 0.6) < 0.01)
    # consensus: everyone at one point within 0.01 of the bloc; the median is that point; nothing moves after
    assert np.ptp(pos[-1]) == 0.0 and abs(pos[-1, 0] - 0.6) < 0.01
    assert hist.median[-1, 0] == pos[-1, 0]
    assert np.all(hist.rounds[-1].chosen_kind == bdm.NO_OFFER) and np.all(hist.risk[-1] == 1.0)


def test_deterministic(actors):
    one = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=10)
    two = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=10)
    assert np.array_equal(one.positions, two.positions)
    assert np.array_equal(one.risk, two.risk)
    for a, b in zip(one.rounds, two.rounds, strict=True):
        assert np.array_equal(a.eu_challenge, b.eu_challenge)
        assert np.array_equal(a.offer_kind, b.offer_kind)


def test_zero_capability_actors_and_one_point_give_no_nan():
    x = np.array([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0], [1.0, 5.0]])
    c = np.array([0.0, 1.0, 0.0, 0.5])
    s = np.full((4, 2), 0.7)
    for variant in bdm.VARIANTS:
        hist = bdm.run_bdm(x, c, s, rounds=5, variant=variant, scale=[[0, 1], [0, 10]])
        assert np.all(np.isfinite(hist.positions)) and np.all(np.isfinite(hist.risk))
        assert np.all(np.isfinite(hist.median)) and np.all(np.isfinite(hist.mean))
        for info in hist.rounds:
            assert np.all(np.isfinite(info.probability)) and np.all(np.isfinite(info.eu_challenge))
        assert np.all(hist.positions[:, :, 1] == 5.0)  # all at one point: nobody moves
        assert np.all(hist.risk[:, :, 1] == 1.0)  # equal danger: risk neutral


@pytest.mark.parametrize("variant", list(bdm.VARIANTS))
def test_degenerate_inputs(variant):
    # nobody has capability, everybody at one point with the scale inferred (zero range), one actor
    for x, c, s in [
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5]),
        ([3.0, 3.0, 3.0], [1.0, 2.0, 3.0], [0.5, 0.5, 0.5]),
        ([3.0], [1.0], [1.0]),
    ]:
        hist = bdm.run_bdm(x, c, s, rounds=3, variant=variant)
        assert np.all(np.isfinite(hist.positions)) and np.all(np.isfinite(hist.median))
        assert np.all(np.isfinite(hist.mean)) and np.all(np.isfinite(hist.risk))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1), min_size=2, max_size=2),
                     min_size=n, max_size=n),
            st.lists(st.sampled_from([0.0, 1.0]) | st.floats(0, 10), min_size=n, max_size=n),
            st.lists(st.lists(st.floats(0, 1), min_size=2, max_size=2), min_size=n, max_size=n),
        )
    ),
    st.sampled_from(list(bdm.VARIANTS)),
)  # fmt: skip
def test_properties_on_random_inputs(data, variant):
    x, c, s = (np.array(v, dtype=float) for v in data)
    hist = bdm.run_bdm(x, c, s, rounds=4, variant=variant, scale=[0, 1])
    pos = hist.positions
    assert np.all(np.isfinite(pos)) and np.all((pos >= 0) & (pos <= 1))
    assert np.all((hist.risk >= 0.5 - 1e-12) & (hist.risk <= 2 + 1e-12))
    assert np.all((hist.median >= 0) & (hist.median <= 1)) and np.all(np.isfinite(hist.mean))
    for info in hist.rounds:
        assert np.all((info.probability >= 0) & (info.probability <= 1))
        a = np.flatnonzero(info.chosen_kind[:, 0])
        o = info.chosen_partner[a, 0]
        before, after, target = info.positions_before[a, 0], info.positions[a, 0], info.positions_before[o, 0]
        # every move goes from the actor's position toward (at most onto) the partner's
        assert np.all(np.abs(after - before) <= np.abs(target - before) + 1e-12)
        assert np.all((after - before) * (target - before) >= 0)
        assert sum(v.sum() for v in info.offer_counts.values()) == np.count_nonzero(info.chosen_kind)
    again = bdm.run_bdm(x, c, s, rounds=4, variant=variant, scale=[0, 1])
    assert np.array_equal(again.positions, pos)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_fast_vote_sum_matches_brute_force(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.choice(np.linspace(0, 1, 5), n) if seed % 2 else rng.uniform(0, 1, n)
    w = rng.uniform(0, 1, n) * (rng.uniform(size=n) > 0.2)
    r = rng.uniform(0.5, 2, n)
    points = np.unique(np.concatenate([x, rng.uniform(0, 1, 3)]))
    loss = np.abs(x[:, None] - points[None, :]) ** r[:, None]
    brute = (w[:, None, None] * np.maximum(loss[:, None, :] - loss[:, :, None], 0.0)).sum(axis=0)
    np.testing.assert_allclose(bdm.positive_votes(x, w, r, points, 1.0), brute, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# API: round by round, multi-issue, validation, speed
# ---------------------------------------------------------------------------


def test_round_by_round_equals_run(actors):
    hist = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=4)
    state = bdm.initial_state(actors["x"], actors["c"], actors["s"])
    assert state.round == 0 and np.all(state.risk == 1.0) and not state.positions.flags.writeable
    for t in range(4):
        state, info = bdm.bdm_round(state)
        assert state.round == info.round == t + 1
        assert np.array_equal(state.positions, hist.positions[t + 1])
        assert np.array_equal(info.risk, hist.risk[t])
        assert info.eu_challenge.shape == info.eu_challenged.shape == info.offer_kind.shape == (1, 10, 10)


def test_issues_are_independent(actors):
    rng = np.random.default_rng(7)
    x2 = rng.uniform(0, 10, 10)
    s2 = rng.uniform(0, 1, 10)
    both = bdm.run_bdm(np.column_stack([actors["x"], x2]), actors["c"], np.column_stack([actors["s"], s2]), rounds=5)
    first = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=5)
    second = bdm.run_bdm(x2, actors["c"], s2, rounds=5)
    assert np.array_equal(both.positions[:, :, 0], first.positions[:, :, 0])
    assert np.array_equal(both.positions[:, :, 1], second.positions[:, :, 0])
    assert np.array_equal(both.risk[:, :, 1], second.risk[:, :, 0])


def test_status_quo_term_changes_the_outcome(actors):
    """Q < 1 brings in U_b and U_w (implemented from the published formula; no reference output)."""
    base = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=5)
    alt = bdm.run_bdm(actors["x"], actors["c"], actors["s"], rounds=5, params=bdm.BDMParams(Q=0.5, T=0.5))
    assert np.all(np.isfinite(alt.positions))
    assert not np.array_equal(base.rounds[0].eu_challenge, alt.rounds[0].eu_challenge)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"salience": [0.5, 1.5]}, "salience"),
        ({"capability": [-1.0, 1.0]}, "capability"),
        ({"capability": [1.0]}, "capability"),
        ({"positions": [0.0, np.nan]}, "positions"),
        ({"scale": [0.5, 1.0]}, "within the scale"),
        ({"scale": [1.0, 0.0]}, "lo <= hi"),
        ({"rounds": -1}, "rounds"),
        ({"variant": "nope"}, "variant"),
        ({"variant": "bdm", "params": bdm.BDMParams()}, "either"),
    ],
)
def test_validation(kwargs, match):
    args = {"positions": [0.0, 1.0], "capability": [1.0, 1.0], "salience": [0.5, 0.5]} | kwargs
    with pytest.raises(ValueError, match=match):
        bdm.run_bdm(**args)


def test_params_validation():
    with pytest.raises(ValueError, match="Q"):
        bdm.BDMParams(Q=1.5)
    with pytest.raises(ValueError, match="compromise_choice"):
        bdm.BDMRules(compromise_choice="closest")


def test_speed_50_actors_5_issues_100_rounds():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 100, (50, 5))
    c = rng.uniform(0, 1, 50)
    s = rng.uniform(0, 1, (50, 5))
    for variant in bdm.VARIANTS:
        start = time.perf_counter()
        hist = bdm.run_bdm(x, c, s, rounds=100, variant=variant, scale=[0, 100])
        elapsed = time.perf_counter() - start
        print(f"{variant}: 50 actors x 5 issues x 100 rounds in {elapsed:.2f} s")
        assert len(hist) == 100
        assert elapsed < 5.0
