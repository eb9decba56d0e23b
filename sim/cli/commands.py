"""The ``negsim`` command: a thin layer over :mod:`sim`'s Python API.

Heavy imports (Mesa, numpy, matplotlib) happen inside the commands, so ``negsim --help`` is
quick. Every error is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

from sim.errors import RunError, ScenarioError
from sim.version import __version__

EXIT_USAGE = 2
EXIT_ERROR = 1


def bundled_dir() -> Path:
    """The bundled ``scenarios/`` folder (next to the package in a checkout, else the working dir)."""
    here = Path(__file__).resolve().parent.parent / "scenarios"
    return here if here.is_dir() else Path("scenarios")


def _parse_sets(items: list[str] | None, protocol: str | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if protocol:
        out["negotiation.protocol"] = f"{{name: {protocol}}}"
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. actors.us.resolve=0.7", file="--set")
        out[key.strip()] = value.strip()
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:5.1f}%"


def _ci(pair) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"[{pair[0] * 100:.1f}, {pair[1] * 100:.1f}]"


def format_summary(result) -> str:
    """The terminal table for one run."""
    s = result.summary
    spec = result.scenario.spec
    lines = [
        f"{spec.title or result.name}",
        f"  scenario {result.name}: {result.replicates:,} replicates, seed {result.seed}, {result.weeks} weeks, "
        f"protocol {s['protocol']}",
        "",
        f"  {'Ceasefire agreed within horizon':36s} {_pct(s['p_ceasefire'])}  {_ci(s['p_ceasefire_95'])}",
    ]
    med = s["median_weeks_to_ceasefire"]
    iqr = s["weeks_to_ceasefire_iqr"]
    lines.append(
        f"  {'Median weeks to ceasefire':36s} {'n/a' if med is None else f'{med:5.0f}'}"
        + (f"   (IQR {iqr[0]:.0f}-{iqr[1]:.0f})" if iqr else "")
    )
    s52 = s["ceasefire_survival_52w"]
    why = ""
    if s52 is None:
        why = "   (no ceasefire)" if not s["p_ceasefire"] else "   (no ceasefire was followed for 52 weeks)"
    lines.append(f"  {'Ceasefire holds 52 weeks (KM)':36s} {_pct(s52)}  {_ci(s['ceasefire_survival_52w_95'])}{why}")
    lines.append(f"  {'First ceasefire collapses in horizon':36s} {_pct(s['p_collapse_within_horizon'])}")
    lines.append(f"  {'In a ceasefire at the horizon':36s} {_pct(s['p_ceasefire_at_horizon'])}")
    lines += ["", "  Outcome of the first agreement       share   95% interval"]
    from sim.output.plots import CLASS_LABELS  # deferred: matplotlib loads on first plot

    for k, label in CLASS_LABELS.items():
        lines.append(
            f"    {label.replace(chr(10), ' '):34s} {_pct(s['outcome_shares'][k])}  {_ci(s['outcome_shares_95'][k])}"
        )
    lines += ["", "  Mean cost per replicate over the horizon"]
    for aid, c in s["costs"].items():
        name = spec.actors[aid].name
        parts = []
        if c["spending_bn"]:
            parts.append(f"${c['spending_bn']:,.1f} bn spent")
        if c["losses_index"]:
            parts.append(f"losses {c['losses_index']:,.1f} (index)")
        lines.append(f"    {name:34s} {', '.join(parts) or '-'}")
    return "\n".join(lines)


def format_talks(result) -> str:
    """The terminal table for a talks-only run: the protocol's forecast per issue, by round."""
    s = result.summary
    spec = result.scenario.spec
    lines = [
        f"{spec.title or result.name}",
        f"  scenario {result.name}: protocol {s['protocol']}"
        + (f" {s['protocol_params']}" if s["protocol_params"] else "")
        + f", {s['rounds_run']} rounds"
        + (" (stopped by the protocol's stop rule)" if s["stopped_early"] else ""),
        "",
    ]
    keys = list(s["forecast_by_round"])
    for iid in result.issues:
        issue = spec.issues[iid]
        lines.append(f"  Forecast for {issue.label} (scale {issue.lo:g}-{issue.hi:g})")
        lines.append("    round " + "".join(f"{k:>12s}" for k in keys))
        n = len(s["forecast_by_round"][keys[0]])
        shown = list(range(n)) if n <= 25 else [*range(11), *range(n - 5, n)]
        for t in shown:
            if shown and t == n - 5 and n > 25:
                lines.append("      ...")
            vals = "".join(
                f"{s['forecast_by_round'][k][t][iid]:>12.4f}"
                if s["forecast_by_round"][k][t][iid] is not None
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
        f"{len(results)} scenarios, {r0.replicates:,} replicates each, seed {r0.seed}, {r0.weeks} weeks",
        "",
        head,
        "-" * len(head),
    ]
    for r in results:
        s = r.summary
        sh = s["outcome_shares"]
        med = s["median_weeks_to_ceasefire"]
        lines.append(
            f"{r.name:22s} {_pct(s['p_ceasefire']):>9s} {'n/a' if med is None else f'{med:.0f}':>9s}"
            f" {_pct(s['ceasefire_survival_52w']):>9s} {_pct(s['p_collapse_within_horizon']):>9s}"
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


class _Progress:
    """A tqdm bar on stderr that appears only for runs longer than a second, and only on a terminal."""

    def __init__(self, total: int, label: str, quiet: bool) -> None:
        self.bar = None
        if quiet or not sys.stderr.isatty():
            return
        from tqdm import tqdm  # deferred: tqdm loads only for a progress bar

        self.bar = tqdm(total=total, desc=label, unit="wk", delay=1.0, file=sys.stderr, leave=False)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            if self.bar.total != total:  # chunked ensembles report weeks x chunks
                self.bar.total = total
            self.bar.n = done
            self.bar.refresh() if done == total else self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_one(loaded, args):
    """Run one loaded scenario with the command's ensemble options, with a progress bar on a terminal."""
    from sim.engine.runner import run  # deferred: loads numpy and Mesa; `negsim --help` stays fast

    prog = _Progress(args.weeks or loaded.spec.settings.weeks, loaded.name, args.quiet)
    try:
        keep = getattr(args, "keep_trajectories", False)  # negsim run only
        return run(
            loaded, replicates=args.replicates, seed=args.seed, weeks=args.weeks, progress=prog, keep_trajectories=keep
        )
    finally:
        prog.close()


def _check_size(loaded, args) -> None:
    """Refuse, before any file is touched, an ensemble out of range or too large for memory (names a size that fits)."""
    from sim.engine.runner import ensemble_settings  # deferred: loads numpy and Mesa; `negsim --help` stays fast

    keep = getattr(args, "keep_trajectories", False)
    ensemble_settings(loaded, args.replicates, args.seed, args.weeks, keep_trajectories=keep)


def _clean_leftovers(out: Path) -> None:
    """Remove (and report) unfinished folders that killed runs into ``out`` left beside it."""
    from sim.output.runfolder import (
        clean_leftovers,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    )

    for msg in clean_leftovers(out):
        print(f"negsim: {msg}", file=sys.stderr)


def cmd_run(args) -> int:
    """``negsim run``."""
    from sim.output.runfolder import (  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
        check_out,
        default_out,
        write_run,
    )
    from sim.scenario.loader import load  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    sets = _parse_sets(args.set, args.protocol)
    loaded = load(args.scenario, overrides=sets)  # validate before anything else
    _check_size(loaded, args)
    out = Path(args.out) if args.out else default_out(loaded.name)
    _clean_leftovers(out)
    check_out(out, args.force)
    t0 = time.perf_counter()
    result = _run_one(loaded, args)
    folder = write_run(result, out, force=args.force, plots=not args.no_plots, fmt=args.format, command=sys.argv)
    print(format_talks(result) if result.talks_only else format_summary(result))
    from sim.output.plots import plots_for  # deferred: matplotlib loads on first plot

    n_plots = 0 if args.no_plots else len(plots_for(result))
    print(
        f"\nWrote {folder}/ (summary.json, {'' if result.talks_only else 'outcomes.csv, '}trajectories.csv, "
        "positions.csv, "
        + ("replicate_trajectories.npz, " if result.replicate_trajectories is not None else "")
        + "manifest.json"
        + (f", {n_plots} {args.format} plots" if n_plots else "")
        + f") in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def cmd_compare(args) -> int:
    """``negsim compare``."""
    from sim.output.runfolder import (  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
        check_out,
        default_out,
        write_compare,
    )
    from sim.scenario.loader import load  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    sets = _parse_sets(args.set, args.protocol)
    loaded = [load(p, overrides=sets) for p in args.scenarios]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise RunError(f"compare needs scenarios with distinct names, got {', '.join(names)}")
    for s in loaded:
        _check_size(s, args)
    out = Path(args.out) if args.out else default_out("compare-" + "-".join(names)[:80])
    _clean_leftovers(out)
    check_out(out, args.force)
    results = [_run_one(s, args) for s in loaded]
    folder = write_compare(results, out, force=args.force, plots=not args.no_plots, fmt=args.format, command=sys.argv)
    print(format_compare(results))
    print(
        f"\nWrote {folder}/ (comparison.csv, one folder per scenario"
        + ("" if args.no_plots else ", overlay plots")
        + ")"
    )
    return 0


def cmd_validate(args) -> int:
    """``negsim validate``: load each file and check its provenance; exit non-zero on any error.

    Unsourced parameters (and sources left behind by an override in a child file) are warnings,
    errors with ``--strict``.
    """
    from sim.scenario import provenance  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    from sim.scenario.loader import load  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    bad = 0
    for p in args.scenarios:
        try:
            s = load(p)
        except ScenarioError as exc:
            bad += 1
            print(f"error {exc.message}", file=sys.stderr)
            continue
        prov = provenance.check(s)
        warnings = prov.warnings()
        if warnings and args.strict:
            bad += 1
            print(f"error {p}: {len(warnings)} parameter(s) without a valid source (--strict):", file=sys.stderr)
            for w in warnings:
                print(f"  {w}", file=sys.stderr)
            continue
        n_claims = sum(1 for e in prov.entries if e.source is not None and e.source.claims)
        print(
            f"ok    {p}  ({s.name}: {len(s.spec.actors)} actors, {len(s.spec.issues)} issues, "
            f"{len(prov.entries)} parameters, {n_claims} traced to claims)"
        )
        for w in warnings:
            print(f"  warning: {w}", file=sys.stderr)
    return EXIT_ERROR if bad else 0


def cmd_explain(args) -> int:
    """``negsim explain``: every parameter with its value and its claim or assumption, by actor."""
    from sim.scenario import provenance  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    from sim.scenario.loader import load  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    s = load(args.scenario)
    prov = provenance.check(s)
    rows = provenance.explain_rows(prov)
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["group", "parameter", "value", "kind", "speaker", "source"])
        for r in rows:
            w.writerow([r["group"], r["parameter"], r["value"], r["kind"], r["speaker"], r["source"]])
        return 0
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    title = s.spec.title or s.name
    if args.format == "md":
        print(f"# {title}\n\nScenario `{s.path}`; claims from {', '.join(s.spec.seeds) or 'no digest'}.\n")
        for g, rs in groups.items():
            name = s.spec.actors[g].name if g in s.spec.actors else g.capitalize()
            print(f"## {name}\n\n| parameter | value | source |\n|---|---|---|")
            for r in rs:
                src = r["source"].replace("|", "\\|")
                who = f" ({r['speaker']})" if r["speaker"] else ""
                label = {"claim": "", "assumption": "*assumption:* ", "default": "*default:* "}.get(r["kind"], "**")
                print(f"| `{r['parameter']}` | {r['value']} | {label}{src}{who} |")
            print()
        return 0

    width = max(60, min(120, shutil.get_terminal_size((100, 40)).columns))
    print(f"{title}  ({s.path})")
    for g, rs in groups.items():
        name = s.spec.actors[g].name if g in s.spec.actors else g.capitalize()
        print(f"\n{name}")
        for r in rs:
            print(f"  {r['parameter']} = {r['value']}")
            for d in r["details"]:
                for k, line in enumerate(textwrap.wrap(d, width - 8)):
                    print(("      " if k == 0 else "        ") + line)
    missing = [r for r in rows if r["kind"] == "MISSING"]
    print(
        f"\n{len(rows)} parameters: {sum(r['kind'] == 'claim' for r in rows)} from claims, "
        f"{sum(r['kind'] == 'assumption' for r in rows)} assumptions, "
        f"{sum(r['kind'] == 'default' for r in rows)} defaults, {len(missing)} without a source"
    )
    return 0


def cmd_verify(args) -> int:
    """``negsim verify``: one line per file checked (ok / MISSING / MODIFIED ...); non-zero exit on any problem."""
    from sim.output.verify import (
        verify_run,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    )

    report = verify_run(args.run_dir, rerun=args.rerun)
    for line in report.lines():
        print(line)
    if not report.ok:
        print(f"negsim: error: {report.verdict()}", file=sys.stderr)
        return EXIT_ERROR
    print(report.verdict())
    return 0


def cmd_schema(args) -> int:
    """``negsim schema``: the JSON Schema of the scenario format (from the loader's own models)."""
    from sim.scenario.loader import (
        json_schema,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    )
    from sim.scenario.sweepspec import (
        sweep_json_schema,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    )

    text = json.dumps(sweep_json_schema() if args.sweep else json_schema(), indent=2, sort_keys=True) + "\n"
    if args.output:
        from sim.output.runfolder import (
            atomic_write_bytes,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
        )

        atomic_write_bytes(Path(args.output), text.encode())
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(args) -> int:
    """``negsim import``: convert a BDM CSV, KTAB SMP CSV or Decide TSV into a scenario file."""
    from sim.scenario import importers  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    src = Path(args.file)
    out = Path(args.output) if args.output else src.with_suffix(".yaml")
    if out.exists() and not args.force:
        raise RunError(f"{out} already exists; choose another -o or add --force")
    fmt, loaded = importers.import_to(src, out, args.format, args.protocol)
    print(
        f"Imported {src} ({fmt}): {len(loaded.spec.actors)} actors, {len(loaded.spec.issues)} issues, "
        f"protocol {loaded.spec.negotiation.protocol.name} -> {out}"
    )
    return 0


def cmd_report(args) -> int:
    """``negsim report``: a run or compare folder as one self-contained HTML file."""
    from sim.output.report import (
        write_report,  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast
    )

    out = write_report(args.run_dir, args.output, force=args.force)
    print(f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB; open it in a browser, no server needed)")
    return 0


def cmd_list(args) -> int:
    """``negsim list``: bundled scenarios, one line each."""
    from sim.scenario.loader import load  # deferred: numpy, pydantic and Mesa load on use; `negsim --help` stays fast

    folder = bundled_dir()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        print(f"no scenarios found in {folder}", file=sys.stderr)
        return EXIT_ERROR
    for f in files:
        try:
            s = load(f)
            print(f"{str(f):44s} {s.spec.title or s.name}")
        except ScenarioError as exc:
            print(f"{str(f):44s} INVALID: {exc.message}")
    return 0


def format_sweep(res) -> str:
    """The terminal summary of a finished sweep: where things are, the leading indices, discovered boxes."""
    plan = res.plan
    lines = [
        f"{plan.base.spec.title or plan.name}: sweep of {plan.describe()}",
        f"  {res.ran:,} point(s) run now, {plan.n_points - res.ran:,} resumed from the folder; {res.seconds:.1f} s",
    ]
    for m, df in res.sensitivity.items():
        from sim.experiments.metrics import metric_label  # deferred: loads numpy and Mesa; --help stays fast

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


def cmd_sweep(args) -> int:
    """``negsim sweep``: run (or resume) a parameter sweep, then analyse and plot it."""
    from sim.experiments.plan import make_plan  # deferred: loads numpy and Mesa; --help stays fast
    from sim.experiments.sweep import (  # deferred: loads numpy, pandas and Mesa; --help stays fast
        SweepInterrupted,
        default_folder,
        run_sweep,
    )

    sets = _parse_sets(args.set)
    plan = make_plan(
        args.scenario,
        vary=args.vary,
        design=args.design,
        samples=args.samples,
        replicates=args.replicates,
        seed=args.seed,
        weeks=args.weeks,
        metrics=args.metric,
        seeding=args.seeds,
        sets=sets or None,
        discover=args.discover,
        method=args.method,
    )
    plan.command = sys.argv
    folder = Path(args.out) if args.out else default_folder(plan)
    if not args.quiet:
        print(f"negsim: sweep of {plan.describe()} -> {folder}/ ({args.backend} backend)", file=sys.stderr)
    try:
        res = run_sweep(
            plan,
            folder,
            backend=args.backend,
            workers=args.workers,
            scheduler=args.scheduler,
            plots=not args.no_plots,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except SweepInterrupted as exc:
        print(f"negsim: {exc}", file=sys.stderr)
        return 130
    print(format_sweep(res))
    return 0


class _ProtocolOption(argparse.Action):
    """``--protocol NAME``; its help lists the registry's protocols, read only when help is shown."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)

    @property
    def help(self) -> str:
        """The option's help text, with the protocol names from :data:`sim.protocols.registry.PROTOCOLS`."""
        from sim.protocols.registry import PROTOCOLS  # deferred: loads numpy and pydantic; only for --help

        names = list(PROTOCOLS)
        return f"negotiation protocol: {', '.join(names[:-1])} or {names[-1]}"

    @help.setter
    def help(self, value: str | None) -> None:  # argparse sets it; the registry supplies it
        pass


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI)."""
    p = argparse.ArgumentParser(
        prog="negsim",
        description="Agent-based simulator of security negotiations: war, ceasefire and deterrence ensembles.",
    )

    p.add_argument("--version", action="version", version=f"negsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def ensemble_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "-n",
            "--replicates",
            type=int,
            help="Monte Carlo replicates (default: the scenario's settings)",
        )
        sp.add_argument("--seed", type=int, help="root seed (default: the scenario's settings)")
        sp.add_argument("--weeks", type=int, help="horizon in weeks (default: the scenario's settings)")
        sp.add_argument(
            "--set",
            action="append",
            metavar="KEY.PATH=VALUE",
            help="override a scenario value (repeatable)",
        )
        sp.add_argument("--protocol", action=_ProtocolOption)
        sp.add_argument("--out", help="output folder (default: a new folder under runs/)")
        sp.add_argument("--force", action="store_true", help="replace an existing non-empty --out folder")
        sp.add_argument("--no-plots", action="store_true", help="write data files only")
        sp.add_argument(
            "--format",
            choices=["png", "svg", "pdf"],
            default="png",
            help="plot file format (default png)",
        )
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("run", help="run one scenario's ensemble; print a summary; write data and plots")
    r.add_argument("scenario", help="scenario YAML file")
    ensemble_opts(r)
    r.add_argument(
        "--keep-trajectories",
        action="store_true",
        help="also write every replicate's weekly state, balance, positions, proposal, costs and votes to "
        "replicate_trajectories.npz (refused before starting if it would not fit in memory)",
    )
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("compare", help="run several scenarios with the same settings; one table, overlay plots")
    c.add_argument("scenarios", nargs="+", help="scenario YAML files")
    ensemble_opts(c)
    c.set_defaults(func=cmd_compare)
    v = sub.add_parser("validate", help="check scenario files and their sources; exit non-zero on any problem")
    v.add_argument("scenarios", nargs="+")
    v.add_argument("--strict", action="store_true", help="parameters without a source or assumption are errors")
    v.set_defaults(func=cmd_validate)
    e = sub.add_parser("explain", help="every parameter with its value and its source (claim or assumption)")
    e.add_argument("scenario")
    e.add_argument("--format", choices=["text", "md", "csv"], default="text", help="output format (default text)")
    e.set_defaults(func=cmd_explain)
    sc = sub.add_parser("schema", help="print the JSON Schema of the scenario format (for editors)")
    sc.add_argument("-o", "--output", help="write to this file instead of stdout")
    sc.add_argument(
        "--sweep", action="store_true", help="the schema of sweep files instead (scenarios/sweeps/sweep.schema.json)"
    )
    sc.set_defaults(func=cmd_schema)
    im = sub.add_parser("import", help="convert a BDM CSV, KTAB SMP CSV or Decide TSV into a scenario")
    im.add_argument("file")
    im.add_argument("-o", "--output", help="scenario file to write (default: FILE with .yaml)")
    im.add_argument("--format", choices=["auto", "bdm", "smp", "decide"], default="auto")
    im.add_argument("--protocol", help="protocol to set (default: bdm, smp or exchange by format)")
    im.add_argument("--force", action="store_true", help="overwrite an existing output file")
    im.set_defaults(func=cmd_import)
    rp = sub.add_parser("report", help="write a run or compare folder as one self-contained HTML file")
    rp.add_argument("run_dir", metavar="RUN_DIR", help="folder written by negsim run or negsim compare")
    rp.add_argument("-o", "--output", metavar="FILE", help="HTML file to write (default: RUN_DIR/report.html)")
    rp.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    rp.set_defaults(func=cmd_report)
    sw = sub.add_parser(
        "sweep",
        help="vary parameters over a design (grid, lhs, sobol, morris); one ensemble per point; resumable",
        description="Run an ensemble at every point of a design over scenario parameters; write one tidy table "
        "(results.csv), Sobol'/Morris indices, heatmaps or response curves, and optionally scenario discovery. "
        "Re-running the same command resumes an interrupted sweep.",
    )
    sw.add_argument("scenario", help="scenario file (its sweep: block gives defaults) or a sweep file")
    sw.add_argument(
        "--vary",
        action="append",
        metavar="PATH=LO:HI[:STEPS]",
        help="a parameter to vary, e.g. actors.russia.resolve=0.5:1:20 (repeatable; replaces the file's factors)",
    )
    sw.add_argument("--design", choices=["grid", "lhs", "sobol", "morris"], help="sampling design (default grid)")
    sw.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="lhs: points; sobol: base N, a power of two (N x (2k+2) points); morris: trajectories",
    )
    sw.add_argument("-n", "--replicates", type=int, help="replicates per design point (default 1000)")
    sw.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    sw.add_argument("--weeks", type=int, help="horizon in weeks (default: the scenario's)")
    sw.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="metric to analyse and plot (repeatable; default ceasefire_survival_52w and p_ceasefire_at_horizon)",
    )
    sw.add_argument(
        "--seeds",
        choices=["per_point", "common"],
        help="per_point: each point's seed from the root seed and its index (default); common: the root seed "
        "everywhere (common random numbers)",
    )
    sw.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="fix a scenario value (repeatable)")
    sw.add_argument(
        "--backend",
        choices=["serial", "pool", "dask"],
        default="pool",
        help="serial: in this process; pool: local processes (default); dask: Dask distributed",
    )
    sw.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    sw.add_argument(
        "--scheduler", metavar="local|tcp://HOST:PORT", help="dask: start a LocalCluster (local) or use a scheduler"
    )
    sw.add_argument(
        "--discover",
        metavar="CONDITION",
        help="scenario discovery: which parameter region gives e.g. 'p_durable_ceasefire >= 0.5'",
    )
    sw.add_argument("--method", choices=["cart", "prim"], help="discovery method (default cart)")
    sw.add_argument("--out", help="sweep folder (default: runs/sweeps/NAME-DESIGN-HASH, so the same sweep resumes)")
    sw.add_argument("--no-plots", action="store_true", help="data files only")
    sw.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    li = sub.add_parser("list", help="list the bundled scenarios")
    li.set_defaults(func=cmd_list)
    ve = sub.add_parser(
        "verify", help="check a run or compare folder is complete and unmodified; --rerun also reproduces it"
    )
    ve.add_argument("run_dir", metavar="RUN_DIR", help="folder written by negsim run or negsim compare")
    ve.add_argument(
        "--rerun",
        action="store_true",
        help="run the scenario again from the manifest and require byte-identical data files",
    )
    ve.set_defaults(func=cmd_verify)
    return p


def _validate_numbers(args) -> None:
    for name in ("replicates", "weeks", "samples", "workers"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise RunError(f"--{name} must be at least 1, got {v}")
    seed = getattr(args, "seed", None)
    if seed is not None and seed < 0:
        raise RunError(f"--seed must be a non-negative integer, got {seed}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``negsim`` and ``python -m sim``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        _validate_numbers(args)
        return args.func(args)
    except ScenarioError as exc:
        print(f"negsim: error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except RunError as exc:
        print(f"negsim: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into e.g. `head`: results are already written
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("negsim: interrupted; no partial results were left behind", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 (the CLI promises no tracebacks)
        if os.environ.get("NEGSIM_DEBUG"):
            raise
        print(
            f"negsim: internal error: {type(exc).__name__}: {exc} "
            "(set NEGSIM_DEBUG=1 for a traceback; please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR
