"""Calibration: which parameter values are consistent with what has been observed (ABC-SMC).

``negsim calibrate`` fits some of a scenario's numeric parameters (by key path, as in sweeps) to
observed facts stated as targets: a metric of an ensemble, an observed value and its uncertainty
(``p_ceasefire_by_60w=0±0.03``: no ceasefire in the first 60 weeks of talks). Every candidate
parameter vector is a full Monte Carlo ensemble on the vectorised engine; the method is
approximate Bayesian computation by sequential Monte Carlo (ABC-SMC; Toni et al. 2009, with the
importance weights and the perturbation kernel of Beaumont et al. 2009, "Adaptive approximate
Bayesian computation", Biometrika 96:983-990, and the adaptive tolerance of Del Moral et al.
2012):

1. Generation 0 draws ``particles`` vectors from the prior; every one is accepted.
2. Generation ``t`` sets the tolerance ``eps_t`` to the ``quantile`` of generation ``t - 1``'s
   distances (never below ``min_epsilon``), proposes candidates by drawing a particle of
   ``t - 1`` by weight and moving it with a Gaussian kernel of twice the particles' weighted
   covariance, and accepts those whose distance is at most ``eps_t`` until ``particles`` are
   accepted. Weights: ``prior(theta) / sum_j w_j K(theta | theta_j)``.
3. It stops when the tolerance reaches ``min_epsilon``, after ``generations`` generations, or when
   a generation would need more than ``max_candidates`` times ``particles`` candidates (then the
   last complete generation is the posterior, and the notes say so).

The distance of a candidate is the root mean square of its targets' z-scores,
``sqrt(mean_k ((simulated_k - observed_k) / sd_k)^2)``: the tolerance is in units of the targets'
standard deviations, so ``min_epsilon = 1`` accepts candidates whose simulated metrics are, on
average, within one stated SD of the observations. A metric that is undefined for a candidate
(a survival with no ceasefire to follow) gives an infinite distance.

Deterministic and resumable: candidate ``k`` of generation ``t`` (its proposal and its ensemble
seed) depends only on the root seed, ``t``, ``k`` and the accepted particles of ``t - 1``; the
accepted set is the first ``particles`` accepted candidates by index. Each evaluated candidate is
appended to ``particles.jsonl`` as it arrives, so a run interrupted by Ctrl-C or a kill resumes
to the same posterior, on any backend (serial, process pool, Dask).

Folder layout::

    calibration.json   what was fitted: scenario files and hashes, parameters and priors, targets, settings
    particles.jsonl    every evaluated candidate (the resume log)
    generations.csv    per generation: tolerance, candidates evaluated, accepted, acceptance rate, ESS
    posterior.csv      the final population: particle, weight, one column per fitted key path, distance, targets
    targets.csv        each target: observed, SD, source; simulated median and 90% interval under prior and posterior
    posterior.yaml     a scenario extending the calibrated one, the fitted parameters as distributions with sources
    posterior.png      marginals and pairs of the posterior against the prior
    predictive.png     each target's observed value against its prior and posterior predictive distributions
    manifest.json      SHA-256 of every output, written last
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.engine.runner import ensemble_settings
from sim.errors import RunError, ScenarioError
from sim.experiments import backends
from sim.experiments.metrics import metric_names, week_metric
from sim.experiments.plan import check_factor, parse_vary
from sim.fileio import atomic_write_bytes, csv_bytes, json_bytes, save_figure
from sim.output.runfolder import versions
from sim.scenario.loader import LoadedScenario, errors_from_pydantic, load, locate, raise_errors
from sim.scenario.yamlio import load_yaml
from sim.version import __version__

DEFAULT_PARTICLES = 200
"""Accepted particles per generation."""
DEFAULT_GENERATIONS = 8
"""The most generations (generation 0, the prior, included)."""
DEFAULT_REPLICATES = 1000
"""Replicates of each candidate's ensemble."""
DEFAULT_QUANTILE = 0.5
"""Each generation's tolerance: this quantile of the previous generation's distances."""
DEFAULT_MIN_EPSILON = 1.0
"""Stop once the tolerance reaches this RMS z-score (targets within one SD on average)."""
MAX_CANDIDATES = 40
"""A generation may evaluate at most this many candidates per particle before the calibration stops."""
PILE_UP_SHARE = 0.25
"""A fitted parameter "piles up" at a bound when this share of the posterior weight lies in the outer
5% of its range at that bound (a uniform prior puts 5% there)."""
PRIORS = {"uniform": 0, "normal": 2, "beta": 2, "triangular": 1}
"""Prior kinds and how many numbers each takes; all are restricted to the fitted range [LO, HI]:
``uniform`` (no numbers), ``normal: [mean, sd]`` (truncated), ``beta: [a, b]`` (on [LO, HI]),
``triangular: [mode]``."""
TARGET_RE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*([^±+]+?)\s*(?:±|\+-|\+/-)\s*(\S+)\s*$")


# ----------------------------------------------------------------------------- priors, parameters, targets


