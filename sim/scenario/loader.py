"""Scenario files: YAML → frozen, validated objects.

A scenario describes the actors (positions, saliences, capabilities, resolve, vetoes,
guarantees), the issues (numeric scales with labelled points), the negotiation protocol, the
war and the deterrence regime after a ceasefire. Files may ``extends:`` another file and
override only what differs. Every problem becomes a :class:`sim.ScenarioError` naming the file,
line, key path and what is allowed.

The pydantic models below are the single definition of the format: the loader validates with
them and ``negsim schema`` (later) emits their JSON Schema.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from sim.errors import ScenarioError
from sim.protocols import PROTOCOLS
from sim.scenario import provenance
from sim.scenario.params import DIST_KINDS, Dist, parse_param
from sim.scenario.sweepspec import SweepSpec
from sim.scenario.yamlio import Locs, load_yaml, parse_scalar, read_text

SCHEMA_VERSION = 1
OUTCOME_CLASSES = ("nato_entry", "reassurance_backstop", "reassurance_only", "aid_only")
"""Classes of an agreed package, from the agreed value of the arrangement issue."""
ALL_OUTCOMES = (*OUTCOME_CLASSES, "no_agreement")
OUTCOME_LABELS = {
    "nato_entry": "NATO entry",
    "reassurance_backstop": "Reassurance force + US backstop",
    "reassurance_only": "Reassurance force only",
    "aid_only": "Aid only",
    "no_agreement": "No agreement",
}
"""How tables, plots and reports name each outcome of :data:`ALL_OUTCOMES`."""
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"
"""A scenario name is used as a folder name: no path separators, no leading dot, nothing a shell quotes."""
MAX_EXTENDS_DEPTH = 16
MAX_AID_LEVEL = 1e6
"""Upper end allowed for the aid issue's scale (a multiple of ``war.aid_bn_per_week``)."""


def _dist_schema(lo: float, hi: float) -> dict:
    rng = {}
    if math.isfinite(lo):
        rng["minimum"] = lo
    if math.isfinite(hi):
        rng["maximum"] = hi
    dists = [
        {
            "type": "object",
            "properties": {k: {"type": "array", "items": {"type": "number"}, "minItems": n, "maxItems": n}},
            "required": [k],
            "additionalProperties": False,
        }
        for k, n in DIST_KINDS.items()
    ]
    return {"anyOf": [{"type": "number", **rng}, *dists]}


def Param(lo: float = -math.inf, hi: float = math.inf) -> Any:  # noqa: N802 (reads as a type)
    """A numeric parameter in ``[lo, hi]`` that may also be a per-replicate distribution."""
    return Annotated[
        float | Dist,
        PlainValidator(lambda v: parse_param(v, lo, hi)),
        WithJsonSchema(_dist_schema(lo, hi)),
    ]


Unit = Param(0.0, 1.0)
_Strict = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

_SOURCE_SCHEMA = {
    "description": "Provenance of a parameter: a claim id, a list of claim ids, {assume: rationale}, "
    "{claims: [...], note: ...} or {fitted: the fit (data, method, command)}. Keys are parameter paths "
    "relative to this section.",
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
        {
            "type": "object",
            "properties": {"assume": {"type": "string"}},
            "required": ["assume"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"fitted": {"type": "string"}},
            "required": ["fitted"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "claims": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "note": {"type": "string"},
            },
            "required": ["claims"],
            "additionalProperties": False,
        },
    ],
}
Sources = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "additionalProperties": _SOURCE_SCHEMA}),
]
"""A ``sources:`` block (checked by :mod:`sim.scenario.provenance`, which gives the clear messages)."""


def _sources() -> Any:
    return Field(default_factory=dict, description="Where this section's numbers come from (see docs/scenarios.md).")


class Settings(BaseModel):
    """Ensemble defaults; the CLI's ``-n``, ``--seed`` and ``--weeks`` override them."""

    model_config = _Strict
    weeks: int = Field(104, ge=1, le=5200, description="Horizon in weeks (one step = one week).")
    replicates: int = Field(2000, ge=1, le=100_000_000, description="Monte Carlo replicates.")
    seed: int = Field(20250227, ge=0, le=2**63 - 1, description="Root seed of the run.")


