"""The ``negsim`` command: each command parses, calls the Python API, and prints (:mod:`sim.cli.format`).

Heavy imports (Mesa, numpy, matplotlib) happen inside the commands, so ``negsim --help`` is
quick. Every error is one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from sim.cli.parser import build_parser
from sim.errors import RunError, ScenarioError

EXIT_USAGE = 2
EXIT_ERROR = 1


def bundled_dir() -> Path:
    """The bundled ``scenarios/`` folder (next to the package in a checkout, else the working dir)."""
    here = Path(__file__).resolve().parents[2] / "scenarios"  # sim/cli/commands.py -> the checkout
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


class _Progress:
    """A tqdm bar on stderr that appears only for runs longer than a second, and only on a terminal.

    Its length comes from the run's own ``progress(done, total)`` calls (weeks, times chunks).
    """

    def __init__(self, label: str, quiet: bool) -> None:
        self.bar = None
        if quiet or not sys.stderr.isatty():
            return
        from tqdm import tqdm  # deferred: tqdm loads only for a progress bar

        self.bar = tqdm(total=None, desc=label, unit="wk", delay=1.0, file=sys.stderr, leave=False)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            if self.bar.total != total:  # known at the first call; chunked ensembles report weeks x chunks
                self.bar.total = total
            self.bar.n = done
            self.bar.refresh() if done == total else self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _note(msg: str) -> None:
    print(f"negsim: {msg}", file=sys.stderr)


def _api():
    """The Python API the commands call."""
    from sim import api  # deferred: loads numpy, pydantic and Mesa; `negsim --help` stays fast

    return api


def _fmt():
    """The terminal tables (:mod:`sim.cli.format`)."""
    from sim.cli import format as fmt  # deferred: its labels load numpy, pydantic and Mesa; --help stays fast

    return fmt


def _ensemble(args) -> dict:
    """The ensemble options of run and compare, as the API's keyword arguments."""
    return {
        "replicates": args.replicates,
        "seed": args.seed,
        "weeks": args.weeks,
        "set": _parse_sets(args.set, args.protocol),
        "force": args.force,
        "plots": not args.no_plots,
        "fmt": args.format,
        "command": sys.argv,
        "log": _note,
    }


def cmd_run(args) -> int:
    """``negsim run``."""
    t0 = time.perf_counter()
    bar = _Progress(Path(args.scenario).stem, args.quiet)
    try:
        result, folder = _api().run_to_folder(
            args.scenario, args.out, keep_trajectories=args.keep_trajectories, progress=bar, **_ensemble(args)
        )
    finally:
        bar.close()
    print(_fmt().format_talks(result) if result.talks_only else _fmt().format_summary(result))
    print(_fmt().format_written(result, folder, args.format, time.perf_counter() - t0))
    return 0


def cmd_compare(args) -> int:
    """``negsim compare``."""
    bar = _Progress("compare", args.quiet)
    try:
        comparison, folder = _api().compare_to_folder(args.scenarios, args.out, progress=bar, **_ensemble(args))
    finally:
        bar.close()
    print(_fmt().format_compare(comparison.results))
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
    from sim import api  # deferred: loads numpy, pydantic and Mesa; `negsim --help` stays fast
    from sim.scenario import provenance  # deferred: loads pydantic; `negsim --help` stays fast

    s = api.load(args.scenario)
    sys.stdout.write(_fmt().format_explain(s, provenance.explain_rows(provenance.check(s)), args.format))
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
    print(_fmt().format_sweep(res))
    return 0


def cmd_calibrate(args) -> int:
    """``negsim calibrate``: fit parameters to targets (or resume), then report the posterior."""
    from sim.experiments import calibrate  # deferred: loads numpy, pydantic and Mesa; --help stays fast

    cal = calibrate.make_calibration(
        args.scenario,
        fit=args.fit,
        targets=args.target,
        targets_file=args.targets,
        replicates=args.replicates,
        seed=args.seed,
        weeks=args.weeks,
        particles=args.particles,
        generations=args.generations,
        min_epsilon=args.min_epsilon,
        sets=_parse_sets(args.set) or None,
    )
    cal.command = sys.argv
    folder = Path(args.out) if args.out else calibrate.default_folder(cal)
    if not args.quiet:
        print(f"negsim: calibration of {cal.describe()} -> {folder}/ ({args.backend} backend)", file=sys.stderr)
    try:
        res = calibrate.run_calibration(
            cal,
            folder,
            backend=args.backend,
            workers=args.workers,
            scheduler=args.scheduler,
            plots=not args.no_plots,
            progress=not args.quiet,
        )
    except calibrate.CalibrationInterrupted as exc:
        print(f"negsim: {exc}", file=sys.stderr)
        return 130
    print(_fmt().format_calibration(res))
    return 0


COMMANDS = {
    "run": cmd_run,
    "compare": cmd_compare,
    "validate": cmd_validate,
    "explain": cmd_explain,
    "schema": cmd_schema,
    "import": cmd_import,
    "report": cmd_report,
    "sweep": cmd_sweep,
    "list": cmd_list,
    "verify": cmd_verify,
    "calibrate": cmd_calibrate,
}
"""Each subcommand of :func:`sim.cli.parser.build_parser` and the function that runs it."""


def _validate_numbers(args) -> None:
    for name in ("replicates", "weeks", "samples", "workers", "particles", "generations"):
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
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        _validate_numbers(args)
        return COMMANDS[args.command](args)
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
