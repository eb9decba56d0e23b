"""Weighted means and medians of positions: the one implementation every model uses.

:func:`weighted_mean` and :func:`weighted_median` work on one issue, on float arrays or exactly on
object arrays of :class:`fractions.Fraction` (the classic engines' reference cases);
:func:`weighted_median_rows` is the median over actors for every replicate and issue at once
(the protocols' forecasts). :mod:`sim.rules.theory` adds input checks on top of the first two.
"""

from __future__ import annotations

import numpy as np


def weighted_mean(positions, weights):
    """Compromise-model forecast ``sum(w x) / sum(w)`` on one issue.

    With ``w = c s`` this is the compromise model's forecast (Van den Bos 1991; Achen 2006), the
    "weighted mean" the reference reports after every round. Works on float arrays and, exactly, on object arrays of
    :class:`fractions.Fraction`. If every weight is zero the plain mean is returned.

    Args:
        positions: ``(A,)`` positions on the issue scale (issue units).
        weights: ``(A,)`` non-negative weights, e.g. capability x salience.

    Returns:
        The weighted mean, in issue units.
    """
    x = np.asarray(positions)
    w = np.asarray(weights)
    total = w.sum()
    if total == 0:
        return x.sum() / len(x)
    return (w * x).sum() / total


def weighted_median(positions, weights):
    """Median-voter forecast: the smallest position at which the cumulative weight reaches half.

    Positions are sorted ascending (stable) and ``w = c s`` accumulated; the result is the first
    position with ``cum >= total / 2`` (a relative tolerance of 1e-12 on float input, none on exact
    input). On one dimension with risk-neutral votes it is a Condorcet winner among the positions,
    the median voter position of Bueno de Mesquita (1994) (Black 1948). If every weight is zero all
    actors count equally.

    Args:
        positions: ``(A,)`` positions on the issue scale (issue units).
        weights: ``(A,)`` non-negative weights.

    Returns:
        One of the given positions.
    """
    x = np.asarray(positions)
    w = np.asarray(weights)
    if w.sum() == 0:
        w = np.ones(len(x), dtype=w.dtype if w.dtype == object else float)
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    total = cum[-1]
    slack = 0 if cum.dtype == object else 1e-12 * total
    idx = int(np.argmax(cum >= total / 2 - slack))
    return x[order][idx]


def weighted_median_rows(positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median per replicate and issue over actors: smallest x whose cumulative weight reaches half.

    Args:
        positions: ``(A, N, I)``.
        weights: ``(A, N, I)`` non-negative (capability × salience).

    Returns:
        ``(N, I)``; where all weights are zero, the plain median.
    """
    order = np.argsort(positions, axis=0, kind="stable")
    x = np.take_along_axis(positions, order, axis=0)
    w = np.take_along_axis(weights, order, axis=0)
    total = w.sum(axis=0)
    w = np.where(total > 1e-12, w, 1.0)
    total = w.sum(axis=0)
    cum = np.empty_like(w)  # np.cumsum(w, axis=0) and np.argmax(hit, axis=0), row by row (several times faster)
    cum[0] = w[0]
    for a in range(1, len(w)):
        np.add(cum[a - 1], w[a], out=cum[a])
    hit = cum >= total / 2 - 1e-12 * total
    idx = np.zeros(hit.shape[1:], dtype=np.intp)  # first actor reaching half the weight (0 if none does)
    for a in range(len(hit) - 1, -1, -1):
        idx[hit[a]] = a
    return np.take_along_axis(x, idx[None], axis=0)[0]
