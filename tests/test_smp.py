"""KTAB Spatial Model of Politics engine: reference run, intermediate values, properties, speed.

Reference: KTAB's own golden log for dummyData_3Dim (smpc 0.1, 2017-05-30), copied with its input and
the values parsed from it into tests/fixtures/ktab-smp-dummy (see PROVENANCE.md there).
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.rules.smp import (
    RISK_RANGES,
    SMPParams,
    challenge_probabilities,
    conditional_pce,
    make_state,
    run_smp,
    smp_round,
    state_quantities,
    victory_matrix,
)
from sim.scenario.readers import read_ktab_csv

FIX = Path(__file__).resolve().parent / "fixtures" / "ktab-smp-dummy"
N_ACT, N_DIM = 7, 3


def tol(decimals: int) -> float:
    """Half a unit in the last printed decimal, plus float slack."""
    return 0.5 * 10.0**-decimals + 1e-9


@cache
def reference():
    names, dims, state = read_ktab_csv(FIX / "input.csv")
    return names, dims, state, run_smp(state)


@cache
def expected() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    with (FIX / "expected.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["quantity"], []).append(row)
    return out


@cache
def log_lines() -> list[str]:
    return (FIX / "reference-log.txt").read_text().splitlines()


@cache
def parsed_log() -> dict:
    """The intermediate values of every iteration of the reference log."""
    est, targets, idle, bargains, postn, frac, queues = [], {}, set(), [], {}, {}, []
    it = 0
    lines = log_lines()
    for k, line in enumerate(lines):
        if m := re.match(r"Starting Model::run iteration (\d+)", line):
            it = int(m.group(1))
        elif m := re.match(r"In turn (\d+) actor (\d+) has most advantageous target (\d+) worth (\S+)", line):
            targets[int(m.group(1)), int(m.group(2))] = (int(m.group(3)), float(m.group(4)))
        elif m := re.match(r"In turn (\d+) Actor (\d+) has no advantageous targets", line):
            idle.add((int(m.group(1)), int(m.group(2))))
        elif m := re.match(r"Est by\s+(\d+) of prob (\S+) that \[\s*(\d+)>\s*(\d+)\], .* to\s+(\d+) of (\S+)", line):
            h, p, i, j, who, g = m.groups()
            est.append((it - 1, int(h), int(i), int(j), float(p), int(who), float(g)))
        elif m := re.match(r"Bargain \[\d+, (\d+):(\d+)\] from (\d+)'s perspective", line):
            i, j, h = map(int, m.groups())
            adopt = [ln.split("adopt:")[1].split() for ln in lines[k + 1 : k + 6] if "adopt:" in ln][:2]
            if h == i:
                bargains.append((it - 1, i, j, [float(v) for v in adopt[0]], [float(v) for v in adopt[1]]))
        elif m := re.match(r"postn (\d+) , \d+ :", line):
            postn[it, int(m.group(1))] = [float(v) for v in lines[k + 1].split()]
        elif m := re.match(r"Fractional change compared to first step: (\S+)", line):
            frac[it] = float(m.group(1))
        elif m := re.match(r"Doing scalarPCE for the (\d+) bargains of actor (\d+)", line):
            n_opt, actor = int(m.group(1)), int(m.group(2))
            start = next(q for q in range(k, len(lines)) if lines[q].strip() == "Probability Opt_i")
            probs = [float(v) for v in lines[start + 1 : start + 1 + n_opt]]
            chosen = next(ln for ln in lines[start:] if ln.startswith("Chosen bargain"))
            pick = int(re.search(r"(\d+) out of", chosen).group(1))
            queues.append((it - 1, actor, probs, pick))
    return dict(est=est, targets=targets, idle=idle, bargains=bargains, postn=postn, frac=frac, queues=queues)


def state_at(t: int):
    _, _, state, hist = reference()
    return replace(state, positions=hist.positions[t], t=t)


# ---------------------------------------------------------------------------
# state 0 at the log's print precision
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "field"), [("raw_value_riskneutral_U0", "u0"), ("risk_aware_utility_U1", "u1")])
def test_state0_utility_matrices(quantity, field):
    names, _, state, _ = reference()
    q = state_quantities(state)
    rows = expected()[quantity]
    assert len(rows) == N_ACT * N_ACT
    for row in rows:
        i, j = names.index(row["actor"]), names.index(row["other_actor_or_dimension"])
        assert abs(getattr(q, field)[i, j] - float(row["value"])) <= tol(int(row["decimals_in_source"])), row


def test_state0_risk_attitudes():
    names, _, state, _ = reference()
    q = state_quantities(state)
    for row in expected()["inferred_risk_attitude_R"]:
        assert abs(q.risk[names.index(row["actor"])] - float(row["value"])) <= tol(3), row
    lo, hi = RISK_RANGES["mid"]
    assert q.risk.min() == pytest.approx(lo) and q.risk.max() == pytest.approx(hi)


def test_state0_win_probabilities():
    names, _, state, _ = reference()
    q = state_quantities(state)
    for row in expected()["win_prob_state0"]:
        assert abs(q.win_prob[names.index(row["actor"])] - float(row["value"])) <= tol(4), row
    assert q.win_prob.sum() == pytest.approx(1.0)  # no two actors share a position in state 0


# ---------------------------------------------------------------------------
# the run: positions, win probabilities, stop
# ---------------------------------------------------------------------------


def test_position_history_at_print_precision():
    names, dims, _, hist = reference()
    rows = expected()["position"]
    assert len(rows) == N_ACT * N_DIM * 11
    for row in rows:
        a, k, t = names.index(row["actor"]), dims.index(row["other_actor_or_dimension"]), int(row["state"])
        assert abs(hist.positions[t, a, k] - float(row["value"])) <= tol(1), row


def test_positions_exact_on_the_log_grid():
    """The log prints every state's positions with 4 decimals: all 70 actor-states agree exactly."""
    _, _, _, hist = reference()
    postn = parsed_log()["postn"]
    assert len(postn) == 10 * N_ACT
    for (t, a), pos in postn.items():
        np.testing.assert_allclose(hist.positions[t, a], pos, rtol=0, atol=1e-9)


