"""Snapshot every negsim output, and compare two snapshots file by file.

A refactoring that only moves code (modules into subpackages) must not change any output. This tool
records the outputs of one checkout into a folder (``make``) and compares two such folders
(``compare``)::

    python tools/snapshot.py make OUTDIR [--repo DIR] [--quick]
    python tools/snapshot.py compare OLD NEW

It uses only interfaces that survive such a move: the CLI as ``python -m sim ...`` in a subprocess
(``sys.executable``, working directory and ``PYTHONPATH`` = the repository given by ``--repo``, by
default the folder above ``tools/``) and the public Python API ``import sim`` (``sim.load``,
``sim.run``, ``sim.compare``, ``sim.sources``, ``sim.claims``, ``sim.experiment`` and the results'
documented attributes). It never imports a ``sim`` submodule. Run it with the interpreter of the
environment that has negsim's dependencies (``.venv/bin/python``); ``make`` checks that ``sim``
resolves to the ``--repo`` checkout, in the subprocesses and in this process.

``make OUTDIR`` writes (OUTDIR must be missing or empty):

- ``run/<stem>/``: ``negsim run`` of every ``scenarios/*.yaml`` (``-n 1500 --seed 11 --weeks 104``, with plots).
- ``protocol/<protocol>/``: ``scenarios/baseline.yaml`` with ``--protocol`` mediated_single_text, compromise,
  bdm, smp and exchange (a refused run leaves ``protocol/<protocol>.error.txt`` with the error instead).
- ``import/<case>.yaml`` and ``import-run/<case>[-compromise]/``: ``negsim import`` of the BDM, KTAB SMP and
  Decide fixtures, then ``negsim run`` of each (its own protocol and scenario settings, and ``--protocol
  compromise``).
- ``chunked/reassurance_backstop/``: 120,000 replicates (above the 100,000-replicate chunk), 30 weeks, no plots.
- ``keep-trajectories/aid_only/``: ``--keep-trajectories``, 300 replicates, 40 weeks.
- ``compare/``: ``negsim compare`` of nato_entry, reassurance_backstop, reassurance_only, aid_only.
- ``sweep/``: ``negsim sweep scenarios/sweeps/backstop_heatmap.yaml --backend serial``.
- ``api_digest.json``: SHA-256 digests (and, for short texts, the text) of what the Python API returns:
  summaries, DataFrames as CSV, ``repr`` of results and summaries, ``sim.compare(...).table``,
  ``sim.sources``, ``sim.claims``, ``sim.experiment``; and of the standard output of every CLI command.
- ``commands.json``: every CLI command (argv), its exit code, standard output and standard error.
- ``snapshot.json``: how the snapshot was made (repository, interpreter, versions, timings).

Text written by the tool itself (``commands.json``, ``api_digest.json``) is made independent of time and
place: the snapshot folder is written ``<OUT>``, the repository ``<REPO>`` (padding after such a path is
collapsed to one space: ``negsim list`` pads absolute paths to a column width), and the wall-clock
figures of the CLI (``... in 1.9 s`` after a run, ``...; 42.8 s`` after a sweep) become ``<T>``.
``--quick`` uses small sizes throughout for a fast smoke check (its snapshots compare only with
other ``--quick`` snapshots).

``compare OLD NEW`` compares every file byte for byte and exits 0 when all are identical, 1 otherwise,
listing files that differ or exist in one tree only. Plots (``.png``, ``.svg``, ``.pdf``) are
compared too but reported separately under "plots". These fields legitimately differ between two
runs of the same code and are removed before comparing the files that hold them (found by running
``make`` twice and diffing):

- ``manifest.json`` (run, comparison and sweep folders): ``created_utc`` (wall-clock time),
  ``model_seconds`` (duration), ``command`` (``sys.argv``: the absolute path of ``sim/__main__.py``
  and of the output folder), ``versions`` (Python and package versions), ``scenario_file_resolved``
  (absolute path), and in a sweep's manifest ``outputs_sha256["sweep.json"]`` (the hash of a file
  that holds ``created_utc`` and ``command``).
- ``sweep/sweep.json``: ``created_utc``, ``command``, ``versions``.
- ``sweep/points.jsonl``: ``seconds`` of every line (the duration of each design point).
- ``snapshot.json``: ``created_utc``, ``seconds``, ``timings``, ``command``, ``repo``, ``outdir``,
  ``sim_file``, ``python``, ``versions``.

In these JSON files the absolute paths of the snapshot folder and of the repository (recorded in
each tree's ``snapshot.json``) are also replaced by ``<OUT>`` and ``<REPO>`` in every remaining key
and value (sweep.json's ``scenario_file`` and ``scenario_files_sha256`` keys, and a manifest's
``scenario_file`` for the imported scenarios, are absolute), so that the relative part is still
compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PROTOCOLS = ("mediated_single_text", "compromise", "bdm", "smp", "exchange")
"""Every negotiation protocol of ``negsim run --protocol``."""

IMPORTS = (
    ("bdm-eu-emissions", "tests/fixtures/bdm-eu-emissions/input.csv", None),
    ("ktab-smp-dummy", "tests/fixtures/ktab-smp-dummy/input.csv", "smp"),
    ("exchange-small", "tests/fixtures/exchange-small/input_sample_toll.tsv", None),
)
"""Talks-only cases: (name, data file in the repository, ``--format`` or None for auto-detection)."""

COMPARED = ("nato_entry", "reassurance_backstop", "reassurance_only", "aid_only")
"""The scenarios of ``negsim compare``."""

SWEEP_FILE = "scenarios/sweeps/backstop_heatmap.yaml"
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

EXCLUDED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "manifest.json": (
        ("created_utc",),
        ("model_seconds",),
        ("command",),
        ("versions",),
        ("scenario_file_resolved",),
        ("outputs_sha256", "sweep.json"),
    ),
    "sweep.json": (("created_utc",), ("command",), ("versions",)),
    "points.jsonl": (("seconds",),),
    "snapshot.json": (
        ("created_utc",),
        ("seconds",),
        ("timings",),
        ("command",),
        ("repo",),
        ("outdir",),
        ("sim_file",),
        ("python",),
        ("versions",),
    ),
}
"""File name → key paths removed before comparing (wall-clock times, durations, paths, argv, versions)."""

TIMING_PATTERNS = (
    (re.compile(r"\) in \d+(?:\.\d+)? s$", re.M), ") in <T> s"),  # negsim run: "Wrote DIR/ (...) in 1.9 s"
    (re.compile(r"(resumed from the folder); \d+(?:\.\d+)? s$", re.M), r"\1; <T> s"),  # negsim sweep
)
"""Wall-clock figures in the CLI's output, and what replaces them."""


