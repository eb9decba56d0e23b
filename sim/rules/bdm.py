"""Bueno de Mesquita's expected-utility ("challenge") model of group decisions, as a pure numpy engine.

The model (Bueno de Mesquita 1994, 2002; reconstructed by Scholz, Calbert & Smith 2011) forecasts
the outcome of a collective decision on an issue scale. Actor ``i`` has a position ``x_i`` on the
issue's scale ``[lo, hi]`` (issue units, e.g. years), a capability ``c_i >= 0`` (its clout; only
ratios matter) and a salience ``s_i`` in [0, 1] (how much the issue matters to it). Each round every
actor weighs, against every other actor, what it would gain by *challenging* the other's position
and what the other would gain by challenging its own. The pair of numbers, one point on the actor's
"quad map", tells it whether to give in (confrontation, capitulation), meet the other part way
(compromise) or hold firm. All actors then move at once; the forecast is the weighted median (the
median voter position) or the weighted mean, with weights ``c_i s_i``.

Several issues are handled side by side and independently, as Bueno de Mesquita does: every array
has an issue axis, the round is computed issue by issue, and each issue has its own risk exponents.

One round on one issue, with ``d_ij = |x_i - x_j| / (hi - lo)`` in [0, 1] and ``w_k = c_k s_k``:

1. **Risk.** With every exponent set to 1, compute ``EU(k challenges i)`` for all pairs. Actor i's
   *danger* is ``D_i = sum_{k != i} EU(k challenges i)``. Then
   ``R_i = (2 D_i - max_k D_k - min_k D_k) / (max_k D_k - min_k D_k)`` in [-1, 1] and
   ``r_i = (1 - R_i / 3) / (1 + R_i / 3)`` in [0.5, 2]. The most exposed actor (``R = 1``) gets
   ``r = 0.5`` (convex utility: risk acceptant), the safest (``R = -1``) ``r = 2`` (concave: risk
   averse). All exponents are assigned at once and used for the rest of the round.
2. **Votes.** Voter k, between positions a and b: ``v_k(a, b) = w_k [d(x_k, b)^{r_k} - d(x_k, a)^{r_k}]``
   (positive favours a; each voter uses its own exponent).
3. **Probability** that a prevails over b: ``P(a, b) = sum_k max(0, v_k(a, b)) / sum_k |v_k(a, b)|``;
   ``P = 0`` when ``a = b``.
4. **Utilities** as seen by a perspective actor with exponent ``r``, for a contest between i and j:
   ``U_s = 2 - 4 (0.5 - 0.5 d_ij)^r`` (i wins), ``U_f = 2 - 4 (0.5 + 0.5 d_ij)^r`` (i loses),
   ``U_sq = 2 - 4 (0.5)^r`` (status quo); in [-2, 2]. Only when ``Q < 1``:
   ``U_b = 2 - 4 (0.5 - 0.25 (d(x_i, mu) + d_ij))^r`` and ``U_w`` with ``+`` (the status quo moves
   for the better / worse for i), ``mu`` the weighted median.
5. **Expected utility of i challenging j**:
   ``EU(i, j) = s_j [P(x_i, x_j) U_s + (1 - P) U_f] + (1 - s_j) U_s - Q U_sq - (1 - Q) [T U_b + (1 - T) U_w]``:
   the target resists with probability ``s_j``; ``Q`` is the probability that the status quo
   holds if i does not challenge, ``T`` that a change would favour i.
6. **Offers.** Actor a looks at every o with ``x_o != x_a``, both values from a's perspective
   (a's exponent in every utility): ``eu_ij = EU(a challenges o)``, ``eu_ji = EU(o challenges a)``.

   - *confrontation*, ``eu_ji > eu_ij > 0``: both would gain, o more; a moves to ``x_o``;
   - *compromise*, ``eu_ji > 0 > eu_ij`` and ``eu_ji > |eu_ij|``: a moves the fraction
     ``|eu_ij / eu_ji|`` of the way to ``x_o``;
   - *capitulation*, ``eu_ji > 0 > eu_ij`` and ``eu_ji <= |eu_ij|``: a moves to ``x_o``.
7. **Choice.** Each actor accepts one offer (rule by variant, below); ties go to the first actor in
   input order; all actors move simultaneously, from the round-start positions.

Variants (``BDMParams(variant=...)``); each is a :class:`BDMRules` preset, and every difference is
a named field of it:

``"bdm"`` (default): the published model as above. Descriptions of the model do not say how an actor
    ranks offers of different kinds; the reference takes, among confrontations, the one asking the
    smallest move, and the default applies that rule to all offers alike
    (``confrontation_first=False``, ``compromise_choice="smallest_move"``). If no voter cares about a
    contest (zero denominator) ``P = 0.5``, so ``P(a, b) + P(b, a) = 1`` always holds.

``"scholz2011"``: reproduces the 10-round trajectory in ``tests/fixtures/bdm-eu-emissions``, the
    output of the jmckib/Masad Python port of the Scholz-Calbert-Smith reconstruction, which follows
    "Scholz' original code" including its quirks. It differs from ``"bdm"`` in exactly these rules:

    - ``probability_denominator="all_pairs"``: ``P(a, b) = sum_k max(0, v_k(a, b)) /
      sum_k sum_m sum_n |v_k(x_m, x_n)|``, the denominator summed over every voter and every ordered
      pair of *actors* (a constant within a round). Probabilities are small (< 0.05 in the
      reference's first round) and ``P(a, b) + P(b, a) < 1``.
    - ``capitulation=False``: the port's capitulation test can never be true, so no actor ever
      capitulates and an offer in that region is no offer. This matters: re-enabling it changes the
      reference trajectory from round 1.
    - ``confrontation_first=True``: an actor with any confrontation offer takes one (the smallest
      move); compromises are considered only when there is none.
    - ``compromise_choice="weighted_position"``: among compromises the actor picks the one that
      minimises ``(|eu_ij| x_a + |eu_ji| x_o) / (|eu_ij| + |eu_ji|)``, a *position*, not the move it
      then makes (``x_a + (x_o - x_a) |eu_ij / eu_ji|``), which biases the choice toward the low end
      of the scale. In round 4 of the reference Belgium (at 9.96) therefore takes the Netherlands'
      offer (to 4.80) rather than France's (to 9.9996).
    - ``no_vote_probability=0.0``: ``P = 0`` when the denominator is zero (never the case in the
      reference).

Shared by both variants, and as in the reference: distances are normalised by a scale fixed for
the run, by default the range of the *initial* positions (10 - 4 = 6 years in the reference);
``Q = 1`` by default, so ``T`` has no effect (``Q < 1`` follows the published formula but no
reference output validates it); the risk exponents are recomputed every round from risk-neutral
expected utilities, with the max and min of the danger taken over the actors; the perspective
actor's exponent shapes both of its EUs; the forecasts use weights ``c s``. Moves are convex
combinations of two positions, so positions stay on the scale.

Sources:
    Bueno de Mesquita, B. (1994). "Political forecasting: an expected utility method." In
    B. Bueno de Mesquita & F. N. Stokman (eds.), *European Community Decision Making*, Yale UP (the
    car-emissions data: its table on p. 78). Bueno de Mesquita, B. (2002). *Predicting Politics*.
    Ohio State UP. Scholz, J. B., Calbert, G. J. & Smith, G. A. (2011). "Unravelling Bueno de
    Mesquita's group decision model." *Journal of Theoretical Politics* 23(4):510-531 (conference
    version ICAART 2011).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from sim.rules.stats import weighted_mean, weighted_median

__all__ = [
    "CAPITULATION",
    "COMPROMISE",
    "CONFRONTATION",
    "NO_OFFER",
    "OFFER_KINDS",
    "VARIANTS",
    "BDMHistory",
    "BDMParams",
    "BDMRules",
    "BDMState",
    "IssueRound",
    "RoundInfo",
    "bdm_round",
    "forecast",
    "initial_state",
    "issue_round",
    "pairwise_votes",
    "positive_votes",
    "risk_exponents",
    "run_bdm",
    "weighted_mean",
    "weighted_median",
]

NO_OFFER = 0
"""Offer code: no acceptable offer (the actor stays put)."""
CONFRONTATION = 1
"""Offer code: both sides expect to gain from a challenge, the other side more; the actor gives in."""
COMPROMISE = 2
"""Offer code: the other side gains more than the actor loses; the actor moves part of the way."""
CAPITULATION = 3
"""Offer code: the actor loses at least as much as the other side gains; it moves all the way."""
OFFER_KINDS: tuple[str, ...] = ("none", "confrontation", "compromise", "capitulation")
"""Names of the offer codes, indexed by code."""


@dataclass(frozen=True)
class BDMRules:
    """The named behaviours in which the model's variants differ (see the module docstring).

    Attributes:
        probability_denominator: ``"pair"``: ``P(a, b) = sum_k max(0, v_k(a, b)) / sum_k |v_k(a, b)|``
            (Bueno de Mesquita 1994). ``"all_pairs"``: the denominator is ``sum_k sum_m sum_n
            |v_k(x_m, x_n)|`` over all ordered actor pairs (Scholz variant).
        capitulation: Whether an offer in the capitulation region (``eu_ji > 0 > eu_ij``,
            ``eu_ji <= |eu_ij|``) is made. ``False`` reproduces the Scholz variant, where it never is.
        confrontation_first: Whether a confrontation offer, if any, is taken before any other kind.
        compromise_choice: How an actor picks among compromise offers (when no category takes
            precedence, among all offers): ``"smallest_move"`` or ``"weighted_position"`` (the
            Scholz quirk: minimise ``(|eu_ij| x_a + |eu_ji| x_o) / (|eu_ij| + |eu_ji|)``).
        no_vote_probability: ``P(a, b)`` for ``a != b`` when the denominator is zero (no voter
            cares), in [0, 1].
    """

    probability_denominator: Literal["pair", "all_pairs"] = "pair"
    capitulation: bool = True
    confrontation_first: bool = False
    compromise_choice: Literal["smallest_move", "weighted_position"] = "smallest_move"
    no_vote_probability: float = 0.5

    def __post_init__(self) -> None:
        if self.probability_denominator not in ("pair", "all_pairs"):
            raise ValueError(
                f"probability_denominator must be 'pair' or 'all_pairs', got {self.probability_denominator!r}"
            )
        if self.compromise_choice not in ("smallest_move", "weighted_position"):
            raise ValueError(
                f"compromise_choice must be 'smallest_move' or 'weighted_position', got {self.compromise_choice!r}"
            )
        if not 0.0 <= float(self.no_vote_probability) <= 1.0:
            raise ValueError(f"no_vote_probability must lie in [0, 1], got {self.no_vote_probability!r}")


VARIANTS: dict[str, BDMRules] = {
    "bdm": BDMRules(),
    "scholz2011": BDMRules(
        probability_denominator="all_pairs",
        capitulation=False,
        confrontation_first=True,
        compromise_choice="weighted_position",
        no_vote_probability=0.0,
    ),
}
"""The rule sets of the named variants."""


@dataclass(frozen=True)
class BDMParams:
    """Parameters of a BDM run, constant across rounds.

    Attributes:
        variant: ``"bdm"`` (the published model, default) or ``"scholz2011"`` (reproduces the
            reference trajectory); selects :attr:`rules` unless ``rules`` is given.
        Q: Probability, in [0, 1], that the status quo holds if the actor does not challenge.
            The reference uses 1 (the default for both variants), which removes the ``U_b``/``U_w``
            term. Values below 1 follow the published formula but no reference output validates them.
        T: Probability, in [0, 1], that a change of the status quo favours the challenger; no
            effect when ``Q = 1``.
        rules: Explicit rule set overriding the variant's (for sensitivity studies).
    """

    variant: str = "bdm"
    Q: float = 1.0
    T: float = 1.0
    rules: BDMRules | None = None

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {self.variant!r}")
        for name in ("Q", "T"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")

    @property
    def effective_rules(self) -> BDMRules:
        """The rule set in force: :attr:`rules` if given, else the variant's."""
        return self.rules if self.rules is not None else VARIANTS[self.variant]