@dataclass(frozen=True)
class Prior:
    """A prior over one fitted parameter, restricted to ``[lo, hi]``.

    Attributes:
        kind: ``uniform``, ``normal``, ``beta`` or ``triangular`` (see :data:`PRIORS`).
        args: Its numbers: none, ``(mean, sd)``, ``(a, b)`` or ``(mode,)``.
        lo: Lower end of the fitted range.
        hi: Upper end of the fitted range.
    """

    kind: str
    args: tuple[float, ...]
    lo: float
    hi: float

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density up to a constant factor (weights are normalised); 0 outside ``[lo, hi]``."""
        x = np.asarray(x, dtype=float)
        inside = (x >= self.lo) & (x <= self.hi)
        u = (x - self.lo) / (self.hi - self.lo)
        if self.kind == "uniform":
            d = np.ones_like(x)
        elif self.kind == "normal":
            d = np.exp(-0.5 * ((x - self.args[0]) / self.args[1]) ** 2)
        elif self.kind == "beta":
            a, b = self.args
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where((u > 0) & (u < 1), u ** (a - 1) * (1 - u) ** (b - 1), 0.0)
        else:
            m = (self.args[0] - self.lo) / (self.hi - self.lo)
            d = np.where(u <= m, u / m if m > 0 else 1.0, (1 - u) / (1 - m) if m < 1 else 1.0)
        return np.where(inside, d, 0.0)

    def sample(self, rng: np.random.Generator) -> float:
        """One draw inside ``[lo, hi]``."""
        lo, hi = self.lo, self.hi
        if self.kind == "uniform":
            return float(rng.uniform(lo, hi))
        if self.kind == "beta":
            return float(lo + rng.beta(*self.args) * (hi - lo))
        if self.kind == "triangular":
            return float(rng.triangular(lo, self.args[0], hi))
        for _ in range(10_000):  # truncated normal by rejection
            x = rng.normal(*self.args)
            if lo <= x <= hi:
                return float(x)
        raise RunError(f"the normal prior {self.args} puts (almost) no mass on [{lo:g}, {hi:g}]")

    def describe(self) -> str:
        """``uniform on [0.5, 1]``, ``normal(0.7, 0.1) on [0.5, 1]`` ..."""
        head = self.kind if not self.args else f"{self.kind}({', '.join(f'{a:g}' for a in self.args)})"
        return f"{head} on [{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True)
class FitParam:
    """One fitted parameter.

    Attributes:
        name: Scenario key path, e.g. ``actors.russia.resolve``.
        prior: Its prior, on the fitted range.
        integer: The parameter takes whole numbers (proposals are rounded).
        baseline: The scenario's own value (the mean of its distribution if it has one).
        label: A label for plots.
    """

    name: str
    prior: Prior
    integer: bool = False
    baseline: float | None = None
    label: str | None = None

    @property
    def lo(self) -> float:
        """Lower end of the fitted range."""
        return self.prior.lo

    @property
    def hi(self) -> float:
        """Upper end of the fitted range."""
        return self.prior.hi


@dataclass(frozen=True)
class Target:
    """An observed fact the calibration fits.

    Attributes:
        metric: A metric of the sweep metric table (``p_ceasefire``, ``share_aid_only``...) or a
            week metric (``p_ceasefire_by_60w``, ``ceasefire_survival_260w``).
        observed: The observed value, in the metric's units.
        sd: Its standard deviation: how far from ``observed`` the model may be and still agree.
        source: Where the observation comes from (a claim id, a data set, a citation).
    """

    metric: str
    observed: float
    sd: float
    source: str = ""


def parse_target(text: str) -> Target:
    """``METRIC=VALUE±SD`` (or ``+-``) → :class:`Target`; a one-line error naming the problem otherwise."""
    m = TARGET_RE.match(text)
    if not m:
        raise ScenarioError(
            f"cannot read {text!r}",
            file="--target",
            allowed="METRIC=VALUE±SD (or METRIC=VALUE+-SD), e.g. p_ceasefire_by_60w=0+-0.03",
        )
    try:
        observed, sd = float(m.group(2)), float(m.group(3))
    except ValueError:
        raise ScenarioError(
            f"{text!r}: VALUE and SD must be numbers", file="--target", allowed="METRIC=VALUE±SD"
        ) from None
    return Target(m.group(1), observed, sd)


class _PriorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    uniform: list[float] | None = Field(None, max_length=0)
    normal: list[float] | None = Field(None, min_length=2, max_length=2)
    beta: list[float] | None = Field(None, min_length=2, max_length=2)
    triangular: list[float] | None = Field(None, min_length=1, max_length=1)


class _FitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bounds: tuple[float, float] = Field(description="The fitted range [LO, HI].")
    prior: _PriorSpec | None = Field(None, description="The prior on [LO, HI] (default uniform).")
    label: str | None = Field(None, description="A label for plots.")


class _TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float = Field(description="The observed value, in the metric's units.")
    sd: float = Field(gt=0, description="Its standard deviation (> 0).")
    source: str = Field("", description="Where the observation comes from: a claim id, a data set, a citation.")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    replicates: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0)
    weeks: int | None = Field(None, ge=1)
    particles: int | None = Field(None, ge=4)
    generations: int | None = Field(None, ge=1)
    quantile: float | None = Field(None, gt=0, lt=1)
    min_epsilon: float | None = Field(None, ge=0)


class TargetsFile(BaseModel):
    """A targets file (``--targets FILE.yaml``): what to fit, to what, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str | None = Field(None, description="The scenario to calibrate, relative to this file.")
    fit: dict[str, tuple[float, float] | _FitSpec] = Field(
        default_factory=dict, description="Key path -> [LO, HI] (uniform prior) or {bounds, prior, label}."
    )
    targets: dict[str, _TargetSpec] = Field(
        default_factory=dict, description="Metric -> {value, sd, source}: the observations."
    )
    settings: _Settings = Field(default_factory=_Settings)


