"""Plots of a parameter sweep: sensitivity indices, 2-D heatmaps, response curves, scatter overviews.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (headless, notebook-safe),
in the style of :mod:`sim.output.plots`: Okabe-Ito colours, a title naming the scenario and a subtitle with the
design (points, replicates per point, seed, design kind).

Inputs follow the sweep's data model:

* ``factors``: dicts ``{"name": parameter path, "label": axis label or None, "lo": float, "hi": float,
  "baseline": value in the unswept scenario or None}``.
* ``table``: one row per design point with a column per factor name and per metric; a metric ``M`` may
  have companions ``M_lo`` / ``M_hi`` (its 95% interval from the ensemble), drawn as bands.
* ``title_info``: ``{"scenario": title, "replicates": int, "seed": int, "points": int, "design": str}``.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import RunError
from sim.experiments.metrics import METRIC_INFO

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

PROBABILITY_UNITS = frozenset({"probability", "share", "proportion", "fraction"})
"""First words of units whose values lie in [0, 1] (e.g. "share of replicates"): scales fixed to [0, 1]."""

_FALLBACK_INFO: dict[str, tuple[str, str]] = {
    "p_ceasefire": ("Probability of a ceasefire within the horizon", "probability"),
    "ceasefire_survival_52w": ("52-week ceasefire survival", "probability"),
    "p_ceasefire_at_horizon": ("In a holding ceasefire at the horizon", "probability"),
    "p_durable_ceasefire": ("Durable ceasefire (agreed within 52 weeks, holds 104 more)", "probability"),
    "p_collapse_within_horizon": ("Ceasefire collapses within the horizon", "probability"),
    "p_at_war_after_collapse_at_horizon": ("At war again after a collapse, at the horizon", "probability"),
    "median_weeks_to_ceasefire": ("Median weeks to the first ceasefire", "weeks"),
}
"""Labels used when :data:`sim.experiments.metrics.METRIC_INFO` is not available or lacks the metric."""

NAN_MEANING: dict[str, str] = {
    "ceasefire_survival_52w": "undefined (no ceasefire in any replicate was observed for 52 weeks)",
    "median_weeks_to_ceasefire": "undefined (no ceasefire in any replicate)",
    "p_collapse_within_horizon": "undefined (no ceasefire in any replicate)",
}
"""What a NaN of a metric means, for legends (default: ``"undefined (NaN)"``)."""


def metric_info(name: str) -> tuple[str, str]:
    """Human-readable label and unit of a metric.

    Args:
        name: Metric column name, e.g. ``"ceasefire_survival_52w"`` (``_lo`` / ``_hi`` companions too).

    Returns:
        ``(label, unit)``: from :data:`sim.experiments.metrics.METRIC_INFO` (``name -> (label, unit, ...)``)
        when it defines the metric, else from a built-in table, else derived from the name: ``p_x`` -> ``"P(x)"``
        with unit ``"probability"``; ``share_x`` -> unit ``"share of replicates"``; ``spending_bn_<actor>`` ->
        ``"$bn over the horizon"``; ``losses_<actor>`` -> ``"index (weeks of even fighting)"``; names containing
        ``weeks`` -> unit ``"weeks"``; otherwise the name with spaces and unit ``""``.
    """
    known = {**_FALLBACK_INFO, **{k: tuple(v)[:2] for k, v in METRIC_INFO.items()}}
    base, suffix = name, ""
    for end, words in (("_lo", " (95% lower bound)"), ("_hi", " (95% upper bound)")):
        if name.endswith(end):
            base, suffix = name[: -len(end)], words
            break
    if base in known:
        label, unit = known[base]
        return str(label) + suffix, str(unit or "")
    if base.startswith("p_"):
        return f"P({base[2:].replace('_', ' ')})" + suffix, "probability"
    if base.startswith("share_"):
        return f"Share agreeing {base[6:].replace('_', ' ')} first" + suffix, "share of replicates"
    if base.startswith("spending_bn_"):
        return f"Spending by {base[12:]}" + suffix, "$bn over the horizon"
    if base.startswith("losses_"):
        return f"Losses of {base[7:]}" + suffix, "index (weeks of even fighting)"
    words = base.replace("_", " ").strip()
    return words[:1].upper() + words[1:] + suffix, "weeks" if "weeks" in base else ""


def nan_meaning(name: str) -> str:
    """What a NaN of this metric means, for legends, e.g. ``"undefined (no ceasefire in any replicate)"``.

    From :data:`NAN_MEANING`, else the ``(undefined ...)`` remark in the metric's definition in
    :data:`sim.experiments.metrics.METRIC_INFO`, else ``"undefined (NaN)"``.
    """
    base = name[:-3] if name.endswith(("_lo", "_hi")) else name
    if base in NAN_MEANING:
        return NAN_MEANING[base]
    info = tuple(METRIC_INFO.get(base, ()))
    if len(info) > 2:
        m = re.search(r"\(undefined ([^)]*)\)", str(info[2]))
        if m:
            return f"undefined ({m.group(1)})"
    return "undefined (NaN)"


def metric_label(name: str, *, unit: bool = True) -> str:
    """Axis label of a metric, e.g. ``"52-week ceasefire survival (probability)"``.

    Args:
        name: Metric column name.
        unit: Append the unit in parentheses when there is one.
    """
    label, u = metric_info(name)
    return f"{label} ({u})" if unit and u else label


def is_probability(name: str) -> bool:
    """Whether a metric's values lie in [0, 1]: its unit starts with probability, share, proportion, fraction."""
    unit = metric_info(name)[1].strip().lower()
    return bool(unit) and unit.split()[0] in PROBABILITY_UNITS


