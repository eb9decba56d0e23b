"""Parameter sweeps: many ensembles over a design in parameter space, resumable, on any backend.

A sweep varies some of a scenario's numeric parameters (by key path, e.g.
``actors.russia.resolve``) over a design: a full-factorial ``grid``, a Latin hypercube
(``lhs``), Saltelli's sequence for Sobol' indices (``sobol``) or Morris trajectories
(``morris``). Every design point is a full Monte Carlo ensemble; its outcome metrics (from the
run's ``summary.json``, see :data:`METRIC_INFO`) become one row of a tidy table.

Reproducible and backend-independent: the design is drawn from the root seed, and each point's
ensemble seed derives from the root seed and the point's index (or is the root seed itself with
``seeds: common``), never from the worker that runs it. The in-process, process-pool and Dask
backends therefore give identical tables.

Resumable: each finished point is appended to ``points.jsonl`` in the sweep folder as soon as it
arrives. Re-running the same command finds the same folder (named by a hash of everything that
shapes the results), skips the finished points and produces the same table as an uninterrupted
run.

Layout of a sweep folder::

    sweep.json      what was swept: scenario files and hashes, factors, design, settings, key
    design.csv      point, seed and the factor values of every design point
    points.jsonl    finished points as they arrive (append-only; the resume log)
    results.csv     the tidy table: design inputs x outcome metrics, in design order
    sensitivity.csv Sobol' or Morris indices per metric (sobol and morris designs)
    *.png           heatmap / response curve / index chart / scatter per analysed metric
    discovery-*     scenario discovery results (``--discover``)
    manifest.json   SHA-256 of every output, written when the sweep is complete
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import itertools
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import RunError, ScenarioError
from sim.provenance import _key as provenance_key
from sim.scenario import ALL_OUTCOMES, LoadedScenario, _locate, _pydantic_to_errors, _raise, load
from sim.sweepspec import DESIGNS, SweepSpec

DEFAULT_REPLICATES = 1000
"""Replicates per design point when neither the command nor the sweep block says."""
DEFAULT_STEPS = 5
"""Grid points per factor when a grid factor gives no steps."""
DEFAULT_SAMPLES = {"lhs": 100, "sobol": 128, "morris": 20}
"""Default ``samples`` per design (lhs: points; sobol: base N; morris: trajectories)."""
MAX_POINTS = 2_000_000
"""The most design points one sweep may have."""
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
        from sim.runner import run

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


def point_metrics(result: Any, durable: tuple[int, int] = (52, 104)) -> dict[str, float | None]:
    """Scalar metrics of one ensemble (a :class:`sim.runner.RunResult`); None where undefined."""
    s = result.summary
    if result.talks_only:
        return {
            f"forecast_{k}_{iid}": _num(v) for k, per_issue in s["forecast"].items() for iid, v in per_issue.items()
        }
    from sim import core

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
        out[m] = _num(s.get(m))
        if m == "p_ceasefire_at_horizon":
            k = int(np.count_nonzero(result.outcomes["final_state"] == "ceasefire"))  # exact, not the rounded share
            lo, hi = core.wilson_interval(k, n)
            out[f"{m}_lo"], out[f"{m}_hi"] = round(lo, 6), round(hi, 6)
        elif m in _WITH_INTERVAL:
            pair = s.get(f"{m}_95") or [None, None]
            out[f"{m}_lo"], out[f"{m}_hi"] = _num(pair[0]), _num(pair[1])
    for c in ALL_OUTCOMES:
        out[f"share_{c}"] = _num(s["outcome_shares"].get(c))
    for aid, cost in s["costs"].items():
        out[f"spending_bn_{aid}"] = _num(cost["spending_bn"])
        out[f"losses_{aid}"] = _num(cost["losses_index"])
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
    if base.startswith("share_"):
        return f"Share agreeing {base[6:].replace('_', ' ')} first", "share of replicates"
    if base.startswith("spending_bn_"):
        return f"Spending by {base[12:]}", "$bn over the horizon"
    if base.startswith("losses_"):
        return f"Losses of {base[7:]}", "index (weeks of even fighting)"
    return base.replace("_", " "), ""


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Factor:
    """One varied parameter.

    Attributes:
        name: Scenario key path, e.g. ``actors.russia.resolve``.
        lo, hi: The range sampled, in the parameter's units.
        steps: Grid points (grid design), else None.
        label: Axis label for plots.
        baseline: The scenario's own value (the mean of its distribution if it has one; None if unknown).
        integer: The parameter takes whole numbers (design values are rounded).
        note: What replacing the scenario's value means (e.g. a distribution fixed per point).
    """

    name: str
    lo: float
    hi: float
    steps: int | None = None
    label: str | None = None
    baseline: float | None = None
    integer: bool = False
    note: str = ""

    def as_dict(self) -> dict:
        """JSON form (sweep.json and the plotting helpers)."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "lo": self.lo,
            "hi": self.hi,
            "steps": self.steps,
            "baseline": self.baseline,
            "baseline_is_mean": "distribution" in self.note,
            "integer": self.integer,
            "note": self.note,
        }