class Issue(BaseModel):
    """A negotiated issue: a numeric scale whose labelled points say what each value means."""

    model_config = _Strict
    label: str = Field(description="Human-readable name, used on plot axes.")
    unit: str = Field("", description="Unit of the scale, if it has one (e.g. 'share of 2024 level').")
    description: str = ""
    points: dict[float, str] = Field(
        min_length=2, description="Labelled points of the scale; min and max are its ends."
    )
    discrete: bool = Field(False, description="Agreements snap to the nearest labelled point (categorical issues).")
    status_quo: float = Field(description="Value in force while the war goes on.")
    decided_by_battle: bool = Field(
        False,
        description="While fighting, the outcome on this issue follows the battlefield balance "
        "between the two sides' ideal points.",
    )
    sources: Sources = _sources()

    @field_validator("points")
    @classmethod
    def _finite_scale(cls, points: dict[float, str]) -> dict[float, str]:
        """The model maps each scale onto [0, 1]: its ends must be finite and apart (no NaN, inf or overflow)."""
        if not all(math.isfinite(p) for p in points):
            raise ValueError("scale points must be finite numbers; allowed: finite numbers such as 0, 1, 2")
        span = max(points) - min(points)
        if not (math.isfinite(span) and span > 0):
            raise ValueError("the scale must span a finite, non-zero range; allowed: e.g. points 0 .. 1e300")
        return points

    @property
    def lo(self) -> float:
        """Lower end of the scale."""
        return min(self.points)

    @property
    def hi(self) -> float:
        """Upper end of the scale."""
        return max(self.points)


class Position(BaseModel):
    """An actor's stance on one issue, in the issue's scale units."""

    model_config = _Strict
    ideal: Param() = Field(description="Most preferred value (scale units).")
    position: Param() | None = Field(
        None, description="Opening bargaining position (scale units); defaults to the ideal."
    )
    salience: Unit = Field(description="How much the issue matters to the actor, 0..1.")


class RedLine(BaseModel):
    """A publicly stated condition: proposals beyond it are rejected until pressure breaks it."""

    model_config = _Strict
    min: float | None = Field(None, description="Reject proposals below this value.")
    max: float | None = Field(None, description="Reject proposals above this value.")
    exclude: list[float] = Field(
        default_factory=list,
        description="Reject proposals at exactly these values (labelled points).",
    )
    breaks_at_pressure: Param(0.0, 1000.0) | None = Field(
        None, description="Pressure at which the actor drops the red line (None: never)."
    )


class Guarantee(BaseModel):
    """What a guarantor would commit under one class of security arrangement."""

    model_config = _Strict
    commitment: Unit = Field(
        description="Depth of the commitment, 0 (none) .. 1 (treaty obligation to fight, Article 5)."
    )
    credibility: Unit = Field(description="Probability-like belief that the commitment is honoured.")
    cost_bn_per_week: Param(0.0, 1000.0) = Field(
        0.0, description="Running cost to the guarantor while the ceasefire holds ($bn per week)."
    )


class Actor(BaseModel):
    """One negotiating actor (a Mesa agent in the model)."""

    model_config = _Strict
    name: str
    capability: Unit = Field(description="Relative power/influence, 0..1.")
    resolve: Unit = Field(description="Cost tolerance: 1 ignores war costs, 0 feels them fully.")
    risk_attitude: Param(-1.0, 1.0) = Field(
        0.0,
        description="-1 risk-acceptant .. 0 neutral .. 1 risk-averse (loss exponent 2**r).",
    )
    revisionism: Unit = Field(0.0, description="Drive to resume the war after a ceasefire (challenger only), 0..1.")
    weariness_reference_bn: Param(1e-6, 1e9) | None = Field(
        None, description="Spending ($bn) at which this actor's war weariness reaches 1."
    )
    weariness_reference_losses: Param(1e-6, 1e9) | None = Field(
        None, description="Losses (index, weeks of even fighting) at which weariness reaches 1."
    )
    veto: list[str] = Field(default_factory=list, description="Issues on which this actor's consent is required.")
    positions: dict[str, Position] = Field(min_length=1)
    red_lines: dict[str, RedLine] = Field(default_factory=dict)
    leverage: dict[str, Param(0.0, 10.0)] = Field(
        default_factory=dict,
        description="Pressure this actor applies to others (aid conditionality, sanctions).",
    )
    guarantees: dict[Literal[OUTCOME_CLASSES], Guarantee] = Field(
        default_factory=dict, description="Commitment offered under each security arrangement."
    )
    metadata: dict[str, str | float | int | bool | None] = Field(
        default_factory=dict, description="Free-form facts about the actor (kept from imported datasets)."
    )
    sources: Sources = _sources()


