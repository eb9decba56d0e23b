"""Stokman & Van Oosten's exchange model (Equal Gain variant) as a pure numpy engine.

Actors hold voting positions on several issues. The forecast outcome of an issue is the
capability-and-salience weighted mean of the positions (Stokman & Van Oosten 1994, "The Exchange of
Voting Positions", in Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*, Yale UP,
pp. 105-127; the same quantity is called the Nash bargaining solution, NBS, in the DECIDE software)::

    O_d = sum_k c_kd s_kd x_kd / sum_k c_kd s_kd

Two actors who sit on opposite sides of the outcome on two issues ``p`` and ``q``, and who weigh the two
issues differently, can both gain by trading voting positions: each shifts its position on the issue it
cares less about (its *supply* issue) towards the other's position, and so moves the outcome of the
issue it cares more about (its *demand* issue) towards itself. In the Equal Gain variant (the DECIDE
exchange model) the exchange rate is fixed by requiring both actors to gain the same utility.

Conventions, used throughout (the reference README of ``shared/reference-cases/exchange-small``):

* Actor ``i`` is *left* on issue ``d`` if ``x_id <= O_d``, otherwise *right*. Only actors on opposite
  sides of the outcome on both issues can exchange.
* In an exchange on issues ``(p, q)``, ``I`` is the actor who **demands p and supplies q** and ``J`` the
  one who demands q and supplies p. For an actor pair ``(a, b)``: if ``s_ap / s_aq < s_bp / s_bq`` then
  ``b`` is ``I``, otherwise ``a`` is ``I`` (compared as ``s_ap s_bq < s_bp s_aq``, so zero saliences
  are safe).
* ``dp``: shift of the outcome on ``p`` towards ``I`` (scale units of issue ``p``), produced by ``J``'s
  move on ``p``; ``dq``: shift of the outcome on ``q`` towards ``J``, produced by ``I``'s move on ``q``.
  Equal gain, ``s_Ip dp - s_Iq dq = s_Jq dq - s_Jp dp``, gives ``dq = dp (s_Ip + s_Jp) / (s_Iq + s_Jq)``.
* ``dp`` is the largest shift allowed by four bounds: ``J`` moves at most all the way to ``I``'s
  position on ``p``; ``I`` moves at most all the way to ``J``'s position on ``q``; the outcome on ``p``
  may not pass ``I``'s position and the outcome on ``q`` may not pass ``J``'s position (it is capped so
  it lands on it). The first two are the README's step 4 (try ``J``'s full move; if ``I`` would have to
  move further than the distance, ``I`` moves fully instead); the last two its step-6 cap.
* ``gain = s_Ip dp - s_Iq dq`` (salience-weighted scale units; equals ``J``'s gain). Power enters
  through the outcome shifts only.

A round (:func:`exchange_round`) computes all candidate exchanges from the positions at its start, then
realises them greedily: the highest gain first; positions and outcomes are updated at once; the
candidates of every issue pair that shares an issue with the realised exchange are recomputed from the
updated positions and outcomes; candidates that are no longer on opposite sides, have no positive gain,
or would move an actor on an issue against the direction it already moved on that issue in this round
are dropped. This repeats until no candidate remains (or ``ExchangeParams.max_exchanges_per_round`` is
hit). Ties in gain (within ``ExchangeParams.tie_tol``) go to the first candidate in the order issue pair
``(p < q)`` in issue order, then actor ``a``, then actor ``b > a`` in actor order; DECIDE picks at
random among exact ties.

All functions are pure: they never modify their inputs. They work on float arrays, and on
``dtype=object`` arrays of :class:`fractions.Fraction` for exact arithmetic (tests use this to check
the reference values as exact fractions).

Shapes: ``A`` actors, ``I`` issues (``P = I (I - 1) / 2`` issue pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "CandidateSet",
    "DecideData",
    "Exchange",
    "ExchangeHistory",
    "ExchangeParams",
    "ExchangeState",
    "RoundInfo",
    "adjusted_outcome",
    "candidate_exchanges",
    "exchange_round",
    "run_exchange",
    "weighted_outcome",
]

# Which bound fixes the size of an exchange (``Exchange.binding``).
BINDING = ("j_full_move", "i_full_move", "outcome_p_at_i", "outcome_q_at_j")


# --------------------------------------------------------------------------------------------------
# helpers


def _is_exact(*arrays: np.ndarray) -> bool:
    return any(np.asarray(a).dtype == object for a in arrays)


def _as_array(x: Any, exact: bool) -> np.ndarray:
    """Float64 array, or object array (kept as given) when computing exactly."""
    arr = np.asarray(x)
    if exact:
        return arr.astype(object)
    return arr.astype(float)


def _present(positions: np.ndarray) -> np.ndarray:
    """Mask of actor-issue cells that hold a position (float NaN, or ``None`` in object arrays, = absent)."""
    if positions.dtype == object:
        return np.vectorize(lambda v: v is not None and v == v, otypes=[bool])(positions)
    return ~np.isnan(positions)


def _weights(power: np.ndarray, salience: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Voting weight ``c_id s_id`` per actor-issue (0 where the actor has no position), ``(A, I)``."""
    c = power[:, None] if power.ndim == 1 else power
    return np.where(present, c * salience, 0)


