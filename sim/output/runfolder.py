"""Writing run folders: data files, plots and a manifest, atomically.

A run folder is assembled in a hidden sibling (``.NAME.partial-PID``) and renamed into place
only when every file is written, so a folder named like a run is always complete. Each file is
itself written to a temporary name and renamed. An existing non-empty folder is never
overwritten unless ``force`` is given. A run killed outright (SIGKILL, power loss) leaves at
most the hidden ``.NAME.partial-PID``; :func:`clean_leftovers` (called by the next
``negsim run`` into NAME) removes it once that process is gone, and ``negsim verify`` never
accepts it as a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from sim.engine.result import TRAJECTORIES_FILE, TRAJECTORY_MEANING, RunResult
from sim.errors import RunError
from sim.fileio import (
    atomic_write_blocks,
    atomic_write_bytes,
    atomic_write_npz,
    csv_bytes,
    json_bytes,
    safe_text,
    save_figure,
)
from sim.scenario.loader import ALL_OUTCOMES

DATA_FILES = ("summary.json", "outcomes.csv", "trajectories.csv", "positions.csv")
"""Files that are byte-identical for the same scenario and seed."""


def _column_strings(arr: np.ndarray) -> list[str]:
    """Format one column the way :func:`sim.fileio.format_number` formats a value, vectorised for speed."""
    if arr.dtype.kind == "f":
        vals = np.round(arr.astype(float), 6)
        out = list(map(repr, vals.tolist()))
        tiny = np.isfinite(arr) & (np.abs(arr) < 1e-6) & (arr != 0)
        for i in np.flatnonzero(tiny):
            out[i] = f"{float(arr[i]):.6g}"
        for i in np.flatnonzero(~np.isfinite(arr)):
            out[i] = ""
        return out
    if arr.dtype.kind in "iub":
        return list(map(str, arr.astype(np.int64).tolist()))
    strings = [safe_text(s) for s in map(str, arr.tolist())]
    if any(("," in v or '"' in v or "\n" in v) for v in strings):
        raise ValueError("outcome columns must not contain commas, quotes or newlines")
    return strings


def outcomes_csv_blocks(result: RunResult, block: int = 50_000) -> Iterator[bytes]:
    """``outcomes.csv`` in blocks of rows, so a million replicates never sit in memory as text at once."""
    cols = list(result.outcomes)
    yield (",".join(safe_text(c) for c in cols) + "\n").encode()
    n = len(next(iter(result.outcomes.values()))) if cols else 0
    for start in range(0, n, block):
        formatted = [_column_strings(np.asarray(result.outcomes[c])[start : start + block]) for c in cols]
        yield ("\n".join(",".join(row) for row in zip(*formatted, strict=True)) + "\n").encode()


def outcomes_csv(result: RunResult) -> bytes:
    """``outcomes.csv``: one row per replicate (columns formatted vectorised: 10^5 rows in well under a second)."""
    return b"".join(outcomes_csv_blocks(result))


def trajectories_manifest(arrays: dict[str, np.ndarray]) -> dict:
    """The manifest's description of ``replicate_trajectories.npz``: how to load it, each array's shape and meaning."""
    return {
        "file": TRAJECTORIES_FILE,
        "load": f"arrays = numpy.load('{TRAJECTORIES_FILE}'); arrays['balance'][week, replicate]",
        "layout": "arrays are indexed [week, replicate, ...]: week 0 is the start, replicate the row of "
        "outcomes.csv; then actor and issue in the order of 'actors' and 'issues'",
        "arrays": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype), "meaning": TRAJECTORY_MEANING.get(k, "")}
            for k, v in arrays.items()
        },
    }


def trajectories_csv(result: RunResult) -> bytes:
    """``trajectories.csv``: per week, ensemble mean and quantiles of every recorded quantity."""
    return csv_bytes(result.trajectory_columns, result.trajectories)


def versions() -> dict[str, str]:
    """Versions of negsim and the libraries that shape its numbers."""
    out = {"python": platform.python_version()}
    for pkg in ("negsim", "mesa", "numpy", "matplotlib", "pydantic", "pyyaml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def manifest(result: RunResult, outputs: dict[str, str], command: list[str] | None) -> dict:
    """``manifest.json``: what was run, from which files, with what, and the outputs' hashes."""
    sc = result.scenario
    return {
        "scenario": sc.name,
        "scenario_file": str(sc.path),
        "scenario_file_resolved": str(Path(sc.path).resolve()),  # for `negsim verify --rerun` from elsewhere
        "scenario_files_sha256": {f: h for f, h in sc.files},
        "overrides": {k: v for k, v in sc.overrides},
        "resolved_parameters": sc.raw,
        "replicates": result.replicates,
        "seed": result.seed,
        "weeks": result.weeks,
        "versions": versions(),
        "command": command if command is not None else sys.argv,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_seconds": round(result.elapsed_s, 3),
        "outputs_sha256": outputs,
        "complete": True,
        **(
            {"replicate_trajectories": trajectories_manifest(result.replicate_trajectories)}
            if result.replicate_trajectories is not None
            else {}
        ),
    }