@dataclass(frozen=True)
class _FitSource:
    """A fitted parameter as given, before it is checked against the scenario.

    Attributes:
        lo: Lower end of the range.
        hi: Upper end of the range.
        prior: The prior as written (None: uniform).
        label: A label for plots.
        where: Where it was given (``--fit ...``, the targets file, ``fit=``), for errors.
        line: Its line in that file, if known.
    """

    lo: float
    hi: float
    prior: _PriorSpec | None
    label: str | None
    where: str
    line: int | None


def _prior(spec: _PriorSpec | None, lo: float, hi: float, where: str, line: int | None, name: str) -> Prior:
    if spec is None:
        return Prior("uniform", (), lo, hi)
    given = {k: v for k, v in spec.model_dump().items() if v is not None}
    if len(given) != 1:
        raise ScenarioError(
            "give one prior", file=where, line=line, path=f"fit.{name}.prior", allowed=", ".join(PRIORS)
        )
    kind, args = next(iter(given.items()))
    if kind == "normal" and args[1] <= 0:
        raise ScenarioError("normal: the sd must be > 0", file=where, line=line, path=f"fit.{name}.prior")
    if kind == "beta" and min(args) <= 0:
        raise ScenarioError("beta: a and b must be > 0", file=where, line=line, path=f"fit.{name}.prior")
    if kind == "triangular" and not lo <= args[0] <= hi:
        raise ScenarioError(
            f"triangular: the mode {args[0]:g} is outside [{lo:g}, {hi:g}]",
            file=where,
            line=line,
            path=f"fit.{name}.prior",
        )
    return Prior(kind, tuple(float(a) for a in args), lo, hi)


# ----------------------------------------------------------------------------- the calibration plan