class Protocol(BaseModel):
    """Which negotiation protocol forms the weekly proposal; other keys are the protocol's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field("mediated_single_text", description="A registered protocol name.")
    mediator: str | None = Field(None, description="Actor who drafts the single text.")
    mediator_weight: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="Multiplier on the mediator's capability when drafting (1: an honest broker).",
    )


class Negotiation(BaseModel):
    """How talks run while the war goes on."""

    model_config = _Strict
    protocol: Protocol = Field(default_factory=Protocol)
    fixed: dict[str, float] = Field(
        default_factory=dict,
        description="Issues not on the table: their value in every proposal is the scenario's premise.",
    )
    concession_rate: Unit = Field(
        0.1,
        description="Share of the gap to the proposal a rejecting actor concedes per week at pressure 1.",
    )
    outlook_weeks: int = Field(26, ge=1, le=520, description="Weeks ahead actors look when judging war.")
    start_week: int = Field(0, ge=0, description="Week talks open.")
    renegotiation_delay_weeks: int = Field(
        4, ge=0, description="Weeks of renewed war before talks resume after a collapse."
    )
    sources: Sources = _sources()


class War(BaseModel):
    """The battlefield and its costs."""

    model_config = _Strict
    sides: tuple[str, str] = Field(description="The belligerents [a, b]; balance is a's share.")
    initial_balance: Param(0.01, 0.99) = Field(description="Side a's share of military standing at week 0.")
    mean_reversion: Unit = Field(0.05, description="Weekly pull of the balance to its equilibrium.")
    volatility: Param(0.0, 2.0) = Field(0.1, description="Weekly s.d. of shocks to the balance (logit scale).")
    aid_issue: str = Field(description="Issue holding the level of Western aid to side a.")
    financing_issue: str | None = Field(
        None, description="Issue holding the share of aid paid from frozen Russian assets (0..1)."
    )
    aid_effect: Param(0.0, 10.0) = Field(description="Capability side a gains from aid at level 1.")
    aid_bn_per_week: Param(0.0, 1000.0) = Field(description="Aid volume at level 1 ($bn per week).")
    donors: dict[str, Unit] = Field(description="Share of the aid bill each donor pays.")
    losses_per_week: Param(0.0, 100.0) = Field(
        1.0, description="Loss index per week of fighting for each side at an even balance."
    )
    ceasefire_aid_fraction: Unit = Field(
        0.5, description="Aid volume under a ceasefire, relative to wartime at the same level."
    )
    sources: Sources = _sources()


class Deterrence(BaseModel):
    """Renewed war after a ceasefire: a weekly hazard lowered by the deterrent."""

    model_config = _Strict
    challenger: str = Field(description="Actor that may resume the war.")
    defender: str = Field(description="Actor the guarantees protect.")
    base_hazard: Unit = Field(description="Weekly probability of renewed war at revisionism 1 and no deterrent.")
    guarantee_weight: Param(0.0, 100.0) = Field(
        description="Deterrent per unit of commitment x credibility x guarantor capability."
    )
    self_defence_weight: Param(0.0, 100.0) = Field(
        description="Deterrent per unit of the defender's own strength (capability + aid)."
    )
    sources: Sources = _sources()


class Outcomes(BaseModel):
    """How an agreed package is classified."""

    model_config = _Strict
    issue: str = Field(description="The issue whose agreed value classifies the outcome.")
    classes: dict[float, Literal[OUTCOME_CLASSES]] = Field(
        description="Outcome class of each labelled point of that issue."
    )


class Scenario(BaseModel):
    """A whole scenario, after ``extends:`` and ``--set`` are applied."""

    model_config = _Strict
    schema_version: Literal[1]
    extends: str | None = Field(None, description="Parent scenario file, relative to this one.")
    name: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="Short name for folders and titles: letters, digits, '_', '-' and '.', starting with a letter "
        "or digit, at most 80 characters (default: the file name).",
    )
    title: str = ""
    description: str = Field(min_length=1)
    settings: Settings = Field(default_factory=Settings)
    issues: dict[str, Issue] = Field(min_length=1)
    actors: dict[str, Actor] = Field(min_length=1)
    negotiation: Negotiation = Field(default_factory=Negotiation)
    war: War | None = Field(None, description="The war; omit war, deterrence and outcomes for talks only.")
    deterrence: Deterrence | None = None
    outcomes: Outcomes | None = None
    seeds: list[str] = Field(
        default_factory=list, description="Claim digests this scenario cites (paths relative to the file)."
    )
    sweep: SweepSpec | None = Field(None, description="A parameter sweep over this scenario (negsim sweep).")
    sources: Sources = _sources()

    @field_validator("name", mode="before")
    @classmethod
    def _folder_safe(cls, v: Any) -> Any:
        if isinstance(v, str) and not re.fullmatch(NAME_PATTERN, v):
            raise ValueError(
                f"{v!r} cannot name a folder; allowed: letters, digits, '_', '-' and '.', starting with a letter "
                "or digit, at most 80 characters (e.g. aid_only-v2)"
            )
        return v


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with where it came from.

    Attributes:
        spec: The validated scenario.
        path: The file it was loaded from.
        name: Short name (``name:`` key or the file stem), used in titles and folder names.
        raw: The merged plain data (after ``extends`` and ``--set``), for the manifest.
        files: Every file read, child first, with its SHA-256.
        overrides: The ``--set`` overrides applied, as given.
    """

    spec: Scenario
    path: Path
    name: str
    raw: dict
    files: tuple[tuple[str, str], ...]
    overrides: tuple[tuple[str, Any], ...] = ()
    locs: Locs = field(default_factory=dict, repr=False, compare=False)

    @property
    def actor_ids(self) -> list[str]:
        """Actor ids in file order (fixes colours and table order)."""
        return list(self.spec.actors)

    @property
    def issue_ids(self) -> list[str]:
        """Issue ids in file order."""
        return list(self.spec.issues)

    def with_overrides(self, overrides: dict[str, Any]) -> LoadedScenario:
        """A copy with more ``key.path=value`` overrides applied (re-validated)."""
        return load(self.path, overrides={**dict(self.overrides), **overrides})

    def derive(self, overrides: dict[str, Any]) -> LoadedScenario:
        """Like :meth:`with_overrides`, but from the data already read: no file is re-read.

        About 1 ms instead of 150 ms, for sweeps that build thousands of variants of one file. Field
        values and cross-references are validated as in :func:`load`; the provenance check is not
        repeated (it depends on which keys are set, not on their values, so checking the overridden
        keys once with :meth:`with_overrides` covers every value).
        """
        data = copy.deepcopy(self.raw)
        locs = dict(self.locs)
        applied = dict(self.overrides)
        for key, value in overrides.items():
            v = parse_scalar(value) if isinstance(value, str) else value
            _set_path(data, key, v)
            locs[tuple(key.split("."))] = ("--set", None)
            applied[key] = v
        spec = _validate(data, locs, str(self.path))
        return LoadedScenario(
            spec=spec,
            path=self.path,
            name=self.name,
            raw=data,
            files=self.files,
            overrides=tuple(applied.items()),
            locs=locs,
        )

    def line(self) -> str:
        """The scenario in one line: name, file, title, size, protocol and overrides."""
        spec = self.spec
        over = f", overrides {dict(self.overrides)}" if self.overrides else ""
        return (
            f"<LoadedScenario {self.name} ({self.path}): {spec.title or self.name}; "
            f"{len(spec.actors)} actors, {len(spec.issues)} issues, protocol {spec.negotiation.protocol.name}{over}>"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text view: one line instead of the whole validated model."""
        p.text(self.line())


# ----------------------------------------------------------------------------- loading


def safe_name(text: str) -> str:
    """A folder-safe scenario name from free text (a file name): other characters become ``_``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).lstrip("._-")[:80]
    return name or "scenario"