@dataclass(frozen=True, eq=False)
class BDMState:
    """The state of a BDM negotiation between rounds (arrays are read-only).

    Attributes:
        positions: ``(A, I)`` current positions, in each issue's own units, within ``scale``.
        capability: ``(A,)`` capabilities ``c_i >= 0`` (only ratios matter).
        salience: ``(A, I)`` saliences ``s_i`` in [0, 1].
        scale: ``(I, 2)`` the issue scales ``[lo, hi]``; ``hi - lo`` normalises distances.
        risk: ``(A, I)`` risk exponents used in the last round (1 before the first round), in [0.5, 2].
        round: Rounds completed so far.
    """

    positions: np.ndarray
    capability: np.ndarray
    salience: np.ndarray
    scale: np.ndarray
    risk: np.ndarray
    round: int = 0

    @property
    def n_actors(self) -> int:
        """Number of actors ``A``."""
        return int(self.positions.shape[0])

    @property
    def n_issues(self) -> int:
        """Number of issues ``I``."""
        return int(self.positions.shape[1])


@dataclass(frozen=True, eq=False)
class RoundInfo:
    """What happened in one round (arrays are ``(I, ...)`` per issue unless stated).

    Perspective matrices are indexed ``[issue, a, o]``: actor ``a`` looking at actor ``o``.

    Attributes:
        round: The round number, 1 for the first round.
        positions_before: ``(A, I)`` positions at the start of the round.
        positions: ``(A, I)`` positions after the round.
        risk: ``(A, I)`` risk exponents used in the round, in [0.5, 2].
        median: ``(I,)`` weighted-median forecast (weights ``c s``) of the positions after the round.
        mean: ``(I,)`` weighted-mean forecast of the positions after the round.
        probability: ``(I, A, A)`` ``P(x_a, x_o)``: probability that a's position beats o's.
        eu_challenge: ``(I, A, A)`` ``EU_a(a challenges o)``, the x-coordinate of a's quad map.
        eu_challenged: ``(I, A, A)`` ``EU_a(o challenges a)``: a's estimate of what o gains by
            challenging it, the y-coordinate of a's quad map.
        offer_kind: ``(I, A, A)`` code (:data:`OFFER_KINDS`) of the offer o makes a, as a sees it.
        offer_position: ``(I, A, A)`` where that offer would move a (NaN if no offer).
        chosen_kind: ``(A, I)`` code of the offer each actor accepted (0: none).
        chosen_partner: ``(A, I)`` index of the actor whose offer was accepted (-1: none).
    """

    round: int
    positions_before: np.ndarray
    positions: np.ndarray
    risk: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    probability: np.ndarray
    eu_challenge: np.ndarray
    eu_challenged: np.ndarray
    offer_kind: np.ndarray
    offer_position: np.ndarray
    chosen_kind: np.ndarray
    chosen_partner: np.ndarray

    @property
    def offer_counts(self) -> dict[str, np.ndarray]:
        """Accepted offers by kind: ``{"confrontation": (I,), "compromise": (I,), "capitulation": (I,)}``."""
        return {name: (self.chosen_kind == code).sum(axis=0) for code, name in enumerate(OFFER_KINDS) if code}