def _safe_div(num: np.ndarray, den: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``num / den`` where ``ok``, 0 elsewhere, without dividing by zero (no warnings, no NaN)."""
    return np.where(ok, num / np.where(ok, den, 1), 0)


# --------------------------------------------------------------------------------------------------
# outcome


def weighted_outcome(positions: np.ndarray, power: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Forecast outcome per issue: the capability-and-salience weighted mean of the positions.

    ``O_d = sum_k c_kd s_kd x_kd / sum_k c_kd s_kd`` (Stokman & Van Oosten 1994; DECIDE's "NBS").
    Exact when the inputs are object arrays of :class:`fractions.Fraction`.

    Args:
        positions: Voting positions ``x``, shape ``(A, I)``, on each issue's own scale (e.g. 0-100);
            NaN marks an actor without a position on an issue.
        power: Capability ``c`` of each actor, shape ``(A,)`` (or per issue, ``(A, I)``), >= 0; DECIDE
            data use [0, 1].
        salience: Salience ``s``, shape ``(A, I)``, >= 0: how much the issue matters to the actor.

    Returns:
        Outcome per issue, shape ``(I,)``, in scale units; it lies between the lowest and highest
        position held by an actor with positive weight.

    Raises:
        ValueError: If an issue has no actor with positive weight ``c s`` (outcome undefined).
    """
    exact = _is_exact(positions, power, salience)
    x = _as_array(positions, exact)
    present = _present(x)
    w = _weights(_as_array(power, exact), _as_array(salience, exact), present)
    total = w.sum(axis=0)
    if np.any(np.asarray(total <= 0, dtype=bool)):
        raise ValueError("an issue has zero total weight sum(c*s): its outcome is undefined")
    return (w * np.where(present, x, 0)).sum(axis=0) / total


def adjusted_outcome(
    positions: np.ndarray, power: np.ndarray, salience: np.ndarray, actor: int, issue: int, new_position: Any
) -> Any:
    """Outcome of one issue if one actor's position there were ``new_position``, others unchanged.

    DECIDE's "adjusted NBS": used to value a full move of a supplier to its partner's position.

    Args:
        positions: Voting positions, ``(A, I)``, scale units.
        power: Capability, ``(A,)`` or ``(A, I)``, >= 0.
        salience: Salience, ``(A, I)``, >= 0.
        actor: Row index of the actor that moves.
        issue: Column index of the issue.
        new_position: The actor's hypothetical position on the issue, scale units.

    Returns:
        The weighted-mean outcome of ``issue`` after the move (a Fraction for exact inputs).
    """
    x = np.array(positions, dtype=object if _is_exact(positions, power, salience) else float)
    x[actor, issue] = new_position
    return weighted_outcome(x, power, salience)[issue]


# --------------------------------------------------------------------------------------------------
# state, parameters, records


@dataclass(frozen=True)
class ExchangeParams:
    """Settings of the Equal Gain exchange engine.

    Attributes:
        gain_tol: An exchange is realised only if each actor's gain exceeds this (salience x scale units;
            >= 0). Guards against round-off "gains" of exactly-zero exchanges (equal salience ratios).
        tie_tol: Gains within ``tie_tol * max(1, |best|)`` of the best count as tied; the first tied
            candidate (issue pair, then actor order) is realised. 0 for strict ties only.
        max_exchanges_per_round: Safety cap on the number of exchanges realised in one round (``None``:
            ``4 * A * A * I``). ``RoundInfo.truncated`` reports when it was hit.
    """

    gain_tol: float = 1e-12
    tie_tol: float = 1e-12
    max_exchanges_per_round: int | None = None

    def __post_init__(self) -> None:
        if self.gain_tol < 0 or self.tie_tol < 0:
            raise ValueError("gain_tol and tie_tol must be >= 0")
        if self.max_exchanges_per_round is not None and self.max_exchanges_per_round < 0:
            raise ValueError("max_exchanges_per_round must be >= 0")


@dataclass(frozen=True, eq=False)
class ExchangeState:
    """Positions and fixed actor attributes at the start of a round.

    Attributes:
        positions: Voting positions ``x``, ``(A, I)``, on each issue's scale (NaN: no position on that
            issue). Float, or object arrays of Fractions for exact arithmetic.
        power: Capability ``c``, ``(A,)`` (or ``(A, I)`` if it differs by issue, as DECIDE data allow),
            >= 0; DECIDE data use [0, 1]. Zero-power actors count for nothing and never exchange.
        salience: Salience ``s``, ``(A, I)``, >= 0 (DECIDE data use [0, 1]; any positive unit works:
            the outcome and the exchanges do not change if all saliences are multiplied by a constant,
            the gains scale with it).
        lower: Lowest point of each issue's scale, ``(I,)`` (default 0).
        upper: Highest point of each issue's scale, ``(I,)`` (default 100).
        round: Number of rounds played to reach this state (0 = input data).
        actors: Optional actor names, length ``A``.
        issues: Optional issue names, length ``I``.
    """

    positions: np.ndarray
    power: np.ndarray
    salience: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    round: int = 0
    actors: tuple[str, ...] | None = None
    issues: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        exact = _is_exact(self.positions, self.power, self.salience)
        x = _as_array(self.positions, exact)
        c = _as_array(self.power, exact)
        s = _as_array(self.salience, exact)
        if x.ndim != 2:
            raise ValueError(f"positions must be (A, I), got shape {x.shape}")
        n_a, n_i = x.shape
        if s.shape != (n_a, n_i):
            raise ValueError(f"salience must have shape {(n_a, n_i)}, got {s.shape}")
        if c.shape not in ((n_a,), (n_a, n_i)):
            raise ValueError(f"power must have shape {(n_a,)} or {(n_a, n_i)}, got {c.shape}")
        lo = _as_array(np.zeros(n_i, dtype=int) if self.lower is None else self.lower, exact)
        hi = _as_array(np.full(n_i, 100, dtype=int) if self.upper is None else self.upper, exact)
        lo, hi = np.broadcast_to(lo, (n_i,)).copy(), np.broadcast_to(hi, (n_i,)).copy()
        present = _present(x)
        if not exact and (np.isnan(s).any() or np.isnan(c).any()):
            raise ValueError("salience and power must not be NaN")
        if np.any(np.asarray(s < 0, dtype=bool)) or np.any(np.asarray(c < 0, dtype=bool)):
            raise ValueError("salience and power must be >= 0")
        if np.any(np.asarray(hi <= lo, dtype=bool)):
            raise ValueError("each issue needs lower < upper")
        xz = np.where(present, x, lo[None, :])
        if np.any(np.asarray((xz < lo) | (xz > hi), dtype=bool)):
            raise ValueError("positions must lie within [lower, upper] of their issue")
        if np.any(np.asarray(_weights(c, s, present).sum(axis=0) <= 0, dtype=bool)):
            raise ValueError("every issue needs an actor with positive power * salience")
        if self.actors is not None and len(self.actors) != n_a:
            raise ValueError("actors must have one name per row of positions")
        if self.issues is not None and len(self.issues) != n_i:
            raise ValueError("issues must have one name per column of positions")
        for name, value in (("positions", x), ("power", c), ("salience", s), ("lower", lo), ("upper", hi)):
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @property
    def n_actors(self) -> int:
        """Number of actors ``A``."""
        return self.positions.shape[0]

    @property
    def n_issues(self) -> int:
        """Number of issues ``I``."""
        return self.positions.shape[1]

    @property
    def exact(self) -> bool:
        """True if the state holds object arrays (exact Fraction arithmetic)."""
        return self.positions.dtype == object

    def outcome(self) -> np.ndarray:
        """Weighted-mean outcome per issue, ``(I,)``, scale units (see :func:`weighted_outcome`)."""
        return weighted_outcome(self.positions, self.power, self.salience)


@dataclass(frozen=True)
class Exchange:
    """One realised (or candidate) Equal Gain exchange between actors ``i`` and ``j`` on issues ``p, q``.

    ``i`` demands ``p`` and supplies ``q`` (moves on ``q`` towards ``j``); ``j`` demands ``q`` and supplies
    ``p`` (moves on ``p`` towards ``i``). Indices are rows/columns of the state arrays.

    Attributes:
        i: Actor index of ``I`` (demands ``p``, supplies ``q``).
        j: Actor index of ``J`` (demands ``q``, supplies ``p``).
        p: Issue index demanded by ``i``; always the lower index of the pair (``p < q``): the salience
            ratios decide which actor is ``i``.
        q: Issue index demanded by ``j``.
        dp: Shift of the outcome on ``p`` towards ``i``, scale units of ``p``, > 0.
        dq: Shift of the outcome on ``q`` towards ``j``, scale units of ``q``, > 0.
        move_i: Distance ``i`` moves on ``q``, scale units of ``q``, > 0.
        move_j: Distance ``j`` moves on ``p``, scale units of ``p``, > 0.
        from_i: ``i``'s position on ``q`` before the exchange.
        to_i: ``i``'s position on ``q`` after the exchange.
        from_j: ``j``'s position on ``p`` before the exchange.
        to_j: ``j``'s position on ``p`` after the exchange.
        gain_i: ``i``'s utility gain ``s_ip dp - s_iq dq`` (salience x scale units).
        gain_j: ``j``'s utility gain ``s_jq dq - s_jp dp``; equal to ``gain_i`` (Equal Gain).
        binding: Which bound fixed the size: one of ``BINDING``.
    """

    i: int
    j: int
    p: int
    q: int
    dp: Any
    dq: Any
    move_i: Any
    move_j: Any
    from_i: Any
    to_i: Any
    from_j: Any
    to_j: Any
    gain_i: Any
    gain_j: Any
    binding: str

    @property
    def gain(self) -> Any:
        """The (equal) gain of each actor, salience x scale units."""
        return self.gain_i


@dataclass(frozen=True, eq=False)
class RoundInfo:
    """What happened in one round.

    Attributes:
        round: Number of the round (1 for the first).
        exchanges: Realised exchanges, in the order realised (highest gain first at each step).
        outcome_start: Weighted-mean outcome per issue at the start of the round, ``(I,)``.
        outcome: Weighted-mean outcome per issue after the round's exchanges, ``(I,)``.
        n_candidates: Actor pairs on opposite sides of the outcome on both issues of a pair, summed over
            issue pairs, at the start of the round (DECIDE's ``sum |a||d| + |b||c|``).
        n_feasible: Of those, candidates with positive equal gain and nonzero moves at the start.
        truncated: True if ``max_exchanges_per_round`` stopped the round with candidates left.
    """

    round: int
    exchanges: tuple[Exchange, ...]
    outcome_start: np.ndarray
    outcome: np.ndarray
    n_candidates: int
    n_feasible: int
    truncated: bool = False


@dataclass(frozen=True, eq=False)
class ExchangeHistory:
    """States and round records of a run of :func:`run_exchange`.

    Attributes:
        states: ``rounds + 1`` states, the input first.
        rounds: One :class:`RoundInfo` per round played.
    """

    states: tuple[ExchangeState, ...]
    rounds: tuple[RoundInfo, ...]

    @property
    def positions(self) -> np.ndarray:
        """Positions per state, ``(R + 1, A, I)``, scale units."""
        return np.stack([s.positions for s in self.states])

    @property
    def outcomes(self) -> np.ndarray:
        """Weighted-mean outcome per state, ``(R + 1, I)``, scale units."""
        return np.stack([s.outcome() for s in self.states])

    @property
    def n_exchanges(self) -> list[int]:
        """Number of exchanges realised in each round."""
        return [len(r.exchanges) for r in self.rounds]


# --------------------------------------------------------------------------------------------------
# candidate exchanges


def _opposite(x: np.ndarray, present: np.ndarray, outcome: np.ndarray, ps: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """``(K, A, A)`` mask: actor pairs ``a < b`` on opposite sides of the outcome on both ``ps[k]``, ``qs[k]``.

    An actor is *left* on an issue if its position is <= the outcome; both actors need positions on both
    issues.
    """
    n = x.shape[0]
    upper_tri = np.arange(n)[:, None] < np.arange(n)[None, :]
    both = present[:, ps].T & present[:, qs].T  # (K, A)
    left_p = np.asarray(x[:, ps].T <= outcome[ps][:, None], dtype=bool)
    left_q = np.asarray(x[:, qs].T <= outcome[qs][:, None], dtype=bool)
    return (
        upper_tri[None]
        & both[:, :, None]
        & both[:, None, :]
        & (left_p[:, :, None] != left_p[:, None, :])
        & (left_q[:, :, None] != left_q[:, None, :])
    )


def _evaluate(
    x: np.ndarray,
    outcome: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    total: np.ndarray,
    moved: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    gain_tol: float,
) -> dict[str, np.ndarray]:
    """Equal Gain exchange of actors ``a[m]``, ``b[m]`` on issues ``p[m]``, ``q[m]`` (1-D arrays, one per candidate).

    The pairs must already be on opposite sides of the outcome on both issues (:func:`_opposite`).
    Returns 1-D arrays: ``ii``/``jj`` the actor indices of ``I`` (demands p) and ``J`` (demands q), the
    shifts, moves, new positions and gains, ``k`` the binding bound (index into ``BINDING``), and
    ``valid`` for exchanges that can be realised now.
    """
    # Role assignment: a is I, who demands p, unless s_ap / s_aq < s_bp / s_bq.
    b_demands_p = np.asarray(s[a, p] * s[b, q] < s[b, p] * s[a, q], dtype=bool)
    ii = np.where(b_demands_p, b, a)
    jj = np.where(b_demands_p, a, b)
    x_ip, x_jp, x_iq, x_jq = x[ii, p], x[jj, p], x[ii, q], x[jj, q]
    s_ip, s_jp, s_iq, s_jq = s[ii, p], s[jj, p], s[ii, q], s[jj, q]
    w_jp, w_iq = w[jj, p], w[ii, q]
    o_p, o_q, t_p, t_q = outcome[p], outcome[q], total[p], total[q]
    dist_p = abs(x_ip - x_jp)  # J's full move on p
    dist_q = abs(x_jq - x_iq)  # I's full move on q
    r_num = s_ip + s_jp
    r_den = s_iq + s_jq
    ok = np.asarray((r_num > 0) & (r_den > 0), dtype=bool)

    # Largest dp allowed by each bound, expressed as a shift of the outcome on p (dq = dp r_num / r_den).
    full_q = dist_q * w_iq / t_q  # outcome shift on q if I moves all the way to J's position
    to_o_q = abs(x_jq - o_q)  # outcome shift on q that lands it on J's position
    bounds = (
        dist_p * w_jp / t_p,  # J moves all the way to I's position on p
        _safe_div(full_q * r_den, r_num, ok),
        abs(x_ip - o_p),  # outcome on p lands on I's position
        _safe_div(to_o_q * r_den, r_num, ok),
    )
    dp = bounds[0]
    k = np.zeros(dp.shape, dtype=np.int8)
    for idx in (1, 2, 3):
        smaller = np.asarray(bounds[idx] < dp, dtype=bool)
        dp = np.where(smaller, bounds[idx], dp)
        k = np.where(smaller, np.int8(idx), k)
    dq = np.where(k == 1, full_q, np.where(k == 3, to_o_q, _safe_div(dp * r_num, r_den, ok)))
    move_j = np.where(k == 0, dist_p, _safe_div(dp * t_p, w_jp, np.asarray(w_jp > 0, dtype=bool)))
    move_i = np.where(k == 1, dist_q, _safe_div(dq * t_q, w_iq, np.asarray(w_iq > 0, dtype=bool)))
    # Moves go towards the partner and never past it (the minimum guards float round-off only).
    dir_j = np.where(np.asarray(x_ip > x_jp, dtype=bool), 1, -1)
    dir_i = np.where(np.asarray(x_jq > x_iq, dtype=bool), 1, -1)
    move_j = np.minimum(move_j, dist_p)
    move_i = np.minimum(move_i, dist_q)
    to_j = np.where(k == 0, x_ip, x_jp + dir_j * move_j)
    to_i = np.where(k == 1, x_jq, x_iq + dir_i * move_i)
    gain = s_ip * dp - s_iq * dq
    gain_j = s_jq * dq - s_jp * dp
    direction_ok = (moved[jj, p] != -dir_j) & (moved[ii, q] != -dir_i)
    valid = (
        ok
        & direction_ok
        & np.asarray((dp > 0) & (dq > 0) & (move_i > 0) & (move_j > 0), dtype=bool)
        & np.asarray((gain > gain_tol) & (gain_j > gain_tol), dtype=bool)
    )
    return {
        "valid": valid,
        "gain": gain,
        "gain_j": gain_j,
        "dp": dp,
        "dq": dq,
        "move_i": move_i,
        "move_j": move_j,
        "to_i": to_i,
        "to_j": to_j,
        "ii": ii,
        "jj": jj,
        "k": k,
    }


_CHUNK = 2_000_000  # max K * A * A cells of the opposite-side mask built at once (bounds memory)


class _Book:
    """Dense ``(P, A, A)`` validity and gain of every candidate (issue pair, actor pair ``a < b``)."""

    def __init__(self, x, present, outcome, w, s, total, moved, gain_tol):
        n_a, n_i = x.shape
        self.pairs = list(combinations(range(n_i), 2))
        self.ps = np.array([p for p, _ in self.pairs], dtype=int)
        self.qs = np.array([q for _, q in self.pairs], dtype=int)
        self.by_issue = [np.flatnonzero((self.ps == d) | (self.qs == d)) for d in range(n_i)]
        self.gain_tol = gain_tol
        self.s, self.w, self.total, self.present = s, w, total, present
        shape = (len(self.pairs), n_a, n_a)
        self.valid = np.zeros(shape, dtype=bool)
        self.gain = np.zeros(shape, dtype=x.dtype)
        self.n_opposite = self._compute(x, outcome, moved, np.arange(len(self.pairs)))

    def _compute(self, x, outcome, moved, idx) -> int:
        """Recompute the issue pairs ``idx``; returns how many actor pairs are on opposite sides."""
        step = max(1, _CHUNK // max(1, x.shape[0] ** 2))
        count = 0
        for m in range(0, len(idx), step):
            chunk = idx[m : m + step]
            opp = _opposite(x, self.present, outcome, self.ps[chunk], self.qs[chunk])
            kk, a, b = np.nonzero(opp)
            n = chunk[kk]
            r = _evaluate(x, outcome, self.w, self.s, self.total, moved, self.ps[n], self.qs[n], a, b, self.gain_tol)
            self.valid[chunk] = False
            self.gain[chunk] = 0
            self.valid[n, a, b] = r["valid"]
            self.gain[n, a, b] = r["gain"]
            count += len(kk)
        return count

    def refresh(self, x, outcome, moved, issues) -> None:
        self._compute(x, outcome, moved, np.union1d(*(self.by_issue[d] for d in issues)))

    def best(self, tie_tol: float) -> tuple[int, int, int] | None:
        flat_valid = np.flatnonzero(self.valid)
        if flat_valid.size == 0:
            return None
        gains = self.gain.reshape(-1)[flat_valid]
        best = gains.max()
        threshold = best - tie_tol * max(1, abs(best))
        flat = flat_valid[np.flatnonzero(np.asarray(gains >= threshold, dtype=bool))[0]]
        return tuple(int(v) for v in np.unravel_index(flat, self.valid.shape))

    def exchange(self, n: int, a: int, b: int, x: np.ndarray, outcome: np.ndarray, moved: np.ndarray) -> Exchange:
        p, q = self.pairs[n]
        one = np.array([0])
        r = _evaluate(x, outcome, self.w, self.s, self.total, moved, one + p, one + q, one + a, one + b, self.gain_tol)
        d = {f: v[0] for f, v in r.items()}
        i, j = int(d["ii"]), int(d["jj"])
        return Exchange(
            i=i,
            j=j,
            p=p,
            q=q,
            dp=d["dp"],
            dq=d["dq"],
            move_i=d["move_i"],
            move_j=d["move_j"],
            from_i=x[i, q],
            to_i=d["to_i"],
            from_j=x[j, p],
            to_j=d["to_j"],
            gain_i=d["gain"],
            gain_j=d["gain_j"],
            binding=BINDING[int(d["k"])],
        )


def _setup(state: ExchangeState):
    """Working copies: positions with absent cells filled by the scale's lower end, mask, weights, outcome."""
    present = _present(state.positions)
    x = np.where(present, state.positions, state.lower[None, :])
    w = _weights(state.power, state.salience, present)
    total = w.sum(axis=0)
    outcome = (w * x).sum(axis=0) / total
    return x, present, w, total, outcome


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """Candidate exchanges at the start of a round (before any is realised).

    Attributes:
        outcome: Weighted-mean outcome per issue used to place actors left/right, ``(I,)``.
        n_candidates: Actor pairs on opposite sides of the outcome on both issues, summed over issue
            pairs (DECIDE's ``sum |a||d| + |b||c|``).
        exchanges: Every such pair with positive equal gain and nonzero moves, as :class:`Exchange`
            records, sorted by gain (highest first; ties in issue-pair, then actor order).
    """

    outcome: np.ndarray
    n_candidates: int
    exchanges: tuple[Exchange, ...]

    def find(self, i: int, j: int, p: int, q: int) -> Exchange | None:
        """The feasible exchange with ``i`` demanding ``p`` and ``j`` demanding ``q``, if any."""
        for e in self.exchanges:
            if (e.i, e.j, e.p, e.q) == (i, j, p, q):
                return e
        return None


def candidate_exchanges(state: ExchangeState, params: ExchangeParams | None = None) -> CandidateSet:
    """All candidate Equal Gain exchanges at the start of a round.

    Args:
        state: Positions, power and salience.
        params: Engine settings (``gain_tol``); defaults to :class:`ExchangeParams`.

    Returns:
        The :class:`CandidateSet` (outcome, count of opposite-side pairs, feasible exchanges by gain).
    """
    params = params or ExchangeParams()
    x, present, w, total, outcome = _setup(state)
    moved = np.zeros(x.shape, dtype=np.int8)
    book = _Book(x, present, outcome, w, state.salience, total, moved, params.gain_tol)
    found = [book.exchange(int(n), int(a), int(b), x, outcome, moved) for n, a, b in np.argwhere(book.valid)]
    order = sorted(range(len(found)), key=lambda m: -found[m].gain)  # stable: ties keep issue-pair/actor order
    return CandidateSet(outcome=outcome, n_candidates=book.n_opposite, exchanges=tuple(found[m] for m in order))


# --------------------------------------------------------------------------------------------------
# rounds


def exchange_round(state: ExchangeState, params: ExchangeParams | None = None) -> tuple[ExchangeState, RoundInfo]:
    """Play one round of the Equal Gain exchange model.

    Candidates are computed from ``state``; the best one is realised (both movers' positions and the
    two outcomes updated at once); candidates sharing an issue with it are recomputed; repeat until none
    is left (see the module docstring for the exact rules).

    Args:
        state: Positions, power and salience at the start of the round.
        params: Engine settings; defaults to :class:`ExchangeParams`.

    Returns:
        ``(new_state, info)``: the state after the round (``round`` incremented; power and salience
        unchanged) and a :class:`RoundInfo` listing the realised exchanges and outcomes.
    """
    params = params or ExchangeParams()
    x, present, w, total, outcome = _setup(state)
    outcome_start = outcome.copy()
    moved = np.zeros(x.shape, dtype=np.int8)  # direction (+1/-1) each actor moved on each issue this round
    book = _Book(x, present, outcome, w, state.salience, total, moved, params.gain_tol)
    n_candidates = book.n_opposite
    n_feasible = int(book.valid.sum())
    n_a, n_i = x.shape
    cap = params.max_exchanges_per_round
    cap = 4 * n_a * n_a * n_i if cap is None else cap
    realised: list[Exchange] = []
    truncated = False
    while True:
        pick = book.best(params.tie_tol)
        if pick is None:
            break
        if len(realised) >= cap:
            truncated = True
            break
        e = book.exchange(*pick, x, outcome, moved)
        realised.append(e)
        lo_p, hi_p = state.lower[e.p], state.upper[e.p]
        lo_q, hi_q = state.lower[e.q], state.upper[e.q]
        x[e.j, e.p] = min(max(e.to_j, lo_p), hi_p)
        x[e.i, e.q] = min(max(e.to_i, lo_q), hi_q)
        moved[e.j, e.p] = 1 if e.to_j > e.from_j else -1
        moved[e.i, e.q] = 1 if e.to_i > e.from_i else -1
        for d in (e.p, e.q):
            outcome[d] = (w[:, d] * x[:, d]).sum() / total[d]
        book.refresh(x, outcome, moved, (e.p, e.q))
    new_state = ExchangeState(
        positions=np.where(present, x, state.positions),
        power=state.power,
        salience=state.salience,
        lower=state.lower,
        upper=state.upper,
        round=state.round + 1,
        actors=state.actors,
        issues=state.issues,
    )
    info = RoundInfo(
        round=state.round + 1,
        exchanges=tuple(realised),
        outcome_start=outcome_start,
        outcome=outcome,
        n_candidates=n_candidates,
        n_feasible=n_feasible,
        truncated=truncated,
    )
    return new_state, info


def run_exchange(state: ExchangeState, *, rounds: int = 10, params: ExchangeParams | None = None) -> ExchangeHistory:
    """Play ``rounds`` rounds of the exchange model; positions carry over from round to round.

    Args:
        state: Initial positions, power and salience (build one with :class:`ExchangeState` or
            :meth:`DecideData.to_state`).
        rounds: Number of rounds, >= 0. Rounds without feasible exchanges leave the state unchanged.
        params: Engine settings; defaults to :class:`ExchangeParams`.

    Returns:
        An :class:`ExchangeHistory` with ``rounds + 1`` states and ``rounds`` round records.
    """
    if rounds < 0:
        raise ValueError("rounds must be >= 0")
    states = [state]
    infos = []
    for _ in range(rounds):
        state, info = exchange_round(state, params)
        states.append(state)
        infos.append(info)
    return ExchangeHistory(states=tuple(states), rounds=tuple(infos))


# --------------------------------------------------------------------------------------------------
# DECIDE input files


@dataclass(frozen=True, eq=False)
class DecideData:
    """Contents of a DECIDE input file (tab-separated, ``'`` quotes).

    Attributes:
        actors: Actor keys in file order (``#A`` rows; inferred from ``#D`` rows if there are none).
        actor_names: Human-readable name per actor key (the key if not given).
        actor_comments: Free-text comment per actor key ("" if none).
        issues: Issue keys in file order (``#P`` rows, else inferred from ``#D`` rows).
        issue_names: Human-readable name per issue key.
        issue_comments: Description per issue key ("" if none).
        scale_labels: Per issue key, the labelled scale points from ``#M`` rows as ``(position, label)``
            pairs in file order (label "" when the row has none).
        lower: Lowest point of each issue's scale, ``(I,)``: min of its ``#M`` positions, else 0.
        upper: Highest point of each issue's scale, ``(I,)``: max of its ``#M`` positions, else 100.
        positions: ``(A, I)`` positions on each issue's scale (NaN / ``None`` where no ``#D`` row).
        salience: ``(A, I)`` saliences as given (DECIDE uses [0, 1]; 0 where no ``#D`` row).
        power: ``(A, I)`` capabilities as given per ``#D`` row (0 where no ``#D`` row).
    """

    actors: tuple[str, ...]
    actor_names: dict[str, str]
    actor_comments: dict[str, str]
    issues: tuple[str, ...]
    issue_names: dict[str, str]
    issue_comments: dict[str, str]
    scale_labels: dict[str, tuple[tuple[Any, str], ...]]
    lower: np.ndarray
    upper: np.ndarray
    positions: np.ndarray
    salience: np.ndarray
    power: np.ndarray

    def to_state(self) -> ExchangeState:
        """An :class:`ExchangeState` (power per actor if it is the same on every issue, else per issue)."""
        power = self.power
        present = _present(self.positions)
        first = power[np.arange(len(self.actors)), np.argmax(present, axis=1)]
        if np.all(np.asarray(np.where(present, power == first[:, None], True), dtype=bool)):
            power = first
        return ExchangeState(
            positions=self.positions,
            power=power,
            salience=self.salience,
            lower=self.lower,
            upper=self.upper,
            actors=self.actors,
            issues=self.issues,
        )