def default_out(name: str, root: Path = Path("runs")) -> Path:
    """A new folder under ``runs/`` named after the scenario and the time, never an existing one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = root / f"{name}-{stamp}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = Path(f"{base}-{k}")
    return out


TEMP_NAME_RE = re.compile(r"^\..+\.(partial|old|tmp)-(\d+)$")
"""Names of temporary files and folders (``.NAME.partial-PID``, ``.NAME.old-PID``, ``.NAME.tmp-PID``)."""


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (assumed so on Windows, which has no harmless probe)."""
    if pid == os.getpid() or os.name == "nt":
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, OSError):
        return False
    return True


def interrupted_leftovers(out: Path) -> list[tuple[Path, int, bool]]:
    """Hidden siblings of ``out`` left by runs into it: ``(folder, pid, process alive)``.

    ``.NAME.partial-PID`` is a run being assembled (or one that was killed before it finished);
    ``.NAME.old-PID`` is the previous contents of ``out`` while a ``--force`` run replaces it.
    """
    out = Path(out)
    if not out.parent.is_dir():
        return []
    found = []
    for kind in ("partial", "old"):
        for p in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
            m = TEMP_NAME_RE.match(p.name)
            if m and p.name == f".{out.name}.{kind}-{m.group(2)}":
                pid = int(m.group(2))
                found.append((p, pid, _pid_alive(pid)))
    return found


def clean_leftovers(out: Path) -> list[str]:
    """Remove the unfinished folders of killed runs into ``out``; describe every leftover found.

    A ``.NAME.partial-PID`` folder whose process is gone never became a run and is removed. One
    whose process is alive belongs to a run in progress and is left alone. A stale
    ``.NAME.old-PID`` is the previous contents of ``out``, set aside by a ``--force`` run killed
    while replacing it: removed when ``out`` holds the complete new run, else left for the user
    to move back.

    Returns:
        One message per leftover, for the user.
    """
    msgs = []
    for p, pid, alive in interrupted_leftovers(out):
        if p.name.startswith(f".{out.name}.partial-"):
            if alive:
                msgs.append(
                    f"{p} belongs to another run into {out} still in progress (process {pid}); "
                    "whichever finishes second will be refused (or, with --force, replace the first)"
                )
                continue
            try:
                shutil.rmtree(p)
            except OSError as exc:
                msgs.append(f"could not remove {p}, the unfinished folder of an interrupted run: {exc}")
            else:
                msgs.append(
                    f"removed {p}: the unfinished folder of an earlier run into {out} that was interrupted "
                    f"(process {pid} is gone); it never became a run"
                )
        elif not alive and _is_complete_run(out):  # killed while deleting what --force replaced
            shutil.rmtree(p, ignore_errors=True)
            msgs.append(f"removed {p}: what a --force run replaced in {out}, left behind when it was interrupted")
        elif not alive:
            msgs.append(
                f"{p} holds the previous contents of {out}, set aside by a --force run that was interrupted "
                "while replacing it; move it back or delete it"
            )
    return msgs


def _is_complete_run(folder: Path) -> bool:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("complete") is True
    except (OSError, ValueError, AttributeError):
        return False


def check_out(out: Path, force: bool) -> None:
    """Refuse an existing non-empty output folder unless ``force``; refuse a file in its place.

    A name like negsim's temporary folders (``.NAME.partial-PID``) is refused too, so an
    unfinished folder is never taken for, or turned into, a run.
    """
    if TEMP_NAME_RE.match(out.name):
        raise RunError(f"--out {out} is named like one of negsim's temporary folders; choose another name")
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        what = "holds a complete negsim run" if _is_complete_run(out) else "is not empty"
        raise RunError(f"--out {out} already exists and {what}; choose another folder or add --force to replace it")


