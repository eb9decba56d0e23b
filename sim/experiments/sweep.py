"""Parameter sweeps: many ensembles over a design in parameter space, resumable, on any backend.

A sweep varies some of a scenario's numeric parameters (by key path, e.g.
``actors.russia.resolve``) over a design: a full-factorial ``grid``, a Latin hypercube
(``lhs``), Saltelli's sequence for Sobol' indices (``sobol``) or Morris trajectories
(``morris``). Every design point is a full Monte Carlo ensemble; its outcome metrics (from the
run's ``summary.json``, see :data:`METRIC_INFO`) become one row of a tidy table.

Reproducible and backend-independent: the design is drawn from the root seed, and each point's
ensemble seed derives from the root seed and the point's index (or is the root seed itself with
``seeds: common``), never from the worker that runs it. The in-process, process-pool and Dask
backends therefore give identical tables.

Resumable: each finished point is appended to ``points.jsonl`` in the sweep folder as soon as it
arrives. Re-running the same command finds the same folder (named by a hash of everything that
shapes the results), skips the finished points and produces the same table as an uninterrupted
run.

Layout of a sweep folder::

    sweep.json      what was swept: scenario files and hashes, factors, design, settings, key
    design.csv      point, seed and the factor values of every design point
    points.jsonl    finished points as they arrive (append-only; the resume log)
    results.csv     the tidy table: design inputs x outcome metrics, in design order
    sensitivity.csv Sobol' or Morris indices per metric (sobol and morris designs)
    *.png           heatmap / response curve / index chart / scatter per analysed metric
    discovery-*     scenario discovery results (``--discover``)
    manifest.json   SHA-256 of every output, written when the sweep is complete
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sim.errors import RunError
from sim.experiments import backends, discovery, sensitivity
from sim.experiments import plots as sweep_plots
from sim.experiments.metrics import METRIC_INFO
from sim.experiments.plan import Plan
from sim.fileio import atomic_write_bytes, csv_bytes, json_bytes, save_figure
from sim.output.runfolder import versions

# ----------------------------------------------------------------------------- the sweep folder


def default_folder(plan: Plan, root: Path = Path("runs") / "sweeps") -> Path:
    """``runs/sweeps/NAME-DESIGN-KEY``: the same sweep always maps to the same folder (so it resumes)."""
    return root / f"{plan.name}-{plan.design}-{plan.key[:10]}"


class _Lock:
    """An exclusive lock on the sweep folder (two runs appending to one log would corrupt it)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self.fh = None

    def __enter__(self) -> _Lock:
        import fcntl  # deferred: POSIX only

        self.fh = open(self.path, "a+")  # noqa: SIM115 (held for the whole sweep)
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise RunError(f"another negsim sweep is running in {self.path.parent}; wait for it or use --out") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        import fcntl  # deferred: POSIX only

        if self.fh is not None:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()


def read_log(path: Path, n_points: int) -> dict[int, dict]:
    """Finished points from ``points.jsonl``; a line cut short by a kill (the last one) is dropped."""
    done: dict[int, dict] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    good = 0
    pos = 0
    for raw in data.splitlines(keepends=True):
        end = pos + len(raw)
        try:
            if not raw.endswith(b"\n"):
                raise ValueError("unterminated")
            rec = json.loads(raw)
            i = int(rec["point"])
            if not 0 <= i < n_points:
                raise ValueError("point out of range")
            done.setdefault(i, rec)
            good = end
        except (ValueError, KeyError, TypeError):
            if end < len(data):
                raise RunError(f"{path}: unreadable record at byte {pos}; the sweep log is damaged") from None
        pos = end
    if good < len(data):  # a partial last line from a kill: cut it off so appends stay well-formed
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return done