@dataclass(frozen=True, eq=False)
class BDMHistory:
    """A whole run: the initial state, the state after every round and every round's record.

    Attributes:
        initial: State before round 1.
        states: State after each round (``states[t - 1]`` after round ``t``).
        rounds: :class:`RoundInfo` of each round.
    """

    initial: BDMState
    states: list[BDMState] = field(default_factory=list)
    rounds: list[RoundInfo] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rounds)

    @property
    def positions(self) -> np.ndarray:
        """``(T + 1, A, I)`` positions, row 0 the input."""
        return np.stack([self.initial.positions] + [s.positions for s in self.states])

    @property
    def risk(self) -> np.ndarray:
        """``(T, A, I)`` risk exponents used in rounds 1..T."""
        return np.stack([info.risk for info in self.rounds])

    @property
    def median(self) -> np.ndarray:
        """``(T + 1, I)`` weighted-median forecasts, row 0 on the input."""
        return np.stack([forecast(self.initial)[0]] + [info.median for info in self.rounds])

    @property
    def mean(self) -> np.ndarray:
        """``(T + 1, I)`` weighted-mean forecasts, row 0 on the input."""
        return np.stack([forecast(self.initial)[1]] + [info.mean for info in self.rounds])


# ---------------------------------------------------------------------------
# static benchmarks (dtype-generic: float arrays, or object arrays of Fraction for exact results)
# ---------------------------------------------------------------------------