def _commit_folder(tmp: Path, out: Path, force: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        check_out(out, force)
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _start_folder(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def write_run(
    result: RunResult,
    out: str | Path,
    *,
    force: bool = False,
    plots: bool = True,
    fmt: str = "png",
    command: list[str] | None = None,
) -> Path:
    """Write a run folder: data files, plots (unless ``plots=False``) and ``manifest.json``.

    Returns:
        The folder written.

    Raises:
        RunError: the folder exists and is not empty (without ``force``).
    """
    out = Path(out)
    check_out(out, force)
    tmp = _start_folder(out)
    try:
        hashes: dict[str, str] = {}
        files = {"summary.json": json_bytes(result.summary)}
        if not result.talks_only:  # streamed: the largest file (one row per replicate)
            hashes["outcomes.csv"] = atomic_write_blocks(tmp / "outcomes.csv", outcomes_csv_blocks(result))
        files["trajectories.csv"] = trajectories_csv(result)
        files["positions.csv"] = csv_bytes(
            ["step", "actor", "issue", "position"],
            (
                [t, a, i, repr(float(x))] for t, a, i, x in result.positions_rows
            ),  # full precision: compare with other tools
        )
        for name, data in files.items():
            atomic_write_bytes(tmp / name, data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        if result.replicate_trajectories is not None:  # --keep-trajectories
            path = tmp / TRAJECTORIES_FILE
            hashes[TRAJECTORIES_FILE] = atomic_write_npz(path, result.replicate_trajectories)
        if plots:
            from sim.output import plots as P  # deferred: matplotlib loads on first plot

            for stem, fn in P.plots_for(result).items():
                fig = fn(result)
                data = save_figure(fig, tmp / f"{stem}.{fmt}", fmt)
                hashes[f"{stem}.{fmt}"] = hashlib.sha256(data).hexdigest()
        atomic_write_bytes(tmp / "manifest.json", json_bytes(manifest(result, hashes, command)))
        _commit_folder(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_compare(
    results: list[RunResult],
    out: str | Path,
    *,
    force: bool = False,
    plots: bool = True,
    fmt: str = "png",
    command: list[str] | None = None,
) -> Path:
    """Write a comparison folder: one sub-folder per scenario, ``comparison.csv`` and overlay plots."""
    out = Path(out)
    check_out(out, force)
    tmp = _start_folder(out)
    try:
        hashes: dict[str, str] = {}
        for r in results:
            write_run(r, tmp / r.name, plots=plots, fmt=fmt, command=command)
        data = csv_bytes(COMPARE_COLUMNS, (compare_row(r) for r in results))
        atomic_write_bytes(tmp / "comparison.csv", data)
        hashes["comparison.csv"] = hashlib.sha256(data).hexdigest()
        if plots:
            from sim.output import plots as P  # deferred: matplotlib loads on first plot

            for stem, fn in P.COMPARE_PLOTS.items():
                d = save_figure(fn(results), tmp / f"{stem}.{fmt}", fmt)
                hashes[f"{stem}.{fmt}"] = hashlib.sha256(d).hexdigest()
        man = {
            "scenarios": [r.name for r in results],
            "replicates": results[0].replicates,
            "seed": results[0].seed,
            "weeks": results[0].weeks,
            "versions": versions(),
            "command": command if command is not None else sys.argv,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "outputs_sha256": hashes,
            "complete": True,
        }
        atomic_write_bytes(tmp / "manifest.json", json_bytes(man))
        _commit_folder(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


COMPARE_COLUMNS = [
    "scenario",
    "p_ceasefire",
    "p_ceasefire_lo",
    "p_ceasefire_hi",
    "median_weeks_to_ceasefire",
    "ceasefire_survival_52w",
    "survival_52w_lo",
    "survival_52w_hi",
    "p_collapse_within_horizon",
    *ALL_OUTCOMES,
]


def compare_row(r: RunResult) -> list:
    """One scenario's line in a comparison table (:data:`COMPARE_COLUMNS`; ``""`` where undefined)."""
    s = r.summary_info
    ci = s.ceasefire_survival_52w_95 or (None, None)

    def cell(v: float | None) -> float | str:
        return "" if v is None else v

    return [
        r.name,
        s.p_ceasefire,
        *s.p_ceasefire_95,
        cell(s.median_weeks_to_ceasefire),
        cell(s.ceasefire_survival_52w),
        cell(ci[0]),
        cell(ci[1]),
        cell(s.p_collapse_within_horizon),
        *(s.outcome_shares[k] for k in ALL_OUTCOMES),
    ]
