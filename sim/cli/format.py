"""What the ``negsim`` command prints: the terminal tables of runs, comparisons, sweeps and sources.

Each function takes results from the Python API and returns text; nothing here runs a model.
"""

from __future__ import annotations

import csv
import io
import shutil
import textwrap
from pathlib import Path
from typing import Any

from sim.experiments.calibrate import weighted_quantile
from sim.experiments.metrics import metric_label
from sim.scenario.loader import OUTCOME_LABELS


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:5.1f}%"


def _ci(pair) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"[{pair[0] * 100:.1f}, {pair[1] * 100:.1f}]"


def format_summary(result) -> str:
    """The terminal table for one run."""
    s = result.summary_info
    spec = result.scenario.spec
    lines = [
        f"{spec.title or result.name}",
        f"  scenario {result.name}: {result.caption()}, protocol {s.protocol}",
        "",
        f"  {'Ceasefire agreed within horizon':36s} {_pct(s.p_ceasefire)}  {_ci(s.p_ceasefire_95)}",
    ]
    med = s.median_weeks_to_ceasefire
    iqr = s.weeks_to_ceasefire_iqr
    lines.append(
        f"  {'Median weeks to ceasefire':36s} {'n/a' if med is None else f'{med:5.0f}'}"
        + (f"   (IQR {iqr[0]:.0f}-{iqr[1]:.0f})" if iqr else "")
    )
    s52 = s.ceasefire_survival_52w
    why = ""
    if s52 is None:
        why = "   (no ceasefire)" if not s.p_ceasefire else "   (no ceasefire was followed for 52 weeks)"
    lines.append(f"  {'Ceasefire holds 52 weeks (KM)':36s} {_pct(s52)}  {_ci(s.ceasefire_survival_52w_95)}{why}")
    lines.append(f"  {'First ceasefire collapses in horizon':36s} {_pct(s.p_collapse_within_horizon)}")
    lines.append(f"  {'In a ceasefire at the horizon':36s} {_pct(s.p_ceasefire_at_horizon)}")
    lines += ["", "  Outcome of the first agreement       share   95% interval"]
    for k, label in OUTCOME_LABELS.items():
        lines.append(f"    {label:34s} {_pct(s.outcome_shares[k])}  {_ci(s.outcome_shares_95[k])}")
    lines += ["", "  Mean cost per replicate over the horizon"]
    for aid, c in s.costs.items():
        name = spec.actors[aid].name
        parts = []
        if c.spending_bn:
            parts.append(f"${c.spending_bn:,.1f} bn spent")
        if c.losses_index:
            parts.append(f"losses {c.losses_index:,.1f} (index)")
        lines.append(f"    {name:34s} {', '.join(parts) or '-'}")
    return "\n".join(lines)


def format_written(result, folder: Path, fmt: str, seconds: float) -> str:
    """The line after a run's table: the folder and the files written in it."""
    n_plots = len(list(folder.glob(f"*.{fmt}")))
    return (
        f"\nWrote {folder}/ (summary.json, {'' if result.talks_only else 'outcomes.csv, '}trajectories.csv, "
        "positions.csv, "
        + ("replicate_trajectories.npz, " if result.replicate_trajectories is not None else "")
        + "manifest.json"
        + (f", {n_plots} {fmt} plots" if n_plots else "")
        + f") in {seconds:.1f} s"
    )


def format_talks(result) -> str:
    """The terminal table for a talks-only run: the protocol's forecast per issue, by round."""
    s = result.summary_info
    spec = result.scenario.spec
    lines = [
        f"{spec.title or result.name}",
        f"  scenario {result.name}: protocol {s.protocol}"
        + (f" {s.protocol_params}" if s.protocol_params else "")
        + f", {s.rounds_run} rounds"
        + (" (stopped by the protocol's stop rule)" if s.stopped_early else ""),
        "",
    ]
    keys = list(s.forecast_by_round)
    for iid in result.issues:
        issue = spec.issues[iid]
        lines.append(f"  Forecast for {issue.label} (scale {issue.lo:g}-{issue.hi:g})")
        lines.append("    round " + "".join(f"{k:>12s}" for k in keys))
        n = len(s.forecast_by_round[keys[0]])
        shown = list(range(n)) if n <= 25 else [*range(11), *range(n - 5, n)]
        for t in shown:
            if shown and t == n - 5 and n > 25:
                lines.append("      ...")
            vals = "".join(
                f"{s.forecast_by_round[k][t][iid]:>12.4f}"
                if s.forecast_by_round[k][t][iid] is not None
                else f"{'n/a':>12s}"
                for k in keys
            )
            lines.append(f"    {t:>5d} {vals}")
        lines.append("")
    return "\n".join(lines).rstrip()