def pairwise_votes(positions, capability, salience, scale_range):
    """Risk-neutral total votes ``V[a, b] = sum_k c_k s_k (|x_k - x_b| - |x_k - x_a|) / range``.

    ``V[a, b] > 0`` means the coalition backing actor a's position against actor b's position is
    the stronger (Bueno de Mesquita 1994, votes with ``r_k = 1``). ``V`` is antisymmetric; the
    position ``x_a`` with ``V[a, b] >= 0`` for all ``b`` is the Condorcet winner. Dtype-generic
    (exact on :class:`fractions.Fraction` object arrays).

    Args:
        positions: ``(A,)`` positions on one issue (issue units).
        capability: ``(A,)`` capabilities.
        salience: ``(A,)`` saliences in [0, 1].
        scale_range: ``hi - lo`` of the issue scale (issue units, > 0).

    Returns:
        ``(A, A)`` matrix of votes, in units of capability x salience.
    """
    x = np.asarray(positions)
    w = np.asarray(capability) * np.asarray(salience)
    dist = np.abs(x[:, None] - x[None, :])  # dist[k, m] = |x_k - x_m|
    support = (w[:, None] * dist).sum(axis=0) / scale_range  # S[m] = sum_k w_k |x_k - x_m| / range
    return support[None, :] - support[:, None]


def forecast(state: BDMState) -> tuple[np.ndarray, np.ndarray]:
    """Weighted median and weighted mean (weights ``c s``) of a state's positions, per issue.

    Args:
        state: Any BDM state.

    Returns:
        ``(median, mean)``, each ``(I,)`` in issue units.
    """
    w = state.capability[:, None] * state.salience
    med = np.array([weighted_median(state.positions[:, i], w[:, i]) for i in range(state.n_issues)], dtype=float)
    mean = np.array([weighted_mean(state.positions[:, i], w[:, i]) for i in range(state.n_issues)], dtype=float)
    return med, mean