@dataclass
class SweepResult:
    """A finished (or interrupted) sweep.

    Attributes:
        plan: What was swept.
        folder: The sweep folder.
        table: One row per finished design point (pandas DataFrame): point, seed, factors, metrics.
        complete: All design points are finished.
        ran: Points computed by this call (the rest were resumed from the folder).
        seconds: Wall time of this call.
        sensitivity: Metric → indices table (sobol / morris designs).
        discovery: The scenario-discovery result, if one was asked for.
        files: Output files written (names in the folder).
        notes: Things the user should know (e.g. a metric that could not be analysed).
    """

    plan: Plan
    folder: Path
    table: Any
    complete: bool
    ran: int
    seconds: float
    sensitivity: dict = field(default_factory=dict)
    discovery: Any = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, metric: str | None = None):
        """The plot of one metric (default: the first analysed), as a matplotlib Figure.

        A heatmap for a 2-parameter grid, a response curve for a 1-parameter grid, the Sobol'/Morris
        index chart for those designs, scatter panels otherwise.
        """
        plan, m = self.plan, metric or self.plan.analysed[0]
        if m not in plan.metrics:
            raise RunError(f"unknown metric {m!r} (allowed: {', '.join(plan.metrics)})")
        factors = [f.as_dict() for f in plan.factors]
        info = _title_info(plan)
        if plan.design in ("sobol", "morris"):
            if m not in self.sensitivity:
                raise RunError(f"no {plan.design} indices for {m!r}; analysed: {', '.join(self.sensitivity) or 'none'}")
            return sweep_plots.indices(self.sensitivity[m], factors, m, plan.design, info)
        kind = _plot_kind(plan)
        if kind == "heatmap":
            return sweep_plots.heatmap(self.table, factors, m, info)
        if kind == "response":
            return sweep_plots.response(self.table, factors[0], m, info)
        return sweep_plots.scatter(self.table, factors, m, info)

    def discovery_figure(self):
        """The scenario-discovery plot (box limits, points, PRIM trade-off), if discovery was run."""
        if self.discovery is None:
            raise RunError("no scenario discovery in this sweep (use discover=... / --discover)")
        return discovery.plot(
            self.discovery, self.table, [f.as_dict() for f in self.plan.factors], _title_info(self.plan)
        )


def _plot_kind(plan: Plan) -> str:
    if plan.design == "grid" and len(plan.factors) == 2:
        return "heatmap"
    if plan.design == "grid" and len(plan.factors) == 1:
        return "response"
    return "scatter"


class SweepInterrupted(RunError):
    """The sweep was stopped (Ctrl-C); finished points are saved and the same command resumes."""


def _table_rows(plan: Plan, done: dict[int, dict]) -> tuple[list[str], list[list]]:
    header = ["point", "seed", *[f.name for f in plan.factors], *plan.metrics]
    rows = []
    for i in sorted(done):
        rec = done[i]["metrics"]
        ov = plan.overrides(i)
        rows.append([i, int(plan.seeds[i]), *[ov[f.name] for f in plan.factors], *[rec.get(m) for m in plan.metrics]])
    return header, rows


def _write_table(plan: Plan, folder: Path, done: dict[int, dict]) -> None:
    header, rows = _table_rows(plan, done)
    atomic_write_bytes(folder / "results.csv", csv_bytes(header, rows, decimals=None))


def to_frame(plan: Plan, done: dict[int, dict]):
    """The results table as a pandas DataFrame (NaN where a metric is undefined)."""
    import pandas as pd  # deferred: pandas loads on first use

    header, rows = _table_rows(plan, done)
    df = pd.DataFrame(rows, columns=header)
    for m in plan.metrics:
        df[m] = pd.to_numeric(df[m], errors="coerce").astype(float)
    return df