def test_win_probability_history():
    names, _, _, hist = reference()
    rows = expected()["win_prob_of_actor_position"]
    assert len(rows) == N_ACT * 11
    for row in rows:
        assert abs(hist.win_prob[int(row["state"]), names.index(row["actor"])] - float(row["value"])) <= tol(4), row


def test_stops_after_ten_steps_like_ktab():
    _, _, _, hist = reference()
    assert hist.n_steps == 10
    assert hist.positions.shape == (11, N_ACT, N_DIM)
    assert hist.converged
    fractions = [r.change_fraction for r in hist.rounds]
    logged = parsed_log()["frac"]
    assert sorted(logged) == list(range(1, 11))
    for t, value in logged.items():
        assert abs(fractions[t - 1] - value) <= tol(4), t
    assert all(f >= 0.02 for f in fractions[:-1]) and fractions[-1] < 0.02
    assert [r.stopped for r in hist.rounds] == [False] * 9 + [True]
    assert hist.rounds[0].state_dist == pytest.approx(0.874, abs=5e-4)  # "sDist [ 0, 1] = 8.74E-01"


def test_actor_two_never_moves_and_final_cluster():
    _, _, _, hist = reference()
    np.testing.assert_array_equal(hist.positions[:, 2], np.repeat(hist.positions[:1, 2], 11, axis=0))
    np.testing.assert_allclose(hist.positions[-1, 0], [78.56, 31.76, 74.05], atol=1e-9)


# ---------------------------------------------------------------------------
# intermediate values of every iteration
# ---------------------------------------------------------------------------


def test_challenge_probabilities_from_both_perspectives():
    """All 118 'Est by h of prob P that [i> j]' lines, from the challenger's and the target's view."""
    checked = set()
    cache_p: dict[tuple[int, int], np.ndarray] = {}
    for t, h, i, j, p, _, _ in parsed_log()["est"]:
        if (t, h) not in cache_p:
            cache_p[t, h] = challenge_probabilities(state_at(t), perspective=h)
        assert abs(cache_p[t, h][i, j] - p) <= tol(4), (t, h, i, j)
        checked.add((t, h, i, j))
    assert len(checked) == 118


def test_targets_gains_and_idle_actors():
    _, _, _, hist = reference()
    log = parsed_log()
    assert len(log["targets"]) == 59 and len(log["idle"]) == 11
    for r in hist.rounds:
        for a in range(N_ACT):
            if (r.t, a) in log["targets"]:
                target, worth = log["targets"][r.t, a]
                assert r.target[a] == target and abs(r.gain[a] - worth) <= tol(3), (r.t, a)
            else:
                assert (r.t, a) in log["idle"] and r.target[a] == -1, (r.t, a)
    # the challenger's own expected gain, printed with 4 decimals
    for t, h, i, _, _, who, gain in log["est"]:
        if h == i == who:
            assert abs(hist.rounds[t].gain[i] - gain) <= tol(4)