def factor_label(factor: Mapping[str, Any], width: int | None = None) -> str:
    """A factor's axis label (its ``label``, else its parameter path), optionally wrapped to ``width``.

    Labels wrap at spaces; a parameter path (no label) wraps after its dots, never inside a key.
    """
    text = factor.get("label") or factor["name"]
    if not width or len(text) <= width:
        return text
    if " " in text or "." not in text:
        return textwrap.fill(text, width)
    lines = [""]
    for part in text.split("."):
        piece = part if not lines[-1] else "." + part
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines[-1] += "."
            lines.append(part)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False)


def subtitle(title_info: Mapping[str, Any]) -> str:
    """``"400 design points × 1,000 replicates, seed 1, grid design"`` from a ``title_info`` dict."""
    points, reps = title_info.get("points"), title_info.get("replicates")
    pts = f"{int(points):,} design point{'s' if points != 1 else ''}" if points is not None else ""
    rep = f"{int(reps):,} replicate{'s' if reps != 1 else ''}" if reps is not None else ""
    parts = [f"{pts} × {rep}" if pts and rep else pts or (f"{rep} per design point" if rep else "")]
    parts = [p for p in parts if p]
    if title_info.get("seed") is not None:
        parts.append(f"seed {title_info['seed']}")
    if title_info.get("weeks") is not None:
        parts.append(f"{int(title_info['weeks'])} weeks")
    if title_info.get("design"):
        parts.append(f"{title_info['design']} design")
    return ", ".join(parts)


def suptitle(fig: Figure, title_info: Mapping[str, Any], what: str) -> None:
    """Title a sweep figure: the scenario and ``what`` it shows, with the ensemble caption below."""
    name = title_info.get("scenario") or "sweep"
    sub = subtitle(title_info)
    head = _wrap(f"{name}: {what}", max(40, int(fig.get_figwidth() * 12)))  # ~12 characters per inch at 11 pt
    fig.suptitle(head + (f"\n{sub}" if sub else ""), fontsize=11)


def _palette() -> list[str]:
    from sim.output.plots import OKABE_ITO  # deferred: matplotlib loads on first plot

    return OKABE_ITO


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure  # deferred: matplotlib loads on first plot

    return Figure(figsize=figsize, layout="constrained")


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        cols = ", ".join(str(c) for c in table.columns)
        raise RunError(f"the sweep table has no column '{name}' (columns: {cols})")
    return table[name].to_numpy(dtype=float)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


# ---------------------------------------------------------------------------- sensitivity indices


