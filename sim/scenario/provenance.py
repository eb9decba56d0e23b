"""Every number traceable to its source: claim digests, ``sources:`` blocks, and their checks.

A scenario lists the digests it cites (``seeds: [../seeds/article-2025-02-27.yaml]``). Any section
that holds parameters (the top level, each actor, ``war``, ``deterrence``, ``negotiation``, each
issue) may carry a ``sources:`` block keyed by a parameter path relative to that section::

    actors:
      us:
        resolve: 0.3
        sources:
          resolve: trump_talks_final_stages                 # one claim
          positions.security_guarantee: [trump_rejects_nato_entry, trump_peacekeeping_after_deal]
          capability: {assume: the strongest actor; the scale's reference}
          leverage.ukraine: {claims: [zelenskyy_raise_us_aid], note: strength assumed}

A source entry covers its path and everything under it (``positions.security_guarantee`` covers
its ``ideal``, ``position`` and ``salience``); a more specific entry wins. ``extends`` merges
``sources`` like any other mapping, so a child overrides the source of what it changes.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ScenarioError
from sim.scenario.params import Dist
from sim.scenario.yamlio import load_yaml

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario.loader import LoadedScenario, Scenario

MAX_QUOTE_WORDS = 25
CLAIM_FIELDS = ("id", "speaker", "role", "said", "quote", "paraphrase", "stance")


@dataclass(frozen=True)
class Claim:
    """One claim of a source digest (``seeds/*.yaml``).

    Attributes:
        id: Stable snake_case id that scenarios cite.
        speaker: Who said it, as the source names them.
        role: The speaker's role.
        said: When, as the source gives it.
        quote: A short verbatim quote (at most 25 words).
        paraphrase: Plain-language summary.
        stance: The coded stance (actor, issue, direction, ...).
        digest: The digest file it comes from.
    """

    id: str
    speaker: str
    role: str
    said: str
    quote: str
    paraphrase: str
    stance: dict
    digest: str


@dataclass(frozen=True)
class Source:
    """Where a parameter's value comes from: claims, a stated assumption (or claims plus a note), or a fit.

    Attributes:
        claims: Claim ids of the digests.
        assumption: A stated assumption (``{assume: ...}``).
        note: A note beside claims.
        fit: A fit to data (``{fitted: ...}``): the data, the method and the command that made it,
            e.g. written by ``negsim calibrate`` into ``posterior.yaml``.
        key: The source key as written.
        file: The file it was written in.
        line: Its line.
    """

    claims: tuple[str, ...] = ()
    assumption: str | None = None
    note: str | None = None
    fit: str | None = None
    key: str = ""
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ParamEntry:
    """One parameter of a scenario, with its value and its source (if any).

    Attributes:
        path: Dotted key path, e.g. ``actors.us.resolve``.
        group: Table group: the actor id, or the section (``war``, ``deterrence``, ...).
        value: The value as written (a number, a distribution, a list).
        source: The most specific source entry covering the path, or None.
    """

    path: str
    group: str
    value: Any
    source: Source | None = None


@dataclass
class Provenance:
    """The result of checking a scenario's provenance."""

    entries: list[ParamEntry]
    claims: dict[str, Claim]
    errors: list[ScenarioError] = field(default_factory=list)

    stale: list[tuple[ParamEntry, str]] = field(default_factory=list)

    @property
    def unsourced(self) -> list[ParamEntry]:
        """Parameters with neither a claim nor an assumption."""
        return [e for e in self.entries if e.source is None]

    def warnings(self) -> list[str]:
        """Human-readable warnings: unsourced parameters and sources left behind by an override."""
        out = [f"{e.path}: no source and no assumption" for e in self.unsourced]
        out += [f"{e.path}: value set in {vf}, but its source comes from {e.source.file}" for e, vf in self.stale]
        return out


# ----------------------------------------------------------------------------- digests


def _words(text: str) -> int:
    return len(text.split())


def load_digest(path: Path) -> dict[str, Claim]:
    """Load and check a claim digest.

    Raises:
        ScenarioError: naming the digest file, line and key path of the first problem (missing
            fields, duplicate ids, a quote over 25 words).
    """
    data, locs = load_yaml(path)
    shown = str(path)

    def err(loc: tuple, msg: str, allowed: str | None = None) -> ScenarioError:
        line = None
        probe = loc
        while probe and probe not in locs:
            probe = probe[:-1]
        if probe in locs:
            line = locs[probe][1]
        return ScenarioError(msg, file=shown, line=line, path=".".join(map(str, loc)), allowed=allowed)

    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise err((), "a digest must be a mapping with a 'claims' list")
    out: dict[str, Claim] = {}
    for i, c in enumerate(data["claims"]):
        if not isinstance(c, dict):
            raise err(("claims", i), "each claim must be a mapping")
        missing = [f for f in CLAIM_FIELDS if f not in c]
        if missing:
            raise err(("claims", i), f"missing field(s) {', '.join(missing)}", ", ".join(CLAIM_FIELDS))
        cid = c["id"]
        if not isinstance(cid, str) or not cid.replace("_", "").isalnum() or cid.lower() != cid:
            raise err(("claims", i, "id"), f"claim id {cid!r} must be snake_case")
        if cid in out:
            raise err(("claims", i, "id"), f"duplicate claim id {cid!r}")
        quote = str(c["quote"])
        if _words(quote) > MAX_QUOTE_WORDS:
            raise err(
                ("claims", i, "quote"),
                f"quote of claim {cid!r} has {_words(quote)} words",
                f"at most {MAX_QUOTE_WORDS} words",
            )
        out[cid] = Claim(
            id=cid,
            speaker=str(c["speaker"]),
            role=str(c["role"]),
            said=str(c["said"]),
            quote=quote,
            paraphrase=" ".join(str(c["paraphrase"]).split()),
            stance=dict(c["stance"]) if isinstance(c["stance"], dict) else {},
            digest=shown,
        )
    return out


# ----------------------------------------------------------------------------- parameters


def _is_value(v: Any) -> bool:
    return isinstance(v, int | float | Dist | list | tuple | str) and not isinstance(v, bool)


def parameters(spec: Scenario) -> list[ParamEntry]:
    """Every parameter of a scenario that needs a source, in a stable order.

    Structural keys (names, labels, descriptions, scale points, outcome classes, settings) are
    definitions, not parameters, and are not listed.
    """
    out: list[ParamEntry] = []

    def add(path: str, group: str, value: Any) -> None:
        if value is not None:
            out.append(ParamEntry(path, group, value))

    for iid, issue in spec.issues.items():
        add(f"issues.{iid}.status_quo", "issues", issue.status_quo)
    for aid, a in spec.actors.items():
        base = f"actors.{aid}"
        for k in (
            "capability",
            "resolve",
            "risk_attitude",
            "revisionism",
            "weariness_reference_bn",
            "weariness_reference_losses",
        ):
            add(f"{base}.{k}", aid, getattr(a, k))
        if a.veto:
            add(f"{base}.veto", aid, list(a.veto))
        for iid, pos in a.positions.items():
            add(f"{base}.positions.{iid}.ideal", aid, pos.ideal)
            add(f"{base}.positions.{iid}.position", aid, pos.position)
            add(f"{base}.positions.{iid}.salience", aid, pos.salience)
        for iid, rl in a.red_lines.items():
            for k in ("min", "max", "breaks_at_pressure"):
                add(f"{base}.red_lines.{iid}.{k}", aid, getattr(rl, k))
            if rl.exclude:
                add(f"{base}.red_lines.{iid}.exclude", aid, list(rl.exclude))
        for other, v in a.leverage.items():
            add(f"{base}.leverage.{other}", aid, v)
        for cls, g in a.guarantees.items():
            for k in ("commitment", "credibility", "cost_bn_per_week"):
                add(f"{base}.guarantees.{cls}.{k}", aid, getattr(g, k))
    neg = spec.negotiation
    add("negotiation.protocol.name", "negotiation", neg.protocol.name)
    add("negotiation.protocol.mediator", "negotiation", neg.protocol.mediator)
    add("negotiation.protocol.mediator_weight", "negotiation", neg.protocol.mediator_weight)
    for iid, v in neg.fixed.items():
        add(f"negotiation.fixed.{iid}", "negotiation", v)
    for k in ("concession_rate", "outlook_weeks", "start_week", "renegotiation_delay_weeks"):
        add(f"negotiation.{k}", "negotiation", getattr(neg, k))
    w = spec.war
    if w is None:
        return out
    add("war.sides", "war", list(w.sides))
    for k in (
        "initial_balance",
        "mean_reversion",
        "volatility",
        "aid_effect",
        "aid_bn_per_week",
        "losses_per_week",
        "ceasefire_aid_fraction",
    ):
        add(f"war.{k}", "war", getattr(w, k))
    for d, v in w.donors.items():
        add(f"war.donors.{d}", "war", v)
    d = spec.deterrence
    for k in ("challenger", "defender", "base_hazard", "guarantee_weight", "self_defence_weight"):
        add(f"deterrence.{k}", "deterrence", getattr(d, k))
    return out


def _parse_source(value: Any) -> tuple[tuple[str, ...], str | None, str | None, str | None] | str:
    """``(claims, assumption, note, fit)`` or an error message."""
    if isinstance(value, str):
        return ((value,), None, None, None)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return (tuple(value), None, None, None)
    if isinstance(value, dict):
        keys = set(value)
        if keys == {"assume"} and isinstance(value["assume"], str) and value["assume"].strip():
            return ((), value["assume"].strip(), None, None)
        if keys == {"fitted"} and isinstance(value["fitted"], str) and value["fitted"].strip():
            return ((), None, None, value["fitted"].strip())
        if "claims" in keys and keys <= {"claims", "note"}:
            cl = value["claims"]
            if isinstance(cl, str):
                cl = [cl]
            note = value.get("note")
            if (
                isinstance(cl, list)
                and cl
                and all(isinstance(v, str) for v in cl)
                and (note is None or isinstance(note, str))
            ):
                return (tuple(cl), None, note, None)
    return (
        "a source must be a claim id, a list of claim ids, {assume: 'one-line rationale'}, "
        "{claims: [...], note: '...'}, or {fitted: 'the fit: data, method, command'}"
    )


SECTION_SOURCES = ("", "war", "deterrence", "negotiation")


def _source_blocks(raw: dict) -> list[tuple[str, tuple, dict]]:
    """All ``sources`` blocks in the merged raw data: (path prefix, loc of the block, block)."""
    blocks = []
    if isinstance(raw.get("sources"), dict):
        blocks.append(("", ("sources",), raw["sources"]))
    for sec in ("war", "deterrence", "negotiation"):
        s = raw.get(sec)
        if isinstance(s, dict) and isinstance(s.get("sources"), dict):
            blocks.append((f"{sec}.", (sec, "sources"), s["sources"]))
    for coll in ("actors", "issues"):
        for key, sec in (raw.get(coll) or {}).items():
            if isinstance(sec, dict) and isinstance(sec.get("sources"), dict):
                blocks.append((f"{coll}.{key}.", (coll, key, "sources"), sec["sources"]))
    return blocks


DEFAULT = Source(assumption="the scenario format's default (not set in the file)", key="(default)")
"""Source of a parameter the scenario leaves at its default."""


def _written(raw: Any, path: str) -> bool:
    """Whether a parameter path is set in the (merged) scenario data rather than defaulted."""
    node = raw
    for part in path.split("."):
        if not isinstance(node, dict):
            return False
        if part in node:
            node = node[part]
            continue
        try:
            num = float(part)
        except ValueError:
            return False
        key = next((k for k in node if isinstance(k, int | float) and float(k) == num), None)
        if key is None:
            return False
        node = node[key]
    return True


def check(loaded: LoadedScenario) -> Provenance:
    """Resolve every parameter's source and collect errors.

    Errors (returned, not raised): a cited claim id that no digest defines, a source key that
    names no parameter, a malformed source entry, an unreadable digest. Unsourced parameters
    are listed in :attr:`Provenance.unsourced` (a warning, or an error under ``--strict``).
    """
    spec, locs = loaded.spec, loaded.locs
    errors: list[ScenarioError] = []
    claims: dict[str, Claim] = {}

    def where(loc: tuple) -> tuple[str | None, int | None]:
        probe = loc
        while probe and probe not in locs:
            probe = probe[:-1]
        return locs.get(probe, (str(loaded.path), None))

    # digests, relative to the file that names them
    for k, rel in enumerate(spec.seeds):
        file, line = where(("seeds", k))
        base = Path(file).parent if file and not file.startswith("--set") else loaded.path.parent
        try:
            p = (base / rel).resolve()
            claims.update(load_digest(p))
        except ScenarioError as exc:
            errors.append(exc)
        except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the OS
            why = getattr(exc, "strerror", None) or str(exc)
            errors.append(ScenarioError(f"not a usable path ({why})", file=file, line=line, path=f"seeds.{k}"))
    entries = parameters(spec)
    paths = [e.path for e in entries]
    sources: dict[str, Source] = {}
    for prefix, loc, block in _source_blocks(loaded.raw):
        for key, value in block.items():
            kloc = (*loc, key)
            file, line = where(kloc)
            full = f"{prefix}{key}"
            parsed = _parse_source(value)
            if isinstance(parsed, str):
                errors.append(ScenarioError(parsed, file=file, line=line, path=".".join(map(str, kloc))))
                continue
            cids, assumption, note, fit = parsed
            for cid in cids:
                if cid not in claims:
                    close = difflib.get_close_matches(cid, list(claims), n=3, cutoff=0.6)
                    hint = (
                        f"did you mean {', '.join(close)}?"
                        if close
                        else (
                            "a claim id from " + ", ".join(spec.seeds) if spec.seeds else "list digests under 'seeds:'"
                        )
                    )
                    errors.append(
                        ScenarioError(
                            f"unknown claim id {cid!r}",
                            file=file,
                            line=line,
                            path=".".join(map(str, kloc)),
                            allowed=hint,
                        )
                    )
            if not any(p == full or p.startswith(full + ".") for p in paths):
                under = [p[len(prefix) :] for p in paths if p.startswith(prefix)]
                close = difflib.get_close_matches(str(key), under, n=3, cutoff=0.5)
                errors.append(
                    ScenarioError(
                        f"source for {key!r}, which is not a parameter here",
                        file=file,
                        line=line,
                        path=".".join(map(str, kloc)),
                        allowed=", ".join(close) if close else None,
                    )
                )
                continue
            sources[full] = Source(cids, assumption, note, fit, key=full, file=file, line=line)
    resolved = []
    stale: list[tuple[ParamEntry, str]] = []
    for e in entries:
        if not _written(loaded.raw, e.path):
            resolved.append(ParamEntry(e.path, e.group, e.value, DEFAULT))
            continue
        src = None
        parts = e.path.split(".")
        for n in range(len(parts), 0, -1):
            cand = ".".join(parts[:n])
            if cand in sources:
                src = sources[cand]
                break
        entry = ParamEntry(e.path, e.group, e.value, src)
        resolved.append(entry)
        value_file = where(tuple(path_part(p) for p in e.path.split(".")))[0]
        if src is not None and src.file and value_file and value_file != src.file and value_file != "--set":
            stale.append((entry, value_file))
    return Provenance(entries=resolved, claims=claims, errors=errors, stale=stale)


def path_part(part: str) -> Any:
    """A path part as it is keyed in the YAML (numbers for scale points)."""
    try:
        f = float(part)
    except ValueError:
        return part
    return int(f) if f.is_integer() else f


# ----------------------------------------------------------------------------- explain


def format_value(v: Any) -> str:
    """A parameter value as a short string (distributions in their YAML form)."""
    if isinstance(v, Dist):
        return f"{v.kind}({', '.join(f'{a:g}' for a in v.args)})"
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def explain_rows(prov: Provenance) -> list[dict[str, str]]:
    """One row per parameter: group, parameter, value, kind (claim/assumption/none), source text."""
    rows = []
    for e in prov.entries:
        src = e.source
        if src is None:
            kind, text, speaker = "MISSING", "no source and no assumption", ""
        elif src.claims:
            kind = "claim"
            parts, speakers = [], []
            for cid in src.claims:
                c = prov.claims.get(cid)
                if c is None:
                    parts.append(f"{cid} (unknown claim)")
                    continue
                parts.append(f'{cid}: "{c.quote}"')
                speakers.append(c.speaker)
            text = "; ".join(parts) + (f" [note: {src.note}]" if src.note else "")
            speaker = ", ".join(dict.fromkeys(speakers))
        elif src is DEFAULT:
            kind, text, speaker = "default", src.assumption or "", ""
        elif src.fit:
            kind, text, speaker = "fitted", src.fit, ""
        else:
            kind, text, speaker = "assumption", src.assumption or "", ""
        group = e.group
        param = e.path
        if e.path.startswith(f"actors.{group}."):
            param = e.path[len(f"actors.{group}.") :]
        elif e.path.startswith(f"{group}."):
            param = e.path[len(group) + 1 :]
        details = []
        if src is not None and src.claims:
            for cid in src.claims:
                c = prov.claims.get(cid)
                details.append(f'[{cid}] {c.speaker}: "{c.quote}"' if c else f"[{cid}] (unknown claim)")
            if src.note:
                details.append(f"note: {src.note}")
        elif src is None:
            details.append("MISSING: no source and no assumption")
        elif src.fit:
            details.append(f"fitted: {src.fit}")
        else:
            details.append(("default: " if src is DEFAULT else "assume: ") + (src.assumption or ""))
        rows.append(
            {
                "details": details,
                "group": group,
                "parameter": param,
                "path": e.path,
                "value": format_value(e.value),
                "kind": kind,
                "speaker": speaker,
                "source": text,
            }
        )
    return rows