def test_proposals_match_log_exactly():
    """Every proposal from the initiator's perspective (brgnIIJ), printed to 0.001 on the 0.01 grid."""
    _, _, _, hist = reference()
    bargains = parsed_log()["bargains"]
    assert len(bargains) == 59
    for t, i, j, pos_i, pos_j in bargains:
        r = hist.rounds[t]
        assert r.target[i] == j
        np.testing.assert_allclose(r.proposal_init[i], pos_i, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.proposal_target[i], pos_j, rtol=0, atol=1e-9)


def test_queue_resolution_probabilities():
    """Each actor's queue PCE: the chosen option and its probability (printed with 4 decimals)."""
    _, _, _, hist = reference()
    queues = parsed_log()["queues"]
    assert len(queues) == 70
    for t, actor, probs, pick in queues:
        r = hist.rounds[t]
        assert abs(r.choice_prob[actor] - probs[pick - 1]) <= tol(4), (t, actor)
        assert int(np.argmax(probs)) == pick - 1
        assert (pick == 1) == (r.chosen[actor] == -1), (t, actor)


def test_round_api_equals_run():
    _, _, state, hist = reference()
    cur = state
    for t in range(hist.n_steps):
        cur, info = smp_round(cur)
        np.testing.assert_array_equal(info.positions, hist.positions[t])
        assert info.t == t and cur.t == t + 1
    np.testing.assert_array_equal(cur.positions, hist.positions[-1])
    assert info.stopped


def test_forecast():
    _, _, _, hist = reference()
    for t in range(hist.n_steps + 1):
        q = state_quantities(state_at(t))
        best = int(np.argmax(q.win_prob))
        np.testing.assert_allclose(q.forecast_mode, hist.positions[t, best])
        opts = np.unique(q.unique)
        np.testing.assert_allclose(q.forecast_mean, q.win_prob[opts] @ hist.positions[t, opts])
        np.testing.assert_allclose(hist.forecast_mean[t], q.forecast_mean)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


@st.composite
def scenarios(draw):
    n_act = draw(st.integers(2, 7))
    n_dim = draw(st.integers(1, 4))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    lo = draw(st.floats(-50.0, 50.0, allow_nan=False))
    width = draw(st.floats(1.0, 200.0, allow_nan=False))
    x = np.array(draw(st.lists(st.lists(unit, min_size=n_dim, max_size=n_dim), min_size=n_act, max_size=n_act)))
    if draw(st.booleans()):  # some actors share a position
        x[1:] = x[0] if draw(st.booleans()) else x[1:]
        x[-1] = x[0]
    cap = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 10.0, 55.5, 130.0]), min_size=n_act, max_size=n_act)))
    raw = np.array(draw(st.lists(st.lists(unit, min_size=n_dim, max_size=n_dim), min_size=n_act, max_size=n_act)))
    total = np.array(draw(st.lists(unit, min_size=n_act, max_size=n_act)))
    rowsum = raw.sum(axis=1, keepdims=True)
    sal = np.divide(raw, rowsum, out=np.zeros_like(raw), where=rowsum > 0) * total[:, None]
    return make_state(lo + width * x, cap, sal, lo=lo, hi=lo + width)