# ---------------------------------------------------------------------------
# the round
# ---------------------------------------------------------------------------


def positive_votes(x, w, r, points, scale_range) -> np.ndarray:
    """Votes for each position in every contest: ``G[m, n] = sum_k max(0, v_k(points_m, points_n))``.

    ``v_k(a, b) = w_k [d(x_k, b)^{r_k} - d(x_k, a)^{r_k}]`` with ``d`` the distance normalised by
    the scale range and ``w_k = c_k s_k``. Because ``d^r`` increases with ``d`` for every ``r > 0``,
    voter ``k`` backs whichever of the two points is nearer to ``x_k``: the backers of ``a`` against
    ``b`` are the voters on a's side of the midpoint ``(a + b) / 2``. So ``G`` is a difference of
    prefix sums over the voters sorted by position, ``O(A P + P^2 log A)`` instead of the
    ``O(A P^2)`` of summing every voter in every contest (the tests check both agree).

    Args:
        x: ``(A,)`` voters' positions (issue units).
        w: ``(A,)`` voting weights ``c_k s_k >= 0``.
        r: ``(A,)`` voters' risk exponents (> 0), or None for risk-neutral voters (all 1).
        points: ``(P,)`` positions contested, sorted ascending and distinct (issue units).
        scale_range: ``hi - lo`` of the issue scale (issue units); 0 means no voter cares.

    Returns:
        ``(P, P)`` support for ``points[m]`` against ``points[n]``, in units of ``c s``; zero diagonal.
    """
    n_voters, n_pts = x.size, points.size
    order = np.argsort(x, kind="stable")
    xs = x[order]
    if scale_range > 0:
        dist = np.abs(xs[:, None] - points[None, :]) / scale_range
    else:
        dist = np.zeros((n_voters, n_pts))
    loss = dist if r is None else dist ** r[order, None]
    cum = np.zeros((n_voters + 1, n_pts))
    np.cumsum(w[order, None] * loss, axis=0, out=cum[1:])  # cum[j, m]: first j voters
    # voters left of the cut are nearer the lower point; one exactly at a midpoint votes (about) zero either way
    cut = np.searchsorted(xs, 0.5 * (points[:, None] + points[None, :]))
    left_of = points[:, None] < points[None, :]  # points[m] < points[n]: m's backers lie left of the cut
    flat = cut * n_pts
    # below[m, n] = sum over voters left of the cut of w (d_n^r - d_m^r); the rest of the voters give the remainder
    below = cum.ravel().take(flat + np.arange(n_pts)[None, :]) - cum.ravel().take(flat + np.arange(n_pts)[:, None])
    above = (cum[-1][None, :] - cum[-1][:, None]) - below
    support = np.maximum(np.where(left_of, below, above), 0.0)  # clip rounding below zero
    np.fill_diagonal(support, 0.0)
    return support


def _probability(x, w, r, scale_range, rules: BDMRules) -> np.ndarray:
    """``P[a, o]``: probability that actor a's position prevails over actor o's, ``(A, A)``.

    Computed on the distinct positions and expanded, so actors sharing a position get
    bit-identical rows and ties between them stay exact.
    """
    uniq, inv = np.unique(x, return_inverse=True)
    pos = positive_votes(x, w, r, uniq, scale_range)
    per_pair = pos + pos.T  # sum_k |v_k(u_m, u_n)|, exactly symmetric
    if rules.probability_denominator == "pair":
        ok = per_pair > 0
        prob_u = np.where(ok, pos / np.where(ok, per_pair, 1.0), rules.no_vote_probability)
    else:
        counts = np.bincount(inv, minlength=uniq.size).astype(float)
        denom = counts @ per_pair @ counts  # over all ordered pairs of actors
        prob_u = pos / denom if denom > 0 else np.full_like(pos, rules.no_vote_probability)
    np.fill_diagonal(prob_u, 0.0)
    return prob_u[inv][:, inv]


def _shaped(base: np.ndarray, r: np.ndarray | None) -> np.ndarray:
    """``base ** r`` row-wise (``r`` per perspective actor), or ``base`` itself when risk neutral."""
    return base if r is None else base ** r[:, None]


