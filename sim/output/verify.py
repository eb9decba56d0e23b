"""Checking that a run folder is complete, intact and reproducible (``negsim verify``).

A run folder is complete when its ``manifest.json`` says ``complete: true`` and every file the
manifest lists is present with the SHA-256 recorded there. With ``rerun=True`` the scenario is run
again from the manifest (same scenario file, overrides, seed, replicates and weeks) into a
temporary folder and the data files are compared byte for byte. Comparison folders written by
``negsim compare`` are checked file by file and sub-run by sub-run.

Example:
    >>> report = verify_run("runs/baseline-20250301-120000")  # doctest: +SKIP
    >>> report.ok, report.problems  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sim.engine.result import TRAJECTORIES_FILE, Summary
from sim.engine.runner import run
from sim.errors import RunError, ScenarioError
from sim.output.runfolder import DATA_FILES, TEMP_NAME_RE, interrupted_leftovers, versions, write_compare, write_run
from sim.scenario.loader import load
from sim.scenario.yamlio import parse_scalar

OK = "ok"
NOTE = "note"
MISSING = "MISSING"
MODIFIED = "MODIFIED"
LEFTOVER = "LEFTOVER"
INCOMPLETE = "INCOMPLETE"
INVALID = "INVALID"
INCONSISTENT = "INCONSISTENT"
CHANGED = "CHANGED"
DIFFERS = "DIFFERS"
ERROR = "ERROR"
PASSING = (OK, NOTE)
"""Statuses that are not problems; every other status makes the verification fail."""


@dataclass
class Check:
    """One line of a verification report.

    Attributes:
        status: ``ok`` or ``note`` (not problems), or a problem in capitals: ``MISSING``,
            ``MODIFIED``, ``LEFTOVER``, ``INCOMPLETE``, ``INVALID``, ``INCONSISTENT``,
            ``CHANGED`` (scenario file), ``DIFFERS`` (rerun output) or ``ERROR``.
        name: What was checked, usually a file path relative to the run folder.
        detail: Why, in a few words.
    """

    status: str
    name: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True unless this check found a problem."""
        return self.status in PASSING

    def line(self) -> str:
        """The check as one line of text, e.g. ``MODIFIED  outcomes.csv  (sha256 ...)``."""
        return f"{self.status:12s} {self.name}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_run`.

    Attributes:
        path: The folder checked.
        kind: ``run``, ``compare`` or ``unknown`` (no readable manifest).
        rerun: Whether the outputs were also reproduced by running the scenario again.
        checks: One entry per file or property checked, in order.
    """

    path: Path
    kind: str = "unknown"
    rerun: bool = False
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]

    def add(self, status: str, name: str, detail: str = "") -> None:
        """Append a check."""
        self.checks.append(Check(status, name, detail))

    def lines(self) -> list[str]:
        """Every check, one line each."""
        return [c.line() for c in self.checks]

    def verdict(self) -> str:
        """One line: what was verified, or how many problems of which kinds were found."""
        n_files = sum(1 for c in self.checks if c.status == OK)
        what = "and reproduced by a rerun" if self.rerun else "(use --rerun to also reproduce it)"
        if self.ok:
            return f"{self.path}: complete {self.kind} folder, {n_files} checks ok, verified {what}"
        counts: dict[str, int] = {}
        for c in self.problems:
            counts[c.status] = counts.get(c.status, 0) + 1
        listed = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"{self.path} failed verification: {listed}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _short(h: str) -> str:
    return h[:12] + "…"


def _safe_relpath(name: Any) -> bool:
    """A manifest entry must name a file inside the folder (no absolute paths, no ``..``)."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts


def _read_manifest(folder: Path, rep: VerifyReport, prefix: str) -> dict | None:
    mpath = folder / "manifest.json"
    shown = prefix + "manifest.json"
    if not mpath.is_file():
        rep.add(MISSING, shown, "no manifest: not a negsim run folder, or an unfinished one")
        return None
    try:
        man = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        rep.add(INVALID, shown, f"cannot be read as JSON: {exc}")
        return None
    if not isinstance(man, dict):
        rep.add(INVALID, shown, "not a JSON object")
        return None
    if man.get("complete") is not True:
        rep.add(INCOMPLETE, shown, f"complete is {man.get('complete')!r}, not true: the run did not finish")
        return None
    outputs = man.get("outputs_sha256")
    if not isinstance(outputs, dict) or not all(
        _safe_relpath(k) and isinstance(v, str) and len(v) == 64 for k, v in outputs.items()
    ):
        rep.add(INVALID, shown, "outputs_sha256 is missing or malformed")
        return None
    rep.add(OK, shown, "complete: true")
    return man