def format_compare(results) -> str:
    """One table for several scenarios run with the same ensemble settings."""
    r0 = results[0]
    head = (
        f"{'scenario':22s} {'ceasefire':>9s} {'median wk':>9s} {'holds 52w':>9s} {'collapses':>9s}"
        f" {'NATO':>6s} {'backstp':>7s} {'reass.':>6s} {'aid':>6s} {'none':>6s}"
    )
    lines = [
        f"{len(results)} scenarios, {r0.caption(each=True)}",
        "",
        head,
        "-" * len(head),
    ]
    for r in results:
        s = r.summary_info
        sh = s.outcome_shares
        med = s.median_weeks_to_ceasefire
        lines.append(
            f"{r.name:22s} {_pct(s.p_ceasefire):>9s} {'n/a' if med is None else f'{med:.0f}':>9s}"
            f" {_pct(s.ceasefire_survival_52w):>9s} {_pct(s.p_collapse_within_horizon):>9s}"
            f" {_pct(sh['nato_entry']):>6s} {_pct(sh['reassurance_backstop']):>7s} {_pct(sh['reassurance_only']):>6s}"
            f" {_pct(sh['aid_only']):>6s} {_pct(sh['no_agreement']):>6s}"
        )
    lines += [
        "",
        "ceasefire: agreed within the horizon; median wk: median week of the first ceasefire;",
        "holds 52w: Kaplan-Meier survival of the first ceasefire at 52 weeks; collapses: first ceasefire",
        "ends in renewed war within the horizon; last five columns: class of the first agreement.",
    ]
    return "\n".join(lines)


def format_sweep(res) -> str:
    """The terminal summary of a finished sweep: where things are, the leading indices, discovered boxes."""
    plan = res.plan
    lines = [
        f"{plan.base.spec.title or plan.name}: sweep of {plan.describe()}",
        f"  {res.ran:,} point(s) run now, {plan.n_points - res.ran:,} resumed from the folder; {res.seconds:.1f} s",
    ]
    for m, df in res.sensitivity.items():
        lines.append(f"\n  {plan.design.capitalize()} indices for {metric_label(m)[0]} ({m}):")
        labels = {f.name: (f.label or f.name) for f in plan.factors}
        w = max(9, min(64, max(len(x) for x in labels.values())))
        if plan.design == "sobol":
            first = df[df["index"] == "S1"].set_index("parameter")
            total = df[df["index"] == "ST"].set_index("parameter").sort_values("value", ascending=False)
            lines.append(f"    {'parameter':{w}s} {'S1':>14s} {'ST':>14s}")
            for name, r in total.iterrows():
                s1 = first.loc[name]
                lines.append(
                    f"    {labels[name][:w]:{w}s} {s1['value']:6.3f} ± {s1['conf']:5.3f} "
                    f"{r['value']:6.3f} ± {r['conf']:5.3f}"
                )
        else:
            lines.append(f"    {'parameter':{w}s} {'mu*':>16s} {'sigma':>8s}")
            for r in df.sort_values("mu_star", ascending=False).itertuples(index=False):
                lines.append(
                    f"    {labels[r.parameter][:w]:{w}s} {r.mu_star:7.3f} ± {r.mu_star_conf:6.3f} {r.sigma:8.3f}"
                )
    if res.discovery is not None:
        lines.append("")
        lines += ["  " + x for x in res.discovery.rules_text().splitlines()]
    for note in res.notes:
        lines.append(f"\n  note: {note}")
    lines.append(f"\nWrote {res.folder}/ ({', '.join(res.files)})")
    return "\n".join(lines)


