"""Kill safety and the resource guard: results are never lost or silently wrong.

A run killed at any moment (SIGKILL: no cleanup code runs) must leave either a complete run
folder or nothing that looks like one; the next run into the same ``--out`` removes the
unfinished leftovers and says so. Oversized runs are refused before any work.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.output.runfolder import clean_leftovers, interrupted_leftovers
from sim.output.verify import verify_run

from .conftest import scenario_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and PID probes are POSIX-only")

KILLS = 10
DELAY_SEED = 20250227


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _negsim(*args) -> list[str]:
    return [sys.executable, "-m", "sim", *(str(a) for a in args)]


def test_sigkill_at_random_moments_never_leaves_a_wrong_run(tmp_path, capsys):
    out = tmp_path / "o"
    # small but not tiny, with plots: several files, and the writing takes a good share of the run
    args = _negsim("run", scenario_path("reassurance_backstop"), "-n", 1000, "--weeks", 60, "-q", "--out", out)
    t0 = time.perf_counter()
    first = subprocess.run(args, capture_output=True, text=True, check=False)
    typical = time.perf_counter() - t0
    assert first.returncode == 0, first.stderr
    assert verify_run(out).ok
    rng = random.Random(DELAY_SEED)  # fixed fractions of the typical run time: the same kill plan every time
    plan = [(rng.uniform(0.0, 1.0), k % 4 == 3) for k in range(KILLS)]
    seen = {"absent": 0, "complete": 0, "stale partial": 0}
    for k, (fraction, force) in enumerate(plan):
        if force and not out.exists():
            code, err = _cli_run(out, capsys)
            assert code == 0, err
        elif not force and out.exists():
            shutil.rmtree(out)
        proc = subprocess.Popen(
            args + (["--force"] if force else []), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(fraction * typical)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        where = f"kill {k} after {fraction * typical:.2f} s of a {typical:.2f} s run (force={force})"

        # the folder is either absent or a complete, intact run; nothing else looks like a run
        assert _visible(tmp_path) in ([], ["o"]), where
        if out.exists():
            report = verify_run(out)
            assert report.ok, where + "\n" + "\n".join(report.lines())
            seen["complete"] += 1
        else:
            seen["absent"] += 1
            old = [p for p, _, _ in interrupted_leftovers(out) if ".old-" in p.name]
            if force:  # killed between setting the old run aside and moving the new one in
                assert old and json.loads((old[0] / "manifest.json").read_text())["complete"] is True, where
        stale = [p for p, _, alive in interrupted_leftovers(out) if ".partial-" in p.name]
        for p in stale:
            assert not verify_run(p).ok, where  # an unfinished folder never verifies, even if all files got written
        seen["stale partial"] += bool(stale)

        # the next run into the same folder: refused if a complete run is there, else it succeeds,
        # and either way it removes the unfinished folder of the killed run, saying so
        existed = out.exists()
        code, err = _cli_run(out, capsys)
        if existed:
            assert code == 1 and "already exists and holds a complete negsim run" in err and "--force" in err, where
        else:
            assert code == 0, where + err
            assert verify_run(out).ok, where
        assert "Traceback" not in err
        if stale:
            assert f"removed {stale[0]}" in err, where
        assert not [p for p, _, _ in interrupted_leftovers(out) if ".partial-" in p.name], where
        for p, _, _ in interrupted_leftovers(out):  # a stale .old- folder: the user would move it back
            shutil.rmtree(p)
    print(f"typical run {typical:.2f} s; after {KILLS} kills: {seen}")


def _cli_run(out: Path, capsys):
    code = main(
        ["run", str(scenario_path("aid_only")), "-n", "100", "--weeks", "20", "--no-plots", "-q", "--out", str(out)]
    )
    _, err = capsys.readouterr()
    return code, err


def test_stale_partial_folders_are_removed_and_live_ones_kept(tmp_path, capsys):
    out = tmp_path / "o"
    dead = tmp_path / f".o.partial-{_dead_pid()}"
    dead.mkdir()  # killed after writing its manifest, just before the rename
    (dead / "summary.json").write_text("{}\n")
    (dead / "manifest.json").write_text('{"complete": true, "outputs_sha256": {}}')
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    live = tmp_path / f".o.partial-{sleeper.pid}"  # a run in progress in another process
    live.mkdir()
    other = tmp_path / f".other.partial-{_dead_pid()}"  # another folder's leftovers are not ours to touch
    other.mkdir()
    assert {p.name: alive for p, _, alive in interrupted_leftovers(out)} == {dead.name: False, live.name: True}
    code, stdout, err = _cli(["run", scenario_path("aid_only"), "-n", 50, "--weeks", 10, "--no-plots", "--out", out])
    assert code == 0, err
    assert f"negsim: removed {dead}: the unfinished folder of an earlier run" in err
    assert f"{live} belongs to another run" in err
    assert not dead.exists() and live.exists() and other.exists()
    assert verify_run(out).ok and _visible(tmp_path) == ["o"]
    sleeper.kill()
    sleeper.wait()


def test_old_folder_of_an_interrupted_force_run(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _cli(["run", scenario_path("aid_only"), "-n", 50, "--weeks", 10, "--no-plots", "--out", out])
    assert code == 0, err
    # killed between setting the old run aside and moving the new one in: the old one is kept, and named
    old = tmp_path / f".o.old-{_dead_pid()}"
    os.replace(out, old)
    msgs = clean_leftovers(out)
    assert old.exists() and len(msgs) == 1 and "move it back" in msgs[0]
    # killed while deleting the replaced run: the new run is in place, the leftover goes
    shutil.copytree(old, out)
    msgs = clean_leftovers(out)
    assert not old.exists() and msgs and msgs[0].startswith(f"removed {old}")


def test_out_named_like_a_temporary_folder_is_refused(tmp_path, capsys):
    bad = tmp_path / ".o.partial-123"
    code, _, err = _cli(["run", scenario_path("aid_only"), "-n", 20, "--no-plots", "--out", bad])
    assert code == 1 and "temporary folders" in err and not bad.exists()


def test_existing_folder_that_is_not_a_run_is_described(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "manifest.json").write_text('{"complete": false}')
    code, _, err = _cli(["run", scenario_path("aid_only"), "-n", 20, "--no-plots", "--out", out])
    assert code == 1 and "already exists and is not empty" in err and "--force" in err


def _cli(args):
    import contextlib
    import io

    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main([str(a) for a in args])
    return code, o.getvalue(), e.getvalue()


def test_oversized_run_is_refused_before_any_work(tmp_path):
    out = tmp_path / "huge"
    t0 = time.perf_counter()
    r = subprocess.run(
        _negsim("run", scenario_path("baseline"), "-n", 500_000_000, "--out", out),
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("negsim: error: 500,000,000 replicates of 4 actors x 5 issues need about")
    assert "GiB of memory" in r.stderr and "use -n " in r.stderr and "or fewer" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not out.exists() and _visible(tmp_path) == [] and not interrupted_leftovers(out)
    assert time.perf_counter() - t0 < 30
    # the size it names does fit
    fit = int(r.stderr.split("use -n ")[1].split(" ")[0].replace(",", ""))
    from sim.engine.runner import check_memory, memory_budget, memory_needed
    from sim.scenario import load

    loaded = load(scenario_path("baseline"))
    check_memory(loaded, fit, 104)
    assert memory_needed(loaded, fit, 104) <= memory_budget() < memory_needed(loaded, fit + 1, 104)


def test_memory_estimate_is_calibrated():
    """The estimate for 10^5 baseline replicates is the measured peak RSS (650,048 KiB = 666 MB), within 25%."""
    from sim.engine.runner import memory_needed
    from sim.scenario import load

    need = memory_needed(load(scenario_path("baseline")), 100_000, 104)
    assert 0.666e9 < need < 0.666e9 * 1.25
