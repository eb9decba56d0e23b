"""A sweep's plan: its factors, design matrix and per-point seeds, checked before any work.

See :mod:`sim.experiments.sweep` for what a sweep is; :func:`make_plan` turns a scenario (or a
sweep file) and command-line options into a :class:`Plan`.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from sim.engine.runner import check_memory
from sim.errors import RunError, ScenarioError
from sim.experiments.discovery import parse_condition
from sim.experiments.metrics import DEFAULT_METRICS, metric_names
from sim.scenario import provenance
from sim.scenario.loader import LoadedScenario, errors_from_pydantic, load, locate, raise_errors
from sim.scenario.params import Dist
from sim.scenario.sweepspec import DESIGNS, SweepFile, SweepSpec
from sim.scenario.yamlio import load_yaml
from sim.version import __version__

DEFAULT_REPLICATES = 1000
"""Replicates per design point when neither the command nor the sweep block says."""
DEFAULT_STEPS = 5
"""Grid points per factor when a grid factor gives no steps."""
DEFAULT_SAMPLES = {"lhs": 100, "sobol": 128, "morris": 20}
"""Default ``samples`` per design (lhs: points; sobol: base N; morris: trajectories)."""
MAX_POINTS = 2_000_000
"""The most design points one sweep may have."""

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
    return isinstance(v, int | float | Dist) and not isinstance(v, bool)


def _raw_at(raw: Any, parts: list[str]) -> tuple[bool, Any]:
    node = raw
    for p in parts:
        if isinstance(node, dict):
            for key in (p, provenance.path_part(p)):
                if key in node:
                    node = node[key]
                    break
            else:
                return False, None
        else:
            return False, None
    return True, node


def check_factor(
    base: LoadedScenario, name: str, lo: float, hi: float, where: str, line: int | None
) -> tuple[float | None, bool, str]:
    """Check that ``name`` is a numeric parameter and LO and HI are legal values; (baseline, integer, note)."""

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
    """Where a sweep comes from: its ``sweep:`` block (None without one), file, key locations and scenario."""

    spec: SweepSpec | None
    file: str
    locs: dict
    scenario: Path

    def line_of(self, *loc: Any) -> int | None:
        """The line of ``sweep.<loc>`` in the file (None without a block, or if unknown)."""
        return locate(self.locs, ("sweep", *loc), self.file)[1] if self.spec is not None else None


def read_target(path: str | Path) -> _Block:
    """Read a scenario file (with or without a ``sweep:`` block) or a sweep file (``sweep:`` + ``scenario:``)."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise ScenarioError("no such file", file=shown, allowed="a scenario or sweep YAML file")
    data, locs = load_yaml(path)
    if isinstance(data, dict) and "sweep" in data and "schema_version" not in data:
        try:
            spec = SweepFile.model_validate(data).sweep
        except ValidationError as exc:
            raise_errors(errors_from_pydantic(exc, locs, shown))
        if not spec.scenario:
            raise ScenarioError(
                "a sweep file needs the scenario it varies",
                file=shown,
                line=locate(locs, ("sweep",), shown)[1],
                path="sweep.scenario",
                allowed="a scenario file path, relative to this file",
            )
        scen = (path.parent / spec.scenario).resolve()
        if not scen.is_file():
            raise ScenarioError(
                f"no such scenario file ({scen})",
                file=shown,
                line=locate(locs, ("sweep", "scenario"), shown)[1],
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
    d = design or (spec.design if spec else "grid")
    if d not in DESIGNS:
        raise ScenarioError(f"unknown design {d!r}", file="--design", allowed=", ".join(DESIGNS))
    factors = [_factor(base, src, d) for src in _factor_sources(block, vary)]
    n_samples = _samples(block, d, samples, len(factors))
    second_order = spec.second_order if spec else True
    num_levels = spec.num_levels if spec else 4
    if d == "morris" and num_levels % 2:
        raise ScenarioError(
            f"num_levels must be even for Morris sampling, got {num_levels}",
            file=block.file,
            line=block.line_of("num_levels"),
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
    analysed = _analysed(block, metrics, known, durable)
    disc = _discovery(block, discover, method, known)
    X = design_matrix(factors, d, n_samples, second_order, num_levels, root)
    if X.shape[0] > MAX_POINTS:
        raise ScenarioError(
            f"the design has {X.shape[0]:,} points, more than {MAX_POINTS:,}",
            file=block.file,
            allowed="fewer steps or samples",
        )
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
        analysed=analysed,
        durable=durable,
        X=X,
        seeds=point_seeds(root, X.shape[0], seeding_),
        discover=disc,
    )
    check_memory(base, reps, horizon)
    _check_points(plan, block.file)
    return plan


@dataclass(frozen=True)
class _FactorSource:
    """A factor as given, before it is checked against the scenario.

    Attributes:
        name: Key path.
        lo: Lower bound.
        hi: Upper bound.
        steps: Grid points, if given.
        label: Axis label, if given.
        where: Where it was given (``--vary ...`` or the file), for errors.
        line: Its line in that file, if known.
    """

    name: str
    lo: float
    hi: float
    steps: int | None
    label: str | None
    where: str
    line: int | None


def _factor_sources(block: _Block, vary: list[str] | None) -> list[_FactorSource]:
    """The factors of ``--vary`` (which replace the file's), else of the ``sweep:`` block."""
    spec, where = block.spec, block.file
    out: list[_FactorSource] = []
    if vary:
        for item in vary:
            name, lo, hi, steps = parse_vary(item)
            out.append(_FactorSource(name, lo, hi, steps, None, f"--vary {item.strip()}", None))
    elif spec is not None:
        if spec.factors and spec.names:
            raise ScenarioError(
                "give factors: or names:/bounds: (SALib form), not both",
                file=where,
                line=block.line_of("names"),
                path="sweep.names",
            )
        if spec.names is not None:
            if spec.bounds is None or len(spec.bounds) != len(spec.names):
                raise ScenarioError(
                    f"names: has {len(spec.names)} entries but bounds: has "
                    f"{0 if spec.bounds is None else len(spec.bounds)}",
                    file=where,
                    line=block.line_of("bounds"),
                    path="sweep.bounds",
                    allowed="one [LO, HI] per name",
                )
            if spec.labels is not None and len(spec.labels) != len(spec.names):
                raise ScenarioError(
                    f"labels: has {len(spec.labels)} entries for {len(spec.names)} names",
                    file=where,
                    line=block.line_of("labels"),
                    path="sweep.labels",
                )
            for k, (name, (lo, hi)) in enumerate(zip(spec.names, spec.bounds, strict=True)):
                label = spec.labels[k] if spec.labels else None
                out.append(_FactorSource(name, lo, hi, None, label, where, block.line_of("names", k)))
        for name, fs in spec.factors.items():
            out.append(
                _FactorSource(
                    name, fs.bounds[0], fs.bounds[1], fs.steps, fs.label, where, block.line_of("factors", name)
                )
            )
    if not out:
        raise ScenarioError(
            "nothing to vary",
            file=block.file,
            allowed="--vary PATH=LO:HI[:STEPS], or a sweep: block with factors: in the file",
        )
    names = [f.name for f in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"parameter varied twice: {', '.join(dup)}", file=out[0].where)
    return out


def _factor(base: LoadedScenario, src: _FactorSource, design: str) -> Factor:
    """A checked :class:`Factor`: the path is a numeric parameter, the bounds are legal, grid steps fit."""
    steps = src.steps
    if steps is not None and design != "grid":
        raise ScenarioError(
            f"STEPS applies to the grid design only, not {design}",
            file=src.where,
            line=src.line,
            path=src.name,
            allowed=f"PATH=LO:HI with --design {design} (its size is --samples)",
        )
    baseline, integer, note = check_factor(base, src.name, src.lo, src.hi, src.where, src.line)
    if design == "grid":
        steps = steps or DEFAULT_STEPS
        if integer:
            steps = min(steps, int(src.hi - src.lo) + 1)
    return Factor(src.name, float(src.lo), float(src.hi), steps, src.label, baseline, integer, note)


def _samples(block: _Block, design: str, samples: int | None, k: int) -> int | None:
    """The design's size (None for a grid), checked against the design: Sobol' needs a power of two, etc."""
    spec = block.spec
    if design == "grid":
        if samples is not None:
            raise ScenarioError(
                "the grid design takes steps per parameter, not --samples",
                file="--samples",
                allowed="--vary PATH=LO:HI:STEPS, or --design lhs|sobol|morris",
            )
        return None
    n = samples if samples is not None else (spec.samples if spec else None)
    n = n or DEFAULT_SAMPLES[design]
    where = "--samples" if samples is not None else block.file
    line = None if samples is not None else block.line_of("samples")
    if n < 1:
        raise ScenarioError(f"must be at least 1, got {n}", file=where, path="samples")
    if design in ("sobol", "morris") and k < 2:
        raise ScenarioError(
            f"the {design} design needs at least 2 varied parameters, got {k}",
            file=where,
            line=line,
            allowed="a grid (response curve) for one parameter",
        )
    if design == "sobol" and (n < 2 or n & (n - 1)):
        lower = 1 << max(1, n.bit_length() - 1)
        raise ScenarioError(
            f"Sobol' sampling needs N to be a power of two, got {n}",
            file=where,
            line=line,
            path="samples",
            allowed=f"a power of two such as {lower} or {lower * 2}",
        )
    if design == "lhs" and n < 2:
        raise ScenarioError(f"a Latin hypercube needs at least 2 points, got {n}", file=where)
    return n


def _analysed(block: _Block, metrics: list[str] | None, known: list[str], durable: tuple[int, int]) -> list[str]:
    """The metrics to analyse and plot: those asked for (each one known), else the defaults."""
    spec = block.spec
    wanted = list(metrics) if metrics else (list(spec.metrics) if spec and spec.metrics else [])
    for m in wanted:
        if m not in known:
            hint = ""
            if m == "p_durable_ceasefire":
                hint = f" (it needs a horizon of at least {sum(durable)} weeks: --weeks {sum(durable)})"
            raise ScenarioError(
                f"unknown metric {m!r}{hint}",
                file="--metric" if metrics else block.file,
                line=None if metrics else block.line_of("metrics"),
                allowed=", ".join(x for x in known if not x.endswith(("_lo", "_hi"))),
            )
    return wanted or [m for m in DEFAULT_METRICS if m in known] or [known[0]]


def _discovery(block: _Block, discover: str | None, method: str | None, known: list[str]) -> dict | None:
    """Scenario discovery's condition, method and threshold, or None; the condition is parsed here."""
    spec = block.spec
    cond = discover or (spec.discover.condition if spec and spec.discover else None)
    if not cond:
        if method:
            raise ScenarioError("--method needs --discover CONDITION", file="--method")
        return None
    try:
        parse_condition(cond, known)
    except RunError as exc:
        where = "--discover" if discover else block.file
        raise ScenarioError(str(exc), file=where, line=None if discover else block.line_of("discover")) from None
    meth = method or (spec.discover.method if spec and spec.discover else "cart")
    thr = spec.discover.threshold if spec and spec.discover else 0.8
    return {"condition": cond, "method": meth, "threshold": thr}


def _check_points(plan: Plan, file: str) -> None:
    """Every design point is a valid scenario, before any work starts."""
    for i in range(plan.n_points):
        try:
            plan.base.derive(plan.overrides(i))
        except ScenarioError as exc:
            values = ", ".join(f"{k}={v:g}" for k, v in plan.overrides(i).items())
            raise ScenarioError(
                f"design point {i} ({values}) is not a valid scenario: {exc.problem}",
                file=file,
                path=exc.path,
                allowed=exc.allowed,
            ) from None


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
            from SALib.sample import latin  # deferred: SALib (with scipy) loads only for these designs

            X = latin.sample(problem, samples, seed=seed)
        elif design == "sobol":
            from SALib.sample import sobol  # deferred: SALib (with scipy) loads only for these designs

            X = sobol.sample(problem, samples, calc_second_order=second_order, scramble=True, seed=seed)
        else:
            from SALib.sample import morris  # deferred: SALib (with scipy) loads only for these designs

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