def indices(
    df: pd.DataFrame,
    factors: Sequence[Mapping[str, Any]],
    metric: str,
    kind: str,
    title_info: Mapping[str, Any],
) -> Figure:
    """Bar chart of Sobol' indices (S1 and ST) or Morris screening (mu_star, and sigma vs mu_star).

    Args:
        df: Output of :func:`sim.experiments.sensitivity.sobol` (``kind="sobol"``) or
            :func:`sim.experiments.sensitivity.morris` (``kind="morris"``).
        factors: The sweep's factors (for labels).
        metric: The metric analysed (for labels).
        kind: ``"sobol"`` or ``"morris"``.
        title_info: Scenario, replicates, seed, points, design (see the module docstring).
    """
    labels = {f["name"]: factor_label(f, 30) for f in factors}
    if kind == "sobol":
        return _sobol_bars(df, labels, metric, title_info)
    if kind == "morris":
        return _morris_bars(df, labels, metric, title_info)
    raise RunError(f"unknown kind of sensitivity analysis '{kind}' (allowed: sobol, morris)")


def _sobol_bars(df: pd.DataFrame, labels: dict[str, str], metric: str, title_info: Mapping[str, Any]) -> Figure:
    okabe = _palette()
    s1 = df[df["index"] == "S1"].set_index("parameter")
    st = df[df["index"] == "ST"].set_index("parameter")
    order = st["value"].sort_values(kind="stable").index.tolist()  # ascending: largest ends on top
    k = len(order)
    fig = _figure((8.5, max(4.6, 2.8 + 0.62 * k)))
    ax = fig.subplots()
    y = np.arange(k)
    h = 0.38
    series = (
        (st, +h / 2, okabe[0], "Total order ST: the parameter with all its interactions"),
        (s1, -h / 2, okabe[3], "First order S1: the parameter alone"),
    )
    right = 0.0
    left = 0.0
    for tab, off, colour, label in series:
        vals = tab.loc[order, "value"].to_numpy(dtype=float)
        conf = tab.loc[order, "conf"].to_numpy(dtype=float)
        ax.barh(
            y + off,
            vals,
            h,
            color=colour,
            xerr=conf,
            capsize=3,
            ecolor="#333333",
            error_kw={"lw": 1},
            label=label,
        )
        for yi, v, c in zip(y + off, vals, conf, strict=True):
            ax.annotate(f"{v:.2f}", (max(v + c, v, 0), yi), xytext=(4, 0), textcoords="offset points", va="center")
        right = max(right, float(np.nanmax(vals + conf)))
        left = min(left, float(np.nanmin(vals - conf)))
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([labels.get(p, p) for p in order])
    ax.set_xlim(min(0.0, left) - 0.02, min(2.0, max(0.1, right) * 1.08 + 0.06))  # room for the numbers
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_xlabel("Sobol' index (share of output variance; error bars: 95% bootstrap interval)")
    ax.grid(axis="x", alpha=0.3)
    total_s1 = float(s1["value"].sum())
    ax.set_title(
        f"Output: {metric_label(metric)}\nSum of first-order indices {total_s1:.2f}: "
        f"about {max(0.0, 1 - total_s1):.0%} of the variance comes from interactions",
        fontsize=9,
    )
    fig.legend(loc="outside lower center", ncol=1, fontsize=9)
    suptitle(fig, title_info, "which parameters drive the outcome? (Sobol' indices)")
    return fig