def _expected_utilities(x, s, r, dist, prob, mu, scale_range, Q, T):
    """``(eu_challenge, eu_challenged)``: ``EU_a(a challenges o)`` and ``EU_a(o challenges a)``, ``(A, A)``.

    Row ``a`` is the perspective actor, whose exponent ``r_a`` shapes every utility in the row;
    ``r=None`` means risk neutral (all exponents 1).
    """
    u_win = 2.0 - 4.0 * _shaped(np.maximum(0.5 - 0.5 * dist, 0.0), r)
    u_lose = 2.0 - 4.0 * _shaped(0.5 + 0.5 * dist, r)
    u_sq = 2.0 - 4.0 * (0.5 if r is None else 0.5 ** r[:, None])
    eu_ij = s[None, :] * (prob * u_win + (1.0 - prob) * u_lose) + (1.0 - s[None, :]) * u_win - Q * u_sq
    eu_ji = s[:, None] * (prob.T * u_win + (1.0 - prob.T) * u_lose) + (1.0 - s[:, None]) * u_win - Q * u_sq
    if Q < 1.0:
        to_mu = np.abs(x - mu) / scale_range if scale_range > 0 else np.zeros_like(x)
        # the challenger's distance to the median: a's (rows) in eu_ij, o's (columns) in eu_ji
        for eu, shift in ((eu_ij, to_mu[:, None]), (eu_ji, to_mu[None, :])):
            quarter = 0.25 * (shift + dist)
            u_better = 2.0 - 4.0 * _shaped(np.maximum(0.5 - quarter, 0.0), r)
            u_worse = 2.0 - 4.0 * _shaped(0.5 + quarter, r)
            eu -= (1.0 - Q) * (T * u_better + (1.0 - T) * u_worse)
    return eu_ij, eu_ji


def risk_exponents(danger: np.ndarray) -> np.ndarray:
    """Risk exponents from each actor's danger, ``r_i = (1 - R_i / 3) / (1 + R_i / 3)`` in [0.5, 2].

    ``R_i = (2 D_i - max D - min D) / (max D - min D)`` in [-1, 1] ranks actor ``i``'s danger
    ``D_i`` (what the others expect to gain by challenging it) between the safest actor
    (``R = -1``, ``r = 2``, concave utility: risk averse) and the most exposed (``R = 1``,
    ``r = 0.5``, convex utility: risk acceptant), Bueno de Mesquita (1994) as reconstructed by
    Scholz et al. (2011). If all dangers are equal every actor is risk neutral (``r = 1``).

    Args:
        danger: ``(A,)`` sums ``D_i = sum_{k != i} EU_k(k challenges i)`` at risk neutrality.

    Returns:
        ``(A,)`` risk exponents.
    """
    d_max, d_min = danger.max(), danger.min()
    if not d_max > d_min:
        return np.ones_like(danger)
    big_r = (2.0 * danger - d_max - d_min) / (d_max - d_min)
    return (1.0 - big_r / 3.0) / (1.0 + big_r / 3.0)


class IssueRound(NamedTuple):
    """One round on one issue. Matrices are ``(A, A)``: row ``a`` = the perspective actor, column ``o`` the other.

    Attributes:
        positions: ``(A,)`` positions after the round (issue units).
        risk: ``(A,)`` risk exponents used in the round, in [0.5, 2].
        probability: ``P[a, o]``, probability that a's position beats o's, in [0, 1].
        eu_challenge: ``EU_a(a challenges o)``, in utility units (the model's utilities lie in [-2, 2]).
        eu_challenged: ``EU_a(o challenges a)``, a's estimate of o's gain from challenging it.
        offer_kind: Code of the offer o makes a (:data:`OFFER_KINDS`), 0 where none.
        offer_position: Where the offer would move a (issue units), NaN where none.
        chosen_kind: ``(A,)`` code of the accepted offer, 0 if none.
        chosen_partner: ``(A,)`` index of the actor whose offer was accepted, -1 if none.
    """

    positions: np.ndarray
    risk: np.ndarray
    probability: np.ndarray
    eu_challenge: np.ndarray
    eu_challenged: np.ndarray
    offer_kind: np.ndarray
    offer_position: np.ndarray
    chosen_kind: np.ndarray
    chosen_partner: np.ndarray


