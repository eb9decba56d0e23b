"""Scenario discovery: which regions of parameter space produce an outcome of interest.

Given a finished sweep (one row per design point) and a condition on one metric, such as
``"p_durable_ceasefire >= 0.5"``, the design points meeting it are the *cases of interest*.
:func:`discover` describes where they lie as boxes: intervals on a few parameters. Each box has

* **coverage**: the share of all cases of interest that fall inside the box (in [0, 1]; how much of the
  outcome the box explains);
* **density**: the share of design points inside the box that are cases of interest (in [0, 1]; how
  reliably the box produces the outcome);
* **n**: the number of design points inside.

Two methods (Bryant & Lempert 2010; Lempert et al. 2008):

* ``"cart"``: a shallow classification tree (scikit-learn ``DecisionTreeClassifier``); each leaf that
  predicts "of interest" is a box. Tree thresholds lie halfway between neighbouring sampled values.
* ``"prim"``: the Patient Rule Induction Method as implemented in EMA Workbench (``pip install
  'negsim[ema]'``). PRIM peels the parameter space step by step; the peeling trajectory trades coverage for
  density, and the box kept is the one with the highest coverage among those reaching the density
  ``threshold``. PRIM's limits are sampled values of the parameters.

scikit-learn, EMA Workbench and matplotlib are imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import operator
import re
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import RunError
from sim.experiments.plots import factor_label, suptitle

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

OPS: dict[str, Any] = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
"""Comparison operators a condition may use."""
METHODS = ("cart", "prim")
"""Discovery methods."""

_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_NOT_METRICS = {"point", "seed"}


def parse_condition(text: str, metrics: Sequence[str] | None = None) -> tuple[str, str, float]:
    """Parse a condition such as ``"p_durable_ceasefire >= 0.5"``.

    Args:
        text: ``METRIC OP VALUE`` with ``OP`` one of ``>=``, ``>``, ``<=``, ``<`` and ``VALUE`` a number in the
            metric's units (a probability in [0, 1] for ``p_*`` metrics).
        metrics: Metric names allowed (e.g. the sweep table's metric columns); ``None`` accepts any name.

    Returns:
        ``(metric, op, value)``.

    Raises:
        RunError: Bad syntax, or a metric not in ``metrics`` (the message lists the available ones).
    """
    m = _CONDITION.match(text or "")
    if not m:
        raise RunError(
            f"cannot read the condition {text!r}: write METRIC OP VALUE with OP one of >=, >, <=, < "
            "(e.g. 'p_durable_ceasefire >= 0.5')"
        )
    metric, op, value = m.group(1), m.group(2), float(m.group(3))
    if metrics is not None and metric not in metrics:
        raise RunError(f"the condition {text!r} names an unknown metric '{metric}' (available: {', '.join(metrics)})")
    return metric, op, value


def _metric_columns(table: pd.DataFrame, factors: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {f["name"] for f in factors}
    return [str(c) for c in table.columns if c not in names and c not in _NOT_METRICS]


def cases_of_interest(
    table: pd.DataFrame, factors: Sequence[Mapping[str, Any]], condition: str
) -> tuple[np.ndarray, int]:
    """Which design points meet ``condition``.

    Args:
        table: Sweep table (factor columns, metric columns).
        factors: The sweep's factors.
        condition: ``METRIC OP VALUE`` (see :func:`parse_condition`).

    Returns:
        ``(mask, n_nan)``: a boolean array, one entry per row (NaN metric values count as not meeting the
        condition), and how many rows had a NaN metric.
    """
    metric, op, value = parse_condition(condition, _metric_columns(table, factors))
    z = table[metric].to_numpy(dtype=float)
    nan = ~np.isfinite(z)
    with np.errstate(invalid="ignore"):
        mask = OPS[op](np.where(nan, np.nan, z), value) & ~nan
    return np.asarray(mask, dtype=bool), int(nan.sum())


@dataclasses.dataclass(frozen=True)
class Box:
    """One region of parameter space.

    Attributes:
        limits: Restricted factors only: parameter path -> ``(lo, hi)`` in the parameter's units; ``None`` on
            a side that is not restricted (the box reaches the edge of the sampled range there).
        coverage: Share of all cases of interest inside the box, in [0, 1].
        density: Share of the design points inside the box that are cases of interest, in [0, 1].
        n: Design points inside the box.
        n_interest: Cases of interest inside the box.
    """

    limits: dict[str, tuple[float | None, float | None]]
    coverage: float
    density: float
    n: int
    n_interest: int

    def contains(self, table: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the table's rows inside the box (limits inclusive)."""
        inside = np.ones(len(table), dtype=bool)
        for name, (lo, hi) in self.limits.items():
            x = table[name].to_numpy(dtype=float)
            if lo is not None:
                inside &= x >= lo
            if hi is not None:
                inside &= x <= hi
        return inside

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: limits as ``{name: {"lo": float|None, "hi": float|None}}``."""
        return {
            "limits": {k: {"lo": lo, "hi": hi} for k, (lo, hi) in self.limits.items()},
            "coverage": self.coverage,
            "density": self.density,
            "n": self.n,
            "n_interest": self.n_interest,
        }


@dataclasses.dataclass(frozen=True)
class DiscoveryResult:
    """What :func:`discover` found.

    Attributes:
        method: ``"cart"`` or ``"prim"``.
        condition: The condition as given, e.g. ``"p_durable_ceasefire >= 0.5"``.
        metric: The metric it tests.
        op: Its operator (``>=``, ``>``, ``<=``, ``<``).
        value: Its threshold value, in the metric's units.
        factors: The sweep's factors (``name``, ``label``, ``lo``, ``hi``, ``baseline``).
        n_points: Design points analysed (rows of the table).
        n_interest: Cases of interest among them.
        n_nan: Points where the metric is NaN (counted as not of interest).
        boxes: Boxes found, best first (CART: by coverage x density; PRIM: the one box chosen).
        params: Settings used (CART: ``max_depth``, ``min_samples_leaf``, ``seed``; PRIM: ``threshold``,
            ``peel_alpha``, ``paste_alpha``, ``mass_min``).
        trajectory: PRIM only: the peeling (and pasting) trajectory, one dict per step with ``step``,
            ``coverage``, ``density``, ``n`` and ``restricted`` (names of restricted factors).
        chosen_step: PRIM only: index into ``trajectory`` of the box kept.
    """

    method: str
    condition: str
    metric: str
    op: str
    value: float
    factors: list[dict[str, Any]]
    n_points: int
    n_interest: int
    n_nan: int
    boxes: list[Box]
    params: dict[str, Any]
    trajectory: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    chosen_step: int | None = None

    @property
    def best(self) -> Box | None:
        """The best box (the first), or ``None`` when no box was found."""
        return self.boxes[0] if self.boxes else None

    def label(self, name: str) -> str:
        """A factor's human-readable label (its parameter path when it has none)."""
        for f in self.factors:
            if f["name"] == name:
                return f.get("label") or name
        return name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: everything above plus ``rules`` (one text line per box)."""
        return {
            "method": self.method,
            "condition": self.condition,
            "metric": self.metric,
            "op": self.op,
            "value": self.value,
            "n_points": self.n_points,
            "n_interest": self.n_interest,
            "n_nan": self.n_nan,
            "params": dict(self.params),
            "boxes": [b.to_dict() for b in self.boxes],
            "rules": [self.box_text(b) for b in self.boxes],
            "trajectory": [dict(t) for t in self.trajectory],
            "chosen_step": self.chosen_step,
            "factors": [dict(f) for f in self.factors],
        }

    def box_rule(self, box: Box) -> str:
        """The box's limits as one rule, e.g. ``"US backstop credibility >= 0.62 AND Russian resolve <= 0.74"``."""
        parts = []
        for name, (lo, hi) in box.limits.items():
            lab = self.label(name)
            if lo is not None and hi is not None:
                parts.append(f"{_num(lo)} <= {lab} <= {_num(hi)}")
            elif lo is not None:
                parts.append(f"{lab} >= {_num(lo)}")
            elif hi is not None:
                parts.append(f"{lab} <= {_num(hi)}")
        return " AND ".join(parts) if parts else "(anywhere: no parameter restricted)"

    def box_text(self, box: Box) -> str:
        """Rule plus its statistics: ``"... : coverage 81%, density 93%, 57 points"``."""
        return (
            f"{self.box_rule(box)}: coverage {box.coverage:.0%}, density {box.density:.0%}, "
            f"{box.n:,} point{'s' if box.n != 1 else ''}"
        )

    def rules_text(self) -> str:
        """Human-readable report: the condition, the counts and one line per box, best first."""
        head = (
            f"Scenario discovery ({self.method.upper()}): {self.condition}\n"
            f"{self.n_interest:,} of {self.n_points:,} design points meet the condition"
        )
        if self.n_nan:
            head += f" ({self.n_nan:,} where {self.metric} is undefined count as not meeting it)"
        if not self.boxes:
            return head + "\nNo box found."
        lines = [head]
        for i, b in enumerate(self.boxes, 1):
            lines.append(f"  {i}. {self.box_text(b)}")
        return "\n".join(lines)

    BOXES_HEADER = (
        "box",
        "parameter",
        "label",
        "lo",
        "hi",
        "coverage",
        "density",
        "n",
        "n_interest",
        "rule",
    )
    """Columns of :meth:`boxes_table`."""

    def boxes_table(self) -> tuple[list[str], list[list[Any]]]:
        """Header and rows for a CSV: one row per restricted factor of each box (a box with none gets one row).

        Columns: ``box`` (1 = best), ``parameter`` (path), ``label``, ``lo``, ``hi`` (limits in the
        parameter's units, ``None`` when that side is unrestricted), ``coverage``, ``density`` (in [0, 1]),
        ``n`` (design points in the box), ``n_interest`` (cases of interest in it), ``rule`` (the box as text).
        """
        rows: list[list[Any]] = []
        for i, b in enumerate(self.boxes, 1):
            stats = [b.coverage, b.density, b.n, b.n_interest, self.box_rule(b)]
            items = list(b.limits.items()) or [("", (None, None))]
            for name, (lo, hi) in items:
                rows.append([i, name, self.label(name) if name else "", lo, hi, *stats])
        return list(self.BOXES_HEADER), rows


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def discover(
    table: pd.DataFrame,
    factors: Sequence[Mapping[str, Any]],
    condition: str,
    method: str = "cart",
    *,
    seed: int = 0,
    max_depth: int = 3,
    min_samples_leaf: int | None = None,
    threshold: float = 0.8,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> DiscoveryResult:
    """Find the regions of parameter space where ``condition`` holds.

    Args:
        table: Sweep table: a column per factor name and per metric, one row per design point.
        factors: The sweep's factors (``name``, ``label``, ``lo``, ``hi``, ``baseline``).
        condition: ``METRIC OP VALUE``, e.g. ``"p_durable_ceasefire >= 0.5"``.
        method: ``"cart"`` (scikit-learn tree) or ``"prim"`` (EMA Workbench).
        seed: CART: the tree's ``random_state`` (``seed mod 2**32``; breaks ties between equally good splits).
            PRIM is deterministic.
        max_depth: CART: depth of the tree (default 3: boxes of at most three limits).
        min_samples_leaf: CART: fewest design points in a leaf (default ``max(5, 2% of the points)``).
        threshold: PRIM: the density, in (0, 1], the chosen box must reach (default 0.8).
        peel_alpha: PRIM: share of points peeled per step (default 0.05).
        paste_alpha: PRIM: share of points pasted back per step (default 0.05).
        mass_min: PRIM: the smallest box, as a share of all points (default 0.05).

    Returns:
        A :class:`DiscoveryResult`.

    Raises:
        RunError: Bad condition or method, no factors, no cases of interest, every point of interest, or
            PRIM without EMA Workbench installed.
    """
    if method not in METHODS:
        raise RunError(f"unknown discovery method '{method}' (allowed: {', '.join(METHODS)})")
    if not factors:
        raise RunError("scenario discovery needs at least one varied parameter (factor)")
    names = [str(f["name"]) for f in factors]
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise RunError(f"the sweep table has no column for {', '.join(missing)}")
    metric, op, value = parse_condition(condition, _metric_columns(table, factors))
    y, n_nan = cases_of_interest(table, factors, condition)
    n, k = len(y), int(y.sum())
    nan_note = f" ({n_nan} with {metric} undefined count as not meeting it)" if n_nan else ""
    if k == 0:
        raise RunError(
            f"no design point meets '{condition}' (of {n}{nan_note}); nothing to discover: "
            f"loosen the condition (the {metric} values range over {_range(table[metric])})"
        )
    if k == n:
        raise RunError(
            f"every one of the {n} design points meets '{condition}'; nothing to discover: tighten the "
            f"condition (the {metric} values range over {_range(table[metric])})"
        )
    x = table[names].astype(float).reset_index(drop=True)
    common = {
        "method": method,
        "condition": condition.strip(),
        "metric": metric,
        "op": op,
        "value": value,
        "factors": [dict(f) for f in factors],
        "n_points": n,
        "n_interest": k,
        "n_nan": n_nan,
    }
    if method == "cart":
        leaf = max(5, math.ceil(0.02 * n)) if min_samples_leaf is None else int(min_samples_leaf)
        boxes = _cart(x, y, factors, seed=seed, max_depth=max_depth, min_samples_leaf=leaf)
        params = {"max_depth": max_depth, "min_samples_leaf": leaf, "seed": seed}
        return DiscoveryResult(**common, boxes=boxes, params=params)
    if not 0 < threshold <= 1:
        raise RunError(f"the PRIM density threshold must be in (0, 1], got {threshold}")
    box, trajectory, chosen = _prim(
        x, y, threshold=threshold, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min
    )
    params = {"threshold": threshold, "peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "mass_min": mass_min}
    return DiscoveryResult(**common, boxes=[box], params=params, trajectory=trajectory, chosen_step=chosen)


def _range(col: pd.Series) -> str:
    v = col.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return f"[{v.min():.3g}, {v.max():.3g}]" if v.size else "nothing: all undefined"


def _stats(inside: np.ndarray, y: np.ndarray) -> tuple[float, float, int, int]:
    n_in = int(inside.sum())
    k_in = int(y[inside].sum())
    return k_in / max(int(y.sum()), 1), (k_in / n_in if n_in else 0.0), n_in, k_in


def _cart(
    x: pd.DataFrame,
    y: np.ndarray,
    factors: Sequence[Mapping[str, Any]],
    *,
    seed: int,
    max_depth: int,
    min_samples_leaf: int,
) -> list[Box]:
    from sklearn.tree import DecisionTreeClassifier  # deferred: scikit-learn loads only for discovery

    names = list(x.columns)
    clf = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=int(seed) % 2**32)
    clf.fit(x.to_numpy(), y.astype(int))
    tree = clf.tree_
    classes = list(clf.classes_)
    pos = classes.index(1)
    boxes: list[Box] = []

    def positive(node: int) -> bool:
        """Whether every leaf under ``node`` predicts "of interest" (siblings that agree are one box)."""
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:
            return int(np.argmax(tree.value[node][0])) == pos
        return positive(left) and positive(right)

    def walk(node: int, lims: dict[str, list[float | None]]) -> None:
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right or positive(node):
            if not positive(node):
                return
            limits = {nm: (lims[nm][0], lims[nm][1]) for nm in names if nm in lims}
            box = Box(limits, 0.0, 0.0, 0, 0)
            cov, den, n_in, k_in = _stats(box.contains(x), y)
            boxes.append(Box(limits, cov, den, n_in, k_in))
            return
        name = names[tree.feature[node]]
        t = float(tree.threshold[node])
        lo, hi = lims.get(name, [None, None])
        walk(left, {**lims, name: [lo, t if hi is None else min(hi, t)]})
        walk(right, {**lims, name: [t if lo is None else max(lo, t), hi]})

    walk(0, {})
    boxes.sort(key=lambda b: (-b.coverage * b.density, -b.density, -b.n))
    return boxes


def _prim(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    threshold: float,
    peel_alpha: float,
    paste_alpha: float,
    mass_min: float,
) -> tuple[Box, list[dict[str, Any]], int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "ipyparallel not installed" and pandas deprecations inside
        try:
            from ema_workbench.analysis import prim as ema_prim  # deferred: optional extra negsim[ema]
        except ImportError as exc:
            raise RunError(
                f"PRIM needs EMA Workbench, which is not installed ({exc}); install it with "
                "pip install 'negsim[ema]', or use method 'cart'"
            ) from exc
        kwargs: dict[str, Any] = {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "mass_min": mass_min}
        if "threshold" in inspect.signature(ema_prim.Prim.__init__).parameters:
            # EMA Workbench 2.x counts y >= threshold as of interest and returns an empty "dump box" when the
            # final box's density is below it; with y in {0, 1} a tiny threshold counts exactly the ones and
            # always keeps the trajectory (we apply our density threshold to it below, as 3.x leaves to us)
            kwargs["threshold"] = 1e-9
        alg = ema_prim.Prim(x, y.astype(int), **kwargs)
        pbox = alg.find_box()
    if pbox is None:  # pragma: no cover - only when no data is left, which the checks above exclude
        raise RunError("PRIM found no box")
    traj = pbox.peeling_trajectory.reset_index(drop=True)
    box_init = alg.box_init
    trajectory = []
    for i in range(len(traj)):
        lims = pbox.box_lims[i]
        restricted = [c for c in x.columns if _restricted_sides(lims, box_init, c) != (False, False)]
        trajectory.append(
            {
                "step": i,
                "coverage": float(traj.loc[i, "coverage"]),
                "density": float(traj.loc[i, "density"]),
                "n": int(traj.loc[i, "n"]),
                "restricted": restricted,
            }
        )
    cov = np.array([t["coverage"] for t in trajectory])
    den = np.array([t["density"] for t in trajectory])
    ok = np.flatnonzero(den >= threshold - 1e-12)
    if ok.size:
        # highest coverage among boxes dense enough; ties: the denser, then the earlier (simpler) box
        chosen = int(min(ok, key=lambda i: (-cov[i], -den[i], i)))
    else:
        chosen = int(min(range(len(den)), key=lambda i: (-den[i], -cov[i], i)))
    lims = pbox.box_lims[chosen]
    limits: dict[str, tuple[float | None, float | None]] = {}
    for c in x.columns:
        lo_r, hi_r = _restricted_sides(lims, box_init, c)
        if lo_r or hi_r:
            limits[c] = (float(lims[c].iloc[0]) if lo_r else None, float(lims[c].iloc[1]) if hi_r else None)
    box = Box(limits, 0.0, 0.0, 0, 0)
    return Box(limits, *_stats(box.contains(x), y)), trajectory, chosen


def _restricted_sides(lims: pd.DataFrame, box_init: pd.DataFrame, col: str) -> tuple[bool, bool]:
    return bool(lims[col].iloc[0] > box_init[col].iloc[0]), bool(lims[col].iloc[1] < box_init[col].iloc[1])


# ---------------------------------------------------------------------------- plot


def plot(
    result: DiscoveryResult,
    table: pd.DataFrame,
    factors: Sequence[Mapping[str, Any]],
    title_info: Mapping[str, Any],
) -> Figure:
    """Picture of the best box: its limits on every factor, the points around it, PRIM's trade-off.

    Panels: (1) each factor as a bar over its full sampled range (normalised to 0-1) with the box's interval
    highlighted and the numeric limits written; (2) with two or more factors, the design points on the two
    most restricted factors, cases of interest coloured, with the box drawn (CART's other boxes dashed);
    (3) PRIM only: coverage against density along the peeling trajectory, with the chosen box marked.

    Args:
        result: Output of :func:`discover`.
        table: The sweep table it was computed from.
        factors: The sweep's factors.
        title_info: ``{"scenario", "replicates", "seed", "points", "design"}`` (see :mod:`sim.experiments.plots`).
    """
    from matplotlib.figure import Figure  # deferred: matplotlib loads on first plot

    box = result.best
    if box is None:  # pragma: no cover - discover() never returns without a box
        raise RunError("no box to plot")
    y, _ = cases_of_interest(table, factors, result.condition)
    nan = ~np.isfinite(table[result.metric].to_numpy(dtype=float))
    prim = result.method == "prim" and bool(result.trajectory)
    panels = 1 + (len(factors) >= 2) + prim
    k = len(factors)
    fig = Figure(figsize=(5.2 * panels + 0.8, max(4.8, 1.9 + 0.55 * k) + 1.0), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, panels, width_ratios=[1.2] + [1] * (panels - 1))))
    order = _limits_panel(axes[0], result, box, factors)
    if len(factors) >= 2:
        pair = sorted(order[:2], key=lambda f: [g["name"] for g in factors].index(f["name"]))
        _scatter_panel(axes[1], result, box, table, pair, y, nan, k)
    if prim:
        _tradeoff_panel(fig, axes[-1], result)
    suptitle(fig, title_info, f"where does '{result.condition}' hold? ({result.method.upper()})")
    return fig


_IN, _IN_FREE, _OUT = "#009E73", "#a8dcc9", "#e6e6e6"


def _limits_panel(ax: Any, result: DiscoveryResult, box: Box, factors: Sequence[Mapping[str, Any]]) -> list:
    from matplotlib.lines import Line2D  # deferred: matplotlib loads on first plot
    from matplotlib.patches import Patch

    def norm(f: Mapping[str, Any]) -> tuple[float, float]:
        lo, hi = box.limits.get(f["name"], (None, None))
        span = float(f["hi"]) - float(f["lo"]) or 1.0
        lo_n = 0.0 if lo is None else min(1.0, max(0.0, (lo - float(f["lo"])) / span))
        hi_n = 1.0 if hi is None else min(1.0, max(0.0, (hi - float(f["lo"])) / span))
        return lo_n, hi_n

    # restricted factors first, the narrowest interval first; drawn top-down
    order = sorted(factors, key=lambda f: (f["name"] not in box.limits, norm(f)[1] - norm(f)[0]))
    rows = list(reversed(order))
    for j, f in enumerate(rows):
        lo_n, hi_n = norm(f)
        restricted = f["name"] in box.limits
        ax.barh(j, 1.0, 0.5, color=_OUT, edgecolor="#bbbbbb")
        ax.barh(j, hi_n - lo_n, 0.5, left=lo_n, color=_IN if restricted else _IN_FREE)
        ax.text(-0.02, j, _num(float(f["lo"])), ha="right", va="center", fontsize=8, color="#555555")
        ax.text(1.02, j, _num(float(f["hi"])), ha="left", va="center", fontsize=8, color="#555555")
        if restricted:
            lo, hi = box.limits[f["name"]]
            parts = ([f"≥ {_num(lo)}"] if lo is not None else []) + ([f"≤ {_num(hi)}"] if hi is not None else [])
            txt = "  ".join(parts)
            ax.text((lo_n + hi_n) / 2, j + 0.3, txt, ha="center", va="bottom", fontsize=9, fontweight="bold")
        base = f.get("baseline")
        if base is not None:
            b = (float(base) - float(f["lo"])) / (float(f["hi"]) - float(f["lo"]) or 1.0)
            ax.plot([b, b], [j - 0.25, j + 0.25], color="black", lw=1.6, ls=":")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([factor_label(f, 28) for f in rows], fontsize=9)
    ax.set_xlim(-0.14, 1.14)
    ax.set_ylim(-0.6, len(rows) - 0.15)
    ax.set_xticks([0, 0.5, 1.0])
    ax.set_xticklabels(["low end", "middle", "high end"], fontsize=8)
    ax.set_xlabel("Each parameter's sampled range (its ends written beside the bar)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    more = f" (best of {len(result.boxes)})" if len(result.boxes) > 1 else ""
    ax.set_title(
        textwrap.fill(f"Box{more}: coverage {box.coverage:.0%}, density {box.density:.0%}, {box.n:,} points", 70)
        + "\n"
        + textwrap.fill(result.box_rule(box), 75),
        fontsize=9,
    )
    handles = [Patch(facecolor=_IN, label="Inside the box: limit on this parameter")]
    if any(f["name"] not in box.limits for f in factors):
        handles.append(Patch(facecolor=_IN_FREE, label="Inside the box: any value"))
    handles.append(Patch(facecolor=_OUT, edgecolor="#bbbbbb", label="Outside the box"))
    if any(f.get("baseline") is not None for f in factors):
        handles.append(Line2D([], [], color="black", ls=":", lw=1.6, label="Scenario as written"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncol=2, frameon=False)
    return order


def _scatter_panel(
    ax: Any,
    result: DiscoveryResult,
    box: Box,
    table: pd.DataFrame,
    pair: Sequence[Mapping[str, Any]],
    y: np.ndarray,
    nan: np.ndarray,
    k: int,
) -> None:
    from matplotlib.patches import Rectangle  # deferred: matplotlib loads on first plot

    from sim.output.plots import OKABE_ITO  # deferred: matplotlib loads on first plot

    fx, fy = pair
    xv, yv = table[fx["name"]].to_numpy(dtype=float), table[fy["name"]].to_numpy(dtype=float)
    other = ~y & ~nan
    ax.scatter(xv[other], yv[other], s=12, color="#9a9a9a", alpha=0.6, lw=0, label="other design points")
    ax.scatter(xv[y], yv[y], s=14, color=OKABE_ITO[2], alpha=0.85, lw=0, label=f"meets {result.condition}")
    if nan.any():
        ax.scatter(
            xv[nan],
            yv[nan],
            s=16,
            marker="x",
            color="#555555",
            lw=0.9,
            label=f"{result.metric} undefined (counts as not meeting)",
        )

    def rect(b: Box) -> tuple[float, float, float, float]:
        x0, x1 = b.limits.get(fx["name"], (None, None))
        y0, y1 = b.limits.get(fy["name"], (None, None))
        x0 = float(fx["lo"]) if x0 is None else x0
        x1 = float(fx["hi"]) if x1 is None else x1
        y0 = float(fy["lo"]) if y0 is None else y0
        y1 = float(fy["hi"]) if y1 is None else y1
        return x0, y0, x1 - x0, y1 - y0

    for i, b in enumerate(result.boxes[1:]):
        x0, y0, w, h = rect(b)
        ax.add_patch(
            Rectangle(
                (x0, y0),
                w,
                h,
                fill=False,
                edgecolor="#333333",
                lw=1.2,
                ls="--",
                zorder=4,
                label="other boxes (CART leaves)" if i == 0 else None,
            )
        )
    x0, y0, w, h = rect(box)
    ax.add_patch(Rectangle((x0, y0), w, h, fill=False, edgecolor="black", lw=2.2, label="best box", zorder=5))
    for f, setter in ((fx, ax.set_xlim), (fy, ax.set_ylim)):
        pad = 0.03 * (float(f["hi"]) - float(f["lo"]))
        setter(float(f["lo"]) - pad, float(f["hi"]) + pad)
    ax.set_xlabel(factor_label(fx))
    ax.set_ylabel(factor_label(fy))
    others = k - 2
    ax.set_title(
        "Design points on the two most restricted parameters"
        + (f"\n(all values of the other {others} parameter{'s' if others > 1 else ''} overlaid)" if others else ""),
        fontsize=9,
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=2, frameon=False)
    ax.grid(alpha=0.3)


def _tradeoff_panel(fig: Any, ax: Any, result: DiscoveryResult) -> None:
    import matplotlib as mpl  # deferred: matplotlib loads on first plot
    from matplotlib.colors import BoundaryNorm

    cov = np.array([t["coverage"] for t in result.trajectory])
    den = np.array([t["density"] for t in result.trajectory])
    nres = np.array([len(t["restricted"]) for t in result.trajectory])
    top = int(max(nres.max(), 1))
    cmap = mpl.colormaps["viridis"].resampled(top + 1)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    ax.plot(cov, den, color="#999999", lw=0.8, zorder=2)
    sc = ax.scatter(cov, den, c=nres, cmap=cmap, norm=norm, s=24, zorder=3)
    c = result.chosen_step or 0
    ax.scatter(
        [cov[c]], [den[c]], s=170, facecolors="none", edgecolors="black", lw=2, zorder=4, label=f"chosen box (step {c})"
    )
    thr = result.params.get("threshold")
    if thr is not None:
        ax.axhline(thr, color="#333333", ls="--", lw=1, label=f"density threshold {thr:g}")
    cbar = fig.colorbar(sc, ax=ax, pad=0.02, ticks=range(top + 1))
    cbar.set_label("Parameters restricted")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Coverage: share of all cases of interest inside the box")
    ax.set_ylabel("Density: share of the box's points that are of interest")
    ax.set_title("PRIM peeling trajectory: each step trades coverage for density", fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