@dataclass(frozen=True)
class Sizes:
    """Ensemble sizes of one snapshot (full or ``--quick``).

    Attributes:
        run: ``-n/--weeks`` arguments of the scenario and protocol runs.
        chunked: Arguments of the chunked CLI run (above 100,000 replicates).
        keep: Arguments of the ``--keep-trajectories`` run.
        compare: Arguments of ``negsim compare``.
        sweep: Extra arguments of ``negsim sweep``.
        api_war: ``sim.run`` keyword arguments of the war scenario.
        api_chunked: ``sim.run`` keyword arguments of the chunked run.
        api_small: ``sim.run`` / ``sim.compare`` / ``sim.experiment`` keyword arguments of the small runs.
    """

    run: tuple[str, ...]
    chunked: tuple[str, ...]
    keep: tuple[str, ...]
    compare: tuple[str, ...]
    sweep: tuple[str, ...]
    api_war: dict[str, int]
    api_chunked: dict[str, int]
    api_small: dict[str, int]


FULL = Sizes(
    run=("-n", "1500", "--seed", "11", "--weeks", "104"),
    chunked=("-n", "120000", "--weeks", "30"),
    keep=("-n", "300", "--weeks", "40"),
    compare=("-n", "1000", "--seed", "3"),
    sweep=(),
    api_war={"replicates": 1500, "seed": 5, "weeks": 104},
    api_chunked={"replicates": 110_000, "seed": 2, "weeks": 10},
    api_small={"replicates": 500, "seed": 9, "weeks": 60},
)
QUICK = Sizes(
    run=("-n", "200", "--seed", "11", "--weeks", "30"),
    chunked=("-n", "100001", "--weeks", "3"),
    keep=("-n", "50", "--weeks", "10"),
    compare=("-n", "200", "--seed", "3", "--weeks", "30"),
    sweep=("-n", "20", "--weeks", "20"),
    api_war={"replicates": 200, "seed": 5, "weeks": 30},
    api_chunked={"replicates": 100_001, "seed": 2, "weeks": 2},
    api_small={"replicates": 100, "seed": 9, "weeks": 20},
)


