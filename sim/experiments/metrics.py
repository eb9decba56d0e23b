"""Outcome metrics of one ensemble, as a sweep (or a calibration) tabulates them.

:data:`METRIC_INFO` is the table of scalar metrics read from a run's summary; per-class outcome
shares and per-actor costs are added per scenario (:func:`metric_names`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from sim.engine.result import RunResult
from sim.engine.runner import run
from sim.rules import core
from sim.scenario.loader import ALL_OUTCOMES, LoadedScenario

DEFAULT_METRICS = ("ceasefire_survival_52w", "p_ceasefire_at_horizon")
"""Metrics analysed and plotted when none are named (war scenarios)."""

METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "p_ceasefire": ("Ceasefire agreed within the horizon", "probability", "share of replicates with a ceasefire"),
    "median_weeks_to_ceasefire": (
        "Median weeks to ceasefire",
        "weeks",
        "median week of the first ceasefire among replicates that reached one (undefined if none did)",
    ),
    "ceasefire_survival_52w": (
        "52-week ceasefire survival",
        "probability",
        "Kaplan-Meier probability that a first ceasefire lasts 52 weeks (undefined if no ceasefire was "
        "observed for 52 weeks)",
    ),
    "p_collapse_within_horizon": (
        "Ceasefire collapses within the horizon",
        "probability",
        "share of first ceasefires that end in renewed war within the horizon (undefined without a ceasefire)",
    ),
    "p_ceasefire_at_horizon": (
        "Ceasefire holding at the horizon",
        "probability",
        "share of replicates in a ceasefire at the last week",
    ),
    "p_at_war_after_collapse_at_horizon": (
        "At war again at the horizon",
        "probability",
        "share of replicates back at war after a ceasefire collapsed, at the last week",
    ),
    "p_durable_ceasefire": (
        "Durable ceasefire",
        "probability",
        "share of replicates whose first ceasefire is agreed within `within` weeks and holds `holds` weeks "
        "after agreement (defaults 52 and 104; needs a horizon of within + holds weeks)",
    ),
}
"""Scalar outcome metrics of one ensemble: name → (label, unit, definition). Per-class outcome
shares (``share_<class>``) and per-actor costs (``spending_bn_<actor>``, ``losses_<actor>``) are
added per scenario; a metric ``M`` with a 95% interval also has columns ``M_lo`` and ``M_hi``."""

_WITH_INTERVAL = ("p_ceasefire", "ceasefire_survival_52w", "p_collapse_within_horizon", "p_ceasefire_at_horizon")


# ----------------------------------------------------------------------------- metrics


def metric_names(loaded: LoadedScenario, weeks: int, durable: tuple[int, int] = (52, 104)) -> list[str]:
    """The metric columns a sweep over this scenario produces, in table order (intervals included)."""
    spec = loaded.spec
    if spec.war is None:  # talks only: the protocol's forecasts per issue (keys known after one round)
        return list(point_metrics(run(loaded, replicates=1, weeks=1, seed=0)))
    out: list[str] = []
    for m in METRIC_INFO:
        if m == "p_durable_ceasefire":
            if weeks < sum(durable):
                continue
        out.append(m)
        if m in _WITH_INTERVAL or m == "p_durable_ceasefire":
            out += [f"{m}_lo", f"{m}_hi"]
    out += [f"share_{c}" for c in ALL_OUTCOMES]
    for aid in spec.actors:
        out += [f"spending_bn_{aid}", f"losses_{aid}"]
    return out


WEEK_METRICS = {
    "p_ceasefire_by": (
        "Ceasefire agreed by week {w}",
        "probability",
        "share of replicates whose first ceasefire is agreed within the first {w} weeks",
    ),
    "ceasefire_survival": (
        "{w}-week ceasefire survival",
        "probability",
        "Kaplan-Meier probability that a first ceasefire lasts {w} weeks (undefined if no ceasefire was observed "
        "for {w} weeks)",
    ),
}
"""Metrics named with a week: ``p_ceasefire_by_<W>w`` and ``ceasefire_survival_<W>w``, for any whole W >= 1
up to the horizon (e.g. ``p_ceasefire_by_60w``: no ceasefire in the first 60 weeks of talks is 0)."""
WEEK_METRIC_RE = re.compile(r"^(p_ceasefire_by|ceasefire_survival)_(\d+)w$")


def week_metric(name: str) -> tuple[str, int] | None:
    """``("p_ceasefire_by", 60)`` for ``p_ceasefire_by_60w``; None for any other name."""
    m = WEEK_METRIC_RE.match(name)
    return (m.group(1), int(m.group(2))) if m and int(m.group(2)) >= 1 else None


def extra_metrics(result: RunResult, names: tuple[str, ...] | list[str]) -> dict[str, float | None]:
    """Week-named metrics (:data:`WEEK_METRICS`) of one war ensemble, from its per-replicate outcomes.

    Args:
        result: A war run.
        names: Metric names such as ``p_ceasefire_by_60w`` or ``ceasefire_survival_260w``.

    Returns:
        Name → value (None where undefined: survival at W weeks when no first ceasefire was followed for W weeks).
    """
    out: dict[str, float | None] = {}
    o, n, weeks = result.outcomes, result.replicates, result.weeks
    cfw, col = np.asarray(o["first_ceasefire_week"]), np.asarray(o["collapse_week"])
    had = cfw >= 0
    for name in names:
        kind, w = week_metric(name) or ("", 0)
        if kind == "p_ceasefire_by":
            out[name] = round(int(np.count_nonzero(had & (cfw < w))) / n, 6)
        elif kind == "ceasefire_survival":
            # as the summary's 52-week figure: from agreement to collapse, censored at the last week
            collapsed = col >= 0
            dur = np.where(collapsed, col - cfw, weeks - 1 - cfw)[had]
            if not had.any() or dur.max() < w:
                out[name] = None
                continue
            times, surv = core.kaplan_meier(dur, collapsed[had])[:2]
            out[name] = round(core.km_at(times, surv, w), 6)
        else:
            raise ValueError(f"not a week metric: {name!r}")
    return out


def point_metrics(result: RunResult, durable: tuple[int, int] = (52, 104)) -> dict[str, float | None]:
    """Scalar metrics of one ensemble (from its typed :class:`~sim.engine.result.Summary`); None where undefined."""
    s = result.summary_info
    if result.talks_only:
        return {f"forecast_{k}_{iid}": _num(v) for k, per_issue in s.forecast.items() for iid, v in per_issue.items()}

    out: dict[str, float | None] = {}
    n = result.replicates
    for m in METRIC_INFO:
        if m == "p_durable_ceasefire":
            within, holds = durable
            if result.weeks < within + holds:
                continue
            o = result.outcomes
            cfw, col = o["first_ceasefire_week"], o["collapse_week"]
            ok = (cfw >= 0) & (cfw < within) & ((col < 0) | (col - cfw > holds))
            k = int(np.count_nonzero(ok))
            out[m] = round(k / n, 6)
            lo, hi = core.wilson_interval(k, n)
            out[f"{m}_lo"], out[f"{m}_hi"] = round(lo, 6), round(hi, 6)
            continue
        out[m] = _num(getattr(s, m))
        if m == "p_ceasefire_at_horizon":
            k = int(np.count_nonzero(result.outcomes["final_state"] == "ceasefire"))  # exact, not the rounded share
            lo, hi = core.wilson_interval(k, n)
            out[f"{m}_lo"], out[f"{m}_hi"] = round(lo, 6), round(hi, 6)
        elif m in _WITH_INTERVAL:
            pair = getattr(s, f"{m}_95") or (None, None)
            out[f"{m}_lo"], out[f"{m}_hi"] = _num(pair[0]), _num(pair[1])
    for c in ALL_OUTCOMES:
        out[f"share_{c}"] = _num(s.outcome_shares.get(c))
    for aid, cost in s.costs.items():
        out[f"spending_bn_{aid}"] = _num(cost.spending_bn)
        out[f"losses_{aid}"] = _num(cost.losses_index)
    return out


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def metric_label(name: str) -> tuple[str, str]:
    """(label, unit) of a metric column, for plot axes."""
    base = re.sub(r"_(lo|hi)$", "", name)
    if base in METRIC_INFO:
        return METRIC_INFO[base][0], METRIC_INFO[base][1]
    if week := week_metric(base):
        label, unit, _ = WEEK_METRICS[week[0]]
        return label.format(w=week[1]), unit
    if base.startswith("share_"):
        return f"Share agreeing {base[6:].replace('_', ' ')} first", "share of replicates"
    if base.startswith("spending_bn_"):
        return f"Spending by {base[12:]}", "$bn over the horizon"
    if base.startswith("losses_"):
        return f"Losses of {base[7:]}", "index (weeks of even fighting)"
    return base.replace("_", " "), ""