def issue_round(x, capability, salience, lo, hi, params: BDMParams | None = None) -> IssueRound:
    """One BDM round on one issue: risk exponents, probabilities, expected utilities, offers, moves.

    Args:
        x: ``(A,)`` round-start positions on the issue (issue units).
        capability: ``(A,)`` capabilities ``>= 0``.
        salience: ``(A,)`` saliences in [0, 1].
        lo: Low end of the issue scale (issue units).
        hi: High end of the issue scale (issue units), ``>= lo``; ``hi - lo`` normalises distances.
        params: Model parameters (default :class:`BDMParams`, the published model).

    Returns:
        The :class:`IssueRound`.
    """
    params = params or BDMParams()
    rules = params.effective_rules
    x = np.asarray(x, dtype=float)
    c = np.asarray(capability, dtype=float)
    s = np.asarray(salience, dtype=float)
    n = x.size
    w = c * s
    scale_range = float(hi) - float(lo)
    dist = np.abs(x[:, None] - x[None, :]) / scale_range if scale_range > 0 else np.zeros((n, n))
    mu = float(weighted_median(x, w)) if params.Q < 1.0 else 0.0

    # 1. risk exponents from the risk-neutral danger of each actor's position
    p_neutral = _probability(x, w, None, scale_range, rules)
    eu_neutral, _ = _expected_utilities(x, s, None, dist, p_neutral, mu, scale_range, params.Q, params.T)
    np.fill_diagonal(eu_neutral, 0.0)
    risk = risk_exponents(eu_neutral.sum(axis=0))  # column sums: sum_{k != i} EU(k challenges i)

    # 2-5. votes, probabilities and expected utilities with the new exponents
    prob = _probability(x, w, risk, scale_range, rules)
    eu_ij, eu_ji = _expected_utilities(x, s, risk, dist, prob, mu, scale_range, params.Q, params.T)

    # 6. offers to a (rows) from o (columns), classified on a's quad map
    differs = x[:, None] != x[None, :]
    confront = differs & (eu_ji > eu_ij) & (eu_ij > 0.0)
    oppose = differs & (eu_ji > 0.0) & (eu_ij < 0.0)
    compromise = oppose & (eu_ji > np.abs(eu_ij))
    capitulate = oppose & ~compromise & rules.capitulation
    kind = np.zeros((n, n), dtype=np.int8)
    kind[confront] = CONFRONTATION
    kind[compromise] = COMPROMISE
    kind[capitulate] = CAPITULATION
    here = x[:, None]
    there = np.broadcast_to(x[None, :], (n, n))
    frac = np.abs(eu_ij) / np.where(compromise, eu_ji, 1.0)  # in [0, 1) where compromise
    offer_pos = np.where(compromise, here + (there - here) * frac, there)
    offer_pos = np.where(kind > 0, offer_pos, np.nan)

    # 7. each actor accepts one offer; ties go to the first actor in input order
    key = np.abs(offer_pos - here)  # size of the move
    if rules.compromise_choice == "weighted_position":
        a_ij, a_ji = np.abs(eu_ij), np.abs(eu_ji)
        weighted = (a_ij * here + a_ji * there) / np.where(compromise, a_ij + a_ji, 1.0)
        key = np.where(compromise, weighted, key)
    if rules.confrontation_first:
        key = np.where(confront.any(axis=1)[:, None] & ~confront, np.nan, key)
    key = np.where(np.isnan(key), np.inf, key)
    rows = np.arange(n)
    partner = np.argmin(key, axis=1)
    chosen = np.isfinite(key[rows, partner])
    new_x = np.where(chosen, offer_pos[rows, partner], x)
    if scale_range > 0:
        new_x = np.clip(new_x, lo, hi)  # moves are convex combinations; this only guards rounding
    return IssueRound(
        positions=new_x,
        risk=risk,
        probability=prob,
        eu_challenge=eu_ij,
        eu_challenged=eu_ji,
        offer_kind=kind,
        offer_position=offer_pos,
        chosen_kind=np.where(chosen, kind[rows, partner], NO_OFFER).astype(np.int8),
        chosen_partner=np.where(chosen, partner, -1),
    )