def _prepare(plan: Plan, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "sweep.json"
    if meta.exists():
        try:
            old = json.loads(meta.read_text())
        except (OSError, ValueError):
            raise RunError(f"{meta} is unreadable; this is not a negsim sweep folder") from None
        if old.get("key") != plan.key:
            raise RunError(
                f"{folder} holds a different sweep (other scenario files, factors, design or settings); "
                "choose another --out, or remove that folder"
            )
        return
    if any(p for p in folder.iterdir() if not p.name.startswith(".")):
        raise RunError(f"{folder} is not empty and holds no sweep; choose another --out")
    info = {
        "key": plan.key,
        "scenario": plan.name,
        "scenario_file": str(plan.base.path),
        "sweep_source": plan.source,
        "scenario_files_sha256": dict(plan.base.files),
        "overrides": dict(plan.base.overrides),
        "factors": [f.as_dict() for f in plan.factors],
        "design": {
            "kind": plan.design,
            "samples": plan.samples,
            "steps": [f.steps for f in plan.factors] if plan.design == "grid" else None,
            "second_order": plan.second_order,
            "num_levels": plan.num_levels,
        },
        "points": plan.n_points,
        "replicates": plan.replicates,
        "seed": plan.seed,
        "weeks": plan.weeks,
        "seeds": plan.seeding,
        "durable": {"within": plan.durable[0], "holds": plan.durable[1]},
        "metrics": {m: METRIC_INFO.get(m, (None, None, None))[2] for m in plan.metrics if m in METRIC_INFO},
        "identity": plan.identity(),
        "versions": versions(),
        "command": plan.command or sys.argv,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows = [[i, int(plan.seeds[i]), *plan.overrides(i).values()] for i in range(plan.n_points)]
    atomic_write_bytes(
        folder / "design.csv", csv_bytes(["point", "seed", *[f.name for f in plan.factors]], rows, decimals=None)
    )

    atomic_write_bytes(meta, json_bytes(info))  # last: a folder with sweep.json is a complete start


def run_sweep(
    plan: Plan,
    out: str | Path | None = None,
    *,
    backend: str = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    plots: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    table_every_s: float = 5.0,
) -> SweepResult:
    """Run (or resume) a sweep and analyse it.

    Args:
        plan: From :func:`make_plan`.
        out: The sweep folder (default :func:`default_folder`); an existing folder of the same sweep resumes.
        backend: ``serial``, ``pool`` (default; ``workers`` processes, all cores by default) or ``dask``.
        workers: Worker processes (pool, local Dask cluster).
        scheduler: Dask only: ``local`` (a LocalCluster, the default) or ``tcp://HOST:PORT``.
        plots: Write the analysis plots.
        progress: Show a progress bar (points done, rate, time left) on stderr.
        log: Where to send one-line notes (default: stderr).
        table_every_s: Rewrite ``results.csv`` at most this often while running (and always at the end).

    Returns:
        The :class:`SweepResult`.

    Raises:
        SweepInterrupted: on Ctrl-C, after saving what is finished.
        RunError: a folder holding another sweep, an unreachable scheduler, dying workers.
    """
    log = log or backends.stderr_log
    backends.check_options(backend, workers, scheduler)
    # connect before any work: an unreachable scheduler is an error up front
    dask = backends.dask_client(workers, scheduler) if backend == "dask" else None
    folder = Path(out) if out is not None else default_folder(plan)
    t0 = time.perf_counter()
    try:
        _prepare(plan, folder)
    except BaseException:
        backends.close_dask(dask)
        raise
    with _Lock(folder):
        log_path = folder / "points.jsonl"
        done = read_log(log_path, plan.n_points)
        todo = [i for i in range(plan.n_points) if i not in done]
        tasks = [(i, plan.overrides(i), int(plan.seeds[i]), plan.replicates, plan.weeks, plan.durable) for i in todo]
        bar = None
        if progress and todo:
            bar = tqdm(
                total=plan.n_points, initial=len(done), unit="pt", desc=plan.name, file=sys.stderr, smoothing=0.05
            )
        ran = 0
        last_table = time.monotonic()
        gen = backends.BACKENDS[backend](plan, tasks, workers, dask, log)
        try:
            with open(log_path, "ab") as fh:
                for i, metrics, seconds in gen:
                    rec = {"point": int(i), "metrics": metrics, "seconds": round(seconds, 4)}
                    fh.write(json.dumps(rec, sort_keys=True).encode() + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                    done[int(i)] = rec
                    ran += 1
                    if bar is not None:
                        bar.update(1)
                    if time.monotonic() - last_table > table_every_s:
                        _write_table(plan, folder, done)
                        last_table = time.monotonic()
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                gen.close()
            _write_table(plan, folder, done)
            raise SweepInterrupted(
                f"interrupted after {len(done):,} of {plan.n_points:,} design points; they are saved in {folder}. "
                "Re-run the same command to resume."
            ) from None
        finally:
            if bar is not None:
                bar.close()
            backends.close_dask(dask)  # the Dask client (if any) is this function's to close
        _write_table(plan, folder, done)
        result = SweepResult(
            plan=plan,
            folder=folder,
            table=to_frame(plan, done),
            complete=len(done) == plan.n_points,
            ran=ran,
            seconds=time.perf_counter() - t0,
        )
        if result.complete:
            analyse(result, plots=plots)
    return result


# ----------------------------------------------------------------------------- analysis


def _title_info(plan: Plan) -> dict:
    return {
        "scenario": plan.base.spec.title or plan.name,
        "replicates": plan.replicates,
        "seed": plan.seed,
        "points": plan.n_points,
        "design": plan.design,
        "weeks": plan.weeks,
    }


def _slug(text: str) -> str:
    text = text.replace(">=", " ge ").replace("<=", " le ").replace(">", " gt ").replace("<", " lt ")
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def analyse(result: SweepResult, plots: bool = True) -> None:
    """Sensitivity indices, plots and discovery for a complete sweep; fills ``result`` and writes files."""
    plan, folder, table = result.plan, result.folder, result.table
    factors = [f.as_dict() for f in plan.factors]
    X = table[[f.name for f in plan.factors]].to_numpy(dtype=float)
    files = ["sweep.json", "design.csv", "points.jsonl", "results.csv"]
    sens_rows: list[list] = []
    for m in plan.analysed:
        y = table[m].to_numpy(dtype=float)
        if plan.design in ("sobol", "morris"):
            try:
                if plan.design == "sobol":
                    df = sensitivity.sobol(factors, X, y, second_order=plan.second_order, seed=plan.seed)
                else:
                    df = sensitivity.morris(factors, X, y, num_levels=plan.num_levels, seed=plan.seed)
            except RunError as exc:
                result.notes.append(f"{m}: no {plan.design} indices: {exc}")
                continue
            result.sensitivity[m] = df
            if plan.design == "sobol":
                for r in df.itertuples(index=False):
                    sens_rows.append([m, r.index, r.parameter, r.parameter_2, r.value, r.conf])
            else:
                for r in df.itertuples(index=False):
                    sens_rows.append([m, r.parameter, r.mu, r.mu_star, r.mu_star_conf, r.sigma])
            if plots:
                name = f"{plan.design}-{m}.png"
                save_figure(result.figure(m), folder / name)
                files.append(name)
        elif plots:
            name = f"{_plot_kind(plan)}-{m}.png"
            save_figure(result.figure(m), folder / name)
            files.append(name)
    if sens_rows:
        header = (
            ["metric", "index", "parameter", "parameter_2", "value", "conf95"]
            if plan.design == "sobol"
            else ["metric", "parameter", "mu", "mu_star", "mu_star_conf95", "sigma"]
        )
        atomic_write_bytes(folder / "sensitivity.csv", csv_bytes(header, sens_rows, decimals=None))
        files.append("sensitivity.csv")
    if plan.discover:
        d = plan.discover
        res = discovery.discover(
            table, factors, d["condition"], method=d["method"], seed=plan.seed, threshold=d["threshold"]
        )
        result.discovery = res
        stem = f"discovery-{d['method']}-{_slug(d['condition'])}"
        atomic_write_bytes(folder / f"{stem}.json", json_bytes(res.to_dict()))
        header, rows = res.boxes_table()
        atomic_write_bytes(folder / f"{stem}.csv", csv_bytes(header, rows, decimals=None))
        files += [f"{stem}.json", f"{stem}.csv"]
        if plots:
            save_figure(result.discovery_figure(), folder / f"{stem}.png")
            files.append(f"{stem}.png")
    hashes = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in files if f != "points.jsonl"}
    manifest = {
        "sweep_key": plan.key,
        "points": plan.n_points,
        "complete": True,
        "outputs_sha256": hashes,
        "notes": result.notes,
    }
    atomic_write_bytes(folder / "manifest.json", json_bytes(manifest))
    result.files = [*files, "manifest.json"]