# ----------------------------------------------------------------------------- making a snapshot


def sha256(text: str | bytes) -> str:
    """SHA-256 (hex) of a text (UTF-8) or bytes."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _path_re(path: Path) -> re.Pattern[str]:
    """An absolute path as a whole path prefix (``/tmp/ref`` does not match inside ``/tmp/refout``)."""
    return re.compile(re.escape(str(path)) + r"(?![^/\s\"'),:;\]}])")


@dataclass
class Snapshot:
    """State of one ``make``: where things are and what has been recorded so far.

    Attributes:
        out: The snapshot folder (absolute).
        repo: The repository whose code is snapshotted (absolute).
        sizes: Ensemble sizes.
        commands: Every CLI command run so far, as recorded in ``commands.json``.
        timings: Seconds per step (``snapshot.json``; not compared).
    """

    out: Path
    repo: Path
    sizes: Sizes
    commands: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def norm(self, text: str) -> str:
        """Text without place or time: snapshot folder → ``<OUT>``, repository → ``<REPO>``, timings → ``<T>``."""
        for path, token in ((self.out, "<OUT>"), (self.repo, "<REPO>")):
            # Collapse padding after a path: its width depends on where the folders are.
            text = re.sub(_path_re(path).pattern + r"(\S*) {2,}", token + r"\1 ", text)
            text = _path_re(path).sub(token, text)
        for pattern, repl in TIMING_PATTERNS:
            text = pattern.sub(repl, text)
        return text

    def env(self) -> dict[str, str]:
        """The environment of the CLI subprocesses: ``sim`` from the repository, headless, fixed width."""
        env = {k: v for k, v in os.environ.items() if k != "NEGSIM_DEBUG"}
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = str(self.repo) + (os.pathsep + old if old else "")
        env["MPLBACKEND"] = "Agg"
        env["COLUMNS"] = "120"
        return env

    def cli(self, cid: str, *args: str, out: str | None = None) -> dict[str, Any]:
        """Run ``python -m sim ARGS`` in the repository; record it under ``cid``.

        Args:
            cid: Identifier of the command in ``commands.json``.
            *args: Arguments after ``python -m sim``.
            out: The output this command should write, relative to the snapshot folder; when the command
                fails, ``<out>.error.txt`` holds its standard error instead.

        Returns:
            The record: ``id``, ``argv``, ``returncode``, ``stdout``, ``stderr``.
        """
        argv = [sys.executable, "-m", "sim", *args]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.repo, env=self.env(), capture_output=True, text=True, check=False)
        self.timings[f"cli:{cid}"] = round(time.perf_counter() - t0, 2)
        rec = {
            "id": cid,
            "argv": ["python", "-m", "sim", *(self.norm(a) for a in args)],
            "returncode": proc.returncode,
            "stdout": self.norm(proc.stdout),
            "stderr": self.norm(proc.stderr),
        }
        if any(r["id"] == cid for r in self.commands):
            raise SystemExit(f"snapshot: duplicate command id {cid}")
        self.commands.append(rec)
        if proc.returncode != 0 and out is not None:
            err = self.out / f"{out}.error.txt"
            err.parent.mkdir(parents=True, exist_ok=True)
            err.write_text(f"exit code {proc.returncode}\n{rec['stderr']}", encoding="utf-8")
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        print(f"  {cid}: {status} ({self.timings[f'cli:{cid}']:.1f} s)", file=sys.stderr)
        return rec

    def step(self, name: str, fn: Callable[[], None]) -> None:
        """Run one step of the snapshot and time it."""
        print(f"snapshot: {name}", file=sys.stderr)
        t0 = time.perf_counter()
        fn()
        self.timings[name] = round(time.perf_counter() - t0, 2)


def _scenarios(repo: Path) -> list[str]:
    return [p.relative_to(repo).as_posix() for p in sorted((repo / "scenarios").glob("*.yaml"))]


def step_runs(snap: Snapshot) -> None:
    """Every bundled scenario, with plots."""
    for scen in _scenarios(snap.repo):
        stem = Path(scen).stem
        snap.cli(f"run/{stem}", "run", scen, *snap.sizes.run, "--out", str(snap.out / "run" / stem), out=f"run/{stem}")


def step_protocols(snap: Snapshot) -> None:
    """The war scenario ``baseline.yaml`` under every protocol."""
    for proto in PROTOCOLS:
        dest = f"protocol/{proto}"
        snap.cli(
            dest,
            "run",
            "scenarios/baseline.yaml",
            *snap.sizes.run,
            "--protocol",
            proto,
            "--out",
            str(snap.out / dest),
            out=dest,
        )


def step_imports(snap: Snapshot) -> None:
    """Talks-only cases: import each fixture, run it with its own protocol and with ``compromise``."""
    for name, data, fmt in IMPORTS:
        yaml_path = snap.out / "import" / f"{name}.yaml"
        yaml_path.parent.mkdir(parents=True, exist_ok=True)
        fmt_args = ("--format", fmt) if fmt else ()
        rec = snap.cli(f"import/{name}", "import", data, "-o", str(yaml_path), *fmt_args, out=f"import/{name}")
        if rec["returncode"] != 0:
            continue
        dest = f"import-run/{name}"
        snap.cli(dest, "run", str(yaml_path), "--out", str(snap.out / dest), out=dest)
        dest += "-compromise"
        snap.cli(dest, "run", str(yaml_path), "--protocol", "compromise", "--out", str(snap.out / dest), out=dest)


def step_big(snap: Snapshot) -> None:
    """A chunked run (above 100,000 replicates) and a run keeping every replicate's trajectory."""
    dest = "chunked/reassurance_backstop"
    args = ("run", "scenarios/reassurance_backstop.yaml", *snap.sizes.chunked, "--no-plots")
    snap.cli(dest, *args, "--out", str(snap.out / dest), out=dest)
    dest = "keep-trajectories/aid_only"
    args = ("run", "scenarios/aid_only.yaml", *snap.sizes.keep, "--keep-trajectories")
    snap.cli(dest, *args, "--out", str(snap.out / dest), out=dest)