# ---------------------------------------------------------------------------
# state, round, run
# ---------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def initial_state(positions, capability, salience, scale=None) -> BDMState:
    """Validate inputs and build the state before round 1.

    Args:
        positions: ``(A, I)`` positions, or ``(A,)`` for one issue, in each issue's own units.
        capability: ``(A,)`` capabilities ``>= 0``.
        salience: ``(A, I)`` (or ``(A,)``) saliences in [0, 1].
        scale: ``(I, 2)`` scale ``[lo, hi]`` per issue, or ``(2,)`` for the same scale on all. Default: the
            range of the initial positions on each issue (as in the reference, 4 to 10).

    Returns:
        A :class:`BDMState` with risk exponents 1 and round 0.

    Raises:
        ValueError: On mismatched shapes, non-finite values, negative capability, salience outside
            [0, 1], a scale with ``lo > hi`` or positions outside the scale.
    """
    x = np.asarray(positions, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"positions must be (A, I) or (A,), got shape {np.shape(positions)}")
    n, m = x.shape
    c = np.asarray(capability, dtype=float)
    if c.shape != (n,):
        raise ValueError(f"capability must have shape ({n},), got {c.shape}")
    s = np.asarray(salience, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    if s.shape != (n, m):
        raise ValueError(f"salience must have shape ({n}, {m}), got {np.shape(salience)}")
    for name, arr in (("positions", x), ("capability", c), ("salience", s)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if np.any(c < 0):
        raise ValueError("capability must be >= 0")
    if np.any((s < 0) | (s > 1)):
        raise ValueError("salience must lie in [0, 1]")
    if scale is None:
        sc = np.stack([x.min(axis=0), x.max(axis=0)], axis=1)
    else:
        sc = np.asarray(scale, dtype=float)
        if sc.shape == (2,):
            sc = np.tile(sc, (m, 1))  # one scale for every issue
        if sc.shape != (m, 2) or not np.all(np.isfinite(sc)):
            raise ValueError(f"scale must be finite with shape ({m}, 2), got {np.shape(scale)}")
        if np.any(sc[:, 0] > sc[:, 1]):
            raise ValueError("scale must have lo <= hi on every issue")
        if np.any((x < sc[:, 0]) | (x > sc[:, 1])):
            raise ValueError("positions must lie within the scale")
    return BDMState(
        positions=_frozen(x),
        capability=_frozen(c),
        salience=_frozen(s),
        scale=_frozen(sc),
        risk=_frozen(np.ones((n, m))),
        round=0,
    )


def bdm_round(state: BDMState, params: BDMParams | None = None) -> tuple[BDMState, RoundInfo]:
    """Advance a BDM negotiation by one round on every issue (a pure function of its inputs).

    Args:
        state: The state at the start of the round.
        params: Model parameters (default :class:`BDMParams`, the published model).

    Returns:
        ``(new_state, info)``: the state after the round and the round's :class:`RoundInfo`.
    """
    params = params or BDMParams()
    n, m = state.positions.shape
    new_x = np.empty((n, m))
    risk = np.empty((n, m))
    mats = {k: np.empty((m, n, n)) for k in ("probability", "eu_challenge", "eu_challenged", "offer_position")}
    kind = np.empty((m, n, n), dtype=np.int8)
    chosen_kind = np.empty((n, m), dtype=np.int8)
    chosen_partner = np.empty((n, m), dtype=int)
    for i in range(m):
        out = issue_round(state.positions[:, i], state.capability, state.salience[:, i], *state.scale[i], params=params)
        new_x[:, i] = out.positions
        risk[:, i] = out.risk
        for k, arr in mats.items():
            arr[i] = getattr(out, k)
        kind[i] = out.offer_kind
        chosen_kind[:, i] = out.chosen_kind
        chosen_partner[:, i] = out.chosen_partner
    new_state = BDMState(
        positions=_frozen(new_x),
        capability=state.capability,
        salience=state.salience,
        scale=state.scale,
        risk=_frozen(risk),
        round=state.round + 1,
    )
    median, mean = forecast(new_state)
    info = RoundInfo(
        round=new_state.round,
        positions_before=state.positions,
        positions=new_state.positions,
        risk=new_state.risk,
        median=median,
        mean=mean,
        offer_kind=kind,
        chosen_kind=chosen_kind,
        chosen_partner=chosen_partner,
        **mats,
    )
    return new_state, info


def run_bdm(
    positions,
    capability,
    salience,
    rounds: int = 10,
    params: BDMParams | None = None,
    *,
    scale=None,
    variant: str | None = None,
) -> BDMHistory:
    """Run the model for a fixed number of rounds.

    Args:
        positions: ``(A, I)`` or ``(A,)`` initial positions (issue units).
        capability: ``(A,)`` capabilities ``>= 0``.
        salience: ``(A, I)`` or ``(A,)`` saliences in [0, 1].
        rounds: Number of rounds, ``>= 0`` (Bueno de Mesquita reports a handful; the reference 10).
        params: Model parameters; default ``BDMParams(variant=variant or "bdm")``.
        scale: ``(I, 2)`` issue scales; default the range of the initial positions.
        variant: Shortcut for ``BDMParams(variant=...)``; give either this or ``params``.

    Returns:
        The :class:`BDMHistory` of the run.
    """
    if params is not None and variant is not None:
        raise ValueError("give either params or variant, not both")
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer) or rounds < 0:
        raise ValueError(f"rounds must be an integer >= 0, got {rounds!r}")
    params = params or BDMParams(variant=variant or "bdm")
    state = initial_state(positions, capability, salience, scale)
    history = BDMHistory(initial=state)
    for _ in range(int(rounds)):
        state, info = bdm_round(state, params)
        history.states.append(state)
        history.rounds.append(info)
    return history
