"""Import datasets made for other tools as negsim scenarios (talks only, no war).

Formats (detected from the content, or named with ``--format``):

- ``bdm``: a Bueno de Mesquita style CSV, one row per actor, columns ``Actor, Capability,
  Position, Salience`` in any order and case; extra columns are kept as actor metadata; saliences
  on 0-1 or 0-100. Several issues: ``Position_<issue>`` / ``Salience_<issue>`` column pairs.
- ``smp``: a KTAB SMP CSV (a title row ``name, description, actors, dimensions``, the header
  ``Actor, Description, Power, <dim>, <sal>, ...``, one row per actor; 0-100 scales).
- ``decide``: a Decide exchange-model TSV (``#A`` actors, ``#P`` issues, ``#M`` labelled scale
  points, ``#D`` data rows).

Capabilities are divided by the largest (negsim's capabilities lie in [0, 1]; the models use only
their ratios). Every parameter of the written scenario carries the source "imported from FILE".
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError
from sim.fileio import atomic_write_bytes
from sim.scenario.loader import load
from sim.scenario.readers import read_decide_tsv
from sim.scenario.yamlio import read_text

FORMATS = ("bdm", "smp", "decide")
DEFAULT_PROTOCOL = {"bdm": "bdm", "smp": "smp", "decide": "exchange"}
DEFAULT_ROUNDS = {"bdm": 10, "smp": 100, "decide": 10}


def slug(name: str) -> str:
    """A scenario key from a free-text name: lower snake_case ASCII."""
    k = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    if not k:
        k = "x"
    return k if not k[0].isdigit() else f"x_{k}"


def _unique(keys: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for k in keys:
        n = seen.get(k, 0)
        seen[k] = n + 1
        out.append(k if n == 0 else f"{k}_{n + 1}")
    return out


def _num(text: str, where: str) -> float:
    try:
        v = float(str(text).strip().strip("'\""))
    except ValueError:
        raise ScenarioError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ScenarioError(f"{where}: {text!r} is not a finite number")
    return v


def detect(path: Path, text: str) -> str:
    """Guess the format of a file from its content."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if any(ln.lstrip().lstrip("'\"").startswith(("#A", "#D", "#P", "#M")) for ln in lines[:200]):
        return "decide"
    if (
        len(lines) >= 2
        and re.search(r"\bpstn|\bpower\b", lines[1], re.I)
        and not re.search(r"capability", lines[0], re.I)
    ):
        return "smp"
    head = lines[0].lower() if lines else ""
    if "actor" in head and "position" in head:
        return "bdm"
    raise ScenarioError("cannot tell the format of this file", file=str(path), allowed="--format bdm, smp or decide")


def _scale_points(values: list[float], lo: float | None = None, hi: float | None = None) -> dict[float, str]:
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    if hi <= lo:
        hi = lo + 1.0
    return {lo: "lowest position", hi: "highest position"}