def step_compare(snap: Snapshot) -> None:
    """``negsim compare`` of the four arrangements."""
    scens = [f"scenarios/{s}.yaml" for s in COMPARED]
    snap.cli("compare", "compare", *scens, *snap.sizes.compare, "--out", str(snap.out / "compare"), out="compare")


def step_sweep(snap: Snapshot) -> None:
    """The bundled heatmap sweep, serial backend (the order of ``points.jsonl`` is then deterministic)."""
    args = ("sweep", SWEEP_FILE, *snap.sizes.sweep, "--out", str(snap.out / "sweep"), "--backend", "serial")
    snap.cli("sweep", *args, out="sweep")


def step_inspect(snap: Snapshot) -> None:
    """Commands that print rather than simulate: list, validate, explain, schema, help, verify, errors."""
    scens = _scenarios(snap.repo)
    snap.cli("list", "list")
    snap.cli("validate", "validate", *scens)
    snap.cli("validate-strict", "validate", "--strict", *scens)
    for scen in scens:
        snap.cli(f"explain/{Path(scen).stem}", "explain", scen)
    for fmt in ("md", "csv"):
        snap.cli(f"explain-{fmt}/baseline", "explain", "scenarios/baseline.yaml", "--format", fmt)
    snap.cli("schema", "schema")
    snap.cli("schema-sweep", "schema", "--sweep")
    snap.cli("version", "--version")
    snap.cli("help", "--help")
    for sub in ("run", "compare", "validate", "explain", "schema", "import", "report", "sweep", "list", "verify"):
        snap.cli(f"help/{sub}", sub, "--help")
    snap.cli("verify/run-baseline", "verify", str(snap.out / "run" / "baseline"), "--rerun")
    snap.cli("verify/compare", "verify", str(snap.out / "compare"), "--rerun")
    err = snap.out / "errors"
    snap.cli(
        "error/out-of-range", "run", "scenarios/baseline.yaml", "--set", "actors.us.resolve=1.7", "--out", str(err)
    )
    snap.cli("error/bad-protocol", "run", "scenarios/baseline.yaml", "--protocol", "nope", "--out", str(err))
    snap.cli("error/unknown-key", "run", "scenarios/baseline.yaml", "--set", "actors.us.nope=1", "--out", str(err))
    snap.cli("error/no-file", "validate", "scenarios/does_not_exist.yaml")


# ----------------------------------------------------------------------------- the Python API


def _text(text: str, keep: int = 4000) -> dict[str, Any]:
    """A text's digest; the text itself too when it is short."""
    out: dict[str, Any] = {"sha256": sha256(text), "chars": len(text)}
    if len(text) <= keep:
        out["text"] = text
    return out


def _guard(fn: Callable[[], Any]) -> Any:
    """Call ``fn``; an exception becomes a recorded ``{"error": ...}`` (the snapshot must not stop)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 (an error is an output like any other)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _run_digest(snap: Snapshot, result: Any) -> dict[str, Any]:
    """Digests of one ``sim.run`` result."""
    out: dict[str, Any] = {
        "repr": _guard(lambda: _text(snap.norm(repr(result)))),
        "summary_json": _guard(lambda: _text(json.dumps(result.summary, sort_keys=True), keep=0)),
        "outcomes_df_csv": _guard(lambda: _text(result.outcomes_df.to_csv(), keep=0)),
        "trajectories_df_csv": _guard(lambda: _text(result.trajectories_df.to_csv(), keep=0)),
        "positions_df_csv": _guard(lambda: _text(result.positions_df.to_csv(), keep=0)),
        "summary_info_repr": _guard(lambda: _text(repr(result.summary_info), keep=0)),
    }
    arrays = getattr(result, "replicate_trajectories", None)
    if arrays is not None:
        out["replicate_trajectories"] = {
            k: {"dtype": str(v.dtype), "shape": list(v.shape), "sha256": sha256(v.tobytes())} for k, v in arrays.items()
        }
    return out


def step_api(snap: Snapshot) -> dict[str, Any]:
    """Digests of the public Python API's results (``api_digest.json``)."""
    import sim

    sz = snap.sizes
    imported = {name: snap.out / "import" / f"{name}.yaml" for name, _, _ in IMPORTS}
    overrides = {
        "actors.us.resolve": 0.7,
        "actors.us.guarantees.reassurance_backstop.credibility": 0.9,
        "war.volatility": {"uniform": [0.05, 0.1]},
    }
    runs: dict[str, Callable[[], Any]] = {
        "war_reassurance_backstop": lambda: sim.run("scenarios/reassurance_backstop.yaml", **sz.api_war),
        "war_loaded_aid_only": lambda: sim.run(sim.load("scenarios/aid_only.yaml"), **sz.api_small),
        "chunked_baseline": lambda: sim.run("scenarios/baseline.yaml", **sz.api_chunked),
        "set_overrides": lambda: sim.run("scenarios/reassurance_backstop.yaml", **sz.api_small, set=overrides),
        "keep_trajectories": lambda: sim.run("scenarios/aid_only.yaml", **sz.api_small, keep_trajectories=True),
        "talks_bdm": lambda: sim.run(imported["bdm-eu-emissions"]),
        "talks_smp": lambda: sim.run(imported["ktab-smp-dummy"]),
        "talks_exchange": lambda: sim.run(imported["exchange-small"]),
        "talks_bdm_compromise": lambda: sim.run(
            imported["bdm-eu-emissions"], set={"negotiation.protocol": {"name": "compromise"}}
        ),
    }
    digest: dict[str, Any] = {"runs": {}}
    results: dict[str, Any] = {}
    for name, fn in runs.items():
        res = _guard(fn)
        results[name] = res
        digest["runs"][name] = res if isinstance(res, dict) else _run_digest(snap, res)

    def comparison(paths: Iterable[str]) -> dict[str, Any]:
        c = sim.compare(list(paths), **sz.api_small)
        return {"repr": _text(repr(c)), "table_csv": _text(c.table.to_csv())}

    digest["compare"] = {
        "war": _guard(lambda: comparison(f"scenarios/{s}.yaml" for s in ("nato_entry", "aid_only"))),
        "talks": _guard(
            lambda: {
                "table_csv": _text(sim.compare([results["talks_bdm"], results["talks_bdm_compromise"]]).table.to_csv())
            }
        ),
    }
    digest["sources"] = {
        s: _guard(lambda s=s: _text(sim.sources(f"scenarios/{s}.yaml").to_csv(), keep=0))
        for s in ("baseline", "reassurance_backstop")
    }
    digest["sources"]["talks_bdm"] = _guard(lambda: _text(sim.sources(imported["bdm-eu-emissions"]).to_csv()))
    digest["claims"] = {"baseline": _guard(lambda: _text(sim.claims("scenarios/baseline.yaml").to_csv(), keep=0))}
    params = {"actors__russia__resolve": 0.8, "deterrence.guarantee_weight": 6}
    small = {k: v for k, v in sz.api_small.items() if k != "weeks"}
    digest["experiment"] = {
        "reassurance_backstop": _guard(
            lambda: _text(json.dumps(sim.experiment("scenarios/reassurance_backstop.yaml", **small, **params)))
        ),
        "params": params,
        "settings": small,
    }
    digest["load_repr"] = {
        "baseline": _guard(lambda: _text(snap.norm(repr(sim.load("scenarios/baseline.yaml"))), keep=0)),
        "set_overrides": _guard(
            lambda: _text(snap.norm(repr(sim.load("scenarios/reassurance_backstop.yaml", overrides=overrides))), keep=0)
        ),
    }
    digest["cli_stdout"] = {r["id"]: sha256(r["stdout"]) for r in snap.commands}
    return digest