@dataclass
class Calibration:
    """A calibration ready to run: the scenario, fitted parameters, targets and settings, all checked.

    Attributes:
        base: The scenario (with any ``--set`` overrides).
        params: The fitted parameters.
        targets: The observations.
        replicates: Replicates per candidate ensemble.
        seed: Root seed.
        weeks: Horizon of each ensemble.
        particles: Accepted particles per generation.
        generations: The most generations.
        quantile: Tolerance quantile.
        min_epsilon: Target tolerance.
        source: The file the calibration was read from (the scenario or the targets file).
        command: The command line, for the records.
    """

    base: LoadedScenario
    params: list[FitParam]
    targets: list[Target]
    replicates: int
    seed: int
    weeks: int
    particles: int
    generations: int
    quantile: float = DEFAULT_QUANTILE
    min_epsilon: float = DEFAULT_MIN_EPSILON
    source: str = ""
    command: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The scenario's name (folders and titles)."""
        return self.base.name

    @property
    def extra(self) -> tuple[str, ...]:
        """The week metrics the targets need (computed for each candidate beside the table's metrics)."""
        return tuple(t.metric for t in self.targets if week_metric(t.metric))

    def identity(self) -> dict:
        """Everything that shapes the results; its hash names the folder and guards resuming."""
        return {
            "negsim": __version__,
            "scenario_files_sha256": [h for _, h in self.base.files],
            "overrides": [[k, v] for k, v in self.base.overrides],
            "params": [[p.name, p.prior.kind, list(p.prior.args), p.lo, p.hi, p.integer] for p in self.params],
            "targets": [[t.metric, t.observed, t.sd] for t in self.targets],
            "replicates": self.replicates,
            "seed": self.seed,
            "weeks": self.weeks,
            "particles": self.particles,
            "generations": self.generations,
            "quantile": self.quantile,
            "min_epsilon": self.min_epsilon,
        }

    @property
    def key(self) -> str:
        """SHA-256 of :meth:`identity` (hex)."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()

    def describe(self) -> str:
        """One line: parameters, targets, particles x replicates."""
        return (
            f"{len(self.params)} parameter{'s' if len(self.params) != 1 else ''} to {len(self.targets)} "
            f"target{'s' if len(self.targets) != 1 else ''}, {self.particles} particles x {self.replicates:,} "
            f"replicates, at most {self.generations} generations, seed {self.seed}, {self.weeks} weeks"
        )

    def overrides(self, theta: Sequence[float]) -> dict[str, float | int]:
        """The ``key.path: value`` overrides of a parameter vector."""
        return {p.name: (int(round(v)) if p.integer else float(v)) for p, v in zip(self.params, theta, strict=True)}

    def distance(self, metrics: Mapping[str, float | None]) -> float:
        """RMS z-score of the targets (infinite when a target's metric is undefined)."""
        z2 = []
        for t in self.targets:
            v = metrics.get(t.metric)
            if v is None or not math.isfinite(v):
                return math.inf
            z2.append(((v - t.observed) / t.sd) ** 2)
        return math.sqrt(sum(z2) / len(z2))


def make_calibration(
    scenario: str | Path | LoadedScenario | None = None,
    *,
    fit: Sequence[str] | Mapping[str, Any] | None = None,
    targets: Sequence[str] | Mapping[str, Any] | None = None,
    targets_file: str | Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    particles: int | None = None,
    generations: int | None = None,
    quantile: float | None = None,
    min_epsilon: float | None = None,
    sets: dict[str, Any] | None = None,
) -> Calibration:
    """Resolve a calibration from a scenario, a targets file and options, checking everything before any work.

    Args:
        scenario: The scenario file (or loaded scenario); may be None when the targets file names it.
        fit: ``PATH=LO:HI`` items (uniform priors), or a mapping path -> ``(lo, hi)`` or
            ``{"bounds": [lo, hi], "prior": {"normal": [m, s]}}``; adds to (and replaces by path) the file's.
        targets: ``METRIC=VALUE±SD`` items, or a mapping metric -> ``(value, sd)`` or
            ``{"value": v, "sd": s, "source": "..."}``; adds to (and replaces by metric) the file's.
        targets_file: A YAML file with ``fit:``, ``targets:`` (with sources), ``settings:`` and
            optionally ``scenario:``.
        replicates: Replicates per candidate (default: the file's, else :data:`DEFAULT_REPLICATES`).
        seed: Root seed (default: the file's, else the scenario's).
        weeks: Horizon (default: the file's, else the scenario's).
        particles: Particles per generation (default: the file's, else :data:`DEFAULT_PARTICLES`).
        generations: The most generations (default: the file's, else :data:`DEFAULT_GENERATIONS`).
        quantile: Tolerance quantile (default :data:`DEFAULT_QUANTILE`).
        min_epsilon: Target tolerance (default :data:`DEFAULT_MIN_EPSILON`).
        sets: ``--set`` overrides applied to the scenario first.

    Returns:
        The checked :class:`Calibration`.

    Raises:
        ScenarioError: each problem in one line, naming where it is and what is allowed.
    """
    spec, tfile, tlocs = TargetsFile(), "--targets", {}
    if targets_file is not None:
        tpath = Path(targets_file)
        tfile = str(tpath)
        data, tlocs = load_yaml(tpath)
        if not isinstance(data, dict):
            raise ScenarioError("a targets file is a mapping with fit:, targets: and settings:", file=tfile)
        try:
            spec = TargetsFile.model_validate(data)
        except ValidationError as exc:
            raise_errors(errors_from_pydantic(exc, tlocs, tfile))
        if scenario is None and spec.scenario:
            scenario = tpath.parent / spec.scenario

    def line(*loc: Any) -> int | None:
        return locate(tlocs, loc, tfile)[1] if tlocs else None

    if scenario is None:
        raise ScenarioError(
            "no scenario to calibrate", file=tfile, allowed="a scenario file, or scenario: in the targets file"
        )
    base = scenario if isinstance(scenario, LoadedScenario) else load(scenario, overrides=sets or None)
    if isinstance(scenario, LoadedScenario) and sets:
        base = base.with_overrides(sets)
    if base.spec.war is None:
        raise ScenarioError(
            "calibration needs a scenario with a war (its metrics are the war's outcomes)", file=str(base.path)
        )
    st, cs = base.spec.settings, spec.settings

    # ---- fitted parameters: the file's, then the command's (which replace by path)
    raw_fit: dict[str, _FitSource] = {}
    for name, f in spec.fit.items():
        if isinstance(f, _FitSpec):
            raw_fit[name] = _FitSource(*f.bounds, f.prior, f.label, tfile, line("fit", name))
        else:
            raw_fit[name] = _FitSource(*f, None, None, tfile, line("fit", name))
    if isinstance(fit, Mapping):
        for name, f in fit.items():
            fs = _FitSpec.model_validate({"bounds": f} if isinstance(f, list | tuple) else f)
            raw_fit[name] = _FitSource(*fs.bounds, fs.prior, fs.label, "fit=", None)
    else:
        for item in fit or []:
            name, lo, hi, steps = parse_vary(item)
            if steps is not None:
                raise ScenarioError(
                    f"{item!r}: a fitted range takes no STEPS", file="--fit", allowed="--fit PATH=LO:HI"
                )
            raw_fit[name] = _FitSource(lo, hi, None, None, f"--fit {item.strip()}", None)
    if not raw_fit:
        raise ScenarioError("nothing to fit", file=tfile, allowed="--fit PATH=LO:HI, or fit: in a --targets file")
    params = []
    for name, s in raw_fit.items():
        baseline, integer, _ = check_factor(base, name, s.lo, s.hi, s.where, s.line)
        prior = _prior(s.prior, float(s.lo), float(s.hi), s.where, s.line, name)
        params.append(FitParam(name, prior, integer, baseline, s.label))

    # ---- targets: the file's, then the command's
    tg: dict[str, tuple[Target, str, int | None]] = {}
    for metric, t in spec.targets.items():
        tg[metric] = (Target(metric, t.value, t.sd, t.source), tfile, line("targets", metric))
    if isinstance(targets, Mapping):
        for metric, t in targets.items():
            ts = _TargetSpec.model_validate({"value": t[0], "sd": t[1]} if isinstance(t, list | tuple) else t)
            tg[metric] = (Target(metric, ts.value, ts.sd, ts.source), "targets=", None)
    else:
        for item in targets or []:
            t = parse_target(item)
            tg[t.metric] = (t, f"--target {item.strip()}", None)
    if not tg:
        raise ScenarioError(
            "no target to fit", file=tfile, allowed="--target METRIC=VALUE±SD, or targets: in a --targets file"
        )

    horizon = int(weeks if weeks is not None else (cs.weeks or st.weeks))
    known = [m for m in metric_names(base, horizon) if not m.endswith(("_lo", "_hi"))]
    for metric, (t, where, ln) in tg.items():
        wk = week_metric(metric)
        if wk is None and metric not in known:
            raise ScenarioError(
                f"unknown metric {metric!r}",
                file=where,
                line=ln,
                allowed=", ".join(known) + ", p_ceasefire_by_<W>w, ceasefire_survival_<W>w (W in weeks)",
            )
        if wk is not None and wk[1] > horizon:
            raise ScenarioError(
                f"{metric} looks {wk[1]} weeks ahead but the horizon is {horizon} weeks",
                file=where,
                line=ln,
                allowed=f"--weeks {wk[1]} or more, or a week up to {horizon}",
            )
        if not t.sd > 0 or not math.isfinite(t.sd) or not math.isfinite(t.observed):
            raise ScenarioError(f"{metric}: the SD must be a number > 0 and the value finite", file=where, line=ln)

    cal = Calibration(
        base=base,
        params=params,
        targets=[t for t, _, _ in tg.values()],
        replicates=int(replicates if replicates is not None else (cs.replicates or DEFAULT_REPLICATES)),
        seed=int(seed if seed is not None else (cs.seed if cs.seed is not None else st.seed)),
        weeks=horizon,
        particles=int(particles if particles is not None else (cs.particles or DEFAULT_PARTICLES)),
        generations=int(generations if generations is not None else (cs.generations or DEFAULT_GENERATIONS)),
        quantile=float(quantile if quantile is not None else (cs.quantile or DEFAULT_QUANTILE)),
        min_epsilon=float(
            min_epsilon if min_epsilon is not None else (cs.min_epsilon if cs.min_epsilon is not None else 1.0)
        ),
        source=tfile if targets_file is not None else str(base.path),
    )
    if cal.replicates < 1 or cal.weeks < 1 or cal.seed < 0 or cal.particles < 4 or cal.generations < 1:
        raise RunError("replicates and weeks must be at least 1, particles at least 4, and the seed non-negative")
    if not 0 < cal.quantile < 1:
        raise RunError(f"quantile must lie in (0, 1), got {cal.quantile}")
    ensemble_settings(base, cal.replicates, cal.seed, cal.weeks)
    base.derive(cal.overrides([p.lo + 0.5 * (p.hi - p.lo) for p in params]))  # the ends were checked one by one
    return cal


# ----------------------------------------------------------------------------- the algorithm


_STRIDE = 10**9
"""Task index of candidate k of generation g: ``g * _STRIDE + k``."""


def _seed_of(root: int, gen: int, k: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([root, stream, gen, k]))


def _ensemble_seed(root: int, gen: int, k: int) -> int:
    return int(np.random.SeedSequence([root, 2, gen, k]).generate_state(1, dtype=np.uint32)[0])


@dataclass
class _Population:
    theta: np.ndarray  # (N, P)
    weights: np.ndarray  # (N,), sums to 1
    distances: np.ndarray  # (N,)
    metrics: list[dict]
    epsilon: float
    evaluated: int
    indices: list[int]

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights**2))