PARAMS = st.builds(
    SMPParams,
    victory_model=st.sampled_from(["linear", "square", "quartic", "octic"]),
    voting_rule=st.sampled_from(["proportional", "binary", "cubic"]),
    risk_range=st.sampled_from(["min", "mid", "max"]),
    risk_adjust=st.sampled_from(["none", "one_third", "half", "two_thirds", "full"]),
    interp=st.sampled_from(["s2p2", "s1p1"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=scenarios(), params=PARAMS)
def test_properties(state, params):
    hist = run_smp(state, params, max_rounds=6)
    assert np.all(np.isfinite(hist.positions)) and np.all(np.isfinite(hist.win_prob))
    assert np.all(hist.positions >= state.lo - 1e-9) and np.all(hist.positions <= state.hi + 1e-9)
    lo, hi = RISK_RANGES[params.risk_range]
    assert np.all(hist.risk >= lo - 1e-12) and np.all(hist.risk <= hi + 1e-12)
    assert np.all(hist.win_prob >= 0) and np.all(hist.win_prob <= 1)
    for t in range(hist.n_steps + 1):
        q = state_quantities(replace(state, positions=hist.positions[t]), params)
        assert q.win_prob[np.unique(q.unique)].sum() == pytest.approx(1.0)
        assert np.all(np.isfinite(q.u0)) and np.all(np.isfinite(q.u1))
        assert np.all(q.u0 >= -1e-12) and np.all(q.u0 <= 1 + 1e-12)
    for r in hist.rounds:
        ok = r.target >= 0
        assert np.all((r.challenge_prob[ok] >= 0) & (r.challenge_prob[ok] <= 1))
        assert np.all(np.isnan(r.challenge_prob[~ok]))
        assert np.all((r.choice_prob > 0) & (r.choice_prob <= 1 + 1e-12))
        moved = np.any(r.new_positions != r.positions, axis=1)
        assert not np.any(moved & (r.chosen == -1))


@settings(max_examples=40, deadline=None)
@given(state=scenarios(), params=PARAMS)
def test_pairwise_probabilities_are_complementary(state, params):
    q = state_quantities(state, params)
    pm = victory_matrix(q.u1, state.capability, params)
    np.testing.assert_allclose(pm + pm.T, 1.0, atol=1e-12)
    assert conditional_pce(pm).sum() == pytest.approx(1.0)
    pc = challenge_probabilities(state, params, perspective=0)
    np.testing.assert_allclose(pc + pc.T, 1.0, atol=1e-9)  # P_h(i beats j) = 1 - P_h(j beats i)


def test_everyone_at_one_point_is_a_fixed_point():
    state = make_state(np.full((5, 2), 40.0), [1.0, 2.0, 0.0, 5.0, 1.0], np.full((5, 2), 0.3))
    hist = run_smp(state)
    assert hist.n_steps == 2 and hist.converged  # KTAB runs at least 2 iterations
    np.testing.assert_array_equal(hist.positions, np.broadcast_to(state.positions, hist.positions.shape))
    np.testing.assert_allclose(hist.win_prob, 1.0)
    np.testing.assert_array_equal(hist.risk, 0.0)
    assert all((r.target == -1).all() for r in hist.rounds)


def test_zero_capability_and_zero_salience_actors():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 100, (6, 3))
    cap = np.array([0.0, 0.0, 50.0, 20.0, 0.0, 80.0])
    sal = rng.dirichlet(np.ones(3), 6) * 0.8
    sal[4] = 0.0
    hist = run_smp(make_state(x, cap, sal))
    assert np.all(np.isfinite(hist.positions)) and np.all(np.isfinite(hist.win_prob))
    assert np.all(np.isfinite(challenge_probabilities(make_state(x, cap, sal))))
    none = run_smp(make_state(x, np.zeros(6), sal), max_rounds=3)
    assert np.all(np.isfinite(none.positions)) and np.all(np.isfinite(none.win_prob))


def test_stochastic_transitions_are_reproducible():
    _, _, state, _ = reference()
    params = SMPParams(transition="stochastic")
    a = run_smp(state, params, max_rounds=8, rng=np.random.default_rng(7))
    b = run_smp(state, params, max_rounds=8, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.positions, b.positions)
    with pytest.raises(ValueError, match="rng"):
        smp_round(state, params)


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="victory_model"):
        SMPParams(victory_model="cubic")
    with pytest.raises(ValueError, match="third_party"):
        SMPParams(third_party="full")
    with pytest.raises(ValueError, match="risk_adjust"):
        SMPParams(risk_adjust=1.5)
    with pytest.raises(ValueError, match="sum to at most 1"):
        make_state([[10.0], [20.0]], [1, 1], [[0.7], [1.2]])
    with pytest.raises(ValueError, match="within"):
        make_state([[10.0], [120.0]], [1, 1], [[0.5], [0.5]])
    with pytest.raises(ValueError, match=">= 0"):
        make_state([[10.0], [20.0]], [1, -1], [[0.5], [0.5]])


def test_kept_ktab_details_matter():
    """Without KTAB's 1e-6 and 1e-4 grid the reference run takes a different path."""
    _, _, state, hist = reference()
    assert run_smp(state, SMPParams(bargain_eps=0.0)).n_steps != hist.n_steps
    assert not np.allclose(run_smp(state, SMPParams(bargain_grid=None)).positions[1], hist.positions[1])


# ---------------------------------------------------------------------------
# speed
# ---------------------------------------------------------------------------


def test_speed_50_actors_5_dims_100_rounds():
    rng = np.random.default_rng(2025)
    n_act, n_dim = 50, 5
    state = make_state(
        rng.uniform(0, 100, (n_act, n_dim)),
        rng.uniform(10, 200, n_act),
        rng.dirichlet(np.ones(n_dim), n_act) * rng.uniform(0.3, 1.0, (n_act, 1)),
    )
    params = SMPParams(stop_fraction=0.0)  # never stop early: exactly 100 rounds
    t0 = time.perf_counter()
    hist = run_smp(state, params, max_rounds=100)
    elapsed = time.perf_counter() - t0
    print(f"\nSMP 50 actors x 5 dimensions x 100 rounds: {elapsed:.3f} s")
    assert hist.n_steps == 100 and np.all(np.isfinite(hist.positions))
    assert elapsed < 5.0