def _import_sim(repo: Path) -> str:
    """Import ``sim`` from ``repo`` in this process; refuse another copy."""
    sys.path.insert(0, str(repo))
    import sim

    where = Path(sim.__file__).resolve()
    if not where.is_relative_to(repo):
        raise SystemExit(f"snapshot: `import sim` gives {where}, not the package in {repo}")
    return str(where)


def _cli_sim(snap: Snapshot) -> str:
    """Where ``sim`` comes from in the CLI subprocesses; refuse another copy."""
    code = "import sim; print(sim.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=snap.repo, env=snap.env(), capture_output=True, text=True, check=True
    )
    where = Path(proc.stdout.strip()).resolve()
    if not where.is_relative_to(snap.repo):
        raise SystemExit(f"snapshot: the CLI's `import sim` gives {where}, not the package in {snap.repo}")
    return str(where)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("negsim", "mesa", "numpy", "pandas", "matplotlib", "pydantic", "pyyaml", "scipy", "salib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def make(out: Path, repo: Path, quick: bool = False) -> int:
    """Write a snapshot of the outputs of the code in ``repo`` into ``out``.

    Args:
        out: Snapshot folder; refused when it exists and is not empty.
        repo: Repository root (holds ``sim/``, ``scenarios/``, ``tests/fixtures/``).
        quick: Small sizes, for a smoke check.

    Returns:
        Exit code (0).
    """
    out, repo = out.resolve(), repo.resolve()
    if not (repo / "sim" / "__init__.py").is_file():
        raise SystemExit(f"snapshot: {repo} is not a negsim repository (no sim/__init__.py)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SystemExit(f"snapshot: {out} exists and is not empty; choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    snap = Snapshot(out=out, repo=repo, sizes=QUICK if quick else FULL)
    cli_sim = _cli_sim(snap)
    sim_file = _import_sim(repo)
    snap.step("scenarios", lambda: step_runs(snap))
    snap.step("protocols", lambda: step_protocols(snap))
    snap.step("imports", lambda: step_imports(snap))
    snap.step("chunked and kept trajectories", lambda: step_big(snap))
    snap.step("compare", lambda: step_compare(snap))
    snap.step("sweep", lambda: step_sweep(snap))
    snap.step("list, validate, explain, schema, help, verify, errors", lambda: step_inspect(snap))
    digest: dict[str, Any] = {}

    def api() -> None:
        cwd = Path.cwd()
        os.chdir(repo)  # the API calls name bundled scenarios relative to the repository
        try:
            digest.update(step_api(snap))
        finally:
            os.chdir(cwd)

    snap.step("python api", api)
    _write_json(out / "api_digest.json", digest)
    _write_json(out / "commands.json", snap.commands)
    _write_json(
        out / "snapshot.json",
        {
            "tool": "tools/snapshot.py",
            "quick": quick,
            "sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(snap.sizes).items()},
            "sweep_backend": "serial",
            "n_commands": len(snap.commands),
            "failed_commands": [r["id"] for r in snap.commands if r["returncode"] != 0],
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.perf_counter() - t0, 1),
            "timings": snap.timings,
            "command": sys.argv,
            "repo": str(repo),
            "outdir": str(out),
            "sim_file": {"api": sim_file, "cli": cli_sim},
            "python": f"{sys.executable} {platform.python_version()}",
            "versions": _versions(),
        },
    )
    n = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"snapshot: wrote {n} files to {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- comparing snapshots


def _tree_places(root: Path) -> list[tuple[str, str]]:
    """(absolute path, token) pairs to normalize in a tree: its own folder and repository at ``make`` time."""
    places = [(str(root.resolve()), "<OUT>")]
    try:
        meta = json.loads((root / "snapshot.json").read_text(encoding="utf-8"))
        places = [(meta["outdir"], "<OUT>"), (meta["repo"], "<REPO>"), *places]
    except (OSError, ValueError, KeyError):
        pass
    return places


def _norm_paths(obj: Any, places: list[tuple[str, str]]) -> Any:
    """Replace absolute paths (whole path prefixes) by their tokens in every key and string of ``obj``."""
    if isinstance(obj, str):
        for path, token in places:
            obj = _path_re(Path(path)).sub(token, obj)
        return obj
    if isinstance(obj, dict):
        return {_norm_paths(k, places): _norm_paths(v, places) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_norm_paths(v, places) for v in obj]
    return obj


def _drop(obj: Any, paths: tuple[tuple[str, ...], ...]) -> Any:
    """``obj`` without the given key paths (where present)."""
    for path in paths:
        node = obj
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return obj


def normalized(name: str, data: bytes, places: list[tuple[str, str]]) -> str | None:
    """A file's content without its excluded fields, or None when the file has none.

    JSON is re-serialized with its key order kept, so the comparison still sees reordered keys; a
    change of layout alone (indentation) would be missed, but the same writer formats the files
    compared byte for byte (``summary.json``).
    """
    rules = EXCLUDED_FIELDS.get(name)
    if rules is None:
        return None
    try:
        text = data.decode("utf-8")
        if name.endswith(".jsonl"):
            lines = [_norm_paths(_drop(json.loads(x), rules), places) for x in text.splitlines()]
            return "\n".join(json.dumps(x) for x in lines)
        return json.dumps(_norm_paths(_drop(json.loads(text), rules), places), indent=1)
    except (UnicodeDecodeError, ValueError):
        return None


def _first_difference(a: bytes, b: bytes) -> str:
    """Where two texts first differ (line number and both lines), for the report."""
    try:
        la, lb = a.decode("utf-8").splitlines(), b.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return f"binary, {len(a)} vs {len(b)} bytes"
    for i, (x, y) in enumerate(zip(la, lb, strict=False), start=1):
        if x != y:
            return f"line {i}: {x[:150]!r} vs {y[:150]!r}"
    return f"{len(la)} vs {len(lb)} lines"


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def compare(old: Path, new: Path) -> int:
    """Compare two snapshot trees file by file; print a summary.

    Args:
        old: The reference snapshot.
        new: The snapshot to check.

    Returns:
        0 if every file is identical (after removing the excluded fields), 1 otherwise.
    """
    for root in (old, new):
        if not root.is_dir():
            raise SystemExit(f"snapshot: {root} is not a folder")
    places_old, places_new = _tree_places(old), _tree_places(new)
    fo, fn = _files(old), _files(new)
    same, after_exclusions, plots_same = 0, 0, 0
    differing: list[str] = []
    plots_differing: list[str] = []
    for rel in sorted(fo & fn):
        a, b = (old / rel).read_bytes(), (new / rel).read_bytes()
        is_plot = rel.endswith(PLOT_SUFFIXES)
        if a == b:
            same += 1
            plots_same += is_plot
            continue
        if is_plot:
            plots_differing.append(f"{rel}  ({len(a)} vs {len(b)} bytes)")
            continue
        name = rel.rsplit("/", 1)[-1]
        na, nb = normalized(name, a, places_old), normalized(name, b, places_new)
        if na is not None and na == nb:
            same += 1
            after_exclusions += 1
            continue
        if na is not None and nb is not None:
            detail = "after exclusions, " + _first_difference(na.encode(), nb.encode())
        else:
            detail = _first_difference(a, b)
        differing.append(f"{rel}  ({detail})")
    only_old, only_new = sorted(fo - fn), sorted(fn - fo)
    print(f"{old} vs {new}")
    print(
        f"{same} files identical ({after_exclusions} of them after removing excluded fields; "
        f"{plots_same} plots), out of {len(fo | fn)}"
    )
    sections = (
        ("differing files", differing),
        ("differing plots", plots_differing),
        (f"only in {old}", only_old),
        (f"only in {new}", only_new),
    )
    for title, items in sections:
        if items:
            print(f"\n{title} ({len(items)}):")
            for item in items:
                print(f"  {item}")
    bad = any(items for _, items in sections)
    print("\nIDENTICAL" if not bad else "\nDIFFERENT")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``make`` or ``compare``; returns the exit code."""
    p = argparse.ArgumentParser(prog="snapshot.py", description=__doc__.split("\n", 1)[0])
    sub = p.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make", help="write a snapshot of every output of the code in --repo")
    mk.add_argument("outdir", type=Path, help="snapshot folder (must be missing or empty)")
    mk.add_argument(
        "--repo", type=Path, default=Path(__file__).resolve().parent.parent, help="repository root (default: ..)"
    )
    mk.add_argument("--quick", action="store_true", help="small sizes: a fast smoke check")
    cp = sub.add_parser("compare", help="compare two snapshots; exit 1 when anything differs")
    cp.add_argument("old", type=Path)
    cp.add_argument("new", type=Path)
    args = p.parse_args(argv)
    if args.command == "make":
        return make(args.outdir, args.repo, quick=args.quick)
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