@dataclass
class Plan:
    """A sweep ready to run: the base scenario, factors, design matrix, seeds and settings."""

    base: LoadedScenario
    source: str
    factors: list[Factor]
    design: str
    samples: int | None
    second_order: bool
    num_levels: int
    replicates: int
    seed: int
    weeks: int
    seeding: str
    metrics: list[str]
    analysed: list[str]
    durable: tuple[int, int]
    X: np.ndarray
    seeds: np.ndarray
    discover: dict | None = None
    command: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        """Number of design points (ensembles)."""
        return int(self.X.shape[0])

    @property
    def name(self) -> str:
        """Short name for folders and titles."""
        return self.base.name

    def overrides(self, i: int) -> dict[str, float | int]:
        """The ``key.path: value`` overrides of design point ``i``."""
        return {f.name: (int(v) if f.integer else float(v)) for f, v in zip(self.factors, self.X[i], strict=True)}

    def identity(self) -> dict:
        """Everything that shapes the results (not labels, not the analysis): its hash names the folder."""
        from sim import __version__

        return {
            "negsim": __version__,
            "scenario_files_sha256": [h for _, h in self.base.files],
            "overrides": [[k, v] for k, v in self.base.overrides],
            "factors": [[f.name, f.lo, f.hi, f.steps, f.integer] for f in self.factors],
            "design": self.design,
            "samples": self.samples,
            "second_order": self.second_order if self.design == "sobol" else None,
            "num_levels": self.num_levels if self.design == "morris" else None,
            "replicates": self.replicates,
            "seed": self.seed,
            "weeks": self.weeks,
            "seeds": self.seeding,
            "durable": list(self.durable),
        }

    @property
    def key(self) -> str:
        """SHA-256 of :meth:`identity` (hex)."""
        blob = json.dumps(self.identity(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def describe(self) -> str:
        """One line: points x replicates, design, seed."""
        return (
            f"{self.n_points:,} design points x {self.replicates:,} replicates ({self.design} design over "
            f"{len(self.factors)} parameter{'s' if len(self.factors) != 1 else ''}), seed {self.seed}, "
            f"{self.weeks} weeks"
        )


VARY_RE = re.compile(r"^\s*([^=\s]+)\s*=\s*([^:]+):([^:]+)(?::([^:]+))?\s*$")


def parse_vary(text: str) -> tuple[str, float, float, int | None]:
    """``PATH=LO:HI[:STEPS]`` → (path, lo, hi, steps); a ScenarioError naming the problem otherwise."""
    where = f"--vary {text}"
    m = VARY_RE.match(text)
    if not m:
        raise ScenarioError(
            "expected PATH=LO:HI or PATH=LO:HI:STEPS", file="--vary", allowed="e.g. actors.russia.resolve=0.5:1.0:11"
        )
    path, lo_s, hi_s, steps_s = m.groups()
    try:
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise ScenarioError(
            f"{lo_s.strip()!r}:{hi_s.strip()!r} are not numbers", file=where, path=path, allowed="LO:HI numbers"
        ) from None
    steps = None
    if steps_s is not None:
        try:
            steps = int(steps_s)
        except ValueError:
            raise ScenarioError(
                f"STEPS {steps_s!r} is not a whole number", file=where, path=path, allowed="an integer >= 2"
            ) from None
    return path, lo, hi, steps


def _is_number(v: Any) -> bool:
    from sim.params import Dist

    return isinstance(v, int | float | Dist) and not isinstance(v, bool)


def _raw_at(raw: Any, parts: list[str]) -> tuple[bool, Any]:
    node = raw
    for p in parts:
        if isinstance(node, dict):
            for key in (p, provenance_key(p)):
                if key in node:
                    node = node[key]
                    break
            else:
                return False, None
        else:
            return False, None
    return True, node


def _check_factor(
    base: LoadedScenario, name: str, lo: float, hi: float, where: str, line: int | None
) -> tuple[float | None, bool, str]:
    """Check that ``name`` is a numeric parameter and LO and HI are legal values; (baseline, integer, note)."""
    from sim import provenance
    from sim.params import Dist

    def err(problem: str, allowed: str | None = None) -> ScenarioError:
        return ScenarioError(problem, file=where, line=line, path=name, allowed=allowed)

    if name.split(".")[0] == "settings":
        raise err("settings are not parameters of the model", "--replicates, --seed and --weeks set them")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise err(f"bounds must be finite, got {lo}:{hi}", "LO:HI with finite LO < HI")
    if lo >= hi:
        raise err(f"LO must be below HI, got {lo:g}:{hi:g}", "LO:HI with LO < HI")
    numeric = {e.path: e.value for e in provenance.parameters(base.spec) if _is_number(e.value)}
    parts = name.split(".")
    found, raw_value = _raw_at(base.raw, parts)
    current = numeric.get(name, raw_value if found else None)
    if current is not None and not _is_number(current) and not (isinstance(current, dict) and len(current) == 1):
        kind = {str: "text", list: "a list", dict: "a section", bool: "a true/false switch"}.get(type(current), "")
        under = [p for p in numeric if p.startswith(name + ".")]
        allowed = ", ".join(under[:8]) if under else "a numeric parameter path, e.g. actors.russia.resolve"
        raise err(f"is {kind or type(current).__name__} ({_short(current)}), not a number; only numbers vary", allowed)
    mid = lo + 0.5 * (hi - lo)
    try:
        base.derive({name: mid})
    except ScenarioError as exc:
        if "unknown key" in exc.problem or "no key" in exc.problem:
            close = difflib.get_close_matches(name, list(numeric), n=3, cutoff=0.6)
            allowed = ", ".join(close) if close else (exc.allowed or "a numeric parameter path")
            raise err(f"no such parameter ({exc.problem})", allowed) from None
        if "integer" not in exc.problem:  # an integer parameter is told apart below
            raise err(exc.problem, exc.allowed) from None
    integer = False
    try:
        base.derive({name: mid if not float(mid).is_integer() else mid + 0.5})
    except ScenarioError as exc:
        if "integer" in exc.problem:
            integer = True
    if integer and not (float(lo).is_integer() and float(hi).is_integer()):
        raise err(f"takes whole numbers; bounds {lo:g}:{hi:g} are not", "integer LO:HI")
    for v in (lo, hi):
        try:
            base.with_overrides({name: int(v) if integer else v})
        except ScenarioError as exc:
            raise err(f"{v:g} is not a legal value: {exc.problem}", exc.allowed) from None
    baseline = float(current) if isinstance(current, int | float) and not isinstance(current, bool) else None
    note = ""
    if isinstance(current, Dist):
        baseline = float(current.mean)
        note = (
            f"a {current.kind} distribution in the scenario (mean {current.mean:.4g}, marked in plots); the sweep "
            "fixes it at each design point's value"
        )
    return baseline, integer, note


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


@dataclass
class _Block:
    spec: SweepSpec | None
    file: str
    locs: dict
    scenario: Path


def read_target(path: str | Path) -> _Block:
    """Read a scenario file (with or without a ``sweep:`` block) or a sweep file (``sweep:`` + ``scenario:``)."""
    from pydantic import ValidationError

    from sim.sweepspec import SweepFile
    from sim.yamlio import load_yaml

    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise ScenarioError("no such file", file=shown, allowed="a scenario or sweep YAML file")
    data, locs = load_yaml(path)
    if isinstance(data, dict) and "sweep" in data and "schema_version" not in data:
        try:
            spec = SweepFile.model_validate(data).sweep
        except ValidationError as exc:
            _raise(_pydantic_to_errors(exc, locs, shown))
        if not spec.scenario:
            raise ScenarioError(
                "a sweep file needs the scenario it varies",
                file=shown,
                line=_locate(locs, ("sweep",), shown)[1],
                path="sweep.scenario",
                allowed="a scenario file path, relative to this file",
            )
        scen = (path.parent / spec.scenario).resolve()
        if not scen.is_file():
            raise ScenarioError(
                f"no such scenario file ({scen})",
                file=shown,
                line=_locate(locs, ("sweep", "scenario"), shown)[1],
                path="sweep.scenario",
            )
        return _Block(spec, shown, locs, scen)
    loaded = load(path)
    return _Block(loaded.spec.sweep, shown, loaded.locs, path)


def make_plan(
    target: str | Path,
    *,
    vary: list[str] | None = None,
    design: str | None = None,
    samples: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    metrics: list[str] | None = None,
    seeding: str | None = None,
    sets: dict[str, Any] | None = None,
    discover: str | None = None,
    method: str | None = None,
) -> Plan:
    """Resolve a sweep from a file and command-line options, checking everything before any work.

    Args:
        target: A scenario file (its ``sweep:`` block, if any, gives defaults) or a sweep file.
        vary: ``PATH=LO:HI[:STEPS]`` items; when given they replace the block's factors.
        design: ``grid``, ``lhs``, ``sobol`` or ``morris`` (default: the block's, else grid).
        samples: Design size (lhs points, Sobol' base N, Morris trajectories); not for grid.
        replicates: Replicates per design point (default: the block's, else :data:`DEFAULT_REPLICATES`).
        seed: Root seed (default: the block's, else the scenario's).
        weeks: Horizon in weeks (default: the block's, else the scenario's).
        metrics: Metrics to analyse and plot (default :data:`DEFAULT_METRICS`).
        seeding: ``per_point`` or ``common`` (see :func:`point_seeds`).
        sets: ``--set`` overrides applied to the scenario before sweeping.
        discover: Scenario-discovery condition, e.g. ``"p_durable_ceasefire >= 0.5"``.
        method: Discovery method, ``cart`` or ``prim``.

    Returns:
        The :class:`Plan`, with every design point already validated.

    Raises:
        ScenarioError: unknown or non-numeric parameter, bad bounds, sample size that does not fit the design,
            an unknown metric; each naming where the problem is and what is allowed.
    """
    block = read_target(target)
    spec = block.spec
    base = load(block.scenario, overrides=sets or None)
    st = base.spec.settings

    def line_of(*loc: Any) -> int | None:
        return _locate(block.locs, ("sweep", *loc), block.file)[1] if spec is not None else None

    d = design or (spec.design if spec else "grid")
    if d not in DESIGNS:
        raise ScenarioError(f"unknown design {d!r}", file="--design", allowed=", ".join(DESIGNS))
    where_block = block.file
    # ---- factors: (name, lo, hi, steps, label, where, line)
    raw_factors: list[tuple[str, float, float, int | None, str | None, str, int | None]] = []
    if vary:
        for item in vary:
            name, lo, hi, steps = parse_vary(item)
            raw_factors.append((name, lo, hi, steps, None, f"--vary {item.strip()}", None))
    elif spec is not None:
        if spec.factors and spec.names:
            raise ScenarioError(
                "give factors: or names:/bounds: (SALib form), not both",
                file=where_block,
                line=line_of("names"),
                path="sweep.names",
            )
        if spec.names is not None:
            if spec.bounds is None or len(spec.bounds) != len(spec.names):
                raise ScenarioError(
                    f"names: has {len(spec.names)} entries but bounds: has "
                    f"{0 if spec.bounds is None else len(spec.bounds)}",
                    file=where_block,
                    line=line_of("bounds"),
                    path="sweep.bounds",
                    allowed="one [LO, HI] per name",
                )
            if spec.labels is not None and len(spec.labels) != len(spec.names):
                raise ScenarioError(
                    f"labels: has {len(spec.labels)} entries for {len(spec.names)} names",
                    file=where_block,
                    line=line_of("labels"),
                    path="sweep.labels",
                )
            for k, (name, (lo, hi)) in enumerate(zip(spec.names, spec.bounds, strict=True)):
                label = spec.labels[k] if spec.labels else None
                raw_factors.append((name, lo, hi, None, label, where_block, line_of("names", k)))
        for name, fs in spec.factors.items():
            raw_factors.append(
                (name, fs.bounds[0], fs.bounds[1], fs.steps, fs.label, where_block, line_of("factors", name))
            )
    if not raw_factors:
        raise ScenarioError(
            "nothing to vary",
            file=block.file,
            allowed="--vary PATH=LO:HI[:STEPS], or a sweep: block with factors: in the file",
        )
    names = [f[0] for f in raw_factors]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"parameter varied twice: {', '.join(dup)}", file=raw_factors[0][5])
    factors: list[Factor] = []
    for name, lo, hi, steps, label, where, line in raw_factors:
        if steps is not None and d != "grid":
            raise ScenarioError(
                f"STEPS applies to the grid design only, not {d}",
                file=where,
                line=line,
                path=name,
                allowed=f"PATH=LO:HI with --design {d} (its size is --samples)",
            )
        baseline, integer, note = _check_factor(base, name, lo, hi, where, line)
        if d == "grid":
            steps = steps or DEFAULT_STEPS
            if integer:
                steps = min(steps, int(hi - lo) + 1)
        factors.append(Factor(name, float(lo), float(hi), steps, label, baseline, integer, note))
    k = len(factors)
    # ---- settings
    n_samples = samples if samples is not None else (spec.samples if spec else None)
    if d == "grid":
        if samples is not None:
            raise ScenarioError(
                "the grid design takes steps per parameter, not --samples",
                file="--samples",
                allowed="--vary PATH=LO:HI:STEPS, or --design lhs|sobol|morris",
            )
        n_samples = None
    else:
        n_samples = n_samples or DEFAULT_SAMPLES[d]
        where_s = "--samples" if samples is not None else block.file
        line_s = None if samples is not None else line_of("samples")
        if n_samples < 1:
            raise ScenarioError(f"must be at least 1, got {n_samples}", file=where_s, path="samples")
        if d in ("sobol", "morris") and k < 2:
            raise ScenarioError(
                f"the {d} design needs at least 2 varied parameters, got {k}",
                file=where_s,
                line=line_s,
                allowed="a grid (response curve) for one parameter",
            )
        if d == "sobol" and (n_samples < 2 or n_samples & (n_samples - 1)):
            lower = 1 << max(1, n_samples.bit_length() - 1)
            raise ScenarioError(
                f"Sobol' sampling needs N to be a power of two, got {n_samples}",
                file=where_s,
                line=line_s,
                path="samples",
                allowed=f"a power of two such as {lower} or {lower * 2}",
            )
        if d == "lhs" and n_samples < 2:
            raise ScenarioError(f"a Latin hypercube needs at least 2 points, got {n_samples}", file=where_s)
    second_order = spec.second_order if spec else True
    num_levels = spec.num_levels if spec else 4
    if d == "morris" and num_levels % 2:
        raise ScenarioError(
            f"num_levels must be even for Morris sampling, got {num_levels}",
            file=block.file,
            line=line_of("num_levels"),
            path="sweep.num_levels",
            allowed="an even number such as 4 or 6",
        )
    reps = replicates if replicates is not None else (spec.replicates if spec and spec.replicates else None)
    reps = int(reps or DEFAULT_REPLICATES)
    root = int(seed if seed is not None else (spec.seed if spec and spec.seed is not None else st.seed))
    horizon = int(weeks if weeks is not None else (spec.weeks if spec and spec.weeks else st.weeks))
    if reps < 1 or horizon < 1 or root < 0:
        raise RunError("replicates and weeks must be at least 1 and the seed non-negative")
    seeding_ = seeding or (spec.seeds if spec else "per_point")
    if seeding_ not in ("per_point", "common"):
        raise ScenarioError(f"unknown seeding {seeding_!r}", file="--seeds", allowed="per_point, common")
    durable = (spec.durable.within, spec.durable.holds) if spec else (52, 104)
    known = metric_names(base, horizon, durable)
    # ---- metrics to analyse
    wanted = list(metrics) if metrics else (list(spec.metrics) if spec and spec.metrics else [])
    for m in wanted:
        if m not in known:
            hint = ""
            if m == "p_durable_ceasefire":
                hint = f" (it needs a horizon of at least {sum(durable)} weeks: --weeks {sum(durable)})"
            raise ScenarioError(
                f"unknown metric {m!r}{hint}",
                file="--metric" if metrics else block.file,
                line=None if metrics else line_of("metrics"),
                allowed=", ".join(x for x in known if not x.endswith(("_lo", "_hi"))),
            )
    if not wanted:
        wanted = [m for m in DEFAULT_METRICS if m in known] or [known[0]]
    # ---- discovery
    disc = None
    cond = discover or (spec.discover.condition if spec and spec.discover else None)
    if cond:
        from sim.discovery import parse_condition

        try:
            parse_condition(cond, known)
        except RunError as exc:
            where = "--discover" if discover else block.file
            raise ScenarioError(str(exc), file=where, line=None if discover else line_of("discover")) from None
        meth = method or (spec.discover.method if spec and spec.discover else "cart")
        thr = spec.discover.threshold if spec and spec.discover else 0.8
        disc = {"condition": cond, "method": meth, "threshold": thr}
    elif method:
        raise ScenarioError("--method needs --discover CONDITION", file="--method")
    # ---- design matrix and seeds
    X = design_matrix(factors, d, n_samples, second_order, num_levels, root)
    if X.shape[0] > MAX_POINTS:
        raise ScenarioError(
            f"the design has {X.shape[0]:,} points, more than {MAX_POINTS:,}",
            file=block.file,
            allowed="fewer steps or samples",
        )
    seeds = point_seeds(root, X.shape[0], seeding_)
    plan = Plan(
        base=base,
        source=block.file,
        factors=factors,
        design=d,
        samples=n_samples,
        second_order=second_order,
        num_levels=num_levels,
        replicates=reps,
        seed=root,
        weeks=horizon,
        seeding=seeding_,
        metrics=known,
        analysed=wanted,
        durable=durable,
        X=X,
        seeds=seeds,
        discover=disc,
    )
    from sim.runner import check_memory

    check_memory(base, reps, horizon)
    for i in range(plan.n_points):  # every point is a valid scenario before any work starts
        try:
            base.derive(plan.overrides(i))
        except ScenarioError as exc:
            values = ", ".join(f"{k}={v:g}" for k, v in plan.overrides(i).items())
            raise ScenarioError(
                f"design point {i} ({values}) is not a valid scenario: {exc.problem}",
                file=block.file,
                path=exc.path,
                allowed=exc.allowed,
            ) from None
    return plan


def design_matrix(
    factors: list[Factor], design: str, samples: int | None, second_order: bool, num_levels: int, seed: int
) -> np.ndarray:
    """The design points ``(n, k)`` in parameter units; integer factors rounded.

    grid: full factorial, the first factor varying slowest; lhs, sobol, morris: SALib's samplers
    (``latin``, ``sobol`` with Saltelli's scheme and scrambling, ``morris``), seeded with ``seed``.
    """
    if design == "grid":
        axes = [np.linspace(f.lo, f.hi, f.steps) for f in factors]
        axes = [np.unique(np.round(a)) if f.integer else a for a, f in zip(axes, factors, strict=True)]
        X = np.array(list(itertools.product(*axes)), dtype=float)
    else:
        problem = {
            "num_vars": len(factors),
            "names": [f.name for f in factors],
            "bounds": [[f.lo, f.hi] for f in factors],
        }
        if design == "lhs":
            from SALib.sample import latin

            X = latin.sample(problem, samples, seed=seed)
        elif design == "sobol":
            from SALib.sample import sobol

            X = sobol.sample(problem, samples, calc_second_order=second_order, scramble=True, seed=seed)
        else:
            from SALib.sample import morris

            X = morris.sample(problem, samples, num_levels=num_levels, seed=seed)
        X = np.asarray(X, dtype=float)
        for j, f in enumerate(factors):
            if f.integer:
                X[:, j] = np.round(X[:, j])
            X[:, j] = np.clip(X[:, j], f.lo, f.hi)
    return X


def point_seeds(root: int, n: int, seeding: str) -> np.ndarray:
    """Ensemble seed of each design point: from (root seed, point index), or the root seed for all (common)."""
    if seeding == "common":
        return np.full(n, root, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        s = np.random.SeedSequence([root & 0xFFFFFFFFFFFFFFFF, i]).generate_state(1, dtype=np.uint64)[0]
        out[i] = int(s >> np.uint64(1))
    return out


# ----------------------------------------------------------------------------- evaluating points


def evaluate(base: LoadedScenario, task: tuple) -> tuple[int, dict, float]:
    """Run design point ``task = (index, overrides, seed, replicates, weeks, durable)``.

    Returns:
        ``(index, metrics, seconds)``; the same in any process for the same task.
    """
    from sim.runner import run

    i, overrides, seed, replicates, weeks, durable = task
    t0 = time.perf_counter()
    result = run(base.derive(overrides), replicates=replicates, seed=seed, weeks=weeks)
    return i, point_metrics(result, durable), time.perf_counter() - t0


_WORKER_BASE: LoadedScenario | None = None
_DIE_ONCE: str | None = None


def _init_worker(base: LoadedScenario, die_once: str | None = None) -> None:
    """Process-pool initialiser: keep the base scenario; leave Ctrl-C to the parent."""
    import signal

    global _WORKER_BASE, _DIE_ONCE
    _WORKER_BASE = base
    _DIE_ONCE = die_once
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_evaluate(task: tuple) -> tuple[int, dict, float]:
    assert _WORKER_BASE is not None
    if _DIE_ONCE and os.path.exists(_DIE_ONCE):  # fault injection for the tests: a worker dies once
        os.remove(_DIE_ONCE)
        os._exit(1)
    return evaluate(_WORKER_BASE, task)


def _dask_evaluate(base: LoadedScenario, task: tuple) -> tuple[int, dict, float]:
    return evaluate(base, task)


DASK_CONNECT_TIMEOUT = "10s"
"""How long to try reaching a Dask scheduler before giving up (before any work starts)."""
BACKENDS = ("serial", "pool", "dask")
"""serial: in this process; pool: a local process pool (all cores by default); dask: Dask distributed."""


def _serial(plan: Plan, tasks: list[tuple], workers: int | None, scheduler: str | None, log) -> Iterator[tuple]:
    for t in tasks:
        yield evaluate(plan.base, t)


def _mp_context():
    """Worker start method: a fork server with negsim preloaded where there is one, else spawn.

    Forking the parent directly is unsafe once numpy's BLAS threads exist; a fresh interpreter per
    worker (spawn) pays ~1.5 s of imports each time. The fork server imports negsim once and forks
    workers from that clean, single-purpose process; it does not re-import the caller's ``__main__``,
    so scripts without an ``if __name__ == "__main__":`` guard work too.
    """
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.sweep", "sim.runner"])
        return ctx
    return mp.get_context("spawn")


def _pool(plan: Plan, tasks: list[tuple], workers: int | None, scheduler: str | None, log) -> Iterator[tuple]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    n_workers = workers or os.cpu_count() or 1
    pending = {t[0]: t for t in tasks}
    restarts = 0
    ctx = _mp_context()
    while pending:
        ex = ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(plan.base, os.environ.get("NEGSIM_TEST_DIE_ONCE")),
        )
        broken = False
        try:
            futs = {}
            queue = list(pending.values())
            ahead = 4 * n_workers  # bounded look-ahead keeps memory flat for huge designs
            pos = 0
            while pos < len(queue) and len(futs) < ahead:
                futs[ex.submit(_pool_evaluate, queue[pos])] = queue[pos][0]
                pos += 1
            while futs:
                done, _ = wait(list(futs), return_when=FIRST_COMPLETED)
                for f in done:
                    i = futs.pop(f)
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    pending.pop(i, None)
                    yield res
                if broken:
                    break
                while pos < len(queue) and len(futs) < ahead:
                    futs[ex.submit(_pool_evaluate, queue[pos])] = queue[pos][0]
                    pos += 1
        finally:
            ex.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            restarts += 1
            if restarts > 3:
                raise RunError(
                    "worker processes kept dying (4 times); finished points are saved: re-run the same command "
                    'to resume. From a Python script, call run_sweep under `if __name__ == "__main__":` '
                    "(worker processes re-import the script), or use backend='serial'"
                )
            log(f"a worker process died; restarting the pool (restart {restarts} of 3), {len(pending)} points left")


def _dask_client(workers: int | None, scheduler: str | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise RunError("the dask backend needs Dask: pip install 'negsim[dask]'") from None
    if scheduler in (None, "local"):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        return Client(cluster), cluster
    if not re.match(r"^(tcp|tls|inproc|ucx)://[^\s]+$", scheduler):
        raise RunError(f"--scheduler {scheduler!r}: expected 'local' or an address such as tcp://HOST:8786")
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise RunError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (something answered, but not a Dask scheduler)
        raise RunError(
            f"no Dask scheduler at {scheduler}: the connection failed with {type(exc).__name__} "
            "(is that the scheduler's address and port, e.g. tcp://HOST:8786?)"
        ) from None
    return client, None


def _dask(plan: Plan, tasks: list[tuple], workers: int | None, scheduler: str | None, log) -> Iterator[tuple]:
    from dask.distributed import as_completed

    client, cluster = plan._dask if getattr(plan, "_dask", None) else _dask_client(workers, scheduler)
    try:
        base_f = client.scatter(plan.base, broadcast=True)
        key = plan.key[:12]
        futs = [
            client.submit(_dask_evaluate, base_f, t, key=f"negsim-{key}-{t[0]}", pure=False, retries=3) for t in tasks
        ]
        try:
            for f in as_completed(futs):
                yield f.result()
        finally:
            client.cancel(futs)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------- the sweep folder


def default_folder(plan: Plan, root: Path = Path("runs") / "sweeps") -> Path:
    """``runs/sweeps/NAME-DESIGN-KEY``: the same sweep always maps to the same folder (so it resumes)."""
    return root / f"{plan.name}-{plan.design}-{plan.key[:10]}"


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        return repr(float(v)) if math.isfinite(v) else ""
    return str(v)


def _atomic(path: Path, data: bytes) -> None:
    from sim.output import atomic_write_bytes

    atomic_write_bytes(path, data)


def _csv(header: list[str], rows: list[list]) -> bytes:
    """CSV at full float precision (the table must round-trip exactly for resumed sweeps)."""
    from sim.output import csv_bytes

    return csv_bytes(header, rows, fmt=_fmt)


class _Lock:
    """An exclusive lock on the sweep folder (two runs appending to one log would corrupt it)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self.fh = None

    def __enter__(self) -> _Lock:
        import fcntl

        self.fh = open(self.path, "a+")  # noqa: SIM115 (held for the whole sweep)
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise RunError(f"another negsim sweep is running in {self.path.parent}; wait for it or use --out") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        import fcntl

        if self.fh is not None:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()


def read_log(path: Path, n_points: int) -> dict[int, dict]:
    """Finished points from ``points.jsonl``; a line cut short by a kill (the last one) is dropped."""
    done: dict[int, dict] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    good = 0
    pos = 0
    for raw in data.splitlines(keepends=True):
        end = pos + len(raw)
        try:
            if not raw.endswith(b"\n"):
                raise ValueError("unterminated")
            rec = json.loads(raw)
            i = int(rec["point"])
            if not 0 <= i < n_points:
                raise ValueError("point out of range")
            done.setdefault(i, rec)
            good = end
        except (ValueError, KeyError, TypeError):
            if end < len(data):
                raise RunError(f"{path}: unreadable record at byte {pos}; the sweep log is damaged") from None
        pos = end
    if good < len(data):  # a partial last line from a kill: cut it off so appends stay well-formed
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return done


@dataclass
class SweepResult:
    """A finished (or interrupted) sweep.

    Attributes:
        plan: What was swept.
        folder: The sweep folder.
        table: One row per finished design point (pandas DataFrame): point, seed, factors, metrics.
        complete: All design points are finished.
        ran: Points computed by this call (the rest were resumed from the folder).
        seconds: Wall time of this call.
        sensitivity: Metric → indices table (sobol / morris designs).
        discovery: The scenario-discovery result, if one was asked for.
        files: Output files written (names in the folder).
        notes: Things the user should know (e.g. a metric that could not be analysed).
    """

    plan: Plan
    folder: Path
    table: Any
    complete: bool
    ran: int
    seconds: float
    sensitivity: dict = field(default_factory=dict)
    discovery: Any = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, metric: str | None = None):
        """The plot of one metric (default: the first analysed), as a matplotlib Figure.

        A heatmap for a 2-parameter grid, a response curve for a 1-parameter grid, the Sobol'/Morris
        index chart for those designs, scatter panels otherwise.
        """
        from sim import sweep_plots

        plan, m = self.plan, metric or self.plan.analysed[0]
        if m not in plan.metrics:
            raise RunError(f"unknown metric {m!r} (allowed: {', '.join(plan.metrics)})")
        factors = [f.as_dict() for f in plan.factors]
        info = _title_info(plan)
        if plan.design in ("sobol", "morris"):
            if m not in self.sensitivity:
                raise RunError(f"no {plan.design} indices for {m!r}; analysed: {', '.join(self.sensitivity) or 'none'}")
            return sweep_plots.indices(self.sensitivity[m], factors, m, plan.design, info)
        kind = _plot_kind(plan)
        if kind == "heatmap":
            return sweep_plots.heatmap(self.table, factors, m, info)
        if kind == "response":
            return sweep_plots.response(self.table, factors[0], m, info)
        return sweep_plots.scatter(self.table, factors, m, info)

    def discovery_figure(self):
        """The scenario-discovery plot (box limits, points, PRIM trade-off), if discovery was run."""
        from sim import discovery

        if self.discovery is None:
            raise RunError("no scenario discovery in this sweep (use discover=... / --discover)")
        return discovery.plot(
            self.discovery, self.table, [f.as_dict() for f in self.plan.factors], _title_info(self.plan)
        )


def _plot_kind(plan: Plan) -> str:
    if plan.design == "grid" and len(plan.factors) == 2:
        return "heatmap"
    if plan.design == "grid" and len(plan.factors) == 1:
        return "response"
    return "scatter"


class SweepInterrupted(RunError):
    """The sweep was stopped (Ctrl-C); finished points are saved and the same command resumes."""


def _table_rows(plan: Plan, done: dict[int, dict]) -> tuple[list[str], list[list]]:
    header = ["point", "seed", *[f.name for f in plan.factors], *plan.metrics]
    rows = []
    for i in sorted(done):
        rec = done[i]["metrics"]
        ov = plan.overrides(i)
        rows.append([i, int(plan.seeds[i]), *[ov[f.name] for f in plan.factors], *[rec.get(m) for m in plan.metrics]])
    return header, rows


def _write_table(plan: Plan, folder: Path, done: dict[int, dict]) -> None:
    header, rows = _table_rows(plan, done)
    _atomic(folder / "results.csv", _csv(header, rows))


def to_frame(plan: Plan, done: dict[int, dict]):
    """The results table as a pandas DataFrame (NaN where a metric is undefined)."""
    import pandas as pd

    header, rows = _table_rows(plan, done)
    df = pd.DataFrame(rows, columns=header)
    for m in plan.metrics:
        df[m] = pd.to_numeric(df[m], errors="coerce").astype(float)
    return df


def _prepare(plan: Plan, folder: Path) -> None:
    from sim.output import versions

    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "sweep.json"
    if meta.exists():
        try:
            old = json.loads(meta.read_text())
        except (OSError, ValueError):
            raise RunError(f"{meta} is unreadable; this is not a negsim sweep folder") from None
        if old.get("key") != plan.key:
            raise RunError(
                f"{folder} holds a different sweep (other scenario files, factors, design or settings); "
                "choose another --out, or remove that folder"
            )
        return
    if any(p for p in folder.iterdir() if not p.name.startswith(".")):
        raise RunError(f"{folder} is not empty and holds no sweep; choose another --out")
    info = {
        "key": plan.key,
        "scenario": plan.name,
        "scenario_file": str(plan.base.path),
        "sweep_source": plan.source,
        "scenario_files_sha256": dict(plan.base.files),
        "overrides": dict(plan.base.overrides),
        "factors": [f.as_dict() for f in plan.factors],
        "design": {
            "kind": plan.design,
            "samples": plan.samples,
            "steps": [f.steps for f in plan.factors] if plan.design == "grid" else None,
            "second_order": plan.second_order,
            "num_levels": plan.num_levels,
        },
        "points": plan.n_points,
        "replicates": plan.replicates,
        "seed": plan.seed,
        "weeks": plan.weeks,
        "seeds": plan.seeding,
        "durable": {"within": plan.durable[0], "holds": plan.durable[1]},
        "metrics": {m: METRIC_INFO.get(m, (None, None, None))[2] for m in plan.metrics if m in METRIC_INFO},
        "identity": plan.identity(),
        "versions": versions(),
        "command": plan.command or sys.argv,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows = [[i, int(plan.seeds[i]), *plan.overrides(i).values()] for i in range(plan.n_points)]
    _atomic(folder / "design.csv", _csv(["point", "seed", *[f.name for f in plan.factors]], rows))
    from sim.output import json_bytes

    _atomic(meta, json_bytes(info))  # last: a folder with sweep.json is a complete start


def run_sweep(
    plan: Plan,
    out: str | Path | None = None,
    *,
    backend: str = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    plots: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    table_every_s: float = 5.0,
) -> SweepResult:
    """Run (or resume) a sweep and analyse it.

    Args:
        plan: From :func:`make_plan`.
        out: The sweep folder (default :func:`default_folder`); an existing folder of the same sweep resumes.
        backend: ``serial``, ``pool`` (default; ``workers`` processes, all cores by default) or ``dask``.
        workers: Worker processes (pool, local Dask cluster).
        scheduler: Dask only: ``local`` (a LocalCluster, the default) or ``tcp://HOST:PORT``.
        plots: Write the analysis plots.
        progress: Show a progress bar (points done, rate, time left) on stderr.
        log: Where to send one-line notes (default: stderr).
        table_every_s: Rewrite ``results.csv`` at most this often while running (and always at the end).

    Returns:
        The :class:`SweepResult`.

    Raises:
        SweepInterrupted: on Ctrl-C, after saving what is finished.
        RunError: a folder holding another sweep, an unreachable scheduler, dying workers.
    """
    if log is None:

        def log(msg: str) -> None:
            print(f"negsim: {msg}", file=sys.stderr)

    if backend not in BACKENDS:
        raise RunError(f"unknown backend {backend!r} (allowed: {', '.join(BACKENDS)})")
    if workers is not None and workers < 1:
        raise RunError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and backend != "dask":
        raise RunError("--scheduler applies to --backend dask only")
    if backend == "dask":  # connect before any work: an unreachable scheduler is an error up front
        plan._dask = _dask_client(workers, scheduler)  # type: ignore[attr-defined]
    folder = Path(out) if out is not None else default_folder(plan)
    t0 = time.perf_counter()
    try:
        _prepare(plan, folder)
    except BaseException:
        _close_dask(plan)
        raise
    with _Lock(folder):
        log_path = folder / "points.jsonl"
        done = read_log(log_path, plan.n_points)
        todo = [i for i in range(plan.n_points) if i not in done]
        tasks = [(i, plan.overrides(i), int(plan.seeds[i]), plan.replicates, plan.weeks, plan.durable) for i in todo]
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(
                total=plan.n_points, initial=len(done), unit="pt", desc=plan.name, file=sys.stderr, smoothing=0.05
            )
        ran = 0
        last_table = time.monotonic()
        gen = {"serial": _serial, "pool": _pool, "dask": _dask}[backend](plan, tasks, workers, scheduler, log)
        try:
            with open(log_path, "ab") as fh:
                for i, metrics, seconds in gen:
                    rec = {"point": int(i), "metrics": metrics, "seconds": round(seconds, 4)}
                    fh.write(json.dumps(rec, sort_keys=True).encode() + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                    done[int(i)] = rec
                    ran += 1
                    if bar is not None:
                        bar.update(1)
                    if time.monotonic() - last_table > table_every_s:
                        _write_table(plan, folder, done)
                        last_table = time.monotonic()
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                gen.close()
            _write_table(plan, folder, done)
            raise SweepInterrupted(
                f"interrupted after {len(done):,} of {plan.n_points:,} design points; they are saved in {folder}. "
                "Re-run the same command to resume."
            ) from None
        finally:
            if bar is not None:
                bar.close()
            if backend == "dask" and not todo:
                _close_dask(plan)
        _write_table(plan, folder, done)
        result = SweepResult(
            plan=plan,
            folder=folder,
            table=to_frame(plan, done),
            complete=len(done) == plan.n_points,
            ran=ran,
            seconds=time.perf_counter() - t0,
        )
        if result.complete:
            analyse(result, plots=plots)
    return result


def _close_dask(plan: Plan) -> None:
    pair = getattr(plan, "_dask", None)
    if pair:
        client, cluster = pair
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        plan._dask = None  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- analysis


def _title_info(plan: Plan) -> dict:
    return {
        "scenario": plan.base.spec.title or plan.name,
        "replicates": plan.replicates,
        "seed": plan.seed,
        "points": plan.n_points,
        "design": plan.design,
        "weeks": plan.weeks,
    }


def _save(fig: Any, path: Path) -> None:
    from sim.output import _save_fig

    _save_fig(fig, path, "png")


def _slug(text: str) -> str:
    text = text.replace(">=", " ge ").replace("<=", " le ").replace(">", " gt ").replace("<", " lt ")
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def analyse(result: SweepResult, plots: bool = True) -> None:
    """Sensitivity indices, plots and discovery for a complete sweep; fills ``result`` and writes files."""
    from sim import sensitivity
    from sim.output import json_bytes

    plan, folder, table = result.plan, result.folder, result.table
    factors = [f.as_dict() for f in plan.factors]
    X = table[[f.name for f in plan.factors]].to_numpy(dtype=float)
    files = ["sweep.json", "design.csv", "points.jsonl", "results.csv"]
    sens_rows: list[list] = []
    for m in plan.analysed:
        y = table[m].to_numpy(dtype=float)
        if plan.design in ("sobol", "morris"):
            try:
                if plan.design == "sobol":
                    df = sensitivity.sobol(factors, X, y, second_order=plan.second_order, seed=plan.seed)
                else:
                    df = sensitivity.morris(factors, X, y, num_levels=plan.num_levels, seed=plan.seed)
            except RunError as exc:
                result.notes.append(f"{m}: no {plan.design} indices: {exc}")
                continue
            result.sensitivity[m] = df
            if plan.design == "sobol":
                for r in df.itertuples(index=False):
                    sens_rows.append([m, r.index, r.parameter, r.parameter_2, r.value, r.conf])
            else:
                for r in df.itertuples(index=False):
                    sens_rows.append([m, r.parameter, r.mu, r.mu_star, r.mu_star_conf, r.sigma])
            if plots:
                name = f"{plan.design}-{m}.png"
                _save(result.figure(m), folder / name)
                files.append(name)
        elif plots:
            name = f"{_plot_kind(plan)}-{m}.png"
            _save(result.figure(m), folder / name)
            files.append(name)
    if sens_rows:
        header = (
            ["metric", "index", "parameter", "parameter_2", "value", "conf95"]
            if plan.design == "sobol"
            else ["metric", "parameter", "mu", "mu_star", "mu_star_conf95", "sigma"]
        )
        _atomic(folder / "sensitivity.csv", _csv(header, sens_rows))
        files.append("sensitivity.csv")
    if plan.discover:
        from sim import discovery

        d = plan.discover
        res = discovery.discover(
            table, factors, d["condition"], method=d["method"], seed=plan.seed, threshold=d["threshold"]
        )
        result.discovery = res
        stem = f"discovery-{d['method']}-{_slug(d['condition'])}"
        _atomic(folder / f"{stem}.json", json_bytes(res.to_dict()))
        header, rows = res.boxes_table()
        _atomic(folder / f"{stem}.csv", _csv(header, rows))
        files += [f"{stem}.json", f"{stem}.csv"]
        if plots:
            _save(result.discovery_figure(), folder / f"{stem}.png")
            files.append(f"{stem}.png")
    hashes = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in files if f != "points.jsonl"}
    manifest = {
        "sweep_key": plan.key,
        "points": plan.n_points,
        "complete": True,
        "outputs_sha256": hashes,
        "notes": result.notes,
    }
    _atomic(folder / "manifest.json", json_bytes(manifest))
    result.files = [*files, "manifest.json"]
