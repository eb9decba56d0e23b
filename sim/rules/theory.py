"""Textbook bargaining and conflict solutions as pure functions.

Every function here is a closed-form (or numerically exact) result from the
bargaining literature. They carry no state, import neither Mesa nor any model
code, and validate their arguments, so agents can call them directly and tests
can check them against published values
(``/work/shared/reference-cases/closed-form/expected.csv``).

Conventions used throughout:

* A "unit pie" or "unit issue" is the stake being divided, normalised to 1;
  a *share* is the fraction of it a player receives, in [0, 1].
* Discount factors ``delta`` are per bargaining round, in [0, 1]; discount
  *rates* ``r`` are per unit of time, >= 0.
* Utilities of a share ``x`` are ``x**a`` with curvature ``a > 0``: ``a = 1`` is
  risk neutral, ``a < 1`` (concave) risk averse, ``a > 1`` (convex) risk
  acceptant.

Invalid arguments raise :class:`ValueError` with a message that names the
argument and its allowed range.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from sim.rules import stats

__all__ = [
    "VICTORY_MODELS",
    "fearon_bargaining_range",
    "nash_bargaining",
    "nash_product",
    "rubinstein_limit_share",
    "rubinstein_shares",
    "rubinstein_shares_from_rates",
    "stahl_share",
    "victory_probability",
    "weighted_mean",
    "weighted_median",
]

#: Victory-probability models of the KTAB Spatial Model of Politics, mapped to
#: the exponent applied to each side's strength.
VICTORY_MODELS: dict[str, int] = {"linear": 1, "square": 2, "quartic": 4, "octic": 8}

_NO_AGREEMENT = "no individually rational agreement"


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _real(name: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return out


def _unit(name: str, value: object) -> float:
    """Return ``value`` as a float in the closed interval [0, 1]."""
    out = _real(name, value)
    if not 0.0 <= out <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return out


def _nonneg(name: str, value: object) -> float:
    """Return ``value`` as a finite float >= 0."""
    out = _real(name, value)
    if out < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def _positive(name: str, value: object) -> float:
    """Return ``value`` as a finite float > 0."""
    out = _real(name, value)
    if out <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return out


# ---------------------------------------------------------------------------
# Rubinstein alternating offers
# ---------------------------------------------------------------------------


def rubinstein_shares(delta1: float, delta2: float) -> tuple[float, float]:
    """Subgame-perfect split of a unit pie under infinite alternating offers.

    Player 1 proposes in period 0, player 2 in period 1, and so on; a share
    ``x`` agreed in period ``t`` is worth ``delta_i**t * x`` to player ``i``.
    The unique subgame-perfect equilibrium has immediate agreement on

        x1 = (1 - delta2) / (1 - delta1 * delta2),   x2 = 1 - x1.

    For the split when player 2 proposes first, call
    ``rubinstein_shares(delta2, delta1)`` and swap the result.

    In the model this is the share of the contested stake each side obtains
    when patience (the per-round discount factor, e.g. the cost of another
    round of talks) is the only source of bargaining power.

    Source:
        Rubinstein, A. (1982). "Perfect equilibrium in a bargaining model."
        *Econometrica* 50(1):97-109. Osborne, M. J. & Rubinstein, A. (1990).
        *Bargaining and Markets*, Academic Press, ch. 3.

    Args:
        delta1: Player 1's per-round discount factor, in [0, 1].
        delta2: Player 2's per-round discount factor, in [0, 1].

    Returns:
        ``(x1, x2)``: shares of the unit pie of the first proposer (player 1)
        and of the responder (player 2); each in [0, 1], summing to 1.

    Raises:
        ValueError: If a discount factor lies outside [0, 1], or if
            ``delta1 == delta2 == 1`` (no discounting: every split is an
            equilibrium, so the share is undefined).
    """
    d1 = _unit("delta1", delta1)
    d2 = _unit("delta2", delta2)
    if d1 == 1.0 and d2 == 1.0:
        raise ValueError(
            "rubinstein_shares is undefined for delta1 == delta2 == 1: without "
            "discounting every split is a subgame-perfect equilibrium; "
            "at least one discount factor must be < 1"
        )
    x1 = (1.0 - d2) / (1.0 - d1 * d2)
    return x1, 1.0 - x1


def rubinstein_shares_from_rates(r1: float, r2: float, interval: float) -> tuple[float, float]:
    """Rubinstein split when patience is given as continuous discount rates.

    Offers are ``interval`` time units apart, so the per-round discount factors
    are ``delta_i = exp(-r_i * interval)`` and

        x1 = (1 - delta2) / (1 - delta1 * delta2)
           = expm1(-r2 * interval) / expm1(-(r1 + r2) * interval),

    evaluated in the second form, which keeps full precision when
    ``interval`` is small. As ``interval -> 0`` the shares tend to
    :func:`rubinstein_limit_share`.

    In the model ``r_i`` is the cost of delay per unit of time (e.g. per
    month) and ``interval`` the time between counter-proposals in the same
    unit.

    Source:
        Rubinstein (1982), *Econometrica* 50(1):97-109; Osborne & Rubinstein
        (1990), *Bargaining and Markets*, ch. 3 and ch. 4.

    Args:
        r1: Player 1's discount rate per unit time, >= 0.
        r2: Player 2's discount rate per unit time, >= 0.
        interval: Time between successive offers, > 0.

    Returns:
        ``(x1, x2)``: shares of the first proposer and the responder, each in
        [0, 1], summing to 1.

    Raises:
        ValueError: If a rate is negative, ``interval`` is not positive, or
            ``r1 == r2 == 0`` (no discounting; the split is undefined).
    """
    a = _nonneg("r1", r1)
    b = _nonneg("r2", r2)
    dt = _positive("interval", interval)
    if a + b == 0.0:
        raise ValueError(
            "rubinstein_shares_from_rates is undefined for r1 == r2 == 0 "
            "(no discounting); at least one rate must be > 0"
        )
    denom = math.expm1(-(a + b) * dt)
    if denom == 0.0:  # rates * interval underflow: delta1 == delta2 == 1 in floats
        raise ValueError(
            "(r1 + r2) * interval is too small to resolve in floating point; "
            "use rubinstein_limit_share(r1, r2) for the continuous-time limit"
        )
    x1 = math.expm1(-b * dt) / denom
    x1 = min(1.0, max(0.0, x1))
    return x1, 1.0 - x1


def rubinstein_limit_share(r1: float, r2: float) -> float:
    """First proposer's share as the time between offers shrinks to zero.

    ``x1 = r2 / (r1 + r2)``: the first-mover advantage vanishes and the
    Rubinstein outcome equals the asymmetric Nash bargaining solution with
    bargaining power ``alpha1 = r2 / (r1 + r2)`` (relative patience).

    Source:
        Binmore, K., Rubinstein, A. & Wolinsky, A. (1986). "The Nash bargaining
        solution in economic modelling." *RAND Journal of Economics*
        17(2):176-188.

    Args:
        r1: Player 1's discount rate per unit time, >= 0.
        r2: Player 2's discount rate per unit time, >= 0.

    Returns:
        Player 1's share of the unit pie, in [0, 1].

    Raises:
        ValueError: If a rate is negative or both are zero.
    """
    a = _nonneg("r1", r1)
    b = _nonneg("r2", r2)
    if a + b == 0.0:
        raise ValueError("rubinstein_limit_share is undefined for r1 == r2 == 0; at least one rate must be > 0")
    return b / (a + b)


def stahl_share(delta: float, periods: int) -> float:
    """First proposer's share in finite-horizon alternating offers.

    The players alternate proposals over ``periods`` periods (player 1 first),
    with a common per-period discount factor ``delta``; if the last proposal
    is rejected both get nothing, so the last proposer takes the whole pie.
    Backward induction (``s_1 = 1``, ``s_T = 1 - delta * s_{T-1}``) gives

        x1 = (1 - (-delta)**periods) / (1 + delta),

    which tends to the Rubinstein share ``1 / (1 + delta)`` as ``periods``
    grows.

    In the model this is the split when talks have a known deadline (e.g. a
    treaty expiry) after ``periods`` rounds.

    Source:
        Stahl, I. (1972). *Bargaining Theory*. Stockholm School of Economics.
        Osborne & Rubinstein (1990), *Bargaining and Markets*, ch. 3
        (finite-horizon version of the alternating-offers game).

    Args:
        delta: Common per-period discount factor, in [0, 1].
        periods: Number of proposal periods, an integer >= 1.

    Returns:
        Share of the unit pie of the player who proposes first, in [0, 1].

    Raises:
        ValueError: If ``delta`` is outside [0, 1] or ``periods`` is not an
            integer >= 1.
    """
    d = _unit("delta", delta)
    if isinstance(periods, bool) or not isinstance(periods, Integral) or periods < 1:
        raise ValueError(f"periods must be an integer >= 1, got {periods!r}")
    return (1.0 - (-d) ** int(periods)) / (1.0 + d)


# ---------------------------------------------------------------------------
# Nash bargaining
# ---------------------------------------------------------------------------


def nash_product(
    x1: float,
    d1: float,
    d2: float,
    alpha: float | None = None,
    a: float = 1.0,
    b: float = 1.0,
) -> float:
    """Nash product of the split ``(x1, 1 - x1)``: the product of gains.

    With ``alpha=None`` this is Nash's (1950) product
    ``(u1 - d1) * (u2 - d2)``; with a bargaining power ``alpha`` it is the
    generalised product ``(u1 - d1)**alpha * (u2 - d2)**(1 - alpha)``. Here
    ``u1 = x1**a`` and ``u2 = (1 - x1)**b``. :func:`nash_bargaining`
    maximises it (both forms have the same maximiser when ``alpha = 0.5``).

    Source:
        Nash, J. F. (1950). "The bargaining problem." *Econometrica*
        18(2):155-162; Roth, A. E. (1979). *Axiomatic Models of Bargaining*,
        Springer, ch. 1 (asymmetric form).

    Args:
        x1: Player 1's share of the unit pie, in [0, 1].
        d1: Player 1's disagreement utility, a finite real.
        d2: Player 2's disagreement utility, a finite real.
        alpha: Player 1's bargaining power in [0, 1], or ``None`` for the
            unweighted product of Nash (1950).
        a: Curvature of player 1's utility ``x**a``, > 0.
        b: Curvature of player 2's utility ``(1 - x)**b``, > 0.

    Returns:
        The Nash product (product of utility gains over disagreement), >= 0.

    Raises:
        ValueError: If an argument is out of range or the split leaves a
            player below its disagreement utility.
    """
    x = _unit("x1", x1)
    g1 = x ** _positive("a", a) - _real("d1", d1)
    g2 = (1.0 - x) ** _positive("b", b) - _real("d2", d2)
    if g1 < 0.0 or g2 < 0.0:
        raise ValueError(f"x1={x1!r} is not individually rational: it leaves a player below the disagreement utility")
    if alpha is None:
        return g1 * g2
    al = _unit("alpha", alpha)
    return g1**al * g2 ** (1.0 - al)


def _marginal_utility(share: float, exponent: float) -> float:
    """Derivative of ``share**exponent``, with its limit at ``share == 0``."""
    if share == 0.0:
        if exponent < 1.0:
            return math.inf
        return 1.0 if exponent == 1.0 else 0.0
    return exponent * share ** (exponent - 1.0)


def _nash_bounds(d1: float, d2: float, a: float, b: float) -> tuple[float, float]:
    """Shares ``[low, high]`` for player 1 at which neither player loses."""
    if d1 >= 1.0 or d2 >= 1.0:
        raise ValueError(_NO_AGREEMENT)
    low = d1 ** (1.0 / a) if d1 > 0.0 else 0.0
    high = 1.0 - d2 ** (1.0 / b) if d2 > 0.0 else 1.0
    if not low < high:
        raise ValueError(_NO_AGREEMENT)
    return low, high


def _nash_numeric(d1: float, d2: float, alpha: float, a: float, b: float) -> float:
    """Maximise the generalised Nash product by bisection on its log-derivative.

    Arguments are assumed validated. Works for any ``a, b > 0``: when the
    log Nash product is concave (``d1 >= 0 or a <= 1`` and ``d2 >= 0 or
    b <= 1``) its derivative is decreasing and one bisection finds the
    optimum; otherwise every sign change of the derivative on a fine grid is
    refined and the best candidate (endpoints included) is returned.
    """
    low, high = _nash_bounds(d1, d2, a, b)
    if alpha == 0.0:
        return low
    if alpha == 1.0:
        return high

    def dlog(x: float) -> float:
        g1 = x**a - d1
        g2 = (1.0 - x) ** b - d2
        if g1 <= 0.0:
            return math.inf
        if g2 <= 0.0:
            return -math.inf
        return alpha * _marginal_utility(x, a) / g1 - (1.0 - alpha) * _marginal_utility(1.0 - x, b) / g2

    def log_product(x: float) -> float:
        g1 = x**a - d1
        g2 = (1.0 - x) ** b - d2
        if g1 <= 0.0 or g2 <= 0.0:
            return -math.inf
        return alpha * math.log(g1) + (1.0 - alpha) * math.log(g2)

    def bisect(lo: float, hi: float) -> float:
        # invariant: dlog(lo) > 0 >= dlog(hi); stop when the bracket cannot shrink
        while True:
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                return mid
            if dlog(mid) > 0.0:
                lo = mid
            else:
                hi = mid

    concave = (d1 >= 0.0 or a <= 1.0) and (d2 >= 0.0 or b <= 1.0)
    if concave:
        if dlog(low) <= 0.0:  # only reachable with d1 < 0: optimum at x = low = 0
            return low
        if dlog(high) > 0.0:  # only reachable with d2 < 0: optimum at x = high = 1
            return high
        return bisect(low, high)

    grid = np.linspace(low, high, 4097).tolist()
    slopes = [dlog(x) for x in grid]
    candidates = [low, high]
    for i in range(len(grid) - 1):
        if slopes[i] > 0.0 >= slopes[i + 1]:
            candidates.append(bisect(grid[i], grid[i + 1]))
    return max(candidates, key=log_product)


def nash_bargaining(
    d1: float,
    d2: float,
    alpha: float = 0.5,
    a: float = 1.0,
    b: float = 1.0,
) -> float:
    """Generalised (asymmetric) Nash bargaining solution over a unit pie.

    Player 1 receives ``x`` and player 2 ``1 - x``, with utilities
    ``u1 = x**a`` and ``u2 = (1 - x)**b``. The solution maximises

        (u1 - d1)**alpha * (u2 - d2)**(1 - alpha)

    over splits where neither player falls below its disagreement utility.
    With linear utilities (``a == b == 1``) it has the closed form
    ``x1 = d1 + alpha * (1 - d1 - d2)``, which is ``(1 + d1 - d2) / 2`` in the
    symmetric case (Nash 1950), clipped to [0, 1] when a disagreement utility
    is negative. Otherwise the optimum is found by bisection on the first-order
    condition to floating-point resolution (well within 1e-12).

    In the model ``d_i`` is what a side gets if talks collapse (e.g. its
    expected value of war or of the status quo, in the same utility units as
    ``u_i``) and ``alpha`` its bargaining power.

    Source:
        Nash, J. F. (1950). "The bargaining problem." *Econometrica*
        18(2):155-162. Asymmetric form: Kalai, E. (1977), *Int. J. Game Theory*
        6(3):129-133; Roth, A. E. (1979), *Axiomatic Models of Bargaining*,
        Springer, ch. 1. Osborne & Rubinstein (1990), *Bargaining and
        Markets*, ch. 2.

    Args:
        d1: Player 1's disagreement utility, a finite real (utility units;
            shares are worth at most 1).
        d2: Player 2's disagreement utility, a finite real.
        alpha: Player 1's bargaining power, in [0, 1] (0.5 = symmetric).
        a: Curvature of player 1's utility, > 0 (< 1 means risk averse).
        b: Curvature of player 2's utility, > 0.

    Returns:
        Player 1's share ``x1`` of the unit pie, in [0, 1]; player 2 gets
        ``1 - x1``.

    Raises:
        ValueError: "no individually rational agreement" when no split gives
            both players strictly more than their disagreement utility
            (e.g. ``d1 + d2 >= 1`` with linear utilities and ``d1, d2 >= 0``);
            or if an argument is out of range.
    """
    dd1 = _real("d1", d1)
    dd2 = _real("d2", d2)
    al = _unit("alpha", alpha)
    aa = _positive("a", a)
    bb = _positive("b", b)
    if aa == 1.0 and bb == 1.0:
        low, high = _nash_bounds(dd1, dd2, 1.0, 1.0)
        if al == 0.5:
            x = (1.0 + dd1 - dd2) / 2.0
        else:
            x = dd1 + al * (1.0 - dd1 - dd2)
        return min(high, max(low, x))
    return _nash_numeric(dd1, dd2, al, aa, bb)


# ---------------------------------------------------------------------------
# Fearon bargaining range
# ---------------------------------------------------------------------------


def fearon_bargaining_range(
    p: float,
    cost_a: float,
    cost_b: float,
    a: float = 1.0,
    b: float = 1.0,
) -> tuple[float, float] | None:
    """Set of peaceful divisions both states weakly prefer to war.

    State A receives ``x`` of a unit issue and B receives ``1 - x``, valued at
    ``x**a`` and ``(1 - x)**b``. War is a lottery A wins with probability
    ``p``, so its expected utility is ``p - cost_a`` for A and
    ``1 - p - cost_b`` for B. The bargaining range is

        {x in [0, 1] : x**a >= p - cost_a  and  (1 - x)**b >= 1 - p - cost_b},

    i.e. ``[max(0, p - cost_a)**(1/a), 1 - max(0, 1 - p - cost_b)**(1/b)]``.
    In the risk-neutral case (``a == b == 1``) it is
    ``[p - cost_a, p + cost_b]`` clipped to [0, 1]. Concave utilities
    (``a < 1`` or ``b < 1``, risk aversion) widen the range; convex ones
    (risk acceptance) narrow it and can empty it.

    In the model ``x`` is A's share of the disputed stake (territory,
    concessions), ``p`` A's probability of winning a war, and the costs are
    the war's costs in the same units as the stake.

    Source:
        Fearon, J. D. (1995). "Rationalist explanations for war."
        *International Organization* 49(3):379-414, section "The existence of
        a bargaining range" (Figure 1 and the risk-attitude discussion).

    Args:
        p: Probability that A wins a war, in [0, 1].
        cost_a: A's cost of fighting, >= 0 (share-of-stake units).
        cost_b: B's cost of fighting, >= 0.
        a: Curvature of A's utility, > 0 (< 1 risk averse, 1 neutral).
        b: Curvature of B's utility, > 0.

    Returns:
        ``(low, high)`` with ``0 <= low <= high <= 1``: the shares for A that
        both sides weakly prefer to war; ``None`` when no such share exists.

    Raises:
        ValueError: If an argument is outside its allowed range.
    """
    pp = _unit("p", p)
    ca = _nonneg("cost_a", cost_a)
    cb = _nonneg("cost_b", cost_b)
    aa = _positive("a", a)
    bb = _positive("b", b)
    war_a = pp - ca  # A's expected utility of war
    b_loss = pp + cb  # B's war value is 1 - b_loss
    low = 0.0 if war_a <= 0.0 else war_a ** (1.0 / aa)
    if b_loss >= 1.0:
        high = 1.0
    elif bb == 1.0:
        high = b_loss
    else:
        # 1 - (1 - b_loss)**(1/b), accurate also when b_loss is tiny
        high = min(1.0, -math.expm1(math.log1p(-b_loss) / bb))
    if low > high:
        return None
    return low, high


# ---------------------------------------------------------------------------
# victory probability
# ---------------------------------------------------------------------------


def victory_probability(s1, s2, model: str = "linear"):
    """Probability that side 1 prevails in a contest of strengths.

    ``P = s1**k / (s1**k + s2**k)`` with ``k = 1, 2, 4, 8`` for the models
    ``"linear"``, ``"square"``, ``"quartic"`` and ``"octic"``; higher ``k``
    makes the stronger side's advantage more decisive. ``P = 0.5`` when both
    strengths are zero. Computed on strengths scaled by their maximum, so
    large strengths do not overflow.

    In the model ``s1`` and ``s2`` are the (non-negative) strengths of the two
    coalitions, e.g. summed capability-weighted support, in any common unit.

    Source:
        KAPSARC Toolkit for Behavioral Analysis (KTAB), Spatial Model of
        Politics (SMP), ``VictoryProbModel`` {Linear, Square, Quartic, Octic}
        (KAPSARC, 2015, MIT licence; reference run in
        ``/work/shared/reference-cases/ktab-smp-dummy``). Each is a Tullock
        contest success function with exponent ``k``: Tullock, G. (1980),
        "Efficient rent seeking", in Buchanan, Tollison & Tullock (eds.),
        *Toward a Theory of the Rent-Seeking Society*, Texas A&M UP.

    Args:
        s1: Strength(s) of side 1, >= 0; scalar or array.
        s2: Strength(s) of side 2, >= 0; broadcastable against ``s1``.
        model: One of ``"linear"``, ``"square"``, ``"quartic"``, ``"octic"``.

    Returns:
        Probability in [0, 1] that side 1 wins: a float for scalar inputs,
        otherwise a numpy array of the broadcast shape.

    Raises:
        ValueError: For an unknown ``model`` or a negative / non-finite
            strength.
    """
    if model not in VICTORY_MODELS:
        allowed = ", ".join(repr(m) for m in VICTORY_MODELS)
        raise ValueError(f"model must be one of {allowed}, got {model!r}")
    k = VICTORY_MODELS[model]
    x1 = np.asarray(s1, dtype=float)
    x2 = np.asarray(s2, dtype=float)
    for name, arr in (("s1", x1), ("s2", x2)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
            raise ValueError(f"{name} must be finite and >= 0")
    x1, x2 = np.broadcast_arrays(x1, x2)
    scale = np.maximum(x1, x2)
    both_zero = scale == 0.0
    safe = np.where(both_zero, 1.0, scale)
    t1 = (x1 / safe) ** k
    t2 = (x2 / safe) ** k
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(both_zero, 0.5, t1 / np.where(both_zero, 1.0, t1 + t2))
    if prob.ndim == 0:
        return float(prob)
    return prob


# ---------------------------------------------------------------------------
# compromise model and weighted median
# ---------------------------------------------------------------------------


def _positions_weights(positions, weights) -> tuple[np.ndarray, np.ndarray]:
    """Validate 1-D finite positions and matching non-negative weights."""
    x = np.asarray(positions, dtype=float)
    w = np.asarray(weights, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("positions must be a non-empty 1-D sequence of numbers")
    if w.shape != x.shape:
        raise ValueError(f"weights must have the same length as positions ({x.size}), got shape {w.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("positions must be finite numbers")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0):
        raise ValueError("weights must be finite and >= 0")
    top = w.max()
    if not top > 0.0:
        raise ValueError("weights must have a positive total (all weights are zero)")
    return x, w / top  # rescaled to max 1: no overflow or underflow in the sums


def weighted_mean(positions, weights) -> float:
    """Compromise-model outcome: the weight-averaged position.

    ``sum(w * x) / sum(w)`` where, in the compromise model, ``w_i = c_i * s_i``
    (capability times salience). It predicts the outcome of an issue as the
    power- and salience-weighted average of the actors' positions.

    Source:
        Van den Bos, G. M. (1991). *Dutch EC Policy Making*. Achen, C. H.
        (2006). "Institutional realism and bargaining models", ch. 4 in
        Thomson, Stokman, Achen & Koenig (eds.), *The European Union Decides*,
        Cambridge UP. Stokman, F. N. & Van Oosten, R. (1994), "The exchange of
        voting positions: an object-oriented model of policy networks", in
        Bueno de Mesquita & Stokman (eds.), *European Community Decision
        Making*, Yale UP (the exchange model's no-exchange baseline).

    Args:
        positions: Actors' positions on the issue scale (issue units), 1-D.
        weights: Non-negative weights (e.g. capability x salience), same
            length, with a positive total.

    Returns:
        The weighted mean, in issue units, between min and max position.

    Raises:
        ValueError: On mismatched lengths, non-finite values, negative
            weights, or zero total weight.
    """
    x, w = _positions_weights(positions, weights)
    mean = float(stats.weighted_mean(x, w))
    return min(float(x.max()), max(float(x.min()), mean))  # guard against rounding


def weighted_median(positions, weights) -> float:
    """Weighted median position: the smallest position backed by half the weight.

    Positions are sorted ascending and weights accumulated; the result is the
    smallest position at which the cumulative weight reaches half the total
    (cum >= total / 2). Under majority rule with single-peaked preferences
    this position beats any other in a weighted pairwise vote (median voter
    theorem). The comparison tolerates a relative rounding error of 1e-12 so
    that an exact tie at one half resolves to the lower position as the rule
    says.

    Source:
        Black, D. (1948). "On the rationale of group decision-making."
        *Journal of Political Economy* 56(1):23-34. Used as a benchmark
        alongside the compromise model in Achen (2006), ch. 4 of *The European
        Union Decides*, Cambridge UP.

    Args:
        positions: Actors' positions on the issue scale (issue units), 1-D.
        weights: Non-negative weights (e.g. capability x salience), same
            length, with a positive total.

    Returns:
        One of the given positions (issue units).

    Raises:
        ValueError: On mismatched lengths, non-finite values, negative
            weights, or zero total weight.
    """
    x, w = _positions_weights(positions, weights)
    return float(stats.weighted_median(x, w))