def _deep_merge(base: Any, child: Any, under_sources: bool = False) -> Any:
    """A child file's data over its parent's: sections merge key by key; values replace.

    A distribution (``{normal: [...]}``) and a source entry (in a ``sources:`` block) are values:
    the child's replaces the parent's whole, never mixed with it key by key.
    """
    if isinstance(base, dict) and isinstance(child, dict) and not under_sources and not _is_dist(child):
        out = dict(base)
        for k, v in child.items():
            out[k] = _deep_merge(base[k], v, under_sources=k == "sources") if k in base else v
        return out
    if under_sources and isinstance(base, dict) and isinstance(child, dict):
        return {**base, **child}  # a sources block: each entry replaces the parent's entry for that key
    return child


def _is_dist(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in DIST_KINDS


def _read_chain(path: Path, stack: tuple[Path, ...]) -> tuple[dict, Locs, list[tuple[str, str]]]:
    shown = str(path)
    text = read_text(path)
    data, locs = load_yaml(path, text)
    files = [(shown, hashlib.sha256(text.encode()).hexdigest())]
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ScenarioError(f"the top level must be a mapping of scenario keys, got {kind}", file=shown, line=1)
    if "schema_version" not in data:
        raise ScenarioError(
            "missing required key 'schema_version'",
            file=shown,
            line=1,
            path="schema_version",
            allowed=f"schema_version: {SCHEMA_VERSION}",
        )
    if data["schema_version"] != SCHEMA_VERSION:
        raise ScenarioError(
            f"unsupported schema_version {data['schema_version']!r}",
            file=shown,
            line=locs.get(("schema_version",), (shown, None))[1],
            path="schema_version",
            allowed=str(SCHEMA_VERSION),
        )
    parent = data.get("extends")
    if parent is None:
        return data, locs, files
    line = locs.get(("extends",), (shown, None))[1]
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            "must be a file path",
            file=shown,
            line=line,
            path="extends",
            allowed="a path relative to this file",
        )
    try:
        ppath = (path.parent / parent).resolve()
        found = ppath.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the OS
        why = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(
            f"extends {parent!r}: not a usable path ({why})", file=shown, line=line, path="extends"
        ) from None
    if ppath in stack or ppath == path.resolve():
        chain = " -> ".join(str(p.name) for p in (*stack, path.resolve(), ppath))
        raise ScenarioError(f"circular extends ({chain})", file=shown, line=line, path="extends")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            f"extends chain is deeper than {MAX_EXTENDS_DEPTH} files",
            file=shown,
            line=line,
            path="extends",
        )
    if not found:
        raise ScenarioError(f"extends {parent!r}: no such file ({ppath})", file=shown, line=line, path="extends")
    pdata, plocs, pfiles = _read_chain(ppath, (*stack, path.resolve()))
    merged = _deep_merge(pdata, data)
    merged_locs = {**plocs, **locs}
    return merged, merged_locs, files + pfiles