def read_bdm(path: Path, text: str) -> dict[str, Any]:
    """Parse a BDM-style CSV into actors, issues and positions."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if len(rows) < 3:
        raise ScenarioError("a BDM CSV needs a header and at least two actors", file=str(path))
    header = [h.strip() for h in rows[0]]
    low = [h.lower() for h in header]

    def col(name: str) -> int | None:
        return low.index(name) if name in low else None

    ia, ic = col("actor"), col("capability")
    if ia is None or ic is None:
        raise ScenarioError(
            "a BDM CSV needs 'Actor' and 'Capability' columns", file=str(path), line=1, allowed=", ".join(header)
        )
    pos_cols: dict[str, tuple[int, int]] = {}
    if col("position") is not None and col("salience") is not None:
        pos_cols["issue"] = (col("position"), col("salience"))
    for k, h in enumerate(low):
        m = re.fullmatch(r"position[_ ](.+)", h)
        if m:
            sname = f"salience{h[len('position') :]}"
            if sname not in low:
                raise ScenarioError(f"column {header[k]!r} has no matching salience column", file=str(path), line=1)
            pos_cols[m.group(1)] = (k, low.index(sname))
    if not pos_cols:
        raise ScenarioError("a BDM CSV needs Position and Salience columns", file=str(path), line=1)
    used = {ia, ic, *(i for pair in pos_cols.values() for i in pair)}
    meta_cols = [k for k in range(len(header)) if k not in used and header[k]]
    actors = []
    for ln, r in enumerate(rows[1:], start=2):
        r = r + [""] * (len(header) - len(r))
        where = f"{path}:{ln}"
        actors.append(
            {
                "name": r[ia].strip(),
                "capability": _num(r[ic], f"{where}: Capability"),
                "positions": {
                    iss: (_num(r[p], f"{where}: {header[p]}"), _num(r[s], f"{where}: {header[s]}"))
                    for iss, (p, s) in pos_cols.items()
                },
                "metadata": {header[k]: r[k].strip() for k in meta_cols if r[k].strip()},
            }
        )
    issues = {}
    for iss in pos_cols:
        vals = [a["positions"][iss][0] for a in actors]
        issues[iss] = {"label": iss if iss != "issue" else path.stem, "points": _scale_points(vals)}
    sal_scale = 100.0 if max(s for a in actors for _, s in a["positions"].values()) > 1.0 else 1.0
    return {"actors": actors, "issues": issues, "salience_scale": sal_scale, "title": path.stem}


def read_smp(path: Path, text: str) -> dict[str, Any]:
    """Parse a KTAB SMP CSV."""
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    try:
        n_act, n_dim = int(rows[0][2]), int(rows[0][3])
    except (IndexError, ValueError):
        raise ScenarioError(
            "the first row of a KTAB CSV is: name, description, number of actors, number of dimensions",
            file=str(path),
            line=1,
        ) from None
    if len(rows) < 2 + n_act:
        raise ScenarioError(f"expected {n_act} actor rows after the header", file=str(path))
    dims = [rows[1][3 + 2 * k] or f"dim{k + 1}" for k in range(n_dim)]
    actors = []
    for ln, r in enumerate(rows[2 : 2 + n_act], start=3):
        where = f"{path}:{ln}"
        actors.append(
            {
                "name": r[0],
                "capability": _num(r[2], f"{where}: Power"),
                "positions": {
                    dims[k]: (
                        _num(r[3 + 2 * k], f"{where}: position {k + 1}"),
                        _num(r[4 + 2 * k], f"{where}: salience"),
                    )
                    for k in range(n_dim)
                },
                "metadata": {"description": r[1]} if r[1] else {},
            }
        )
    issues = {d: {"label": d, "points": {0.0: "0", 100.0: "100"}} for d in dims}
    return {
        "actors": actors,
        "issues": issues,
        "salience_scale": 100.0,
        "title": rows[0][0] or path.stem,
        "description": rows[0][1],
    }


def read_decide(path: Path, text: str) -> dict[str, Any]:
    """Parse a Decide TSV with :func:`sim.scenario.readers.read_decide_tsv` (labels kept)."""
    try:
        d = read_decide_tsv(path)
    except (ValueError, IndexError, KeyError) as exc:
        raise ScenarioError(f"not a valid Decide file: {exc}", file=str(path)) from None
    actors = []
    for a, key in enumerate(d.actors):
        positions = {}
        caps = []
        for i, iss in enumerate(d.issues):
            x = d.positions[a, i]
            if x is None or (isinstance(x, float) and math.isnan(x)):
                continue
            positions[iss] = (float(x), float(d.salience[a, i]))
            caps.append(float(d.power[a, i]))
        actors.append(
            {
                "key": key,
                "name": d.actor_names.get(key, key),
                "capability": sum(caps) / len(caps) if caps else 0.0,
                "positions": positions,
                "metadata": {"comment": d.actor_comments[key]} if d.actor_comments.get(key) else {},
            }
        )
    issues = {}
    for i, iss in enumerate(d.issues):
        labels = {float(p): (str(lab) or f"{float(p):g}") for p, lab in d.scale_labels.get(iss, ())}
        lo, hi = float(d.lower[i]), float(d.upper[i])
        labels.setdefault(lo, f"{lo:g}")
        labels.setdefault(hi, f"{hi:g}")
        issues[iss] = {"label": d.issue_names.get(iss, iss), "points": dict(sorted(labels.items()))}
    sal = [s for a in actors for _, s in a["positions"].values()]
    return {
        "actors": actors,
        "issues": issues,
        "salience_scale": 100.0 if sal and max(sal) > 1 else 1.0,
        "title": path.stem,
    }


READERS = {"bdm": read_bdm, "smp": read_smp, "decide": read_decide}


def to_scenario(path: Path, fmt: str = "auto", protocol: str | None = None) -> tuple[str, dict[str, Any]]:
    """Convert a file to a talks-only scenario mapping.

    Returns:
        ``(format, scenario)`` ready to dump as YAML.
    """
    text = read_text(path)
    if fmt == "auto":
        fmt = detect(path, text)
    if fmt not in READERS:
        raise ScenarioError(f"unknown format {fmt!r}", allowed=", ".join(FORMATS))
    data = READERS[fmt](path, text)
    actors = data["actors"]
    if len(actors) < 2:
        raise ScenarioError("need at least two actors", file=str(path))
    cmax = max(a["capability"] for a in actors)
    if cmax <= 0:
        raise ScenarioError("every capability is zero", file=str(path))
    issue_keys = _unique([slug(k) for k in data["issues"]])
    issue_map = dict(zip(data["issues"], issue_keys, strict=True))
    issues = {}
    for orig, key in issue_map.items():
        iss = data["issues"][orig]
        pts = {(int(p) if float(p).is_integer() else p): lab for p, lab in iss["points"].items()}
        lo_pt = min(pts)
        issues[key] = {"label": str(iss["label"]), "points": pts, "status_quo": lo_pt}
    actor_keys = _unique([slug(a.get("key") or a["name"]) for a in actors])
    out_actors = {}
    scale = data["salience_scale"]
    for key, a in zip(actor_keys, actors, strict=True):
        positions = {}
        for orig, (x, s) in a["positions"].items():
            iss = issues[issue_map[orig]]
            lo, hi = min(iss["points"]), max(iss["points"])
            positions[issue_map[orig]] = {
                "ideal": min(max(x, lo), hi),
                "salience": round(min(max(s / scale, 0.0), 1.0), 12),
            }
        entry: dict[str, Any] = {
            "name": a["name"],
            "capability": round(a["capability"] / cmax, 12),
            "resolve": 0.5,
            "positions": positions,
        }
        if a["metadata"]:
            entry["metadata"] = a["metadata"]
        out_actors[key] = entry
    proto = protocol or DEFAULT_PROTOCOL[fmt]
    src = f"imported from {path.name} ({fmt} format)"
    scenario = {
        "schema_version": 1,
        "name": slug(path.stem),
        "title": str(data.get("title") or path.stem),
        "description": (data.get("description") or f"Imported from {path.name} ({fmt} format).")
        + " Talks only: no war, ceasefire or deterrence.",
        "settings": {"weeks": DEFAULT_ROUNDS[fmt], "replicates": 1, "seed": 1},
        "issues": issues,
        "actors": out_actors,
        "negotiation": {"protocol": {"name": proto}},
        "sources": {
            "issues": {"assume": f"{src}; status quo set to the lowest point of each scale"},
            "actors": {"assume": f"{src}; capabilities divided by the largest; resolve 0.5 (unused in talks only)"},
            "negotiation": {"assume": f"protocol {proto}, the usual model for {fmt} data"},
        },
    }
    return fmt, scenario


def dump(scenario: dict[str, Any], source: Path, fmt: str) -> str:
    """The scenario as commented YAML."""
    head = (
        "# yaml-language-server: $schema=scenario.schema.json\n"
        f"# negsim scenario imported from {source.name} ({fmt} format) by `negsim import`.\n"
        "# Talks only: run it with `negsim run FILE` (add --protocol to try another model).\n"
    )
    return head + yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100)


def import_to(
    path: Path,
    out: Path,
    fmt: str = "auto",
    protocol: str | None = None,
    name: str | None = None,
    title: str | None = None,
) -> tuple[str, Any]:
    """Convert ``path``, write the scenario to ``out`` atomically and load it (the written file must validate).

    Shared by ``negsim import`` and :func:`sim.import_file`.

    Returns:
        ``(format, LoadedScenario)``.
    """
    kind, scenario = to_scenario(path, fmt, protocol)
    if name:
        scenario["name"] = name
    if title:
        scenario["title"] = title
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, dump(scenario, path, kind).encode())
    return kind, load(out)
