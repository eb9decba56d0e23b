"""KAPSARC's Spatial Model of Politics (KTAB SMP) as a pure numpy engine.

The Spatial Model of Politics is the multi-dimensional bargaining model of the KAPSARC Toolkit for
Behavioral Analysis (KTAB; Wise, Lester & Efird, KAPSARC discussion papers "An Introduction to the
KAPSARC Toolkit for Behavioral Analysis (KTAB)" 2015 and "Multidimensional Bargaining using KTAB" 2016;
MIT-licensed C++ at github.com/KAPSARC/KTAB). Actors hold positions on ``D`` policy dimensions, attach
a salience to each, and have a capability (political clout). Each round every actor challenges the
rival whose capitulation it expects to gain most from, proposes a salience- and probability-weighted
compromise to it, and every actor then adopts the most probable of the proposals that involve it.

One round (:func:`smp_round`), all on positions rescaled to [0, 1] per dimension:

1. **Distance** as seen by actor i: ``d_ij = sqrt(sum_k (s_ik (x_ik - x_jk))^2 / sum_k s_ik^2)``.
2. **Utility** ``u(d, R) = (1 - d)(1 + d R)`` (``(1 - d)(1 + R)`` beyond ``d = 1``), with risk
   attitude ``R`` (1 = risk averse, concave; 0 = neutral; negative = risk seeking).
3. **Votes** between options a, b: ``v_k = c_k (u_ka - u_kb)`` (proportional rule); coalition strengths
   ``C(a:b) = 1e-8 + sum_k max(v_k, 0)``; **victory probability** ``P(a>b) = C(a:b)^e / (C(a:b)^e +
   C(b:a)^e)`` with ``e = 1, 2, 4, 8`` (linear, square, quartic, octic).
4. **Conditional PCE** (probabilistic Condorcet election): ``p_a ~ prod_b P(a>b)``, normalised.
5. **Inferred risk attitudes**: the risk-neutral PCE over all actors' positions is mapped linearly so
   that the most probable position gets ``R = 1`` and the least probable ``-1/2`` (range "mid"; "min"
   gives [0, 1], "max" [-1, 1]). Actor h estimates actor k's risk attitude as
   ``R_h + a (R_k - R_h)`` with ``a = 1/3`` ("one_third", KTAB's BigRAdjust).
6. **Challenges**: as seen by i (its own risk estimates), the probability that i defeats j is a
   coalition contest. The principals contribute ``w_i (u_ii - u_ij)`` and ``w_j (u_jj - u_ji)`` with
   ``w = capability * total salience``. Each third party n first gauges the "little" conflict of i, j
   and itself alone: with its preference vote ``v_n = w_n (u_ni - u_nj)``, i's side wins it with
   ``p_n = P(c_i + max(v_n, 0) : c_j + max(-v_n, 0))`` (``c_i``, ``c_j`` the principals' terms). n then
   votes ``w_n (U_V - U_L)``, U being the sum of its utilities for the positions of i, j and itself when
   it joins i (V) or j (L). With semi-commitment a third party that joins the loser must adopt the
   winner's position: ``U_V = p_n (2 u_ni + u_nn) + (1 - p_n) 3 u_nj`` and
   ``U_L = (1 - p_n)(2 u_nj + u_nn) + p_n 3 u_ni`` (``u_nn = 1``). ``P(i > j)`` is the victory probability
   of ``c_i`` plus the third parties' votes for i against ``c_j`` plus those for j.
   i's expected gain from challenging j (in KTAB's "2x" units, the two positions of i and j) is
   ``S_j (P (2u_ii) + (1 - P)(2u_ij)) + (1 - S_j) 2u_ii - (u_ii + u_ij)`` where ``S_j``, j's total
   salience, is the probability that j contests instead of conceding. i challenges its best target if
   that gain exceeds ``min_gain``.
7. **Bargain** (KTAB "S2P2", "InitOnlyInterp"): i's proposal moves i and j, dimension by dimension, to
   the weighted mean of their positions with weights ``w_i = (s_ik P)^2`` and ``w_j = (s_jk (1 - P))^2``,
   computed as ``x_i + w_j (x_j - x_i) / (w_i + w_j + 1e-6)`` (and symmetrically for j), then rounded
   to a 1e-4 grid. The 1e-6 makes each principal stop just short of the common point; with the
   rounding it decides a 0.01 step (0-100 scale) in 9 of the 354 proposed coordinates of the
   reference run, and without it that run ends after 5 steps instead of 10.
8. **Resolution**: actor a's queue holds the status quo plus every proposal it initiated or received.
   The value of a proposal to voter k is k's mean utility over all actors' positions after the two
   principals adopt it; a conditional PCE (capability-weighted votes) over the queue picks the most
   probable option ("Deterministic") and a adopts its own part of it.
9. **Stop rule**: with ``stateDist`` the sum over actors of the Euclidean length of their moves on the
   [0, 1] scale, the run stops once ``stateDist(s_t, s_t-1) / (stateDist(s_1, s_0) + 1e-4) < 0.02``
   (at least ``min_rounds`` = 2, at most ``max_rounds`` = 100 rounds).

Validated against KTAB's own golden log for ``dummyData_3Dim`` (``smpc 0.1``, 2017-05-30; fixture
``tests/fixtures/ktab-smp-dummy``): state-0 utilities, risk attitudes and win probabilities at print
precision, every challenge probability and target, every proposed bargain and the whole 10-step
position history exactly on the 0.01 grid, and the stop after 10 steps. Three implementation details
of KTAB are needed for that exact match and are kept as named parameters with KTAB's values as
defaults: the 1e-4 grid of proposals (``bargain_grid``), the 1e-6 in their denominator
(``bargain_eps``) and the 1e-5 gain a challenge must promise (``min_gain``).

The formulas follow KTAB's published descriptions (the SMP user guide's parameter tables and the
documentation of its SQL output tables) and were pinned down against the intermediate values KTAB
prints in its reference log; no KTAB code is reproduced here. The order in which KTAB's worker threads
create proposals is not deterministic; it matters only for exact ties in an actor's queue, which are
broken here in favour of the status quo and then the lower challenger index (none occur in the
reference run).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from sim.rules.theory import VICTORY_MODELS

__all__ = [
    "RISK_ADJUST",
    "RISK_RANGES",
    "RoundInfo",
    "SMPHistory",
    "SMPParams",
    "SMPState",
    "StateQuantities",
    "challenge_probabilities",
    "conditional_pce",
    "distance_matrix",
    "infer_risk",
    "make_state",
    "run_smp",
    "smp_round",
    "state_dist",
    "state_quantities",
    "utility",
    "victory_matrix",
]

#: KTAB "BigRAdjust": fraction of the way from its own risk attitude to actor k's true one that
#: actor h moves when estimating k's risk attitude.
RISK_ADJUST: dict[str, float] = {"none": 0.0, "one_third": 1 / 3, "half": 0.5, "two_thirds": 2 / 3, "full": 1.0}

#: KTAB "BigRRange": (risk attitude of the least probable position, of the most probable position).
RISK_RANGES: dict[str, tuple[float, float]] = {"min": (0.0, 1.0), "mid": (-0.5, 1.0), "max": (-1.0, 1.0)}

_VOTING_RULES = ("proportional", "binary", "cubic")
_THIRD_PARTY = ("semi",)
_INTERP = ("s2p2", "s1p1")
_TRANSITIONS = ("deterministic", "stochastic")
_COALITION_FLOOR = 1e-8  # KTAB adds 1e-8 to every coalition strength in a PCE
_DIST_FLOOR = 1e-4  # KTAB's stop rule divides by stateDist(s0, s1) + 1e-4
_BINARY_DEADZONE = 1e-12  # "binary" votes ignore utility gaps this small
_BLOCK_ELEMENTS = 8_000  # size of (A, A, A) work blocks, see _blocks


@dataclass(frozen=True)
class SMPParams:
    """Model options, named after KTAB's SMP parameters; the defaults are KTAB's reference run.

    Attributes:
        victory_model: "VictoryProbModel": exponent of coalition strengths in a contest,
            "linear" (1), "square" (2), "quartic" (4) or "octic" (8). A 2:1 strength ratio gives the
            stronger side 2/3, 4/5, 16/17 or 256/257.
        voting_rule: "VotingRule": how a voter's influence depends on its utility difference between
            two options: "proportional" (weight * difference; the reference), "binary" (weight * sign,
            gaps below 1e-12 count as indifference) or "cubic" (weight * difference**3). Only
            "proportional" is validated against KTAB output.
        risk_range: "BigRRange": "mid" maps inferred risk attitudes to [-1/2, 1], "min" to [0, 1],
            "max" to [-1, 1].
        risk_adjust: "BigRAdjust": "none", "one_third" (reference), "half", "two_thirds" or "full",
            or a float in [0, 1]; how far actor h's estimate of k's risk attitude moves from R_h to R_k.
        third_party: "ThirdPartyCommit": only "semi" (a third party that joined the loser must adopt the
            winner's position), the reference setting. KTAB's "NoCommit" and "FullCommit" are not
            offered: written with the same little-conflict probability for both choices, a third party's
            utility would not depend on its choice, so they could not be reproduced from the published
            description.
        interp: "InterVecBrgn": "s2p2" (reference; weights (salience * probability)^2) or "s1p1"
            (weights salience * probability, not validated).
        transition: "StateTransitions": "deterministic" (reference; each actor adopts the most probable
            option in its queue) or "stochastic" (drawn with the PCE probabilities; needs an ``rng``).
        min_gain: Smallest expected gain (KTAB's 2x utility units) that makes a challenge worthwhile.
            1e-5 reproduces the reference; it lies between the largest rejected (8.4e-6) and the
            smallest accepted (1.7e-5) best gain in the reference log.
        equiv_tol: Positions closer than this (Euclidean, [0, 1] scale) count as one position: such
            actors do not challenge each other and share one option in the reported win probabilities.
            KTAB uses 1e-3.
        bargain_grid: Proposed positions are rounded to multiples of this on the [0, 1] scale (KTAB:
            1e-4, i.e. 0.01 on a 0-100 scale). ``None`` disables rounding.
        bargain_eps: Added to the weight sum of each interpolated coordinate, which makes each principal
            concede slightly less than the exact weighted mean (KTAB: 1e-6).
        stop_fraction: Stop once a round's stateDist is below this fraction of the first round's
            (plus 1e-4). 0.02 in KTAB; 0 disables the rule (run ``max_rounds``).
        min_rounds: Rounds always run before the stop rule applies (KTAB: 2).
        max_rounds: Upper limit on rounds (KTAB: 100).
    """

    victory_model: Literal["linear", "square", "quartic", "octic"] = "linear"
    voting_rule: Literal["proportional", "binary", "cubic"] = "proportional"
    risk_range: Literal["min", "mid", "max"] = "mid"
    risk_adjust: Literal["none", "one_third", "half", "two_thirds", "full"] | float = "one_third"
    third_party: Literal["semi"] = "semi"
    interp: Literal["s2p2", "s1p1"] = "s2p2"
    transition: Literal["deterministic", "stochastic"] = "deterministic"
    min_gain: float = 1e-5
    equiv_tol: float = 1e-3
    bargain_grid: float | None = 1e-4
    bargain_eps: float = 1e-6
    stop_fraction: float = 0.02
    min_rounds: int = 2
    max_rounds: int = 100

    def __post_init__(self) -> None:
        """Validate the options (raises ValueError naming the bad field)."""
        choices = {
            "victory_model": tuple(VICTORY_MODELS),
            "voting_rule": _VOTING_RULES,
            "risk_range": tuple(RISK_RANGES),
            "third_party": _THIRD_PARTY,
            "interp": _INTERP,
            "transition": _TRANSITIONS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        adj = self.risk_adjust
        if isinstance(adj, str):
            if adj not in RISK_ADJUST:
                raise ValueError(f"risk_adjust must be one of {tuple(RISK_ADJUST)} or a float, got {adj!r}")
        elif not (isinstance(adj, int | float) and 0.0 <= float(adj) <= 1.0):
            raise ValueError(f"risk_adjust must be in [0, 1], got {adj!r}")
        for name in ("min_gain", "equiv_tol", "bargain_eps", "stop_fraction"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")
        if self.bargain_grid is not None and not self.bargain_grid > 0:
            raise ValueError(f"bargain_grid must be > 0 or None, got {self.bargain_grid!r}")
        if self.min_rounds < 1 or self.max_rounds < self.min_rounds:
            raise ValueError("need 1 <= min_rounds <= max_rounds")

    @property
    def risk_adjust_fraction(self) -> float:
        """``risk_adjust`` as a number in [0, 1]."""
        adj = self.risk_adjust
        return RISK_ADJUST[adj] if isinstance(adj, str) else float(adj)


@dataclass(frozen=True, eq=False)
class SMPState:
    """The state of an SMP run between rounds.

    Attributes:
        positions: (A, D) actor positions in the scenario's units, each dimension within [lo, hi].
        capability: (A,) capability (KTAB "power", political clout), >= 0, any common unit.
        salience: (A, D) salience of each dimension to each actor, in [0, 1] with row sums <= 1 (KTAB
            reads 0-100 and divides by 100). An actor's row sum is the probability that it contests a
            challenge rather than concedes.
        lo: (D,) lower end of each dimension's scale (KTAB: 0).
        hi: (D,) upper end of each dimension's scale (KTAB: 100).
        t: Index of this state (0 = input positions).
        first_dist: stateDist between states 0 and 1 on the [0, 1] scale, once round 1 has run; the
            stop rule's denominator.
    """

    positions: np.ndarray
    capability: np.ndarray
    salience: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    t: int = 0
    first_dist: float | None = None

    @property
    def unit_positions(self) -> np.ndarray:
        """(A, D) positions rescaled to [0, 1] per dimension (the model's working scale)."""
        return (self.positions - self.lo) / (self.hi - self.lo)


@dataclass(frozen=True, eq=False)
class StateQuantities:
    """Quantities of one state, as KTAB's log prints them at the start of each iteration.

    Attributes:
        distance: (A, A) ``d_ij``, salience-weighted distance from i's position to j's as i sees it, in
            [0, 1].
        u0: (A, A) risk-neutral utility ``u(d_ij, 0)`` of j's position to actor i ("raw actor-pos
            value matrix").
        risk: (A,) inferred risk attitudes ``R_i`` in the ``risk_range`` interval.
        u1: (A, A) risk-aware utility ``u(d_ij, R_i)`` ("risk-aware actor-pos utility matrix").
        unique: (A,) representative (lowest index) of each actor's cluster of equivalent positions:
            positions closer than ``equiv_tol`` are linked, clusters are the linked components.
        win_prob: (A,) probability that the position each actor holds prevails: conditional PCE over
            the distinct positions with ``u1`` and capability-weighted votes; actors sharing a position
            share its probability, so the values sum to 1 over distinct positions only.
        forecast_mode: (D,) the most probable position (scenario units).
        forecast_mean: (D,) probability-weighted mean of the distinct positions (scenario units).
    """

    distance: np.ndarray
    u0: np.ndarray
    risk: np.ndarray
    u1: np.ndarray
    unique: np.ndarray
    win_prob: np.ndarray
    forecast_mode: np.ndarray
    forecast_mean: np.ndarray


@dataclass(frozen=True, eq=False)
class RoundInfo:
    """What happened in one round, from state ``t`` to state ``t + 1``.

    Attributes:
        t: Index of the state the round started from.
        positions: (A, D) positions at state t (scenario units).
        utility: (A, A) risk-aware utilities ``u1`` at state t (see :class:`StateQuantities`).
        risk: (A,) inferred risk attitudes at state t.
        win_prob: (A,) win probability of each actor's position at state t.
        forecast_mode: (D,) most probable position at state t.
        forecast_mean: (D,) probability-weighted mean position at state t.
        target: (A,) actor each actor challenged, -1 if none was worth it.
        gain: (A,) the challenger's expected gain from its best target (KTAB 2x units); NaN if it had no
            eligible target.
        challenge_prob: (A,) probability, as the challenger estimates it, that it defeats its target;
            NaN without a challenge.
        proposal_init: (A, D) position the challenger's proposal gives the challenger (NaN without).
        proposal_target: (A, D) position it gives the target (NaN without).
        chosen: (A,) whose proposal each actor adopted (index of the challenger), -1 for the status quo.
        choice_prob: (A,) PCE probability of the chosen option within the actor's queue.
        new_positions: (A, D) positions at state t + 1.
        state_dist: Sum over actors of the Euclidean length of their moves ([0, 1] scale).
        change_fraction: ``state_dist / (first round's state_dist + 1e-4)``.
        stopped: True if the stop rule (or ``max_rounds``) ends the run after this round.
    """

    t: int
    positions: np.ndarray
    utility: np.ndarray
    risk: np.ndarray
    win_prob: np.ndarray
    forecast_mode: np.ndarray
    forecast_mean: np.ndarray
    target: np.ndarray
    gain: np.ndarray
    challenge_prob: np.ndarray
    proposal_init: np.ndarray
    proposal_target: np.ndarray
    chosen: np.ndarray
    choice_prob: np.ndarray
    new_positions: np.ndarray
    state_dist: float
    change_fraction: float
    stopped: bool


@dataclass(frozen=True, eq=False)
class SMPHistory:
    """A complete run: one entry per state 0..T and one :class:`RoundInfo` per round.

    Attributes:
        positions: (T + 1, A, D) positions of every state (scenario units).
        win_prob: (T + 1, A) win probability of each actor's position in every state.
        risk: (T + 1, A) inferred risk attitudes in every state.
        forecast_mode: (T + 1, D) most probable position in every state.
        forecast_mean: (T + 1, D) probability-weighted mean position in every state.
        rounds: The T rounds.
        converged: True if the stop rule ended the run, False if it hit ``max_rounds``.
        final_state: The state after the last round.
    """

    positions: np.ndarray
    win_prob: np.ndarray
    risk: np.ndarray
    forecast_mode: np.ndarray
    forecast_mean: np.ndarray
    rounds: tuple[RoundInfo, ...]
    converged: bool
    final_state: SMPState = field(repr=False)

    @property
    def n_steps(self) -> int:
        """Number of rounds run (KTAB's "steps between states")."""
        return len(self.rounds)


# ---------------------------------------------------------------------------
# construction and input
# ---------------------------------------------------------------------------


def make_state(positions, capability, salience, *, lo=0.0, hi=100.0, salience_scale: float = 1.0) -> SMPState:
    """Build and validate an :class:`SMPState`.

    Args:
        positions: (A, D) positions in [lo, hi] per dimension (KTAB: 0-100).
        capability: (A,) capabilities, >= 0.
        salience: (A, D) saliences, >= 0; divided by ``salience_scale`` (use 100 for KTAB's 0-100
            files). After scaling each actor's saliences must sum to at most 1.
        lo: Lower scale end, scalar or (D,).
        hi: Upper scale end, scalar or (D,), > lo.
        salience_scale: Divisor applied to ``salience``.

    Returns:
        The state at t = 0.

    Raises:
        ValueError: On shape mismatches, non-finite values, negative capability or salience, positions
            outside [lo, hi] (beyond 1e-9 of the range, which is clipped) or salience rows summing
            above 1.
    """
    x = np.array(positions, dtype=float, ndmin=2)
    c = np.array(capability, dtype=float).reshape(-1)
    s = np.array(salience, dtype=float, ndmin=2) / float(salience_scale)
    n_act, n_dim = x.shape
    lo_a = np.broadcast_to(np.asarray(lo, dtype=float), (n_dim,)).copy()
    hi_a = np.broadcast_to(np.asarray(hi, dtype=float), (n_dim,)).copy()
    if c.shape != (n_act,) or s.shape != (n_act, n_dim):
        raise ValueError(f"shapes disagree: positions {x.shape}, capability {c.shape}, salience {s.shape}")
    for name, arr in (("positions", x), ("capability", c), ("salience", s), ("lo", lo_a), ("hi", hi_a)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if np.any(hi_a <= lo_a):
        raise ValueError("hi must exceed lo on every dimension")
    if np.any(c < 0) or np.any(s < 0):
        raise ValueError("capability and salience must be >= 0")
    slack = 1e-9 * (hi_a - lo_a)  # float noise from rescaling is clipped, real excursions are errors
    if np.any(x < lo_a - slack) or np.any(x > hi_a + slack):
        raise ValueError("positions must lie within [lo, hi]")
    x = np.clip(x, lo_a, hi_a)
    if np.any(s.sum(axis=1) > 1.0 + 1e-9):
        raise ValueError("each actor's saliences must sum to at most 1 (after salience_scale)")
    return SMPState(positions=x, capability=c, salience=s, lo=lo_a, hi=hi_a)


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


def distance_matrix(x: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Salience-weighted distances ``d_ij`` as seen by actor i.

    Args:
        x: (A, D) positions on the [0, 1] scale.
        salience: (A, D) saliences; only their ratios within a row matter here.

    Returns:
        (A, A) distances in [0, 1]; a row of zeros for an actor with all-zero salience (it cares
        about nothing, so every position is as good as its own).
    """
    diff = x[None, :, :] - x[:, None, :]
    num = np.einsum("ijk,ik->ij", diff**2, salience**2)
    den = (salience**2).sum(axis=1)[:, None]
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.sqrt(ratio)


def utility(d, risk) -> np.ndarray:
    """KTAB's risk-attitude utility of a position at distance ``d``.

    ``u = (1 - d)(1 + d R)`` for ``d <= 1`` and ``(1 - d)(1 + R)`` beyond, so ``u(0) = 1``, ``u(1) = 0``;
    ``R = 1`` is risk averse (concave), ``R = 0`` linear, ``R < 0`` risk seeking.

    Args:
        d: Distance(s) in [0, 1] (see :func:`distance_matrix`).
        risk: Risk attitude(s), broadcastable against ``d``; in [-1, 1].

    Returns:
        Utility array in [0, 1] for d in [0, 1].
    """
    d = np.asarray(d, dtype=float)
    return (1.0 - d) * (1.0 + np.minimum(d, 1.0) * risk)


def _vote(weight, du, rule: str) -> np.ndarray:
    """Vote (influence exerted for the first option) of a voter of ``weight`` with utility gap ``du``."""
    if rule == "proportional":
        return weight * du
    if rule == "binary":  # utility gaps below 1e-12 are rounding noise, not a preference
        return weight * np.where(np.abs(du) > _BINARY_DEADZONE, np.sign(du), 0.0)
    return weight * du**3  # cubic


def _vprob(for_a, for_b, model: str) -> np.ndarray:
    """Victory probability of side a from non-negative strengths; 0.5 when both are zero."""
    tot = for_a + for_b
    if np.all(tot > 0):
        r = for_a / tot
    else:
        r = np.divide(for_a, tot, out=np.full(np.shape(tot), 0.5), where=tot > 0)
    k = VICTORY_MODELS[model]
    if k == 1:
        return r
    rk, qk = r**k, (1.0 - r) ** k
    return rk / (rk + qk)


def victory_matrix(u: np.ndarray, weight: np.ndarray, params: SMPParams | None = None) -> np.ndarray:
    """Pairwise victory probabilities between options.

    Args:
        u: (A, O) utility of each option to each voter.
        weight: (A,) voting weight (capability in KTAB's PCEs).
        params: Model options (victory model, voting rule).

    Returns:
        (O, O) matrix ``P[a, b]`` = probability that option a beats option b, with
        ``P[a, b] + P[b, a] = 1`` and 0.5 on the diagonal.
    """
    params = params or SMPParams()
    n_opt = u.shape[1]
    coal = np.empty((n_opt, n_opt))
    for blk in _blocks(n_opt, u.shape[0] * n_opt):
        v = _vote(weight[:, None, None], u[:, blk, None] - u[:, None, :], params.voting_rule)
        coal[blk] = np.maximum(v, 0.0, out=v).sum(axis=0)
    coal += _COALITION_FLOOR
    return _vprob(coal, coal.T, params.victory_model)


def _blocks(n: int, per_row: int) -> list[slice]:
    """Split ``range(n)`` into slices whose (rows x ``per_row``) temporaries stay small.

    Temporaries of at most ~8k doubles (64 kB) stay below glibc's default mmap threshold (128 kB) and
    are recycled by the allocator; (A, A, A) temporaries of a 50-actor state (1 MB) are mapped and
    page-faulted afresh on every call, which made an unblocked round several times slower.
    """
    size = max(1, _BLOCK_ELEMENTS // max(per_row, 1))
    return [slice(k, min(k + size, n)) for k in range(0, n, size)]


def conditional_pce(pmat: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Conditional probabilistic Condorcet election: ``p_a ~ prod_b P[a, b]``, normalised.

    Args:
        pmat: (O, O) pairwise victory probabilities (see :func:`victory_matrix`).
        mask: Optional (O,) booleans selecting the options that take part.

    Returns:
        (O,) probability of each option (0 outside ``mask``), summing to 1. Computed in logs, so many
        options cannot underflow.
    """
    n = pmat.shape[0]
    m = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    logp = np.where(m[None, :], _safe_log(pmat), 0.0).sum(axis=1)
    logp = np.where(m, logp - logp[m].max(), -np.inf)
    p = np.exp(logp)
    return p / p.sum()


def _safe_log(p: np.ndarray) -> np.ndarray:
    """Natural log with probabilities that underflowed to 0 floored at the smallest normal double."""
    return np.log(np.maximum(p, np.finfo(float).tiny))


def infer_risk(u0: np.ndarray, capability: np.ndarray, params: SMPParams | None = None) -> np.ndarray:
    """Risk attitudes inferred from the risk-neutral PCE over all actors' positions.

    Every actor's position is an option (actors at the same point count separately). The most probable
    position's holder gets the top of ``risk_range`` (1, risk averse: it has much to lose), the least
    probable the bottom, the rest linearly in between.

    Args:
        u0: (A, A) risk-neutral utilities.
        capability: (A,) voting weights.
        params: Model options (risk range, victory model, voting rule).

    Returns:
        (A,) risk attitudes; all 0 (risk neutral) when every position is equally probable.
    """
    params = params or SMPParams()
    p = conditional_pce(victory_matrix(u0, capability, params))
    lo, hi = RISK_RANGES[params.risk_range]
    span = p.max() - p.min()
    if span <= 1e-15:
        return np.zeros_like(p)
    return lo + (hi - lo) * (p - p.min()) / span


def _risk_estimates(risk: np.ndarray, adjust: float) -> np.ndarray:
    """(A, A) ``Rhat[h, k]``: h's estimate of k's risk attitude, ``R_h + adjust (R_k - R_h)``."""
    return risk[:, None] + adjust * (risk[None, :] - risk[:, None])


def state_quantities(state: SMPState, params: SMPParams | None = None) -> StateQuantities:
    """The quantities KTAB prints for a state: U0, R, U1 and the win probabilities.

    Args:
        state: The state.
        params: Model options.

    Returns:
        The state's :class:`StateQuantities`.
    """
    params = params or SMPParams()
    x = state.unit_positions
    d = distance_matrix(x, state.salience)
    u0 = utility(d, 0.0)
    risk = infer_risk(u0, state.capability, params)
    u1 = utility(d, risk[:, None])
    unique = _equivalence(x, params.equiv_tol)
    opts = np.unique(unique)
    p_opts = conditional_pce(victory_matrix(u1[:, opts], state.capability, params))
    win = p_opts[np.searchsorted(opts, unique)]
    scale = state.hi - state.lo
    mode = state.positions[opts[int(np.argmax(p_opts))]].copy()
    mean = state.lo + (p_opts @ x[opts]) * scale
    return StateQuantities(d, u0, risk, u1, unique, win, mode, mean)


def _equivalence(x: np.ndarray, tol: float) -> np.ndarray:
    """(A,) lowest actor index in each actor's cluster of equivalent positions.

    Positions closer than ``tol`` are linked and clusters are the connected components of those links
    (transitive closure by repeated boolean squaring), so every cluster has one representative.
    """
    close = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)) < tol
    while True:
        wider = (close.astype(float) @ close.astype(float)) > 0
        if np.array_equal(wider, close):
            return np.argmax(close, axis=1)
        close = wider


def _challenge_block(ci, cj, ui, uj, w_n, i_idx, params: SMPParams) -> np.ndarray:
    """Probability that i defeats j under semi-commitment of third parties, for a block of challengers.

    Args:
        ci: (B, A) principal i's own contribution ``vote(w_i, u_ii - u_ij)``, >= 0, indexed [i, j].
        cj: (B, A) principal j's own contribution ``vote(w_j, u_jj - u_ji)``, >= 0.
        ui: (B, 1, N) utility to voter n of i's position.
        uj: (B or 1, A, N) utility to voter n of j's position.
        w_n: (N,) voters' weights (capability * total salience).
        i_idx: (B,) actor indices of the block's challengers.
        params: Model options.

    Returns:
        (B, A) probabilities.
    """
    rule, model = params.voting_rule, params.victory_model
    v = _vote(w_n, ui - uj, rule)
    for_i = np.maximum(v, 0.0)
    for_j = np.subtract(for_i, v, out=v)
    # the "little" conflict of i, j and n alone, with n voting its preference
    for_i += ci[..., None]
    for_j += cj[..., None]
    p_in = _vprob(for_i, for_j, model)
    # semi-commitment: n's summed utility over the positions of i, j and itself when it joins i,
    # p (2u_ni + u_nn) + (1 - p) 3u_nj, minus when it joins j, (1 - p)(2u_nj + u_nn) + p 3u_ni,
    # is p (u_nn - u_ni) - (1 - p)(u_nn - u_nj), with u_nn = 1 (a position's utility to its holder).
    loss_j = 1.0 - uj
    du = (1.0 - ui) + loss_j
    du *= p_in
    du -= loss_j
    vn = _vote(w_n, du, rule)
    # only third parties vote here: drop the n == i and n == j entries from the sums
    ar = np.arange(ci.shape[1])
    vn[np.arange(ci.shape[0]), :, i_idx] = 0.0
    vn[:, ar, ar] = 0.0
    vn_for_i = np.maximum(vn, 0.0)
    ch_ij = ci + vn_for_i.sum(axis=-1)
    ch_ji = cj + (vn_for_i - vn).sum(axis=-1)
    return _vprob(ch_ij, ch_ji, model)


def challenge_probabilities(
    state: SMPState, params: SMPParams | None = None, perspective: int | None = None
) -> np.ndarray:
    """Probability that actor i defeats actor j if i challenges j.

    Args:
        state: The state.
        params: Model options.
        perspective: ``None`` for each challenger's own estimate (what drives its choice), or an actor
            index h for h's estimate of every contest.

    Returns:
        (A, A) matrix ``P[i, j]``; the diagonal is 0.5.
    """
    params = params or SMPParams()
    q = state_quantities(state, params)
    if perspective is None:
        return _initiator_challenges(q, state, params)[0]
    rhat = _risk_estimates(q.risk, params.risk_adjust_fraction)[perspective]
    u = utility(q.distance, rhat[:, None])  # u[n, m]: utility to n of m's position, as h estimates
    a = u.shape[0]
    w = state.capability * state.salience.sum(axis=1)
    ci = np.maximum(_vote(w[:, None], 1.0 - u, params.voting_rule), 0.0)  # [i, j] = vote(w_i, 1 - u_ij)
    cj = ci.T  # [i, j] = vote(w_j, 1 - u_ji)
    ut = u.T  # [m, n]: utility to n of m's position
    p = np.empty((a, a))
    for blk in _blocks(a, a * a):
        idx = np.arange(a)[blk]
        p[blk] = _challenge_block(ci[blk], cj[blk], ut[blk, None, :], ut[None, :, :], w, idx, params)
    np.fill_diagonal(p, 0.5)
    return p


def _initiator_challenges(q: StateQuantities, state: SMPState, params: SMPParams) -> tuple[np.ndarray, np.ndarray]:
    """Challenge probabilities and expected gains, each from the challenger's own perspective.

    Returns:
        ``(P, gain)``, both (A, A) indexed [challenger i, target j]; diagonals 0.5 and -inf.
    """
    a = q.distance.shape[0]
    ar = np.arange(a)
    rhat = _risk_estimates(q.risk, params.risk_adjust_fraction)  # [h, n]: h's estimate of R_n
    dist_t = q.distance.T  # [m, n]: distance from n's position to m's, as n sees it
    w = state.capability * state.salience.sum(axis=1)
    p = np.empty((a, a))
    u_ij = np.empty((a, a))
    for blk in _blocks(a, a * a):
        idx = ar[blk]
        uj = utility(dist_t[None, :, :], rhat[blk, None, :])  # [i, j, n]: to n of j's position, i's view
        rows = np.arange(idx.size)
        ui = uj[rows, idx, :]  # [i, n]: to n of i's position
        u_ij[blk] = uj[rows, :, idx]  # [i, j]: to i of j's position
        ci = np.maximum(_vote(w[idx, None], 1.0 - u_ij[blk], params.voting_rule), 0.0)
        cj = np.maximum(_vote(w[None, :], 1.0 - ui, params.voting_rule), 0.0)  # vote(w_j, 1 - u_ji)
        p[blk] = _challenge_block(ci, cj, ui[:, None, :], uj, w, idx, params)
    np.fill_diagonal(p, 0.5)
    # challenger i's expected gain (KTAB "2x" units: the positions of i and j; u_ii = 1)
    s_j = state.salience.sum(axis=1)[None, :]
    sq = 1.0 + u_ij
    contest = 2.0 * (p + (1.0 - p) * u_ij)
    gain = s_j * (contest - sq) + (1.0 - s_j) * (2.0 - sq)
    np.fill_diagonal(gain, -np.inf)
    return p, gain


def _interpolate(x: np.ndarray, s: np.ndarray, i, j, p, params: SMPParams) -> tuple[np.ndarray, np.ndarray]:
    """Proposals of challengers ``i`` to targets ``j`` won with probability ``p`` ([0, 1] scale)."""
    pw = 2 if params.interp == "s2p2" else 1
    wi = (s[i] * p[:, None]) ** pw
    wj = (s[j] * (1 - p[:, None])) ** pw
    den = wi + wj + params.bargain_eps
    with np.errstate(invalid="ignore", divide="ignore"):
        bi = np.where(den > 0, x[i] + wj * (x[j] - x[i]) / den, x[i])
        bj = np.where(den > 0, x[j] + wi * (x[i] - x[j]) / den, x[j])
    if params.bargain_grid is not None:
        g = params.bargain_grid
        bi, bj = np.round(bi / g) * g, np.round(bj / g) * g
    return np.clip(bi, 0.0, 1.0), np.clip(bj, 0.0, 1.0)


def state_dist(x0: np.ndarray, x1: np.ndarray) -> float:
    """KTAB's stateDist: sum over actors of the Euclidean length of each move ([0, 1] scale).

    Args:
        x0: (A, D) positions on the [0, 1] scale.
        x1: (A, D) positions on the [0, 1] scale.

    Returns:
        The distance, >= 0.
    """
    return float(np.sqrt(((x1 - x0) ** 2).sum(axis=1)).sum())


# ---------------------------------------------------------------------------
# rounds
# ---------------------------------------------------------------------------


def smp_round(
    state: SMPState, params: SMPParams | None = None, rng: np.random.Generator | None = None
) -> tuple[SMPState, RoundInfo]:
    """Run one SMP round (KTAB iteration): challenges, proposals, resolution, stop test.

    Args:
        state: State t.
        params: Model options.
        rng: Random generator, used only with ``transition="stochastic"``.

    Returns:
        ``(state t + 1, RoundInfo)``.

    Raises:
        ValueError: If ``transition="stochastic"`` and no ``rng`` is given.
    """
    params = params or SMPParams()
    if params.transition == "stochastic" and rng is None:
        raise ValueError("transition='stochastic' needs an rng")
    q = state_quantities(state, params)
    x = state.unit_positions
    a = x.shape[0]
    ar = np.arange(a)

    # 1. each actor's most advantageous target
    p_ch, gain = _initiator_challenges(q, state, params)
    same = q.unique[:, None] == q.unique[None, :]
    gain = np.where(same, -np.inf, gain)
    best = np.argmax(gain, axis=1)
    best_gain = gain[ar, best]
    active = best_gain > params.min_gain
    init = ar[active]
    rcvr = best[active]

    # 2. proposals (from the initiator's perspective)
    pb = p_ch[init, rcvr]
    bi, bj = _interpolate(x, state.salience, init, rcvr, pb, params)

    # 3. value of each option (status quo + proposals) to each voter: mean utility over all positions
    nb = init.size
    base = q.u1.sum(axis=1)  # [k]
    if nb:
        pts = np.concatenate([bi, bj])  # (2B, D)
        diff = pts[None, :, :] - x[:, None, :]
        den = (state.salience**2).sum(axis=1)[:, None]
        dn = np.einsum("kbd,kd->kb", diff**2, state.salience**2)
        dpt = np.sqrt(np.divide(dn, den, out=np.zeros_like(dn), where=den > 0))
        upt = utility(dpt, q.risk[:, None])
        val_b = base[:, None] - q.u1[:, init] - q.u1[:, rcvr] + upt[:, :nb] + upt[:, nb:]
    else:
        val_b = np.zeros((a, 0))
    values = np.concatenate([base[:, None], val_b], axis=1) / a  # (A voters, 1 + B options)
    pmat = victory_matrix(values, state.capability, params)

    # 4. each actor's queue: status quo + proposals it initiated or received; conditional PCE
    member = np.zeros((a, 1 + nb), dtype=bool)
    member[:, 0] = True
    member[init, 1 + np.arange(nb)] = True
    member[rcvr, 1 + np.arange(nb)] = True
    logp = np.where(member, member.astype(float) @ _safe_log(pmat).T, -np.inf)  # [owner, option]
    logp -= logp.max(axis=1, keepdims=True)
    prob = np.exp(logp)
    prob /= prob.sum(axis=1, keepdims=True)
    if params.transition == "deterministic":
        choice = np.argmax(prob, axis=1)  # ties: status quo first, then by challenger index
    else:
        draw = rng.random(a)[:, None]
        choice = np.minimum((np.cumsum(prob, axis=1) < draw).sum(axis=1), nb)

    # 5. adopt own part of the chosen option
    new_x = x.copy()
    chosen = np.full(a, -1)
    for_b = choice > 0
    b = choice[for_b] - 1
    owners = ar[for_b]
    new_x[owners] = np.where((init[b] == owners)[:, None], bi[b], bj[b])
    chosen[owners] = init[b]

    # 6. stop rule
    dist = state_dist(x, new_x)
    first = dist if state.first_dist is None else state.first_dist
    frac = dist / (first + _DIST_FLOOR)
    t_new = state.t + 1
    stopped = (t_new >= params.min_rounds and frac < params.stop_fraction) or t_new >= params.max_rounds

    scale = state.hi - state.lo
    nan_pos = np.full((a, x.shape[1]), np.nan)
    prop_i, prop_j = nan_pos.copy(), nan_pos.copy()
    prop_i[init] = state.lo + bi * scale
    prop_j[init] = state.lo + bj * scale
    target = np.where(active, best, -1)
    new_pos = state.positions.copy()  # actors who keep the status quo keep their exact coordinates
    new_pos[owners] = state.lo + new_x[owners] * scale
    info = RoundInfo(
        t=state.t,
        positions=state.positions.copy(),
        utility=q.u1,
        risk=q.risk,
        win_prob=q.win_prob,
        forecast_mode=q.forecast_mode,
        forecast_mean=q.forecast_mean,
        target=target,
        gain=np.where(np.isfinite(best_gain), best_gain, np.nan),
        challenge_prob=np.where(active, p_ch[ar, best], np.nan),
        proposal_init=prop_i,
        proposal_target=prop_j,
        chosen=chosen,
        choice_prob=prob[ar, choice],
        new_positions=new_pos,
        state_dist=dist,
        change_fraction=float(frac),
        stopped=bool(stopped),
    )
    new_state = replace(state, positions=info.new_positions, t=t_new, first_dist=first)
    return new_state, info


def run_smp(
    state: SMPState,
    params: SMPParams | None = None,
    *,
    max_rounds: int | None = None,
    rng: np.random.Generator | None = None,
) -> SMPHistory:
    """Run rounds until KTAB's stop rule (or ``max_rounds``) ends the run.

    Args:
        state: Initial state (usually t = 0, see :func:`make_state` / :func:`read_ktab_csv`).
        params: Model options.
        max_rounds: Overrides ``params.max_rounds`` (KTAB: 100).
        rng: Random generator for ``transition="stochastic"``.

    Returns:
        The :class:`SMPHistory` of states 0..T (T rounds).
    """
    params = params or SMPParams()
    if max_rounds is not None:
        params = replace(params, max_rounds=max_rounds, min_rounds=min(params.min_rounds, max_rounds))
    rounds: list[RoundInfo] = []
    cur = state
    while True:
        cur, info = smp_round(cur, params, rng)
        rounds.append(info)
        if info.stopped:
            break
    last = state_quantities(cur, params)
    positions = np.stack([r.positions for r in rounds] + [cur.positions])
    win = np.stack([r.win_prob for r in rounds] + [last.win_prob])
    risk = np.stack([r.risk for r in rounds] + [last.risk])
    mode = np.stack([r.forecast_mode for r in rounds] + [last.forecast_mode])
    mean = np.stack([r.forecast_mean for r in rounds] + [last.forecast_mean])
    converged = cur.t < params.max_rounds or rounds[-1].change_fraction < params.stop_fraction
    return SMPHistory(positions, win, risk, mode, mean, tuple(rounds), bool(converged), cur)
