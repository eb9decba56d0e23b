"""A run as one self-contained HTML page (``negsim report``, ``RunResult.report``).

The page holds the summary tables, every plot of the run folder embedded as a ``data:`` URI, the
scenario's parameters with their sources (claims quoted, assumptions stated) and the manifest. It
needs no server, no network and no files beside it: no external style sheets, scripts or fonts.

The HTML pieces (summary tables, the scenario's actor table) are also what notebooks show for a
:class:`~sim.engine.runner.RunResult` and a :class:`~sim.scenario.loader.LoadedScenario`.

Example:
    >>> from sim.output.report import write_report
    >>> write_report("runs/baseline-20250301-120000")  # doctest: +SKIP
    PosixPath('runs/baseline-20250301-120000/report.html')
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.engine.result import Summary
from sim.errors import RunError, ScenarioError
from sim.fileio import atomic_write_bytes
from sim.scenario import provenance
from sim.scenario.loader import OUTCOME_LABELS, load
from sim.scenario.provenance import format_value
from sim.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario.loader import LoadedScenario

PLOT_ORDER = (
    "compare_survival",
    "compare_outcomes",
    "compare_states",
    "states",
    "survival",
    "outcomes",
    "positions",
    "costs",
    "rounds",
    "win_probability",
    "quad_map",
)
"""Order of the plots on the page; plots not listed follow alphabetically."""
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
CSS = """
:root { color-scheme: light; --fg: #1d1f23; --muted: #5b6270; --line: #dde1e6; --alt: #f4f6f9; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.4rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
p { margin: .4rem 0 .8rem; max-width: 75ch; }
.lede { font-size: 1.02rem; }
.meta { color: var(--muted); font-size: .9rem; max-width: none; }
.note { background: #fff7e0; border-left: 4px solid #E69F00; padding: .5rem .8rem; max-width: none; }
nav { margin: 1rem 0 0; font-size: .9rem; }
nav a { color: var(--accent); margin-right: 1.1rem; text-decoration: none; }
nav a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: .4rem 0 1.1rem; font-size: .9rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 .3rem; white-space: nowrap; }
th, td { padding: 4px 12px 4px 0; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--line); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.meta code { white-space: nowrap; }
table.params { width: 100%; table-layout: fixed; }
table.params col.p { width: 30%; } table.params col.v { width: 16%; }
table.params td { overflow-wrap: anywhere; }
.tables > table { display: inline-table; vertical-align: top; margin-right: 44px; }
figure { margin: 1.2rem 0 2rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .3rem; }
.kind { display: inline-block; font-size: .72rem; padding: 0 .45em; border-radius: 3px; margin-right: .4em;
  text-transform: uppercase; letter-spacing: .03em; vertical-align: 1px; }
.kind-claim { background: #dcefe6; color: #0b5a3c; }
.kind-assumption { background: #fbeed5; color: #7a4b00; }
.kind-default { background: #eceff3; color: #4a5260; }
.kind-override { background: #e3ecf8; color: #0b4a80; }
.kind-MISSING { background: #fadcdc; color: #8a1212; }
q { font-style: italic; }
.who { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86em; }
dl.defs { font-size: .85rem; color: var(--muted); display: grid; grid-template-columns: max-content 1fr;
  gap: 2px 14px; }
dl.defs dt { font-weight: 600; } dl.defs dd { margin: 0; }
details { margin: .6rem 0; } details > summary { cursor: pointer; color: var(--accent); }
pre { background: var(--alt); padding: 10px 12px; overflow: auto; max-height: 520px; font-size: .78rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .82rem; border-top: 1px solid var(--line);
  padding-top: .6rem; }
@media print { nav { display: none; } figure, table { break-inside: avoid; } main { max-width: none; } }
"""


# ----------------------------------------------------------------------------- small helpers


def esc(x: Any) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(x), quote=True)


def pct(x: float | None, nd: int = 1) -> str:
    """A share as a percentage (``n/a`` for None)."""
    return "n/a" if x is None else f"{x * 100:.{nd}f}%"


def pct_interval(pair: Iterable[float | None] | None) -> str:
    """A 95% interval of shares as ``[lo, hi]`` in percent (empty for None)."""
    if not pair:
        return ""
    lo, hi = list(pair)
    if lo is None or hi is None:
        return ""
    return f"[{lo * 100:.1f}, {hi * 100:.1f}]"


def num(x: float | None, fmt: str = "{:,.1f}") -> str:
    """A number (``n/a`` for None)."""
    return "n/a" if x is None else fmt.format(x)


def _table(head: list[str], rows: list[list[str]], *, caption: str = "", num_cols: Iterable[int] = (), cls="") -> str:
    """An HTML table from already-escaped cells; ``num_cols`` are right-aligned."""
    nc = set(num_cols)
    th = "".join(f'<th{" class=num" if k in nc else ""} scope="col">{h}</th>' for k, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if k in nc else ''}>{c}</td>" for k, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    cap = f"<caption>{caption}</caption>" if caption else ""
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


# ----------------------------------------------------------------------------- summary tables


def headline_rows(s: Summary) -> list[tuple[str, str, str]]:
    """The headline numbers of a war run: ``(what, estimate, 95% interval or range)``."""
    iqr, med, s52 = s.weeks_to_ceasefire_iqr, s.median_weeks_to_ceasefire, s.ceasefire_survival_52w
    return [
        ("Ceasefire agreed within the horizon", pct(s.p_ceasefire), pct_interval(s.p_ceasefire_95)),
        (
            "Median weeks to the first ceasefire",
            num(med, "{:.0f}"),
            f"IQR {iqr[0]:.0f}–{iqr[1]:.0f}" if iqr else "",
        ),
        (
            "First ceasefire still holds after 52 weeks",
            pct(s52) if s52 is not None else ("n/a (no ceasefire)" if not s.p_ceasefire else "n/a"),
            pct_interval(s.ceasefire_survival_52w_95),
        ),
        (
            "First ceasefire collapses within the horizon",
            pct(s.p_collapse_within_horizon),
            pct_interval(s.p_collapse_within_horizon_95),
        ),
        ("In a holding ceasefire at the horizon", pct(s.p_ceasefire_at_horizon), ""),
        ("At war again after a collapse, at the horizon", pct(s.p_at_war_after_collapse_at_horizon), ""),
    ]


def summary_tables(s: Summary, actor_names: dict[str, str] | None = None) -> str:
    """The summary of a run as HTML tables: headline numbers, outcomes and costs (war runs) or forecasts."""
    if s.talks_only:
        return forecast_table(s)
    names = actor_names or {}
    head = _table(
        ["", "estimate", "95% interval"],
        [[esc(a), esc(b), f'<span class="ci">{esc(c)}</span>'] for a, b, c in headline_rows(s)],
        caption="Ceasefire: how likely, how soon, how durable",
        num_cols=(1,),
    )
    out = _table(
        ["arrangement", "share", "95% interval"],
        [
            [
                esc(OUTCOME_LABELS.get(k, k)),
                esc(pct(s.outcome_shares[k])),
                f'<span class="ci">{esc(pct_interval(s.outcome_shares_95.get(k)))}</span>',
            ]
            for k in _ordered(s.outcome_shares, OUTCOME_LABELS)
        ],
        caption="Security arrangement of the first agreement",
        num_cols=(1,),
    )
    rows = []
    for aid in _ordered(s.costs, names):
        c = s.costs[aid]
        rows.append(
            [
                esc(names.get(aid, aid)),
                esc(num(c.spending_bn)),
                f'<span class="ci">{esc(_range(c.spending_bn_95))}</span>',
                esc(num(c.losses_index)),
                f'<span class="ci">{esc(_range(c.losses_index_95))}</span>',
            ]
        )
    costs = _table(
        ["actor", "spending ($bn)", "95% range", "losses (index)", "95% range"],
        rows,
        caption="Mean cost per replicate over the horizon",
        num_cols=(1, 3),
    )
    return f'<div class="tables">{head}{out}</div>{costs}'


def _ordered(keys: Iterable[str], order: Iterable[str]) -> list[str]:
    """``keys`` in the order of ``order`` first (summary.json sorts its keys), then the rest."""
    keys = list(keys)
    return [k for k in order if k in keys] + [k for k in keys if k not in set(order)]


DEFINITION_ORDER = ("p_ceasefire", "median_weeks_to_ceasefire", "ceasefire_survival_52w", "outcome_shares", "costs")


def _range(pair: list | None) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"{pair[0]:,.1f}–{pair[1]:,.1f}"


def forecast_table(s: Summary) -> str:
    """Talks only: the protocol's forecast per issue after the last round."""
    fc = s.forecast
    keys = list(fc)
    issues = list(next(iter(fc.values()), {}))
    rows = [[esc(i)] + [esc(num(fc[k].get(i), "{:,.4g}")) for k in keys] for i in issues]
    stop = " (stopped by the protocol's stop rule)" if s.stopped_early else ""
    return _table(
        ["issue", *[f"forecast: {esc(k)}" for k in keys]],
        rows,
        caption=esc(f"Forecast of protocol {s.protocol} after {s.rounds_run} rounds{stop}"),
        num_cols=range(1, len(keys) + 1),
    )


def definitions(s: Summary) -> str:
    """The summary's definitions as a definition list."""
    d = s.definitions
    if not d:
        return ""
    return (
        '<dl class="defs">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(d[k])}</dd>" for k in _ordered(d, DEFINITION_ORDER))
        + "</dl>"
    )


def compact_summary_html(s: Summary, title: str, detail: str) -> str:
    """One compact table for a notebook cell (the HTML view of a run in :mod:`sim.api`)."""
    cap = f"<b>{esc(title)}</b><br><small>{esc(detail)}</small>"
    if s.talks_only:
        return forecast_table(s).replace("<caption>", f"<caption>{cap}<br>", 1)
    rows = [[esc(a), esc(b), esc(c)] for a, b, c in headline_rows(s)]
    rows += [
        [
            esc(f"Outcome: {OUTCOME_LABELS.get(k, k)}"),
            esc(pct(s.outcome_shares[k])),
            esc(pct_interval(s.outcome_shares_95.get(k))),
        ]
        for k in _ordered(s.outcome_shares, OUTCOME_LABELS)
    ]
    return _table(["", "estimate", "95% interval"], rows, caption=cap, num_cols=(1,))


# ----------------------------------------------------------------------------- scenario tables


def scenario_html(loaded: LoadedScenario) -> str:
    """A scenario as HTML: what it is, then an actors × parameters table (``LoadedScenario._repr_html_``)."""
    spec = loaded.spec
    issues = list(spec.issues)
    head = [
        "actor",
        "capability",
        "resolve",
        "risk attitude",
        "revisionism",
        "veto on",
        *[f"{esc(spec.issues[i].label)}<br><small>ideal (salience)</small>" for i in issues],
        "red lines",
        "guarantees<br><small>commitment × credibility</small>",
    ]
    rows = []
    for aid, a in spec.actors.items():
        pos = []
        for i in issues:
            p = a.positions.get(i)
            pos.append(esc(f"{format_value(p.ideal)} ({format_value(p.salience)})") if p else "")
        reds = []
        for i, rl in a.red_lines.items():
            bits = [f"≥ {rl.min:g}" if rl.min is not None else "", f"≤ {rl.max:g}" if rl.max is not None else ""]
            if rl.exclude:
                bits.append("not " + ", ".join(f"{x:g}" for x in rl.exclude))
            txt = f"{i} " + " ".join(b for b in bits if b)
            if rl.breaks_at_pressure is not None:
                txt += f" (breaks at pressure {format_value(rl.breaks_at_pressure)})"
            reds.append(esc(txt))
        gs = [
            esc(f"{cls}: {format_value(g.commitment)} × {format_value(g.credibility)}")
            for cls, g in a.guarantees.items()
        ]
        rows.append(
            [
                f"<b>{esc(a.name)}</b><br><code>{esc(aid)}</code>",
                esc(format_value(a.capability)),
                esc(format_value(a.resolve)),
                esc(format_value(a.risk_attitude)),
                esc(format_value(a.revisionism)),
                esc(", ".join(a.veto)),
                *pos,
                "<br>".join(reds),
                "<br>".join(gs),
            ]
        )
    neg = spec.negotiation
    fixed = ", ".join(
        f"{spec.issues[i].label} = {spec.issues[i].points.get(v, v) if i in spec.issues else v}"
        for i, v in neg.fixed.items()
    )
    st = spec.settings
    kind = "talks only" if spec.war is None else "war, talks and deterrence"
    meta = (
        f"scenario <code>{esc(loaded.name)}</code> from <code>{esc(loaded.path)}</code> · {kind} · "
        f"protocol <code>{esc(neg.protocol.name)}</code>"
        + (f" · fixed: {esc(fixed)}" if fixed else "")
        + f" · {st.replicates:,} replicates, seed {st.seed}, {st.weeks} weeks by default"
    )
    if loaded.overrides:
        meta += " · overrides: " + esc(", ".join(f"{k}={v}" for k, v in loaded.overrides))
    return (
        f"<div><b>{esc(spec.title or loaded.name)}</b><br><small>{meta}</small>"
        f"<p>{esc(' '.join(spec.description.split()))}</p>" + _table(head, rows, num_cols=(1, 2, 3, 4)) + "</div>"
    )


def parameter_rows(loaded: LoadedScenario) -> tuple[list[dict], list[str]]:
    """The scenario's parameters with their sources (:func:`sim.scenario.provenance.explain_rows`), overrides marked.

    Returns:
        ``(rows, problems)``: one dict per parameter, and the provenance check's errors as text.
    """
    prov = provenance.check(loaded)
    rows = provenance.explain_rows(prov)
    over = dict(loaded.overrides)
    for r in rows:
        hit = next((k for k in over if r["path"] == k or r["path"].startswith(k + ".")), None)
        r["override"] = hit
    return rows, [e.message for e in prov.errors]


def _source_cell(r: dict) -> str:
    kind = r["kind"]
    badge = f'<span class="kind kind-{esc(kind)}">{esc(kind)}</span>'
    if kind == "claim":
        parts = []
        for d in r["details"]:
            if d.startswith("note: "):
                parts.append(f"<br><small>{esc(d)}</small>")
                continue
            cid, _, rest = d.partition("] ")
            who, _, quote = rest.partition(": ")
            parts.append(
                f'<br><code>{esc(cid.lstrip("["))}</code> <q>{esc(quote.strip(chr(34)))}</q> <span class="who">— '
                f"{esc(who)}</span>"
            )
        text = "".join(parts)[4:]
    else:
        text = esc(r["source"])
    if r.get("override"):
        text = (
            f'<span class="kind kind-override">override</span>set by <code>{esc(r["override"])}</code>; '
            f"the file's source was: {badge}{text}"
        )
        return text
    return badge + text


def parameters_html(loaded: LoadedScenario) -> str:
    """Every parameter with its value and its source, one table per actor or section."""
    rows, problems = parameter_rows(loaded)
    spec = loaded.spec
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    kinds = [r["kind"] for r in rows]
    parts = [
        f"<p>{len(rows)} parameters: {kinds.count('claim')} traced to claims"
        + (f" of {esc(', '.join(spec.seeds))}" if spec.seeds else "")
        + f", {kinds.count('assumption')} stated assumptions, "
        f"{kinds.count('default')} defaults of the scenario format, {kinds.count('MISSING')} without a source"
        + (f"; {sum(1 for r in rows if r['override'])} set by overrides" if loaded.overrides else "")
        + ".</p>"
    ]
    if problems:
        parts.append('<p class="note">Provenance problems: ' + esc("; ".join(problems)) + "</p>")
    for g, rs in groups.items():
        name = spec.actors[g].name if g in spec.actors else g.capitalize()
        body = "".join(
            f"<tr><td><code>{esc(r['parameter']).replace('.', '.<wbr>')}</code></td><td>{esc(r['value'])}</td>"
            f"<td>{_source_cell(r)}</td></tr>"
            for r in rs
        )
        parts.append(
            f"<h3>{esc(name)}</h3><table class=params>"
            '<colgroup><col class="p"><col class="v"><col></colgroup>'
            "<thead><tr><th>parameter</th><th>value</th><th>source</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(parts)


# ----------------------------------------------------------------------------- plots


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def plot_files(folder: Path) -> list[Path]:
    """The run's image files (PNG, SVG) in page order."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_TYPES and not p.name.startswith(".")]
    rank = {s: k for k, s in enumerate(PLOT_ORDER)}
    return sorted(files, key=lambda p: (rank.get(p.stem, len(rank)), p.name))


def _caption(stem: str) -> str:
    from sim.output import plots  # deferred: matplotlib loads on first plot

    fn = getattr(plots, stem, None)
    doc = (fn.__doc__ or "").strip().splitlines()[0] if callable(fn) and fn.__doc__ else ""
    return doc


def figure_html(path: Path) -> str:
    """One plot file as a ``<figure>`` with the image embedded as a data URI."""
    data = path.read_bytes()
    mime = IMAGE_TYPES[path.suffix.lower()]
    size = _png_size(data)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    cap = _caption(path.stem)
    alt = cap or path.stem
    b64 = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{esc(alt)}"{dims} src="data:{mime};base64,{b64}">'
        f"<figcaption><code>{esc(path.name)}</code>{(' — ' + esc(cap)) if cap else ''}</figcaption></figure>"
    )


def plots_html(folder: Path) -> str:
    """Every plot of a run folder, embedded; a note when there are none (or only PDFs)."""
    files = plot_files(folder)
    pdfs = sorted(p.name for p in folder.glob("*.pdf"))
    out = "".join(figure_html(p) for p in files)
    if pdfs:
        out += f"<p class=note>Plots written as PDF are not embedded: {esc(', '.join(pdfs))}.</p>"
    if not files and not pdfs:
        out += "<p class=note>This run was written without plots (<code>--no-plots</code>).</p>"
    return out


# ----------------------------------------------------------------------------- manifest


def manifest_html(man: dict, *, show_params: bool = True) -> str:
    """The manifest: what was run, with what, and the outputs' SHA-256."""
    keys = [
        ("scenario", "scenario"),
        ("scenario file", "scenario_file"),
        ("replicates", "replicates"),
        ("seed", "seed"),
        ("weeks", "weeks"),
        ("model time (s)", "model_seconds"),
        ("created (UTC)", "created_utc"),
    ]
    rows = [[esc(label), esc(man[k])] for label, k in keys if k in man]
    if man.get("command") is not None:
        cmd = man["command"]
        rows.append(["command", f"<code>{esc(' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd)}</code>"])
    if man.get("overrides"):
        rows.append(
            [
                "overrides",
                "<br>".join(f"<code>{esc(k)}={esc(v)}</code>" for k, v in man["overrides"].items()),
            ]
        )
    vers = man.get("versions") or {}
    if vers:
        rows.append(["versions", esc(", ".join(f"{k} {v}" for k, v in vers.items()))])
    parts = [_table(["", ""], rows)]
    files = man.get("scenario_files_sha256") or {}
    if files:
        parts.append(
            _table(
                ["scenario file", "SHA-256"],
                [[f"<code>{esc(f)}</code>", f"<code>{esc(h)}</code>"] for f, h in files.items()],
            )
        )
    outs = man.get("outputs_sha256") or {}
    if outs:
        parts.append(
            _table(
                ["output file", "SHA-256"],
                [[f"<code>{esc(f)}</code>", f"<code>{esc(h)}</code>"] for f, h in outs.items()],
            )
        )
    if show_params and man.get("resolved_parameters") is not None:
        text = json.dumps(man["resolved_parameters"], indent=2, ensure_ascii=False, default=str)
        parts.append(
            "<details><summary>Resolved parameters (the scenario after <code>extends</code> and overrides)"
            f"</summary><pre>{esc(text)}</pre></details>"
        )
    return "".join(parts)


# ----------------------------------------------------------------------------- pages


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent} is not a negsim run folder: no {path.name}") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from None


def _read_summary(path: Path) -> Summary:
    """A run folder's ``summary.json`` as a typed :class:`Summary` (a clear error if it is not one)."""
    data = _read_json(path)
    try:
        return Summary.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{path} is not a negsim summary ({type(exc).__name__}: {exc})") from None


def _scenario_for(man: dict, folder: Path) -> tuple[LoadedScenario | None, str | None]:
    """Reload the run's scenario (with its overrides) for the sources table; a note when that is not possible."""
    cands = [man.get("scenario_file_resolved"), man.get("scenario_file")]
    path = next((Path(c) for c in cands if c and Path(c).is_file()), None)
    if path is None and man.get("scenario_file"):
        rel = folder / man["scenario_file"]
        path = rel if rel.is_file() else None
    if path is None:
        return None, (
            f"The scenario file {man.get('scenario_file')} is not found, so the parameters' sources cannot be "
            "shown; the resolved parameters are in the manifest below."
        )
    try:
        loaded = load(path, overrides=man.get("overrides") or None)
    except ScenarioError as exc:
        return None, f"The scenario file no longer loads ({exc.message}); the resolved parameters are in the manifest."
    note = None
    want = (man.get("scenario_files_sha256") or {}).get(man.get("scenario_file"))
    if want and hashlib.sha256(path.read_bytes()).hexdigest() != want:
        note = f"{path} has changed since the run: the sources below are those of the current file."
    return loaded, note


def _page(title: str, body: str) -> str:

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="negsim">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
        f"<footer>Report written by negsim {esc(__version__)} on {stamp}. A self-contained page: "
        "the plots are embedded, and nothing is loaded from elsewhere. The model's answers hold "
        "under the scenario's stated assumptions; they are not forecasts.</footer>\n</main>\n</body>\n</html>\n"
    )


def _run_sections(folder: Path, summary: Summary, man: dict, loaded: LoadedScenario | None, note: str | None) -> dict:
    names = {aid: a.name for aid, a in loaded.spec.actors.items()} if loaded else {}
    params = parameters_html(loaded) if loaded else ""
    if note:
        params = f'<p class="note">{esc(note)}</p>' + params
    return {
        "summary": summary_tables(summary, names) + definitions(summary),
        "plots": plots_html(folder),
        "parameters": params,
        "manifest": manifest_html(man),
    }


def _meta_line(s: Summary, man: dict) -> str:
    steps = f"{s.rounds_run} rounds" if s.talks_only else f"{s.weeks} weeks"
    return (
        f"scenario <code>{esc(s.scenario)}</code> · "
        f"{s.replicates:,} replicate{'' if s.replicates == 1 else 's'} · "
        f"seed {esc(s.seed)} · {esc(steps)} · protocol "
        f"<code>{esc(s.protocol)}</code><br>run {esc(man.get('created_utc', ''))}"
    )


def render_run(folder: str | Path, *, scenario: LoadedScenario | None = None, origin: str | None = None) -> str:
    """The HTML page of one run folder (written by ``negsim run`` or :func:`sim.write_run`).

    Args:
        folder: The run folder.
        scenario: The run's scenario, if at hand (else reloaded from the manifest's file and overrides).
        origin: Where the run comes from, if not from the folder (shown under the title).
    """
    folder = Path(folder)
    man = _read_json(folder / "manifest.json")
    if "scenarios" in man:
        return render_compare(folder)
    summary = _read_summary(folder / "summary.json")
    note = None
    if scenario is None:
        scenario, note = _scenario_for(man, folder)
    title = summary.title or summary.scenario or folder.name
    sec = _run_sections(folder, summary, man, scenario, note)
    desc = " ".join(scenario.spec.description.split()) if scenario else ""
    n_img = len(plot_files(folder))
    body = (
        f"<header><h1>{esc(title)}</h1>"
        + (f'<p class="lede">{esc(desc)}</p>' if desc else "")
        + f'<p class="meta">{_meta_line(summary, man)} · '
        + (esc(origin) if origin else f"run folder <code>{esc(folder)}</code>")
        + "</p>"
        + '<nav><a href="#summary">Summary</a>'
        + f'<a href="#plots">Plots ({n_img})</a><a href="#parameters">Parameters and sources</a>'
        + '<a href="#manifest">Manifest</a></nav></header>'
        + f'<section id="summary"><h2>Summary</h2>{sec["summary"]}</section>'
        + f'<section id="plots"><h2>Plots</h2>{sec["plots"]}</section>'
        + f'<section id="parameters"><h2>Parameters and their sources</h2>{sec["parameters"]}</section>'
        + f'<section id="manifest"><h2>Manifest</h2>{sec["manifest"]}</section>'
    )
    return _page(f"negsim report: {title}", body)


def render_compare(folder: str | Path) -> str:
    """The HTML page of a comparison folder (``negsim compare``): the table, overlays, then each scenario."""
    folder = Path(folder)
    man = _read_json(folder / "manifest.json")
    names = list(man.get("scenarios") or [])
    try:
        with open(folder / "comparison.csv", encoding="utf-8", newline="") as fh:
            table = list(csv.reader(fh))
    except OSError as exc:
        raise RunError(f"cannot read {folder / 'comparison.csv'}: {exc}") from None
    head, rows = (table[0], table[1:]) if table else ([], [])
    shown = []
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            if k == 0 or v == "":
                cells.append(esc(v))
            elif head[k] == "median_weeks_to_ceasefire":
                cells.append(esc(f"{float(v):.0f}"))
            else:
                cells.append(esc(pct(float(v))))
        shown.append(cells)
    nav = ['<a href="#comparison">Comparison</a>'] + [f'<a href="#run-{esc(n)}">{esc(n)}</a>' for n in names]
    parts = [
        f"<header><h1>Comparison of {len(names)} scenarios</h1>"
        f'<p class="meta">{man.get("replicates", 0):,} replicates each · seed {esc(man.get("seed"))} · '
        f"{esc(man.get('weeks'))} weeks · run {esc(man.get('created_utc', ''))}<br>folder <code>{esc(folder)}</code>"
        f"</p><nav>{''.join(nav)}</nav></header>",
        '<section id="comparison"><h2>Comparison</h2>',
        _table([esc(h.replace("_", " ")) for h in head], shown, num_cols=range(1, len(head))),
        plots_html(folder),
        "<h3>Manifest</h3>",
        manifest_html(man),
        "</section>",
    ]
    for n in names:
        sub = folder / n
        if not (sub / "manifest.json").is_file():
            parts.append(f'<section id="run-{esc(n)}"><h2>{esc(n)}</h2><p class="note">missing folder</p></section>')
            continue
        s_man = _read_json(sub / "manifest.json")
        summary = _read_summary(sub / "summary.json")
        loaded, note = _scenario_for(s_man, sub)
        sec = _run_sections(sub, summary, s_man, loaded, note)
        title = summary.title or n
        parts.append(
            f'<section id="run-{esc(n)}"><h2>{esc(title)}</h2><p class="meta">{_meta_line(summary, s_man)}</p>'
            f"{sec['summary']}{sec['plots']}"
            f"<details><summary>Parameters and their sources</summary>{sec['parameters']}</details>"
            f"<details><summary>Manifest</summary>{sec['manifest']}</details></section>"
        )
    return _page(f"negsim report: comparison of {', '.join(names)}", "".join(parts))


def write_report(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    force: bool = False,
    scenario: LoadedScenario | None = None,
    origin: str | None = None,
) -> Path:
    """Write the HTML report of a run or comparison folder.

    Args:
        folder: The run (or comparison) folder.
        out: The HTML file to write (default ``FOLDER/report.html``).
        force: Replace an existing file.
        scenario: The run's scenario, if at hand.
        origin: Where the run comes from, shown under the title.

    Returns:
        The file written.

    Raises:
        RunError: not a run folder, or ``out`` exists (without ``force``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder} is not a folder")
    out = Path(out) if out is not None else folder / "report.html"
    if out.exists() and not force:
        raise RunError(f"{out} already exists; choose another -o or add --force")
    if out.exists() and out.is_dir():
        raise RunError(f"{out} is a folder; name the HTML file to write")
    text = render_run(folder, scenario=scenario, origin=origin)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, text.encode("utf-8"))
    return out
