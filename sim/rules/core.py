"""Negotiation, war and deterrence arithmetic as pure numpy functions (no Mesa).

Every function works on arrays with a leading replicate axis, so one call advances every
replicate of an ensemble; ``N = 1`` is the single-trajectory case. Positions inside these
functions are on the unit scale: 0 is an issue's lowest labelled point, 1 its highest.

Shapes: ``N`` replicates, ``A`` actors, ``I`` issues.
"""

from __future__ import annotations

import functools

import numpy as np

_EPS = 1e-12


def to_unit(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map scale values to [0, 1] per issue (``lo``, ``hi``: the issue's end points)."""
    return (x - lo) / (hi - lo)


def from_unit(u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map unit-scale values back to the issue's scale units."""
    return lo + u * (hi - lo)


def loss_exponent(risk_attitude: np.ndarray) -> np.ndarray:
    """Exponent of the distance loss, ``2**r``: r = -1 risk-acceptant (0.5), 0 neutral (1), 1 averse (2).

    A convex loss (exponent > 1) makes an actor prefer a sure compromise to a lottery over
    outcomes with the same mean: the risk aversion that widens Fearon's (1995) bargaining range.
    """
    return np.exp2(risk_attitude)


def salience_weights(salience: np.ndarray) -> np.ndarray:
    """Normalise saliences over issues (last axis) to weights summing to 1.

    An actor with zero salience everywhere weights all issues equally.
    """
    total = salience.sum(axis=-1, keepdims=True)
    n = salience.shape[-1]
    return np.where(total > _EPS, salience / np.maximum(total, _EPS), 1.0 / n)


def utility(package: np.ndarray, ideal: np.ndarray, weights: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Utility of a package to an actor: ``1 - Σ_j w_j |p_j - x*_j|**e`` (unit scale, in [0, 1]).

    Args:
        package: Proposed values, unit scale, shape ``(N, I)``.
        ideal: The actor's ideal points, unit scale, ``(N, I)``.
        weights: Salience weights summing to 1 over issues, ``(N, I)``.
        exponent: Loss exponent per replicate, ``(N,)`` (see :func:`loss_exponent`).

    Returns:
        Utility per replicate, ``(N,)``: 1 at the ideal, 0 at maximal distance on every issue.
    """
    d = np.abs(package - ideal)
    if not np.all(exponent == 1.0):  # risk-neutral actors skip the (slow) elementwise power
        d = d ** exponent[:, None]
    return 1.0 - np.einsum("ni,ni->n", weights, d)


def weighted_compromise(positions: np.ndarray, capability: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """The compromise model's forecast per issue: ``Σ_a c_a s_aj x_aj / Σ_a c_a s_aj``.

    Args:
        positions: ``(A, N, I)`` current positions.
        capability: ``(A, N)`` capabilities (weights of the compromise, with salience).
        salience: ``(A, N, I)`` raw saliences (0..1).

    Returns:
        ``(N, I)``; where every actor has zero weight on an issue, the plain mean of positions.
    """
    return compromise_from_weights(positions, capability[:, :, None] * salience)


def compromise_from_weights(positions: np.ndarray, weights: np.ndarray, total: np.ndarray | None = None) -> np.ndarray:
    """:func:`weighted_compromise` with the ``(A, N, I)`` weights ``c·s`` already formed.

    ``total`` is their sum over actors, ``(N, I)``, if already computed (constant weights: a model's draft).
    """
    if total is None:
        total = np.einsum("ani->ni", weights)
    out = np.einsum("ani,ani->ni", weights, positions)
    out /= np.maximum(total, _EPS)
    empty = total <= _EPS
    if empty.any():
        out = np.where(empty, positions.mean(axis=0), out)
    return out


def snap(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Nearest labelled point (unit scale) for a categorical issue; ties go to the lower point."""
    idx = np.abs(values[..., None] - points).argmin(axis=-1)
    return points[idx]


def equilibrium_balance(
    cap_a: np.ndarray, cap_b: np.ndarray, aid_level: np.ndarray, aid_effect: np.ndarray
) -> np.ndarray:
    """Side a's long-run share of military standing: ``S_a / (S_a + S_b)``, ``S_a = c_a + k·aid``."""
    sa = cap_a + aid_effect * aid_level
    total = sa + cap_b
    return np.clip(np.where(total > _EPS, sa / np.maximum(total, _EPS), 0.5), 0.01, 0.99)


def balance_logit(balance: np.ndarray) -> np.ndarray:
    """The balance on the logit scale, ``log(b / (1 - b))``, after clipping ``b`` to [0.01, 0.99]."""
    b = np.clip(balance, 0.01, 0.99)
    return np.log(b / (1 - b))


def balance_step(
    balance: np.ndarray,
    target: np.ndarray,
    reversion: np.ndarray,
    volatility: np.ndarray,
    shock: np.ndarray,
    target_logit: np.ndarray | None = None,
) -> np.ndarray:
    """One week of the battlefield balance: an Ornstein-Uhlenbeck step on the logit scale.

    ``L' = L + θ (L* - L) + σ z``, ``L = logit(b)``; kept within [0.01, 0.99]. ``target_logit`` is
    :func:`balance_logit` of ``target``, if already computed (it is constant over a run).
    """
    logit = balance_logit(balance)
    logit_t = balance_logit(target) if target_logit is None else target_logit
    logit = logit + reversion * (logit_t - logit) + volatility * shock
    return np.clip(1.0 / (1.0 + np.exp(-logit)), 0.01, 0.99)


def forecast_balance(
    balance: np.ndarray, target: np.ndarray, reversion: np.ndarray, weeks: int, decay: np.ndarray | None = None
) -> np.ndarray:
    """Expected balance ``weeks`` ahead (the mean path of the reverting process, probability scale).

    ``decay`` is ``(1 - reversion)**weeks`` (the share of the gap to the target left after ``weeks``),
    if already computed (it is constant over a run).
    """
    if decay is None:
        decay = (1.0 - reversion) ** weeks
    return target + (balance - target) * decay


def weekly_losses(balance: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loss index accrued by sides a and b in one week of fighting.

    Each side loses ``base`` at an even balance; the side that is losing ground loses more
    (``base·(1.5 - b)`` for a, ``base·(0.5 + b)`` for b).
    """
    return base * (1.5 - balance), base * (0.5 + balance)


def war_lottery_utility(
    ideal: np.ndarray,
    weights: np.ndarray,
    exponent: np.ndarray,
    p_a: np.ndarray,
    outcome_a: np.ndarray,
    outcome_b: np.ndarray,
) -> np.ndarray:
    """Expected utility of fighting on, before costs: ``p·U(side a prevails) + (1-p)·U(side b prevails)``.

    The lottery form of Fearon (1995): ``outcome_a`` / ``outcome_b`` hold the issues decided by
    battle at the winner's ideal and the rest at the status quo.
    """
    return lottery(p_a, utility(outcome_a, ideal, weights, exponent), utility(outcome_b, ideal, weights, exponent))


def lottery(p_a: np.ndarray, u_a: np.ndarray, u_b: np.ndarray) -> np.ndarray:
    """Expected utility ``p·u_a + (1-p)·u_b`` of a war won by side a with probability ``p``."""
    return p_a * u_a + (1 - p_a) * u_b


def weariness(
    spend_bn: np.ndarray,
    losses: np.ndarray,
    ref_bn: float | np.ndarray,
    ref_losses: float | np.ndarray,
) -> np.ndarray:
    """War weariness: spending over its reference plus losses over theirs (a ref of inf ignores that part)."""
    return spend_bn / ref_bn + losses / ref_losses


def pressure(resolve: np.ndarray, war_cost: np.ndarray, leverage: np.ndarray) -> np.ndarray:
    """Pressure to settle, in utility units: the cost of fighting on as the actor feels it.

    ``(1 - resolve)·war_cost + leverage``, where ``war_cost`` is weariness from costs so far plus
    the expected cost over the outlook, and ``leverage`` the constant pressure others apply
    while the war goes on (US aid conditionality on Ukraine, sanctions on Russia).
    """
    return (1.0 - resolve) * war_cost + leverage


def reservation(u_war: np.ndarray, press: np.ndarray) -> np.ndarray:
    """What an actor expects from fighting on: the war lottery's utility minus its pressure.

    An actor accepts a proposal whose utility is at least this (Fearon 1995: war's expected
    value net of costs bounds the bargaining range).
    """
    return u_war - press


def changes_status_quo(proposal: np.ndarray, status_quo: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Which issues a proposal moves away from the status quo, ``(N, I)`` bool (unit scale)."""
    return np.abs(proposal - status_quo) > tol


def veto_engaged(changed: np.ndarray, holds_veto: np.ndarray) -> np.ndarray:
    """Whether an actor's consent is needed: the text changes an issue it holds a veto on.

    Args:
        changed: ``(N, I)`` from :func:`changes_status_quo`.
        holds_veto: ``(I,)`` bool, the actor's veto issues; or ``(I, A)`` for ``A`` actors at once.

    Returns:
        ``(N,)`` bool (``(N, A)`` for ``(I, A)`` vetoes). A package that leaves all of an actor's veto
        issues at the status quo needs no consent from it (e.g. a guarantor's troops are not committed
        under aid only).
    """
    return changed @ holds_veto  # boolean matmul: any(changed & holds_veto) per replicate


def red_line_ok(
    proposal: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    breaks_at: np.ndarray,
    press: np.ndarray,
    excluded: np.ndarray | None = None,
) -> np.ndarray:
    """Whether a proposal respects an actor's red lines, or pressure has broken them.

    Args:
        proposal: ``(N, I)`` unit scale.
        lo: ``(N, I)`` lower red-line bounds (unit scale; -inf where none); ``(1, I)`` if the same in every replicate.
        hi: ``(N, I)`` upper red-line bounds (unit scale; inf where none); or ``(1, I)``.
        breaks_at: ``(N, I)`` pressure at which the red line on each issue is dropped (inf: never); or ``(1, I)``.
        press: ``(N,)`` the actor's current pressure.
        excluded: ``(I, K)`` values (unit scale) the actor refuses outright, NaN-padded; or None.

    Returns:
        ``(N,)`` bool.
    """
    violated = (proposal < lo - 1e-9) | (proposal > hi + 1e-9)
    if excluded is not None and excluded.shape[-1]:
        hit = np.abs(proposal[:, :, None] - excluded[None]) < 1e-9  # NaN compares False
        violated |= hit.any(axis=-1)
    broken = press[:, None] >= breaks_at
    kept = violated & ~broken
    return ~(kept[:, 0] if kept.shape[-1] == 1 else kept.any(axis=-1))


def concede(position: np.ndarray, proposal: np.ndarray, rate: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Move positions a share ``rate`` (0..1, per replicate × issue) of the way to the proposal.

    ``out``: where to write the new positions (may be ``position`` itself); a new array if None.
    """
    step = proposal - position
    step *= np.clip(rate, 0.0, 1.0)
    return np.add(position, step, out=out)


def concession_rate(
    base: np.ndarray, press: np.ndarray, weights: np.ndarray, factor: np.ndarray | None = None
) -> np.ndarray:
    """Weekly concession share per issue: ``base·min(1, pressure)·(1 - ½·w/max w)``.

    Actors give ground half as fast on their most salient issue as on one they do not care about.
    ``factor`` is :func:`concession_factor` of ``weights``, if already computed (it is constant).
    """
    if factor is None:
        factor = concession_factor(weights)
    return (base * np.minimum(press, 1.0))[:, None] * factor


def concession_factor(weights: np.ndarray) -> np.ndarray:
    """The salience part of the concession rate, ``1 - ½·w/max w`` per issue (in [0.5, 1])."""
    wmax = np.maximum(weights.max(axis=-1, keepdims=True), _EPS)
    return 1.0 - 0.5 * weights / wmax


def deterrent(
    commitment: np.ndarray,
    credibility: np.ndarray,
    guarantor_capability: np.ndarray,
    guarantee_weight: np.ndarray,
    defender_strength: np.ndarray,
    self_defence_weight: np.ndarray,
) -> np.ndarray:
    """Deterrent of an agreed package: ``g·Σ_k commit_k·cred_k·cap_k + s·strength_defender``.

    Args:
        commitment: ``(G, N)`` depth of each guarantor's commitment under the package, 0..1.
        credibility: ``(G, N)`` belief that each commitment is honoured, 0..1.
        guarantor_capability: ``(G, N)`` each guarantor's capability, 0..1.
        guarantee_weight: ``(N,)`` deterrent per unit of commitment × credibility × capability.
        defender_strength: ``(N,)`` defender capability plus aid effect under the package.
        self_defence_weight: ``(N,)`` deterrent per unit of the defender's strength.
    """
    return (
        guarantee_weight * np.sum(commitment * credibility * guarantor_capability, axis=0)
        + self_defence_weight * defender_strength
    )


def resumption_hazard(base: np.ndarray, revisionism: np.ndarray, deterrent_value: np.ndarray) -> np.ndarray:
    """Weekly probability that the challenger resumes the war: ``base·revisionism·exp(-D)``.

    Zero revisionism (a challenger that keeps its word) gives zero hazard whatever the deterrent.
    """
    return np.clip(base * revisionism * np.exp(-deterrent_value), 0.0, 1.0)


# ----------------------------------------------------------------------------- statistics


def quantiles(x: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """Quantiles over axis 0 of an ``(N, K)`` array, linear interpolation (numpy's default method).

    Returns:
        ``(len(probs), K)``.
    """
    return quantiles_rows(np.ascontiguousarray(x.T), probs).T


def quantiles_rows(rows: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of each row of a ``(K, N)`` array (linear interpolation, as ``np.quantile``).

    Selects only the order statistics the probabilities need (:func:`select_ranks`), which is
    faster than a full sort and than ``np.quantile`` for several probabilities; the values are
    exactly those of a sort (NaN counts as the largest value, as in ``np.sort``; only the sign of a
    zero quantile may differ where a row holds both ``-0.0`` and ``0.0``, which model rows never do).

    Returns:
        ``(K, len(probs))``.
    """
    n = rows.shape[1]
    lo, hi, frac, ranks = _quantile_plan(n, tuple(float(p) for p in probs))
    rmin, rmax = rows.min(axis=1), rows.max(axis=1)
    out = np.repeat(rmin[:, None], len(probs), axis=1)  # rows constant across replicates need no sort
    vary = np.flatnonzero(rmin != rmax)
    if vary.size:
        xs = rows[vary]  # a copy: selection reorders it in place
        select_ranks(xs, ranks)
        # between two selected ranks r < r' sit the ranks r+1..r'-1, so rank r+1 (the upper neighbour of a
        # quantile) is the smallest value there, or the value at r' (fmin: NaN counts as the largest)
        above = {
            r: xs[:, r + 1] if end == r + 2 else np.fmin.reduce(xs[:, r + 1 : end], axis=1)
            for r, end in zip(ranks, [*(r + 1 for r in ranks[1:]), n], strict=True)
            if r + 1 < n
        }
        upper = np.stack([above[r] if h > r else xs[:, r] for r, h in zip(lo, hi, strict=True)], axis=1)
        out[vary] = xs[:, lo] * (1 - frac) + upper * frac
    return out


@functools.lru_cache(maxsize=32)
def _quantile_plan(n: int, probs: tuple[float, ...]) -> tuple[list[int], list[int], np.ndarray, list[int]]:
    """Ranks below and above each quantile of ``n`` values, the interpolation weights, and the ranks to select."""
    pos = np.asarray(probs) * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    frac.flags.writeable = False  # shared by every call with the same n and probs
    return lo.tolist(), hi.tolist(), frac, sorted(set(lo.tolist()))


def select_ranks(x: np.ndarray, ranks: list[int] | np.ndarray) -> None:
    """Reorder each row of a ``(K, N)`` array in place so that ``x[:, r]`` is its ``r``-th smallest value.

    For every ``r`` in ``ranks`` (0-based, ``0 <= r < N``) the result at column ``r`` equals
    ``np.sort(x, axis=1)[:, r]``. Nested partitions: each splits its segment at the wanted rank
    nearest the middle and recurses into both sides, so five quantiles cost about two and a half
    partitions of the whole row instead of a sort.
    """
    stack = [(0, x.shape[1], sorted({int(r) for r in ranks}))]
    while stack:
        a, b, rs = stack.pop()
        if not rs:
            continue
        i = min(range(len(rs)), key=lambda q: abs(2 * rs[q] - a - b))
        m = rs[i]
        x[:, a:b].partition(m - a, axis=1)  # ranks a..b-1 of the row are in [a, b): a partition of it is exact
        stack.append((a, m, rs[:i]))
        stack.append((m + 1, b, rs[i + 1 :]))


def wilson_interval(k: np.ndarray | int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a share ``k/n`` (Wilson 1927), sensible at 0 and 1."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = float(k) / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, float(centre - half))
    hi = 1.0 if k == n else min(1.0, float(centre + half))
    return (lo, hi)


def kaplan_meier(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier survival with Greenwood 95% intervals (log-log transform).

    Args:
        durations: Time observed (weeks), ``(M,)``.
        events: True where the spell ended in the event (collapse), False where censored.

    Returns:
        ``(times, survival, lower, upper)`` at each distinct event time, starting with ``(0, 1, 1, 1)``.
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    times = np.unique(durations[events])
    s, var_sum = 1.0, 0.0
    out_t, out_s, out_lo, out_hi = [0.0], [1.0], [1.0], [1.0]
    z = 1.959963984540054
    for t in times:
        at_risk = np.count_nonzero(durations >= t)
        d = np.count_nonzero((durations == t) & events)
        s *= 1.0 - d / at_risk
        if at_risk > d:
            var_sum += d / (at_risk * (at_risk - d))
        if 0 < s < 1 and var_sum > 0:
            se = np.sqrt(var_sum) / abs(np.log(s))
            lo, hi = s ** np.exp(z * se), s ** np.exp(-z * se)
        else:
            lo = hi = s
        out_t.append(float(t))
        out_s.append(s)
        out_lo.append(float(lo))
        out_hi.append(float(hi))
    return np.array(out_t), np.array(out_s), np.array(out_lo), np.array(out_hi)


def km_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """Value of a right-continuous step function (e.g. KM survival) at time ``t``."""
    i = np.searchsorted(times, t, side="right") - 1
    return float(values[max(i, 0)])