def format_explain(s: Any, rows: list[dict], fmt: str) -> str:
    """``negsim explain``: every parameter with its value and source, as ``text``, ``md`` or ``csv``.

    Args:
        s: The loaded scenario.
        rows: :func:`sim.scenario.provenance.explain_rows` of its provenance check.
        fmt: ``text`` (wrapped to the terminal), ``md`` (a Markdown table per actor) or ``csv``.
    """
    out = io.StringIO()
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["group", "parameter", "value", "kind", "speaker", "source"])
        for r in rows:
            w.writerow([r["group"], r["parameter"], r["value"], r["kind"], r["speaker"], r["source"]])
        return out.getvalue()
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    title = s.spec.title or s.name
    if fmt == "md":
        print(f"# {title}\n\nScenario `{s.path}`; claims from {', '.join(s.spec.seeds) or 'no digest'}.\n", file=out)
        for g, rs in groups.items():
            name = s.spec.actors[g].name if g in s.spec.actors else g.capitalize()
            print(f"## {name}\n\n| parameter | value | source |\n|---|---|---|", file=out)
            for r in rs:
                src = r["source"].replace("|", "\\|")
                who = f" ({r['speaker']})" if r["speaker"] else ""
                label = {
                    "claim": "",
                    "assumption": "*assumption:* ",
                    "default": "*default:* ",
                    "fitted": "*fitted:* ",
                }.get(r["kind"], "**")
                print(f"| `{r['parameter']}` | {r['value']} | {label}{src}{who} |", file=out)
            print(file=out)
        return out.getvalue()
    width = max(60, min(120, shutil.get_terminal_size((100, 40)).columns))
    print(f"{title}  ({s.path})", file=out)
    for g, rs in groups.items():
        name = s.spec.actors[g].name if g in s.spec.actors else g.capitalize()
        print(f"\n{name}", file=out)
        for r in rs:
            print(f"  {r['parameter']} = {r['value']}", file=out)
            for d in r["details"]:
                for k, line in enumerate(textwrap.wrap(d, width - 8)):
                    print(("      " if k == 0 else "        ") + line, file=out)
    missing = [r for r in rows if r["kind"] == "MISSING"]
    print(
        f"\n{len(rows)} parameters: {sum(r['kind'] == 'claim' for r in rows)} from claims, "
        f"{sum(r['kind'] == 'assumption' for r in rows)} assumptions, "
        f"{sum(r['kind'] == 'default' for r in rows)} defaults, "
        + (f"{n_fit} fitted to data, " if (n_fit := sum(r["kind"] == "fitted" for r in rows)) else "")
        + f"{len(missing)} without a source",
        file=out,
    )
    return out.getvalue()


def format_calibration(res) -> str:
    """``negsim calibrate``: the posterior per parameter (median, 90% interval), each target, notes."""
    cal, post = res.calibration, res.posterior
    w = post["weight"].to_numpy()
    lines = [f"{cal.base.spec.title or cal.name}: calibration of {cal.describe()}"]
    g = res.generations.iloc[-1]
    lines.append(
        f"  {len(res.generations)} generations, final tolerance {g['epsilon']:.3g} (RMS z-score), "
        f"{int(res.generations['evaluated'].sum()):,} candidates; {res.ran:,} run now; {res.seconds:.1f} s"
    )
    lines.append("")
    lines.append(f"  {'parameter':48s} {'median':>9s} {'90% interval':>21s}   prior")
    for p in cal.params:
        x = post[p.name].to_numpy()
        lo, med, hi = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        lines.append(f"  {p.name[:48]:48s} {med:9.4g} [{lo:9.4g}, {hi:9.4g}]   {p.prior.describe()}")
    lines.append("")
    lines.append(f"  {'target':30s} {'observed':>14s} {'posterior median [90%]':>30s}  {'prior median':>12s}")
    for r in res.targets.itertuples(index=False):
        obs = f"{r.observed:.4g}±{r.sd:.3g}"
        post_s = f"{r.posterior_median:.4g} [{r.posterior_q05:.4g}, {r.posterior_q95:.4g}]"
        flag = "" if r.reached else "  NOT REACHED"
        lines.append(f"  {r.target[:30]:30s} {obs:>14s} {post_s:>30s}  {r.prior_median:12.4g}{flag}")
    for note in res.notes:
        lines.append(f"\n  note: {note}")
    lines.append(f"\nWrote {res.folder}/ ({', '.join(res.files)})")
    return "\n".join(lines)