def _fmt_path(loc: tuple) -> str:
    return ".".join(str(int(p) if isinstance(p, float) and p.is_integer() else p) for p in loc)


def locate(locs: Locs, loc: tuple, default: str) -> tuple[str, int | None]:
    """``(file, line)`` where key path ``loc`` (or its nearest parent) was written, else ``(default, None)``."""
    loc = tuple(loc)
    while loc:
        if loc in locs:
            return locs[loc]
        # pydantic reports dict keys as they were given; YAML int keys index as ints
        alt = tuple(int(p) if isinstance(p, float) and p.is_integer() else p for p in loc)
        if alt in locs:
            return locs[alt]
        loc = loc[:-1]
    return locs.get((), (default, 1))


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _fields_at(loc: tuple) -> list[str] | None:
    """The keys allowed at a key path, by walking the pydantic models."""
    tp: Any = Scenario
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part)
            if f is None:
                return None
            tp = f.annotation
            continue
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is dict:
            tp = args[1]
        elif origin in (list, tuple):
            tp = args[0]
        elif args:  # Optional / Union: take the model member
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if not models:
                return None
            tp = models[0]
            f = tp.model_fields.get(part)
            if f is None:
                return None
            tp = f.annotation
        else:
            return None
    tp = _unwrap(tp)
    args = get_args(tp)
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        tp = models[0] if models else None
    return list(tp.model_fields) if tp is not None else None


