"""Global sensitivity analysis of a sweep: Sobol' variance indices and Morris elementary effects (SALib).

Both functions take the design matrix and one outcome metric of a finished sweep (one value per design
point, in design order) and return a tidy :class:`pandas.DataFrame`:

* :func:`sobol`: first-order (``S1``), total-order (``ST``) and optionally second-order (``S2``) Sobol'
  indices (Saltelli 2002; Jansen 1999 estimators as implemented in SALib), each with the half-width of its
  bootstrap confidence interval. ``S1`` is the share of the metric's variance across the design explained
  by the parameter alone; ``ST`` adds every interaction it takes part in. Both lie in [0, 1] in theory;
  estimates can stray slightly outside (e.g. -0.01) from sampling error.
* :func:`morris`: Morris (1991) elementary effects with Campolongo et al. (2007) ``mu_star``, in the
  metric's units per full range of the parameter (the effect of moving it from LO to HI, unscaled).

SALib is imported inside the functions so ``negsim --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import RunError

SOBOL_COLUMNS = ["index", "parameter", "parameter_2", "value", "conf"]
"""Columns of :func:`sobol`'s table."""
MORRIS_COLUMNS = ["parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
"""Columns of :func:`morris`'s table."""


def problem(factors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """SALib problem dict from sweep factors.

    Args:
        factors: Sweep factors, each a dict with ``name`` (scenario parameter path), ``lo`` and ``hi``
            (the range sampled, in the parameter's units).

    Returns:
        ``{"num_vars": k, "names": [...], "bounds": [[lo, hi], ...]}`` in factor order.
    """
    if not factors:
        raise RunError("sensitivity analysis needs at least one varied parameter (factor)")
    names = [str(f["name"]) for f in factors]
    if len(set(names)) != len(names):
        raise RunError(f"factor names must be unique, got {names}")
    return {
        "num_vars": len(factors),
        "names": names,
        "bounds": [[float(f["lo"]), float(f["hi"])] for f in factors],
    }


def _check_y(Y: np.ndarray, X: np.ndarray | None, k: int, metric: str | None) -> np.ndarray:
    what = f"metric '{metric}'" if metric else "the metric"
    y = np.asarray(Y, dtype=float)
    if y.ndim != 1:
        raise RunError(f"{what}: expected one value per design point (a 1-D array), got shape {y.shape}")
    if X is not None:
        x = np.asarray(X)
        if x.ndim != 2 or x.shape != (y.shape[0], k):
            raise RunError(
                f"design matrix has shape {x.shape} but {y.shape[0]} metric values and {k} factors "
                f"need shape ({y.shape[0]}, {k})"
            )
    bad = ~np.isfinite(y)
    if bad.any():
        raise RunError(
            f"{what} is undefined (NaN) at {int(bad.sum())} of {y.shape[0]} design points, so variance-based "
            "indices cannot be computed; choose a metric defined everywhere (e.g. p_ceasefire, "
            "p_ceasefire_at_horizon, p_durable_ceasefire) or narrow the ranges"
        )
    if y.shape[0] and np.ptp(y) == 0:
        raise RunError(
            f"{what} is the same ({y[0]:g}) at all {y.shape[0]} design points: there is no variation to "
            "attribute to the parameters; choose another metric or widen the ranges"
        )
    return y


def sobol(
    factors: Sequence[dict[str, Any]],
    X: np.ndarray | None,
    Y: np.ndarray,
    *,
    second_order: bool,
    seed: int,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    metric: str | None = None,
) -> pd.DataFrame:
    """Sobol' first-, total- and (optionally) second-order indices of one metric.

    Args:
        factors: Sweep factors (``name``, ``lo``, ``hi``), in the order of the design's columns.
        X: Design matrix ``(n, k)`` of the Saltelli/Sobol' sample (used only to check its shape; may be
            ``None``).
        Y: The metric at each design point, ``(n,)``, in design order. Must have no NaN.
        second_order: Whether the design was drawn with second-order terms (``n = N * (2k + 2)``) or
            without (``n = N * (k + 2)``); ``N`` must be a power of two.
        seed: Seed of the bootstrap resampling behind the confidence intervals (same seed, same table).
        conf_level: Confidence level of the intervals, in (0, 1) (default 0.95).
        num_resamples: Bootstrap resamples for the intervals (default 1000).
        metric: The metric's name, used in error messages only.

    Returns:
        Tidy table with columns ``index`` (``"S1"``, ``"ST"`` or ``"S2"``), ``parameter`` (factor name),
        ``parameter_2`` (the second factor name for ``S2`` rows, ``""`` otherwise), ``value`` (the
        index: share of the metric's variance over the design, nominally in [0, 1]) and ``conf`` (half-width
        of the bootstrap confidence interval at ``conf_level``). Rows: every factor's ``S1``, then every
        factor's ``ST``, then ``S2`` for each pair ``i < j`` when ``second_order``.

    Raises:
        RunError: NaN or constant metric values, or a sample count that does not fit the design.
    """
    prob = problem(factors)
    k = prob["num_vars"]
    y = _check_y(Y, X, k, metric)
    per_base = 2 * k + 2 if second_order else k + 2
    n = y.shape[0]
    base = n // per_base
    if n == 0 or n % per_base or base & (base - 1):
        form = "N x (2k + 2)" if second_order else "N x (k + 2)"
        raise RunError(
            f"a Sobol' design over {k} factor{'s' if k != 1 else ''} "
            f"{'with' if second_order else 'without'} second-order terms has {form} = N x {per_base} points "
            f"with N a power of two, but {n} metric values were given; was the sample drawn with "
            f"second_order={not second_order}, or is the sweep unfinished?"
        )
    if not 0 < conf_level < 1:
        raise RunError(f"conf_level must be in (0, 1), got {conf_level}")
    from SALib.analyze import sobol as salib_sobol  # deferred: SALib (with scipy) loads only for these designs

    res = salib_sobol.analyze(
        prob,
        y,
        calc_second_order=second_order,
        num_resamples=int(num_resamples),
        conf_level=float(conf_level),
        print_to_console=False,
        seed=int(seed),
    )
    names = prob["names"]
    rows: list[dict[str, Any]] = []
    for idx in ("S1", "ST"):
        for i, name in enumerate(names):
            rows.append(
                {
                    "index": idx,
                    "parameter": name,
                    "parameter_2": "",
                    "value": float(res[idx][i]),
                    "conf": float(res[f"{idx}_conf"][i]),
                }
            )
    if second_order:
        for i in range(k):
            for j in range(i + 1, k):
                rows.append(
                    {
                        "index": "S2",
                        "parameter": names[i],
                        "parameter_2": names[j],
                        "value": float(res["S2"][i, j]),
                        "conf": float(res["S2_conf"][i, j]),
                    }
                )
    return pd.DataFrame(rows, columns=SOBOL_COLUMNS)


def morris(
    factors: Sequence[dict[str, Any]],
    X: np.ndarray,
    Y: np.ndarray,
    *,
    num_levels: int,
    seed: int,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    metric: str | None = None,
) -> pd.DataFrame:
    """Morris elementary-effects screening of one metric.

    Args:
        factors: Sweep factors (``name``, ``lo``, ``hi``), in the order of the design's columns.
        X: The Morris trajectories ``(n, k)`` as sampled (``n = r * (k + 1)`` for ``r`` trajectories), in the
            parameters' own units.
        Y: The metric at each design point, ``(n,)``, in design order. Must have no NaN.
        num_levels: Grid levels per factor the trajectories were drawn with (SALib's ``num_levels``).
        seed: Seed of the bootstrap behind ``mu_star_conf``.
        conf_level: Confidence level of ``mu_star_conf``, in (0, 1) (default 0.95).
        num_resamples: Bootstrap resamples (default 1000).
        metric: The metric's name, used in error messages only.

    Returns:
        One row per factor with columns ``parameter`` (factor name), ``mu`` (mean elementary effect),
        ``mu_star`` (mean absolute elementary effect), ``mu_star_conf`` (half-width of its bootstrap
        interval) and ``sigma`` (standard deviation of the elementary effects: non-linearity or
        interactions). Effects are in the metric's units per full range ``hi - lo`` of the factor: a linear
        metric ``c * x`` has ``mu_star = |c| * (hi - lo)`` and ``sigma = 0``.

    Raises:
        RunError: NaN or constant metric values, or a sample count that is not a whole number of
            trajectories.
    """
    prob = problem(factors)
    k = prob["num_vars"]
    if X is None:
        raise RunError("Morris analysis needs the design matrix X (the trajectories), not only the metric")
    y = _check_y(Y, X, k, metric)
    n = y.shape[0]
    if n == 0 or n % (k + 1):
        raise RunError(
            f"a Morris design over {k} factor{'s' if k != 1 else ''} has r x (k + 1) = r x {k + 1} points "
            f"(r trajectories), but {n} metric values were given"
        )
    if not 0 < conf_level < 1:
        raise RunError(f"conf_level must be in (0, 1), got {conf_level}")
    from SALib.analyze import morris as salib_morris  # deferred: SALib (with scipy) loads only for these designs

    res = salib_morris.analyze(
        prob,
        np.asarray(X, dtype=float),
        y,
        num_resamples=int(num_resamples),
        conf_level=float(conf_level),
        print_to_console=False,
        num_levels=int(num_levels),
        seed=int(seed),
    )
    out = pd.DataFrame(
        {
            "parameter": prob["names"],
            "mu": np.asarray(res["mu"], dtype=float),
            "mu_star": np.asarray(res["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float),
            "sigma": np.asarray(res["sigma"], dtype=float),
        }
    )
    return out[MORRIS_COLUMNS]