def _check_files(folder: Path, outputs: dict[str, str], rep: VerifyReport, prefix: str) -> None:
    for name, want in sorted(outputs.items()):
        p = folder / name
        if not p.is_file():
            rep.add(MISSING, prefix + name, "listed in the manifest")
            continue
        got = _sha256(p)
        if got != want:
            rep.add(MODIFIED, prefix + name, f"sha256 {_short(got)}, manifest says {_short(want)}")
        else:
            rep.add(OK, prefix + name)


def _check_extras(folder: Path, expected: set[str], rep: VerifyReport, prefix: str) -> None:
    """Temporary files left inside the folder are problems; other unlisted files are noted."""
    for p in sorted(folder.iterdir()):
        if p.name in expected:
            continue
        if TEMP_NAME_RE.match(p.name):
            rep.add(LEFTOVER, prefix + p.name, "temporary file of an unfinished write")
        else:
            rep.add(NOTE, prefix + p.name, "not listed in the manifest; not checked")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


def _check_run_consistency(folder: Path, man: dict, rep: VerifyReport, prefix: str) -> None:
    """The manifest's settings must agree with summary.json and the length of outcomes.csv."""
    outputs = man["outputs_sha256"]
    for f in ("summary.json", "trajectories.csv"):
        if f not in outputs:
            rep.add(INVALID, prefix + "manifest.json", f"does not list {f}")
    bad = [c for c in rep.checks if not c.ok and c.name.startswith(prefix)]
    if bad:
        return
    try:
        s = Summary.from_dict(json.loads((folder / "summary.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        rep.add(INVALID, prefix + "summary.json", f"cannot be read as a run summary: {type(exc).__name__}: {exc}")
        return
    settings = {"replicates": s.replicates, "seed": s.seed, "weeks": s.weeks}
    diffs = [f"{k}: manifest {man.get(k)!r}, summary {v!r}" for k, v in settings.items() if man.get(k) != v]
    if man.get("scenario") != s.scenario:
        diffs.append(f"scenario: manifest {man.get('scenario')!r}, summary {s.scenario!r}")
    if "outcomes.csv" in outputs and isinstance(man.get("replicates"), int):
        rows = _count_lines(folder / "outcomes.csv") - 1
        if rows != man["replicates"]:
            diffs.append(f"outcomes.csv has {rows} rows for {man['replicates']} replicates")
    if diffs:
        rep.add(INCONSISTENT, prefix + "manifest.json", "; ".join(diffs))


def _check_temp_name(folder: Path, rep: VerifyReport) -> bool:
    if TEMP_NAME_RE.match(folder.name):
        rep.add(
            INCOMPLETE,
            str(folder),
            "this is a temporary folder of a run that has not finished (or was killed), not a run folder",
        )
        return False
    return True


def _note_siblings(folder: Path, rep: VerifyReport) -> None:
    for p, pid, alive in interrupted_leftovers(folder):
        if alive:
            rep.add(NOTE, p.name, f"a run (process {pid}) is writing a new version of this folder right now")
        elif ".partial-" in p.name:
            rep.add(NOTE, p.name, "stale unfinished folder of an interrupted run; `negsim run --out` removes it")
        else:
            rep.add(NOTE, p.name, "previous contents of this folder, kept aside by a run killed while replacing it")


def _verify_run_files(folder: Path, man: dict, rep: VerifyReport, prefix: str = "") -> None:
    """Check the files of a run folder whose manifest has been read."""
    _check_files(folder, man["outputs_sha256"], rep, prefix)
    _check_extras(folder, {"manifest.json", *man["outputs_sha256"]}, rep, prefix)
    _check_run_consistency(folder, man, rep, prefix)


# ----------------------------------------------------------------------------- rerun


def _scenario_candidates(man: dict) -> list[Path]:
    out: list[Path] = []
    for key in ("scenario_file_resolved", "scenario_file"):
        v = man.get(key)
        if isinstance(v, str) and v and Path(v) not in out:
            out.append(Path(v))
    return out


def _file_sha(path: Path) -> str | None:
    """SHA-256 of a scenario file as the loader records it (UTF-8 text, BOM dropped), None if unreadable."""
    try:
        return hashlib.sha256(path.read_bytes().decode("utf-8-sig").encode()).hexdigest()
    except (OSError, UnicodeDecodeError):
        return None


def _check_scenario_files(man: dict, rep: VerifyReport, prefix: str) -> Path | None:
    """Find the scenario file and compare every file of its ``extends`` chain with the manifest.

    Returns:
        The scenario file to rerun, or None when there is none.
    """
    recorded: dict[str, str] = man.get("scenario_files_sha256") or {}
    cands = _scenario_candidates(man)
    if not cands or not isinstance(recorded, dict):
        rep.add(INVALID, prefix + "manifest.json", "names no scenario file: cannot rerun")
        return None
    existing = [p for p in cands if p.is_file()]
    if not existing:
        rep.add(
            MISSING,
            f"{prefix}scenario {man.get('scenario_file')}",
            "the scenario file of this run no longer exists (paths are relative to where the run was started)",
        )
        return None
    child_names = {man.get("scenario_file"), man.get("scenario_file_resolved")}
    want_child = next((h for n, h in recorded.items() if n in child_names), None)
    chosen = next((p for p in existing if _file_sha(p) == want_child), existing[0])
    for name, want in sorted(recorded.items()):
        p = chosen if name in child_names else Path(name)
        got = _file_sha(p) if p.is_file() else None
        if got is None:
            rep.add(CHANGED, f"{prefix}scenario {name}", "no longer exists or cannot be read")
        elif got != want:
            rep.add(
                CHANGED,
                f"{prefix}scenario {p}",
                f"the scenario file changed since the run (sha256 now {_short(got)}, recorded {_short(want)}); "
                "the rerun below uses the changed file",
            )
        else:
            rep.add(OK, f"{prefix}scenario {p}", "unchanged since the run")
    return chosen


def _note_versions(man: dict, rep: VerifyReport) -> None:
    then = man.get("versions") or {}
    now = versions()
    diff = [f"{k} {then[k]} -> {now[k]}" for k in sorted(then) if k in now and then[k] != now[k]]
    if diff:
        rep.add(NOTE, "versions", "differ from the run's: " + ", ".join(diff) + " (may explain differences)")


def _compare_data_files(old: Path, new: Path, rep: VerifyReport, prefix: str = "") -> None:
    """Compare the data files of a run folder with those of its rerun, byte for byte."""
    for f in (*DATA_FILES, TRAJECTORIES_FILE):
        if (old / f).is_file() or (new / f).is_file():
            _compare_bytes(prefix + f, old / f, new / f, rep)


def _compare_bytes(name: str, old: Path, new: Path, rep: VerifyReport) -> None:
    if not old.is_file():
        rep.add(MISSING, f"rerun {name}", "written by the rerun but not in the run folder")
        return
    if not new.is_file():
        rep.add(DIFFERS, f"rerun {name}", "in the run folder but not written by the rerun")
        return
    a, b = old.read_bytes(), new.read_bytes()
    if a == b:
        rep.add(OK, f"rerun {name}", "byte-identical")
        return
    if name.endswith(".npz"):  # binary: no lines to point at
        rep.add(DIFFERS, f"rerun {name}", f"{len(a):,} bytes in the run, {len(b):,} in the rerun; contents differ")
        return
    la, lb = a.split(b"\n"), b.split(b"\n")
    first = next((i for i, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), min(len(la), len(lb)))
    rep.add(
        DIFFERS,
        f"rerun {name}",
        f"first difference at line {first + 1}; {len(la) - 1} lines in the run, {len(lb) - 1} in the rerun",
    )


def _replayable(overrides: dict) -> dict:
    """The manifest's (parsed) overrides, with strings quoted where YAML would read them differently."""
    return {k: json.dumps(v) if isinstance(v, str) and parse_scalar(v) != v else v for k, v in overrides.items()}


def _rerun_result(man: dict, rep: VerifyReport, prefix: str):
    """Reload the scenario and run it again with the manifest's settings; None when impossible."""
    path = _check_scenario_files(man, rep, prefix)
    if path is None:
        return None
    try:
        loaded = load(path, overrides=_replayable(man.get("overrides") or {}))
        keep = "replicate_trajectories" in man  # the run kept them: reproduce replicate_trajectories.npz too
        return run(loaded, replicates=man["replicates"], seed=man["seed"], weeks=man["weeks"], keep_trajectories=keep)
    except ScenarioError as exc:
        rep.add(ERROR, f"rerun {prefix or 'run'}", f"the scenario cannot be loaded now: {exc.message}")
    except (RunError, KeyError, TypeError, ValueError, AttributeError) as exc:
        rep.add(ERROR, f"rerun {prefix or 'run'}", f"cannot rerun: {exc}")
    return None


def _rerun_single(folder: Path, man: dict, rep: VerifyReport) -> None:
    _note_versions(man, rep)
    result = _rerun_result(man, rep, "")
    if result is None:
        return
    with tempfile.TemporaryDirectory(prefix="negsim-verify-") as td:
        new = write_run(result, Path(td) / "rerun", plots=False, command=["negsim", "verify", "--rerun"])
        _compare_data_files(folder, new, rep)


def _rerun_compare(folder: Path, man: dict, subs: dict[str, dict], rep: VerifyReport) -> None:
    _note_versions(man, rep)
    results = []
    for name in man["scenarios"]:
        r = _rerun_result(subs[name], rep, f"{name}/")
        if r is None:
            return
        results.append(r)
    with tempfile.TemporaryDirectory(prefix="negsim-verify-") as td:
        new = write_compare(results, Path(td) / "rerun", plots=False, command=["negsim", "verify", "--rerun"])
        for r in results:
            _compare_data_files(folder / r.name, new / r.name, rep, f"{r.name}/")
        _compare_bytes("comparison.csv", folder / "comparison.csv", new / "comparison.csv", rep)


# ----------------------------------------------------------------------------- entry point


def verify_run(path: str | Path, rerun: bool = False) -> VerifyReport:
    """Check that a run (or comparison) folder is complete and unmodified, optionally reproducing it.

    Args:
        path: A folder written by ``negsim run`` / :func:`sim.output.runfolder.write_run`, or by
            ``negsim compare`` / :func:`sim.output.runfolder.write_compare`.
        rerun: Also run the scenario(s) again from the manifest into a temporary folder and
            require ``summary.json``, ``outcomes.csv`` and ``trajectories.csv`` (and
            ``comparison.csv``, and ``replicate_trajectories.npz`` when the run kept them) to be
            byte-identical. The scenario files must be unchanged
            (their SHA-256 is compared with ``scenario_files_sha256``).

    Returns:
        A :class:`VerifyReport`; ``report.ok`` is False on any problem (missing, modified or
        leftover temporary files, an incomplete manifest, a changed scenario file, a rerun
        that differs).
    """
    folder = Path(path)
    rep = VerifyReport(path=folder, rerun=rerun)
    if not folder.exists():
        rep.add(MISSING, str(folder), "no such folder")
        return rep
    if not folder.is_dir():
        rep.add(INVALID, str(folder), "not a folder")
        return rep
    if not _check_temp_name(folder, rep):
        return rep
    _note_siblings(folder, rep)
    man = _read_manifest(folder, rep, "")
    if man is None:
        return rep
    if man.get("kind") == "calibration":  # negsim calibrate: every output hashed; the log is append-only
        rep.kind = "calibration"
        _check_files(folder, man["outputs_sha256"], rep, "")
        _check_extras(folder, {"manifest.json", "particles.jsonl", *man["outputs_sha256"]}, rep, "")
        if rerun:
            rep.add(NOTE, "manifest.json", "--rerun reproduces runs and comparisons; re-run negsim calibrate instead")
            rep.rerun = False
        return rep
    if "scenarios" not in man:
        rep.kind = "run"
        _verify_run_files(folder, man, rep)
        if rerun:
            _rerun_single(folder, man, rep)
        return rep
    rep.kind = "compare"
    names = man.get("scenarios")
    if not isinstance(names, list) or not names or not all(_safe_relpath(n) and "/" not in n for n in names):
        rep.add(INVALID, "manifest.json", "scenarios is not a list of sub-folder names")
        return rep
    _check_files(folder, man["outputs_sha256"], rep, "")
    if "comparison.csv" not in man["outputs_sha256"]:
        rep.add(INVALID, "manifest.json", "does not list comparison.csv")
    _check_extras(folder, {"manifest.json", *man["outputs_sha256"], *names}, rep, "")
    subs: dict[str, dict] = {}
    for name in names:
        sub = folder / name
        if not sub.is_dir():
            rep.add(MISSING, f"{name}/", "sub-run listed in the manifest")
            continue
        sman = _read_manifest(sub, rep, f"{name}/")
        if sman is None:
            continue
        _verify_run_files(sub, sman, rep, f"{name}/")
        subs[name] = sman
        diffs = [k for k in ("replicates", "seed", "weeks") if sman.get(k) != man.get(k)]
        if sman.get("scenario") != name:
            diffs.append("scenario")
        if diffs:
            rep.add(INCONSISTENT, f"{name}/manifest.json", "differs from the comparison's: " + ", ".join(diffs))
    if rerun and len(subs) == len(names):
        _rerun_compare(folder, man, subs, rep)
    elif rerun:
        rep.add(ERROR, "rerun", "not possible: a sub-run's manifest is missing or unreadable")
    return rep