def errors_from_pydantic(exc: ValidationError, locs: Locs, default: str) -> list[ScenarioError]:
    """Turn pydantic validation errors into :class:`ScenarioError` s naming file, line, key path and allowed values."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        file, line = locate(locs, loc, default)
        allowed = None
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if "; allowed: " in msg:
            msg, allowed = msg.split("; allowed: ", 1)
        if kind == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
            fields = _fields_at(loc[:-1])
            allowed = ", ".join(fields) if fields else None
        elif kind == "missing":
            msg = "missing required key"
            fields = _fields_at(loc[:-1])
        else:
            got = err.get("input")
            if not isinstance(got, dict | list) and kind not in ("value_error",):
                msg = f"{msg[0].lower()}{msg[1:]}, got {got!r}"
            else:
                msg = f"{msg[0].lower()}{msg[1:]}"
        # pydantic puts union/literal member names in the loc; drop the ones that are not keys
        path = _fmt_path(tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "literal[")))))
        out.append(ScenarioError(msg, file=file, line=line, path=path, allowed=allowed))
    return out


def _set_path(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    if not dotted or any(not p for p in parts):
        raise ScenarioError(f"--set {dotted!r}: expected KEY.PATH=VALUE", file="--set")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        key: Any = part
        if isinstance(node, dict) and key not in node:
            try:
                num = float(part)
                if num in node:
                    key = num
                elif int(num) in node:
                    key = int(num)
            except (ValueError, OverflowError):  # not a number, or inf / nan
                pass
        if isinstance(node, dict) and key not in node and part in (_fields_at(tuple(parts[:i])) or []):
            node[key] = {}  # a section the file leaves at its defaults: create it
        if not isinstance(node, dict) or key not in node:
            here = ".".join(parts[:i]) or "(top level)"
            keys = ", ".join(map(str, node)) if isinstance(node, dict) else "none (not a mapping)"
            raise ScenarioError(f"no key {part!r} under {here}", file="--set", path=dotted, allowed=keys)
        if not isinstance(node[key], dict):
            node[key] = {} if node[key] is None else node[key]
            if not isinstance(node[key], dict):
                raise ScenarioError(
                    f"{'.'.join(parts[: i + 1])} is a value, not a mapping",
                    file="--set",
                    path=dotted,
                )
        node = node[key]
    node[parts[-1]] = value


def _check_refs(s: Scenario, locs: Locs, shown: str) -> list[ScenarioError]:
    """Cross-references and scale ranges that a single field cannot check."""
    errs: list[ScenarioError] = []
    actors = list(s.actors)
    issues = list(s.issues)

    def err(loc: tuple, msg: str, allowed: str | None = None) -> None:
        file, line = locate(locs, loc, shown)
        errs.append(ScenarioError(msg, file=file, line=line, path=_fmt_path(loc), allowed=allowed))

    def actor_ref(loc: tuple, a: str) -> None:
        if a not in s.actors:
            err(loc, f"unknown actor {a!r}", ", ".join(actors))

    def issue_ref(loc: tuple, i: str) -> bool:
        if i not in s.issues:
            err(loc, f"unknown issue {i!r}", ", ".join(issues))
            return False
        return True

    def in_scale(loc: tuple, issue: Issue, v: float | Dist | None) -> None:
        if v is None:
            return
        vals = [v] if not isinstance(v, Dist) else []
        if isinstance(v, Dist):
            if v.kind == "normal":
                vals = [v.args[0]]
            elif v.kind != "beta":
                vals = list(v.args)
        for x in vals:
            if not issue.lo <= x <= issue.hi:
                err(
                    loc,
                    f"{x:g} is outside the scale of {issue.label!r}",
                    f"[{issue.lo:g}, {issue.hi:g}]",
                )
                return

    for iid, issue in s.issues.items():
        in_scale(("issues", iid, "status_quo"), issue, issue.status_quo)
    for aid, a in s.actors.items():
        for k, iid in enumerate(a.veto):
            issue_ref(("actors", aid, "veto", k), iid)
        for iid, pos in a.positions.items():
            if issue_ref(("actors", aid, "positions", iid), iid):
                issue = s.issues[iid]
                in_scale(("actors", aid, "positions", iid, "ideal"), issue, pos.ideal)
                in_scale(("actors", aid, "positions", iid, "position"), issue, pos.position)
        for iid, rl in a.red_lines.items():
            if issue_ref(("actors", aid, "red_lines", iid), iid):
                in_scale(("actors", aid, "red_lines", iid, "min"), s.issues[iid], rl.min)
                in_scale(("actors", aid, "red_lines", iid, "max"), s.issues[iid], rl.max)
                for k, v in enumerate(rl.exclude):
                    in_scale(("actors", aid, "red_lines", iid, "exclude", k), s.issues[iid], v)
        for other in a.leverage:
            actor_ref(("actors", aid, "leverage", other), other)
    for iid, v in s.negotiation.fixed.items():
        if issue_ref(("negotiation", "fixed", iid), iid):
            in_scale(("negotiation", "fixed", iid), s.issues[iid], v)
    if s.negotiation.protocol.mediator is not None:
        actor_ref(("negotiation", "protocol", "mediator"), s.negotiation.protocol.mediator)

    if s.negotiation.protocol.name not in PROTOCOLS:
        err(
            ("negotiation", "protocol", "name"),
            f"unknown protocol {s.negotiation.protocol.name!r}",
            ", ".join(PROTOCOLS),
        )
    if s.war is not None and s.deterrence is not None and s.outcomes is not None:
        for k, a in enumerate(s.war.sides):
            actor_ref(("war", "sides", k), a)
        if s.war.sides[0] == s.war.sides[1]:
            err(("war", "sides"), "the two sides must be different actors")
        if issue_ref(("war", "aid_issue"), s.war.aid_issue):
            ai = s.issues[s.war.aid_issue]
            if ai.lo < 0 or ai.hi > MAX_AID_LEVEL:  # a level multiplies aid_bn_per_week: no negative bills, no overflow
                err(("war", "aid_issue"), f"the aid issue's scale must lie within [0, {MAX_AID_LEVEL:g}]")
        if s.war.financing_issue is not None and issue_ref(("war", "financing_issue"), s.war.financing_issue):
            fi = s.issues[s.war.financing_issue]
            if fi.lo < 0 or fi.hi > 1:
                err(("war", "financing_issue"), "the financing issue's scale must lie within [0, 1]")
        for d in s.war.donors:
            actor_ref(("war", "donors", d), d)
        actor_ref(("deterrence", "challenger"), s.deterrence.challenger)
        actor_ref(("deterrence", "defender"), s.deterrence.defender)
        if issue_ref(("outcomes", "issue"), s.outcomes.issue):
            pts = set(s.issues[s.outcomes.issue].points)
            missing = sorted(pts - set(s.outcomes.classes))
            extra = sorted(set(s.outcomes.classes) - pts)
            if missing:
                err(
                    ("outcomes", "classes"),
                    f"no class for point(s) {', '.join(f'{p:g}' for p in missing)}",
                )
            if extra:
                err(
                    ("outcomes", "classes"),
                    f"point(s) {', '.join(f'{p:g}' for p in extra)} are not labelled points of {s.outcomes.issue}",
                    ", ".join(f"{p:g}" for p in sorted(pts)),
                )
        for side in s.war.sides:
            a = s.actors.get(side)
            if a is not None and a.weariness_reference_losses is None:
                err(("actors", side, "weariness_reference_losses"), "a war side needs a loss reference")
        for d in s.war.donors:
            a = s.actors.get(d)
            if a is not None and a.weariness_reference_bn is None:
                err(("actors", d, "weariness_reference_bn"), "a donor needs a spending reference")
    present = [k for k in ("war", "deterrence", "outcomes") if getattr(s, k) is not None]
    if present and len(present) < 3:
        missing = [k for k in ("war", "deterrence", "outcomes") if getattr(s, k) is None]
        err(
            (present[0],),
            f"a scenario with {', '.join(present)} also needs {', '.join(missing)}",
            "all of war, deterrence and outcomes (a war scenario), or none (talks only)",
        )
    proto = s.negotiation.protocol
    cls = PROTOCOLS.get(proto.name)
    if cls is not None:
        extra = dict(proto.model_extra or {})
        try:
            cls.Params.model_validate(extra)
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                loc = ("negotiation", "protocol", *e["loc"])
                kind = e["type"]
                if kind == "extra_forbidden":
                    allowed = ", ".join(["name", "mediator", "mediator_weight", *cls.Params.model_fields])
                    err(loc, f"unknown key {e['loc'][-1]!r} for protocol {proto.name!r}", allowed)
                else:
                    err(loc, e["msg"][0].lower() + e["msg"][1:])
        if s.war is not None and not cls.traits.get("yields_agreement", False):
            err(
                ("negotiation", "protocol", "name"),
                f"protocol {proto.name!r} forms no agreement text, so it cannot drive the war layer",
                ", ".join(n for n, c in PROTOCOLS.items() if c.traits.get("yields_agreement")),
            )
    return errs


def raise_errors(errs: list[ScenarioError]) -> None:
    """Raise the first error; list up to five more under it (``allowed`` stays next to the first)."""
    if not errs:
        return
    first = errs[0]
    if len(errs) > 1:
        more = "\n".join("  " + e.message for e in errs[1:6])
        extra = f"\n  ... and {len(errs) - 6} more" if len(errs) > 6 else ""
        allowed = f" (allowed: {first.allowed})" if first.allowed else ""
        first = ScenarioError(
            f"{first.problem}{allowed}\n{len(errs) - 1} more problem(s):\n{more}{extra}",
            file=first.file,
            line=first.line,
            path=first.path,
        )
    raise first


def _validate(data: dict, locs: Locs, shown: str) -> Scenario:
    """Field validation, then cross-references; the first problem raised as a ScenarioError."""
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        raise_errors(errors_from_pydantic(exc, locs, shown))
        raise  # pragma: no cover
    raise_errors(_check_refs(spec, locs, shown))
    return spec


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedScenario:
    """Load, merge (``extends``), override (``--set``) and validate a scenario file.

    Args:
        path: The YAML file.
        overrides: ``{"actors.us.resolve": 0.7, ...}``; string values are parsed as YAML scalars.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: for any problem, naming file, line, key path and allowed values.
    """
    path = Path(path)
    shown = str(path)
    data, locs, files = _read_chain(path, ())
    data = copy.deepcopy(data)
    applied = []
    for key, value in (overrides or {}).items():
        v = parse_scalar(value) if isinstance(value, str) else value
        _set_path(data, key, v)
        locs[tuple(key.split("."))] = ("--set", None)
        applied.append((key, v))
    spec = _validate(data, locs, shown)
    name = spec.name or safe_name(path.stem)
    loaded = LoadedScenario(
        spec=spec,
        path=path,
        name=name,
        raw=data,
        files=tuple(files),
        overrides=tuple(applied),
        locs=locs,
    )

    raise_errors(provenance.check(loaded).errors)
    return loaded


def _partial(node: Any) -> Any:
    """A copy of a schema with every ``required`` list dropped and refs pointed at partial defs."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "required" and isinstance(v, list):
                continue
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = "#/$defs/Partial" + v[len("#/$defs/") :]
                continue
            if k in ("minProperties", "minLength"):
                continue
            out[k] = _partial(v)
        return out
    if isinstance(node, list):
        return [_partial(v) for v in node]
    return node


def json_schema() -> dict:
    """JSON Schema (2020-12) of the scenario format, generated from the models the loader validates with.

    A file with ``extends:`` overrides only what differs, so for it nothing but
    ``schema_version`` is required (the ``Partial*`` definitions); a standalone file must be
    complete. Editors (VS Code's YAML extension) use this for completion and checking.
    """
    full = Scenario.model_json_schema()
    defs = full.pop("$defs", {})
    root_full = {k: v for k, v in full.items() if k not in ("title", "description")}
    all_defs = dict(defs)
    all_defs["Scenario"] = root_full
    for name, d in defs.items():
        all_defs["Partial" + name] = _partial(d)
    partial_root = _partial(root_full)
    partial_root["required"] = ["schema_version", "extends"]
    all_defs["PartialScenario"] = partial_root
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "negsim scenario",
        "description": "A negsim scenario file (schema_version 1). Generated by `negsim schema`; do not edit.",
        "if": {"required": ["extends"]},
        "then": {"$ref": "#/$defs/PartialScenario"},
        "else": {"$ref": "#/$defs/Scenario"},
        "$defs": all_defs,
    }