def _morris_bars(df: pd.DataFrame, labels: dict[str, str], metric: str, title_info: Mapping[str, Any]) -> Figure:
    okabe = _palette()
    tab = df.set_index("parameter")
    order = tab["mu_star"].sort_values(kind="stable").index.tolist()
    k = len(order)
    fig = _figure((13, max(5.0, 2.8 + 0.55 * k)))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.15, 1])
    y = np.arange(k)
    mu_star = tab.loc[order, "mu_star"].to_numpy(dtype=float)
    conf = tab.loc[order, "mu_star_conf"].to_numpy(dtype=float)
    sigma = tab.loc[order, "sigma"].to_numpy(dtype=float)
    ax.barh(y, mu_star, 0.6, color=okabe[0], xerr=conf, capsize=3, ecolor="#333333", error_kw={"lw": 1})
    for yi, v, c in zip(y, mu_star, conf, strict=True):
        ax.annotate(_fmt(v), (v + c, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    rank = {p: k - i for i, p in enumerate(order)}  # 1 = largest mu_star, as listed top-down
    ax.set_yticks(y)
    ax.set_yticklabels([f"{labels.get(p, p)}  ({rank[p]})" for p in order])
    top = float(np.nanmax(mu_star + conf)) if k else 1.0
    ax.set_xlim(0, (top or 1.0) * 1.2)
    unit = metric_info(metric)[1]
    in_unit = f" ({unit})" if unit else ""
    ax.set_xlabel(
        "μ*: mean absolute elementary effect" + in_unit + "\n= output change per whole range of the parameter, "
        "measured over steps\nof part of the range (a steep response can exceed the output's own range)"
    )
    ax.set_title(f"Output: {metric_label(metric)}\nError bars: 95% bootstrap interval of μ*", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax2.scatter(mu_star, sigma, s=40, color=okabe[2], zorder=3)
    lim = max(float(np.nanmax(mu_star)) if k else 1.0, float(np.nanmax(sigma)) if k else 1.0) or 1.0
    placed: list[tuple[float, float]] = []
    for v, sg, p in sorted(zip(mu_star, sigma, order, strict=True), key=lambda t: rank[t[2]]):
        # a point close to one already labelled gets its number on the other side
        near = sum(1 for a, b in placed if abs(a - v) < 0.025 * lim and abs(b - sg) < 0.025 * lim)
        offset = [(5, 3), (5, -12), (-12, 3), (-12, -12)][near % 4]
        ax2.annotate(str(rank[p]), (v, sg), xytext=offset, textcoords="offset points", fontsize=9, fontweight="bold")
        placed.append((v, sg))
    ax2.plot([0, lim * 1.3], [0, lim * 1.3], color="#777777", ls="--", lw=1, label="σ = μ*")
    ax2.set_xlim(0, lim * 1.3)
    ax2.set_ylim(0, lim * 1.3)
    ax2.set_xlabel("μ*: mean absolute elementary effect" + in_unit)
    ax2.set_ylabel("σ: standard deviation of the effects" + in_unit)
    ax2.set_title(
        "Numbers as in the bar chart. Above the dashed line the effect depends\n"
        "strongly on the other parameters or is non-linear",
        fontsize=9,
    )
    ax2.legend(fontsize=8, loc="upper left")
    ax2.grid(alpha=0.3)
    suptitle(fig, title_info, "which parameters matter? (Morris screening)")
    return fig


# ---------------------------------------------------------------------------- 2-D heatmap


def _edges(v: np.ndarray) -> np.ndarray:
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _value_range(name: str, z: np.ndarray) -> tuple[float, float]:
    if is_probability(name):
        return 0.0, 1.0
    finite = z[np.isfinite(z)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def heatmap(
    table: pd.DataFrame,
    factors: Sequence[Mapping[str, Any]],
    metric: str,
    title_info: Mapping[str, Any],
    *,
    nan_label: str | None = None,
) -> Figure:
    """Heatmap of a metric over a two-parameter grid, with contours and the scenario's own values.

    Args:
        table: Sweep table of a grid design: every combination of the two factors' values appears.
        factors: The two factors: the first on the x axis, the second on the y axis.
        metric: Metric column to colour by; probabilities use a fixed [0, 1] scale.
        title_info: Scenario, replicates, seed, points, design (see the module docstring).
        nan_label: Legend text for grey (NaN) cells (default: :func:`nan_meaning`).

    Raises:
        RunError: Not exactly two factors, a missing column, or a table that is not a full grid.
    """
    import matplotlib as mpl  # deferred: matplotlib loads on first plot
    from matplotlib.patches import Patch

    if len(factors) != 2:
        raise RunError(f"a heatmap shows exactly two parameters, got {len(factors)}; use scatter() for more")
    fx, fy = factors
    x, y, z = _column(table, fx["name"]), _column(table, fy["name"]), _column(table, metric)
    xs, ys = np.unique(x), np.unique(y)
    if xs.size < 2 or ys.size < 2:
        raise RunError("a heatmap needs at least two values of each parameter")
    ix, iy = np.searchsorted(xs, x), np.searchsorted(ys, y)
    total = np.zeros((ys.size, xs.size))
    count = np.zeros((ys.size, xs.size), dtype=int)
    np.add.at(count, (iy, ix), 1)
    if (count == 0).any():
        raise RunError(
            f"the table is not a full grid over {fx['name']} x {fy['name']} "
            f"({int((count == 0).sum())} of {count.size} combinations missing); use scatter() for LHS designs"
        )
    undefined = np.zeros_like(total, dtype=bool)
    np.logical_or.at(undefined, (iy, ix), ~np.isfinite(z))
    np.add.at(total, (iy, ix), np.where(np.isfinite(z), z, 0.0))
    grid = np.where(undefined, np.nan, total / count)  # mean over repeats; undefined if any repeat is

    vmin, vmax = _value_range(metric, grid)
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    fig = _figure((8.4, 7.2))
    ax = fig.subplots()
    mesh = ax.pcolormesh(
        _edges(xs), _edges(ys), np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin, vmax=vmax, shading="flat"
    )
    cbar = fig.colorbar(mesh, ax=ax, shrink=0.9, pad=0.02)
    cbar.set_label(metric_label(metric))
    if is_probability(metric):
        levels = [0.25, 0.5, 0.75]
    else:
        from matplotlib.ticker import MaxNLocator  # deferred: matplotlib loads on first plot

        levels = [v for v in MaxNLocator(nbins=4).tick_values(vmin, vmax) if vmin < v < vmax]

    def contour_fmt(v: float) -> str:
        return f"{v:.2f}" if is_probability(metric) else _fmt(v)

    finite = grid[np.isfinite(grid)]
    levels = [v for v in levels if finite.size and finite.min() < v < finite.max()]
    if levels:
        cs = ax.contour(xs, ys, np.ma.masked_invalid(grid), levels=levels, colors="white", linewidths=1.4)
        ax.clabel(cs, fmt=contour_fmt, fontsize=9, inline=True)
        for lvl in levels:
            cbar.ax.axhline(lvl, color="white", lw=1.4)
    handles = []
    if undefined.any():
        what = nan_label or nan_meaning(metric)
        handles.append(Patch(facecolor="#d9d9d9", edgecolor="#999999", label=what[:1].upper() + what[1:]))
    if levels:
        from matplotlib import patheffects  # deferred: matplotlib loads on first plot
        from matplotlib.lines import Line2D

        outline = [patheffects.Stroke(linewidth=3, foreground="#555555"), patheffects.Normal()]
        text = ", ".join(contour_fmt(v) for v in levels)
        handles.append(Line2D([], [], color="white", lw=1.4, path_effects=outline, label=f"Contours at {text}"))
    bx, by = fx.get("baseline"), fy.get("baseline")
    if bx is not None and by is not None:
        (h,) = ax.plot(
            [bx],
            [by],
            marker="*",
            ms=17,
            color="white",
            markeredgecolor="black",
            markeredgewidth=1.3,
            ls="none",
            label=f"Scenario as written ({_fmt(bx)}, {_fmt(by)})"
            + (
                " (a mean: the scenario has a distribution)"
                if fx.get("baseline_is_mean") or fy.get("baseline_is_mean")
                else ""
            ),
            zorder=5,
        )
        ax.annotate(
            "scenario\nas written",
            (bx, by),
            xytext=(10, -4),
            textcoords="offset points",
            fontsize=8,
            va="top",
            color="black",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            zorder=6,
        )
        handles.append(h)
    ax.set_xlim(_edges(xs)[0], _edges(xs)[-1])
    ax.set_ylim(_edges(ys)[0], _edges(ys)[-1])
    ax.set_xlabel(factor_label(fx))
    ax.set_ylabel(factor_label(fy))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=9, frameon=False)
    label, _ = metric_info(metric)
    what = f"{label[:1].lower() + label[1:]} by {factor_label(fx)} and {factor_label(fy)}"
    suptitle(fig, title_info, what if len(what) < 120 else label[:1].lower() + label[1:])
    return fig


# ---------------------------------------------------------------------------- 1-D response


def response(
    table: pd.DataFrame,
    factor: Mapping[str, Any],
    metric: str,
    title_info: Mapping[str, Any],
    *,
    nan_label: str | None = None,
) -> Figure:
    """Response curve of a metric to one parameter, with the ensemble's 95% band when the table has one.

    Args:
        table: Sweep table (usually a one-parameter grid); rows are sorted by the factor.
        factor: The factor on the x axis.
        metric: Metric column; ``{metric}_lo`` / ``{metric}_hi`` columns, when present, give the band.
        title_info: Scenario, replicates, seed, points, design (see the module docstring).
        nan_label: Legend text for design points where the metric is NaN (default: :func:`nan_meaning`).
    """
    okabe = _palette()
    x = _column(table, factor["name"])
    z = _column(table, metric)
    order = np.argsort(x, kind="stable")
    x, z = x[order], z[order]
    fig = _figure((8.5, 5.2))
    ax = fig.subplots()
    colour = okabe[0]
    if f"{metric}_lo" in table.columns and f"{metric}_hi" in table.columns:
        lo = _column(table, f"{metric}_lo")[order]
        hi = _column(table, f"{metric}_hi")[order]
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0, label="95% interval of the ensemble estimate")
    ax.plot(x, z, color=colour, lw=2, marker="o", ms=3.5, label=_wrap(metric_info(metric)[0], 50))
    bad = ~np.isfinite(z)
    if bad.any():
        what = nan_label or nan_meaning(metric)
        ax.plot(
            x[bad],
            np.zeros(int(bad.sum())),
            ls="none",
            marker="x",
            color="#777777",
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            label=_wrap(f"× on the x axis: {int(bad.sum())} points {what}", 60),
        )
    base = factor.get("baseline")
    if base is not None:
        what = " (mean of its distribution)" if factor.get("baseline_is_mean") else ""
        ax.axvline(base, color="#333333", ls="--", lw=1.2, label=f"Scenario as written ({_fmt(base)}){what}")
    if is_probability(metric):
        ax.set_ylim(-0.02, 1.02)
    lo_x, hi_x = float(factor.get("lo", np.nanmin(x))), float(factor.get("hi", np.nanmax(x)))
    pad = 0.015 * (hi_x - lo_x)
    ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_xlabel(factor_label(factor))
    ax.set_ylabel(_wrap(metric_label(metric), 45))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    label = metric_info(metric)[0]
    suptitle(fig, title_info, f"{label[:1].lower() + label[1:]} against {factor_label(factor)}")
    return fig


# ---------------------------------------------------------------------------- overview scatter


def scatter(
    table: pd.DataFrame,
    factors: Sequence[Mapping[str, Any]],
    metric: str,
    title_info: Mapping[str, Any],
) -> Figure:
    """One small panel per factor: the metric at every design point against that factor.

    Useful for LHS and other non-grid designs; each panel also shows the mean in ten bins of the factor
    (the trend after averaging over the other parameters).

    Args:
        table: Sweep table.
        factors: Factors to plot, one panel each.
        metric: Metric column on the y axes.
        title_info: Scenario, replicates, seed, points, design (see the module docstring).
    """
    okabe = _palette()
    if not factors:
        raise RunError("scatter needs at least one factor")
    k = len(factors)
    ncol = 2 if k == 4 else min(k, 3)
    nrow = math.ceil(k / ncol)
    fig = _figure((4.2 * ncol + 0.6, 3.3 * nrow + 1.3))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False, sharey=True)).ravel()
    z = _column(table, metric)
    ok = np.isfinite(z)
    prob = is_probability(metric)
    for j, (f, ax) in enumerate(zip(factors, axes, strict=False)):
        x = _column(table, f["name"])
        ax.scatter(x[ok], z[ok], s=9, alpha=0.45, color=okabe[0], lw=0, label="design point" if j == 0 else None)
        edges = np.linspace(float(f["lo"]), float(f["hi"]), 11)
        which = np.clip(np.digitize(x[ok], edges) - 1, 0, 9)
        means = np.array([z[ok][which == b].mean() if (which == b).any() else np.nan for b in range(10)])
        ax.plot(
            (edges[1:] + edges[:-1]) / 2,
            means,
            color=okabe[2],
            lw=2,
            marker="o",
            ms=3,
            label="mean in ten bins" if j == 0 else None,
        )
        if f.get("baseline") is not None:
            ax.axvline(f["baseline"], color="#333333", ls="--", lw=1, label="scenario as written" if j == 0 else None)
        ax.set_xlim(float(f["lo"]), float(f["hi"]))
        if prob:
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(factor_label(f, 38), fontsize=9)
        if j % ncol == 0:
            ax.set_ylabel(textwrap.fill(metric_label(metric), 32), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[k:]:
        ax.set_axis_off()
    note = None
    if (~ok).any():
        note = _wrap(f"Not shown: {int((~ok).sum())} design points where the metric is {nan_meaning(metric)}", 90)
    fig.legend(loc="outside lower center", ncol=3, fontsize=9, frameon=False, title=note, markerscale=2)
    label = metric_info(metric)[0]
    suptitle(fig, title_info, f"{label[:1].lower() + label[1:]} at every design point")
    return fig