def _weighted_cov(theta: np.ndarray, w: np.ndarray) -> np.ndarray:
    mu = w @ theta
    d = theta - mu
    cov = (d * w[:, None]).T @ d / max(1e-12, 1.0 - np.sum(w**2))
    return np.atleast_2d(cov)


def _propose(cal: Calibration, prev: _Population | None, gen: int, k: int, cov2: np.ndarray | None) -> np.ndarray:
    """Candidate ``k`` of generation ``gen``: a prior draw (generation 0) or a moved particle of ``gen - 1``."""
    rng = _seed_of(cal.seed, gen, k, 1)
    if prev is None:
        theta = np.array([p.prior.sample(rng) for p in cal.params])
    else:
        chol = np.linalg.cholesky(cov2 + 1e-12 * np.eye(len(cal.params)))
        for _ in range(10_000):
            j = rng.choice(len(prev.weights), p=prev.weights)
            theta = prev.theta[j] + chol @ rng.standard_normal(len(cal.params))
            if all(p.prior.pdf(np.array([v]))[0] > 0 for p, v in zip(cal.params, theta, strict=True)):
                break
        else:  # pragma: no cover - a kernel this wide only arises from a degenerate population
            raise RunError("could not propose a candidate inside the priors' ranges")
    return np.array([round(v) if p.integer else v for p, v in zip(cal.params, theta, strict=True)], dtype=float)


def _weights(cal: Calibration, theta: np.ndarray, prev: _Population, cov2: np.ndarray) -> np.ndarray:
    """Beaumont et al. (2009): prior density over the kernel mixture of the previous population."""
    prior = np.prod([p.prior.pdf(theta[:, i]) for i, p in enumerate(cal.params)], axis=0)
    inv = np.linalg.inv(cov2 + 1e-12 * np.eye(len(cal.params)))
    d = theta[:, None, :] - prev.theta[None, :, :]
    kern = np.exp(-0.5 * np.einsum("ijp,pq,ijq->ij", d, inv, d))
    w = prior / np.maximum(kern @ prev.weights, 1e-300)
    return w / w.sum()


class CalibrationInterrupted(RunError):
    """Ctrl-C during a calibration: finished candidates are saved and a re-run resumes."""


def _read_log(path: Path) -> dict[tuple[int, int], dict]:
    """Evaluated candidates of ``particles.jsonl`` by ``(generation, index)``; a truncated last line is dropped."""
    out: dict[tuple[int, int], dict] = {}
    if not path.is_file():
        return out
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue  # a line cut short by a kill
            if isinstance(rec, dict) and {"gen", "k", "theta", "metrics"} <= set(rec):
                out[(int(rec["gen"]), int(rec["k"]))] = rec
    return out


