"""Plots of a calibration: the posterior against the prior, and each target against its predictive distribution."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from sim.experiments.metrics import metric_label
from sim.output.plots import OKABE_ITO

if TYPE_CHECKING:  # pragma: no cover
    from sim.experiments.calibrate import CalibrationResult

POSTERIOR, PRIOR, OBSERVED = OKABE_ITO[0], "#999999", OKABE_ITO[2]


def _label(res: CalibrationResult, i: int) -> str:
    p = res.calibration.params[i]
    return "\n".join(textwrap.wrap(p.label or p.name, 28))


def _title(fig: Figure, res: CalibrationResult, what: str) -> None:
    cal = res.calibration
    g = res.generations.iloc[-1]
    width = max(40, int(fig.get_figwidth() * 11))  # ~11 characters per inch at 10 pt
    head = textwrap.fill(f"{cal.base.spec.title or cal.name}: {what}", width)
    detail = textwrap.fill(
        f"{cal.particles} particles x {cal.replicates:,} replicates, seed {cal.seed}, {cal.weeks} weeks; "
        f"{len(res.generations)} generations, final tolerance {g['epsilon']:.3g} (RMS z-score of the targets)",
        width,
    )
    fig.suptitle(f"{head}\n{detail}", fontsize=10)


def posterior(res: CalibrationResult) -> Figure:
    """Marginal posteriors (diagonal: weighted histograms over the prior's density) and pairs (off-diagonal)."""
    cal, post = res.calibration, res.posterior
    k = len(cal.params)
    size = max(4.6, 3.2 * k)
    fig = Figure(figsize=(max(7.5, size + 0.6), size + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
    w = post["weight"].to_numpy()
    for i, pi in enumerate(cal.params):
        xi = post[pi.name].to_numpy()
        for j, pj in enumerate(cal.params):
            ax = axes[i, j]
            if i == j:
                bins = np.linspace(pi.lo, pi.hi, 21)
                span = float(xi.max() - xi.min())
                if 0 < span < 0.3 * (pi.hi - pi.lo):  # a narrow posterior: bins across its own range
                    bins = np.linspace(xi.min() - 0.05 * span, xi.max() + 0.05 * span, 16)
                ax.hist(xi, bins=bins, weights=w, density=True, color=POSTERIOR, alpha=0.75, label="posterior")
                grid = np.linspace(pi.lo, pi.hi, 201)
                dens = pi.prior.pdf(grid)
                area = np.trapezoid(dens, grid) if hasattr(np, "trapezoid") else np.trapz(dens, grid)
                ax.plot(grid, dens / area, color=PRIOR, lw=2, ls="--", label="prior")
                if pi.baseline is not None and pi.lo <= pi.baseline <= pi.hi:
                    ax.axvline(pi.baseline, color="#333333", lw=1, ls=":", label="scenario's value")
                ax.set_yticks([])
                ax.set_xlim(pi.lo, pi.hi)
                if i == 0:
                    ax.legend(fontsize=8, loc="upper left")
            elif i > j:
                xj = post[pj.name].to_numpy()
                ax.scatter(xj, xi, s=12 + 400 * w, color=POSTERIOR, alpha=0.45, lw=0)
                ax.set_xlim(pj.lo, pj.hi)
                ax.set_ylim(pi.lo, pi.hi)
            else:
                ax.set_axis_off()
                continue
            if i == k - 1:
                ax.set_xlabel(_label(res, j), fontsize=9)
            if j == 0 and i != j:
                ax.set_ylabel(_label(res, i), fontsize=9)
            elif j == 0:
                ax.set_ylabel("posterior density", fontsize=9)
            ax.grid(alpha=0.3)
    _title(fig, res, "which parameter values agree with the targets?")
    return fig


def predictive(res: CalibrationResult) -> Figure:
    """Each target: the observation (±1 SD) against the prior and posterior predictive distributions."""
    cal = res.calibration
    k = len(cal.targets)
    fig = Figure(figsize=(7.5, 2.6 * k + 1.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(k, 1, squeeze=False)[:, 0])
    for ax, t, row in zip(axes, cal.targets, res.targets.itertuples(index=False), strict=True):
        post = res.posterior[t.metric].to_numpy(dtype=float)
        pri = res.prior[t.metric].to_numpy(dtype=float)
        vals = np.concatenate([post[np.isfinite(post)], pri[np.isfinite(pri)], [t.observed - t.sd, t.observed + t.sd]])
        lo, hi = float(vals.min()), float(vals.max())
        pad = 0.05 * (hi - lo or 1.0)
        bins = np.linspace(lo - pad, hi + pad, 41)
        ax.hist(pri[np.isfinite(pri)], bins=bins, density=True, color=PRIOR, alpha=0.45, label="prior predictive")
        ax.hist(
            post[np.isfinite(post)],
            bins=bins,
            weights=res.posterior["weight"].to_numpy()[np.isfinite(post)],
            density=True,
            color=POSTERIOR,
            alpha=0.7,
            label="posterior predictive",
        )
        ax.axvspan(t.observed - t.sd, t.observed + t.sd, color=OBSERVED, alpha=0.15, lw=0)
        ax.axvline(t.observed, color=OBSERVED, lw=2, label=f"observed {t.observed:g} ± {t.sd:g} (SD)")
        label, unit = metric_label(t.metric)
        flag = "" if row.reached else "   NOT REACHED"
        ax.set_title(f"{label} ({t.metric}){flag}", fontsize=10, loc="left")
        src = f"source: {t.source}" if t.source else ""
        ax.set_xlabel((unit or "value") + (f"\n{textwrap.shorten(src, 110)}" if src else ""), fontsize=9)
        ax.set_yticks([])
        ax.set_ylabel("density", fontsize=9)
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(alpha=0.3)
    _title(fig, res, "does the fitted model reproduce the observations?")
    return fig
