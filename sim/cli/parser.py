"""The ``negsim`` command line: its subcommands and options (nothing here runs anything)."""

from __future__ import annotations

import argparse

from sim.version import __version__


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


def _ensemble_options(sp: argparse.ArgumentParser) -> None:
    """Options every ensemble command (run, compare) takes."""
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


def _add_run(sub: argparse._SubParsersAction) -> None:
    """``negsim run``."""
    r = sub.add_parser("run", help="run one scenario's ensemble; print a summary; write data and plots")
    r.add_argument("scenario", help="scenario YAML file")
    _ensemble_options(r)
    r.add_argument(
        "--keep-trajectories",
        action="store_true",
        help="also write every replicate's weekly state, balance, positions, proposal, costs and votes to "
        "replicate_trajectories.npz (refused before starting if it would not fit in memory)",
    )


def _add_compare(sub: argparse._SubParsersAction) -> None:
    """``negsim compare``."""
    c = sub.add_parser("compare", help="run several scenarios with the same settings; one table, overlay plots")
    c.add_argument("scenarios", nargs="+", help="scenario YAML files")
    _ensemble_options(c)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    """``negsim validate``."""
    v = sub.add_parser("validate", help="check scenario files and their sources; exit non-zero on any problem")
    v.add_argument("scenarios", nargs="+")
    v.add_argument("--strict", action="store_true", help="parameters without a source or assumption are errors")


def _add_explain(sub: argparse._SubParsersAction) -> None:
    """``negsim explain``."""
    e = sub.add_parser("explain", help="every parameter with its value and its source (claim or assumption)")
    e.add_argument("scenario")
    e.add_argument("--format", choices=["text", "md", "csv"], default="text", help="output format (default text)")


def _add_schema(sub: argparse._SubParsersAction) -> None:
    """``negsim schema``."""
    sc = sub.add_parser("schema", help="print the JSON Schema of the scenario format (for editors)")
    sc.add_argument("-o", "--output", help="write to this file instead of stdout")
    sc.add_argument(
        "--sweep", action="store_true", help="the schema of sweep files instead (scenarios/sweeps/sweep.schema.json)"
    )


def _add_import(sub: argparse._SubParsersAction) -> None:
    """``negsim import``."""
    im = sub.add_parser("import", help="convert a BDM CSV, KTAB SMP CSV or Decide TSV into a scenario")
    im.add_argument("file")
    im.add_argument("-o", "--output", help="scenario file to write (default: FILE with .yaml)")
    im.add_argument("--format", choices=["auto", "bdm", "smp", "decide"], default="auto")
    im.add_argument("--protocol", help="protocol to set (default: bdm, smp or exchange by format)")
    im.add_argument("--force", action="store_true", help="overwrite an existing output file")


def _add_report(sub: argparse._SubParsersAction) -> None:
    """``negsim report``."""
    rp = sub.add_parser("report", help="write a run or compare folder as one self-contained HTML file")
    rp.add_argument("run_dir", metavar="RUN_DIR", help="folder written by negsim run or negsim compare")
    rp.add_argument("-o", "--output", metavar="FILE", help="HTML file to write (default: RUN_DIR/report.html)")
    rp.add_argument("--force", action="store_true", help="overwrite an existing FILE")


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    """``negsim sweep``."""
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


def _add_list(sub: argparse._SubParsersAction) -> None:
    """``negsim list``."""
    sub.add_parser("list", help="list the bundled scenarios")


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    """``negsim calibrate``."""
    ca = sub.add_parser(
        "calibrate",
        help="fit scenario parameters to observed facts (ABC-SMC); posterior, predictive checks; resumable",
        description="Find the parameter values consistent with observations: approximate Bayesian computation "
        "(ABC-SMC), one ensemble per candidate. Writes posterior.csv, targets.csv, posterior.yaml (a scenario with "
        "the fitted parameters as distributions), plots and a manifest. Re-running the same command resumes.",
        epilog="Metrics: those of negsim sweep (p_ceasefire, ceasefire_survival_52w, share_aid_only, ...) and "
        "week metrics: p_ceasefire_by_<W>w (first ceasefire agreed within W weeks), ceasefire_survival_<W>w "
        "(Kaplan-Meier survival of the first ceasefire at W weeks). See docs/calibration.md.",
    )
    ca.add_argument("scenario", nargs="?", help="scenario file (optional when --targets names one)")
    ca.add_argument(
        "--fit",
        action="append",
        metavar="PATH=LO:HI",
        help="a parameter to fit, uniform prior on [LO, HI] (repeatable)",
    )
    ca.add_argument(
        "--target",
        action="append",
        metavar="METRIC=VALUE±SD",
        help="an observation, e.g. p_ceasefire_by_60w=0+-0.03 (repeatable; '+-' for ±)",
    )
    ca.add_argument("--targets", metavar="FILE.yaml", help="fit:, targets: (with sources and priors), settings:")
    ca.add_argument("-n", "--replicates", type=int, help="replicates per candidate (default 1000)")
    ca.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    ca.add_argument("--weeks", type=int, help="horizon in weeks (default: the scenario's)")
    ca.add_argument("--particles", type=int, help="particles per generation (default 200)")
    ca.add_argument("--generations", type=int, help="the most generations (default 8)")
    ca.add_argument("--min-epsilon", type=float, help="stop at this tolerance, an RMS z-score (default 1)")
    ca.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="fix a scenario value (repeatable)")
    ca.add_argument(
        "--backend", choices=["serial", "pool", "dask"], default="pool", help="where candidates run (default pool)"
    )
    ca.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    ca.add_argument("--scheduler", metavar="local|tcp://HOST:PORT", help="dask: a LocalCluster or a scheduler")
    ca.add_argument("--out", help="calibration folder (default: runs/calibrations/NAME-KEY, so it resumes)")
    ca.add_argument("--no-plots", action="store_true", help="data files only")
    ca.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _add_verify(sub: argparse._SubParsersAction) -> None:
    """``negsim verify``."""
    ve = sub.add_parser(
        "verify", help="check a run or compare folder is complete and unmodified; --rerun also reproduces it"
    )
    ve.add_argument("run_dir", metavar="RUN_DIR", help="folder written by negsim run or negsim compare")
    ve.add_argument(
        "--rerun",
        action="store_true",
        help="run the scenario again from the manifest and require byte-identical data files",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI); the chosen subcommand is ``args.command``."""
    p = argparse.ArgumentParser(
        prog="negsim",
        description="Agent-based simulator of security negotiations: war, ceasefire and deterrence ensembles.",
    )
    p.add_argument("--version", action="version", version=f"negsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        _add_run,
        _add_compare,
        _add_validate,
        _add_explain,
        _add_schema,
        _add_import,
        _add_report,
        _add_sweep,
        _add_list,
        _add_calibrate,
        _add_verify,
    ):
        add(sub)
    return p