class _Runner:
    """Evaluates candidates through a backend, logging each as it arrives."""

    def __init__(self, cal: Calibration, folder: Path, backend: str, workers: int | None, dask: tuple | None, log):
        self.cal, self.folder, self.backend, self.workers, self.dask, self.log = (
            cal,
            folder,
            backend,
            workers,
            dask,
            log,
        )
        self.done = _read_log(folder / "particles.jsonl")
        self.ran = 0
        self.base = cal.base  # what the backends read
        self.key = cal.key

    def evaluate(self, gen: int, items: list[tuple[int, np.ndarray]]) -> None:
        todo = [(k, th) for k, th in items if (gen, k) not in self.done]
        if not todo:
            return
        c, base = self.cal, gen * _STRIDE  # task indices unique across generations (Dask keys)
        tasks = [
            (base + k, c.overrides(th), _ensemble_seed(c.seed, gen, k), c.replicates, c.weeks, (52, 104), c.extra)
            for k, th in todo
        ]
        thetas = dict(todo)
        dask = self.dask if self.backend == "dask" else None
        gen_it = backends.BACKENDS[self.backend](self, tasks, self.workers, dask, self.log)
        try:
            with open(self.folder / "particles.jsonl", "ab") as fh:
                for idx, metrics, seconds in gen_it:
                    k = idx - base
                    wanted = {t.metric: metrics.get(t.metric) for t in self.cal.targets}
                    rec = {
                        "gen": gen,
                        "k": int(k),
                        "theta": [float(v) for v in thetas[k]],
                        "metrics": wanted,
                        "distance": self.cal.distance(wanted),
                        "seconds": round(seconds, 4),
                    }
                    fh.write(json.dumps(rec, sort_keys=True).encode() + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                    self.done[(gen, int(k))] = rec
                    self.ran += 1
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                gen_it.close()
            raise CalibrationInterrupted(
                f"interrupted; {len(self.done):,} evaluated candidates are saved in {self.folder}. "
                "Re-run the same command to resume."
            ) from None


def _generation(
    cal: Calibration, runner: _Runner, gen: int, prev: _Population | None, epsilon: float, progress
) -> _Population | None:
    """Run one generation; None when it would need more than :data:`MAX_CANDIDATES` per particle."""
    n, cov2 = cal.particles, None
    if prev is not None:
        cov2 = 2.0 * _weighted_cov(prev.theta, prev.weights)
    accepted: list[int] = []
    next_k, n_ok = 0, 0
    limit = MAX_CANDIDATES * n
    while len(accepted) < n:
        if next_k >= limit:
            return None
        if prev is None:
            size = n
        else:  # enough candidates for the particles still missing, at this generation's acceptance rate so far
            # (at first the last generation's, a little lower: the tolerance shrinks); at least 2%
            rate = max(n_ok / next_k if next_k else 0.8 * len(prev.weights) / prev.evaluated, 0.02)
            size = max(2 * (runner.workers or os.cpu_count() or 2), math.ceil(1.1 * (n - len(accepted)) / rate))
            size = min(size, limit - next_k)
        runner.evaluate(gen, [(k, _propose(cal, prev, gen, k, cov2)) for k in range(next_k, next_k + size)])
        next_k += size
        ok = [k for k in range(next_k) if runner.done[(gen, k)]["distance"] <= epsilon]
        n_ok, accepted = len(ok), ok[:n]
        if progress is not None:
            progress(gen, len(accepted), n, next_k)
    used = accepted[-1] + 1  # candidates up to the last accepted one count as evaluated for this generation
    recs = [runner.done[(gen, k)] for k in accepted]
    theta = np.array([r["theta"] for r in recs], dtype=float)
    w = np.full(n, 1.0 / n) if prev is None else _weights(cal, theta, prev, cov2)
    return _Population(
        theta=theta,
        weights=w,
        distances=np.array([r["distance"] for r in recs]),
        metrics=[r["metrics"] for r in recs],
        epsilon=epsilon,
        evaluated=used,
        indices=accepted,
    )


# ----------------------------------------------------------------------------- results


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted values (the smallest value whose cumulative weight reaches ``q``)."""
    v, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    ok = np.isfinite(v)
    v, w = v[ok], w[ok]
    if not len(v):
        return math.nan
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(v[order][min(int(np.searchsorted(cum, q - 1e-12)), len(v) - 1)])


@dataclass
class CalibrationResult:
    """A finished (or stopped) calibration.

    Attributes:
        calibration: What was fitted.
        folder: Where its files are.
        posterior: The final population: particle, weight, one column per fitted key path, distance, targets.
        prior: Generation 0 (draws from the prior) in the same form.
        targets: Each target: observed, sd, source; simulated median and 90% interval under prior and posterior;
            ``reached`` (the observation lies within the posterior predictive 90% interval widened by 2 SD).
        generations: Per generation: epsilon, evaluated, accepted, acceptance rate, effective sample size.
        notes: Warnings a reader must see (an unreached target, a parameter piling up at a bound, a stop).
        files: The files written.
        ran: Candidates evaluated in this call (the rest were resumed from the folder).
        seconds: Wall time of this call.
    """

    calibration: Calibration
    folder: Path
    posterior: Any
    prior: Any
    targets: Any
    generations: Any
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    ran: int = 0
    seconds: float = 0.0

    @property
    def plot(self) -> _CalibrationPlots:
        """``res.plot.posterior()`` (marginals and pairs against the prior), ``res.plot.predictive()``."""
        return _CalibrationPlots(self)

    def to_scenario(self) -> LoadedScenario:
        """The calibrated scenario: ``posterior.yaml`` loaded (the fitted parameters as distributions)."""
        return load(self.folder / "posterior.yaml")


class _CalibrationPlots:
    def __init__(self, res: CalibrationResult) -> None:
        self._r = res

    def posterior(self):
        """Marginals (diagonal) and pairs of the posterior, against the prior."""
        from sim.experiments import calplots  # deferred: matplotlib loads on first plot

        return calplots.posterior(self._r)

    def predictive(self):
        """Each target's observation against its prior and posterior predictive distributions."""
        from sim.experiments import calplots  # deferred: matplotlib loads on first plot

        return calplots.predictive(self._r)


def default_folder(cal: Calibration, root: Path = Path("runs") / "calibrations") -> Path:
    """``runs/calibrations/NAME-KEY``: the same calibration maps to the same folder (so it resumes)."""
    return root / f"{cal.name}-{cal.key[:10]}"


def _prepare(cal: Calibration, folder: Path) -> None:
    meta = folder / "calibration.json"
    if meta.is_file():
        try:
            key = json.loads(meta.read_text(encoding="utf-8")).get("key")
        except (OSError, ValueError):
            key = None
        if key != cal.key:
            raise RunError(f"{folder} holds another calibration (or a damaged calibration.json); choose another --out")
        return
    if folder.exists() and any(folder.iterdir()):
        raise RunError(f"{folder} exists and is not a calibration folder; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    info = {
        "key": cal.key,
        "scenario": cal.name,
        "scenario_file": str(cal.base.path),
        "scenario_files": [[f, h] for f, h in cal.base.files],
        "source": cal.source,
        "params": [
            {"name": p.name, "lo": p.lo, "hi": p.hi, "prior": p.prior.describe(), "integer": p.integer}
            for p in cal.params
        ],
        "targets": [{"metric": t.metric, "observed": t.observed, "sd": t.sd, "source": t.source} for t in cal.targets],
        "identity": cal.identity(),
        "method": "ABC-SMC (Beaumont et al. 2009 weights and kernel; adaptive tolerance quantile)",
        "command": cal.command,
        "versions": versions(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_bytes(meta, json_bytes(info))


def run_calibration(
    cal: Calibration,
    out: str | Path | None = None,
    *,
    backend: str = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    plots: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Run (or resume) a calibration and write its folder.

    Args:
        cal: From :func:`make_calibration`.
        out: The folder (default :func:`default_folder`); an existing folder of the same calibration resumes.
        backend: ``serial``, ``pool`` (default) or ``dask``.
        workers: Worker processes (pool, local Dask cluster).
        scheduler: Dask only: ``local`` or ``tcp://HOST:PORT``.
        plots: Write ``posterior.png`` and ``predictive.png``.
        progress: One line per batch on stderr.
        log: Where one-line notes go (default: stderr).

    Returns:
        The :class:`CalibrationResult`.

    Raises:
        CalibrationInterrupted: on Ctrl-C, after saving what is finished.
        RunError: a folder holding something else, an unknown backend, dying workers.
    """
    log = log or backends.stderr_log
    backends.check_options(backend, workers, scheduler)
    folder = Path(out) if out is not None else default_folder(cal)
    t0 = time.perf_counter()
    dask = backends.dask_client(workers, scheduler) if backend == "dask" else None
    try:
        _prepare(cal, folder)
        runner = _Runner(cal, folder, backend, workers, dask, log)

        def tick(gen: int, acc: int, n: int, evaluated: int) -> None:
            if progress:
                print(f"negsim: generation {gen}: {acc}/{n} accepted of {evaluated:,} candidates", file=sys.stderr)

        pops: list[_Population] = []
        notes: list[str] = []
        eps = math.inf
        for gen in range(cal.generations):
            pop = _generation(cal, runner, gen, pops[-1] if pops else None, eps, tick)
            if pop is None:
                notes.append(
                    f"generation {gen} needed more than {MAX_CANDIDATES} candidates per particle at tolerance "
                    f"{eps:.3g}; the posterior is generation {gen - 1} (tolerance {pops[-1].epsilon:.3g})"
                )
                break
            pops.append(pop)
            if eps <= cal.min_epsilon:
                break
            eps = max(float(np.quantile(pop.distances, cal.quantile)), cal.min_epsilon)
            if not math.isfinite(eps):
                notes.append("the distances are not finite (a target's metric is undefined for most candidates)")
                break
    finally:
        backends.close_dask(dask)
    res = _finish(cal, folder, pops, notes, plots)
    res.ran, res.seconds = runner.ran, time.perf_counter() - t0
    return res


def _frame(cal: Calibration, pop: _Population):
    import pandas as pd  # deferred: pandas loads on first use

    cols = {"particle": np.arange(len(pop.weights)), "weight": pop.weights}
    for i, p in enumerate(cal.params):
        cols[p.name] = pop.theta[:, i]
    cols["distance"] = pop.distances
    for t in cal.targets:
        cols[t.metric] = [np.nan if m.get(t.metric) is None else m[t.metric] for m in pop.metrics]
    return pd.DataFrame(cols)


def _finish(cal: Calibration, folder: Path, pops: list[_Population], notes: list[str], plots: bool):
    import pandas as pd  # deferred: pandas loads on first use

    final, prior = pops[-1], pops[0]
    post, pri = _frame(cal, final), _frame(cal, prior)
    rows = []
    for t in cal.targets:
        pv, pw = post[t.metric].to_numpy(), final.weights
        qv, qw = pri[t.metric].to_numpy(), prior.weights
        q05, med, q95 = (weighted_quantile(pv, pw, q) for q in (0.05, 0.5, 0.95))
        reached = bool(q05 - 2 * t.sd <= t.observed <= q95 + 2 * t.sd)
        if not reached:
            notes.append(
                f"target {t.metric}={t.observed:g}±{t.sd:g} is not reached: the posterior predictive 90% interval "
                f"is [{q05:.4g}, {q95:.4g}]; no fitted values make the model agree with it (check the target, its "
                "SD, or what the model can produce)"
            )
        rows.append(
            {
                "target": t.metric,
                "observed": t.observed,
                "sd": t.sd,
                "source": t.source,
                "posterior_median": med,
                "posterior_q05": q05,
                "posterior_q95": q95,
                "prior_median": weighted_quantile(qv, qw, 0.5),
                "prior_q05": weighted_quantile(qv, qw, 0.05),
                "prior_q95": weighted_quantile(qv, qw, 0.95),
                "reached": reached,
            }
        )
    targets = pd.DataFrame(rows)
    for i, p in enumerate(cal.params):
        x, w = final.theta[:, i], final.weights
        band = 0.05 * (p.hi - p.lo)
        for side, mask in (("lower", x <= p.lo + band), ("upper", x >= p.hi - band)):
            share = float(w[mask].sum())
            if share > PILE_UP_SHARE:
                notes.append(
                    f"{p.name} piles up at its {side} bound ({share:.0%} of the posterior weight in the outer 5% of "
                    f"[{p.lo:g}, {p.hi:g}]): the data may favour values beyond the range; widen it if they are legal"
                )
    gens = pd.DataFrame(
        [
            {
                "generation": g,
                "epsilon": pop.epsilon,
                "evaluated": pop.evaluated,
                "accepted": len(pop.weights),
                "acceptance_rate": len(pop.weights) / pop.evaluated,
                "ess": pop.ess,
            }
            for g, pop in enumerate(pops)
        ]
    )
    res = CalibrationResult(cal, folder, post, pri, targets, gens, notes)

    def table(df) -> bytes:
        return csv_bytes(list(df.columns), df.itertuples(index=False, name=None), decimals=None)

    files = {
        "posterior.csv": table(post),
        "targets.csv": table(targets),
        "generations.csv": table(gens),
        "posterior.yaml": posterior_yaml(res).encode(),
    }
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    written = ["calibration.json", "particles.jsonl", *files]
    if plots:
        for name, fig in (("posterior.png", res.plot.posterior()), ("predictive.png", res.plot.predictive())):
            save_figure(fig, folder / name)
            written.append(name)
    hashes = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in written if f != "particles.jsonl"}
    manifest = {
        "kind": "calibration",
        "complete": True,
        "calibration_key": cal.key,
        "scenario": cal.name,
        "generations": len(pops),
        "outputs_sha256": hashes,
        "notes": notes,
    }
    atomic_write_bytes(folder / "manifest.json", json_bytes(manifest))
    res.files = [*written, "manifest.json"]
    return res


def posterior_yaml(res: CalibrationResult) -> str:
    """A scenario that extends the calibrated one with each fitted parameter as a distribution, sourced.

    Each parameter becomes ``{normal: [weighted mean, weighted sd]}`` of the posterior (clipped to the
    parameter's legal range when sampled; whole-number parameters take the weighted median), with a
    ``{fitted: ...}`` source naming the calibration, its targets and their sources, which
    ``negsim explain`` shows.
    """
    cal, post = res.calibration, res.posterior
    w = post["weight"].to_numpy()
    rel = os.path.relpath(Path(cal.base.path).resolve(), res.folder.resolve())
    targets = "; ".join(
        f"{t.metric}={t.observed:g}±{t.sd:g}" + (f" ({t.source})" if t.source else "") for t in cal.targets
    )
    data: dict[str, Any] = {"schema_version": 1, "extends": rel, "name": f"{cal.name}_calibrated"}
    for path, v in cal.base.overrides:
        _put(data, path.split("."), v)
    for p in cal.params:
        x = post[p.name].to_numpy()
        mean = float(w @ x)
        sd = float(math.sqrt(max(0.0, w @ (x - mean) ** 2)))
        value: Any = int(round(weighted_quantile(x, w, 0.5))) if p.integer else {"normal": [_r(mean), _r(sd)]}
        _put(data, p.name.split("."), value)
        block, key = _source_key(p.name)
        fit = (
            f"negsim calibrate (ABC-SMC, {cal.particles} particles x {cal.replicates} replicates, seed {cal.seed}, "
            f"{cal.weeks} weeks, prior {p.prior.describe()}) to {targets}; folder {res.folder}, key {cal.key[:10]}"
        )
        _put(data, [*block, "sources", key], {"fitted": fit})
    head = (
        f"# Written by negsim calibrate ({__version__}): the posterior of {', '.join(p.name for p in cal.params)}\n"
        f"# as distributions (posterior mean and SD) on top of {cal.base.path}.\n"
        "# Run it (negsim run posterior.yaml), extend it, or copy its values and sources into a scenario.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=None)


def _r(x: float) -> float:
    return float(f"{x:.6g}")


def _put(data: dict, parts: list[str], value: Any) -> None:
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _source_key(path: str) -> tuple[list[str], str]:
    """The ``sources:`` block a parameter path is sourced in, and its key there (see scenario docs)."""
    parts = path.split(".")
    if parts[0] in ("actors", "issues") and len(parts) > 2:
        return parts[:2], ".".join(parts[2:])
    if parts[0] in ("war", "deterrence", "negotiation") and len(parts) > 1:
        return parts[:1], ".".join(parts[1:])
    return [], path


__all__ = [
    "Calibration",
    "CalibrationInterrupted",
    "CalibrationResult",
    "FitParam",
    "Prior",
    "Target",
    "default_folder",
    "make_calibration",
    "parse_target",
    "posterior_yaml",
    "run_calibration",
    "weighted_quantile",
]
