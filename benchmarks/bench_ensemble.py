#!/usr/bin/env python
"""Ensemble throughput benchmark for negsim.

Measures, in one run:

1. ensemble throughput of ``scenarios/reassurance_backstop.yaml`` at 104 weeks for
   N = 1, 100 and 10,000 replicates (``sim.run`` wall time and model time);
2. the cost of running the same N as a loop of single-replicate runs, and the ensemble
   speed-up over that loop (N = 100 looped in full; N = 10,000 extrapolated linearly from a
   sample of single-replicate runs);
3. the CLI end to end: ``negsim run ... -n 10000 --no-plots -q`` and ``negsim --help`` wall time,
   plus an in-process breakdown of where the 10k CLI wall time goes.

Prints a table and writes every raw timing and median to JSON
(default ``benchmarks/results/latest.json``).

Usage (from the repository root, or anywhere)::

    python benchmarks/bench_ensemble.py            # full run, a few minutes
    python benchmarks/bench_ensemble.py --quick    # smoke check, fewer repeats
    python benchmarks/bench_ensemble.py --json out.json

Plain Python only: ``time.perf_counter``, ``statistics.median``, ``subprocess``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCENARIO = REPO / "scenarios" / "reassurance_backstop.yaml"
DEFAULT_JSON = HERE / "results" / "latest.json"
WEEKS = 104
SEED = 1
SIZES = (1, 100, 10_000)
CLI_N = 10_000
CLI_TARGET_S = 5.0

# Measure this checkout even if another copy of the package is installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Repeat plans. Ensemble: at least `min` repeats, more until `budget_s` of measured time is
# spent, never more than `max`. Loops: a fixed number of repeats of the whole loop.
FULL = {
    "ensemble": {1: (5, 50, 3.0), 100: (5, 30, 3.0), 10_000: (3, 5, 0.0)},
    "loop_repeats": 3,
    "loop_sample_10k": 200,
    "cli_run_repeats": 3,
    "cli_help_repeats": 5,
    "import_repeats": 5,
    "write_repeats": 3,
}
QUICK = {
    "ensemble": {1: (3, 3, 0.0), 100: (3, 3, 0.0), 10_000: (1, 1, 0.0)},
    "loop_repeats": 1,
    "loop_sample_10k": 50,
    "cli_run_repeats": 1,
    "cli_help_repeats": 3,
    "import_repeats": 2,
    "write_repeats": 1,
}


# ---------------------------------------------------------------------------- helpers
def med(xs: list[float]) -> float:
    return statistics.median(xs)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def negsim_exe() -> Path:
    exe = Path(sys.executable).parent / "negsim"
    if not exe.exists():
        raise SystemExit(f"negsim executable not found next to {sys.executable} ({exe}); install the package first")
    return exe


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_rev() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info() -> dict:
    import mesa
    import numpy

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (non-Linux)
        usable = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": numpy.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "git": git_rev(),
        "loadavg_start": list(os.getloadavg()),
    }


def adaptive(fn, min_k: int, max_k: int, budget_s: float) -> list:
    """Call ``fn()`` (returns a dict with a ``wall_s``) at least min_k times, until budget_s is spent."""
    out, spent = [], 0.0
    while len(out) < max_k and (len(out) < min_k or spent < budget_s):
        gc.collect()
        rec = fn()
        out.append(rec)
        spent += rec["wall_s"]
    return out


# ---------------------------------------------------------------------------- measurements
def bench_ensemble(sim, loaded, plan: dict) -> dict:
    res = {}
    for n in SIZES:
        min_k, max_k, budget = plan["ensemble"][n]

        def one(n=n):
            t0 = time.perf_counter()
            r = sim.run(loaded, replicates=n, seed=SEED, weeks=WEEKS)
            wall = time.perf_counter() - t0
            return {"wall_s": wall, "model_s": r.elapsed_s}

        log(f"  ensemble N={n:,}: {min_k}..{max_k} repeats")
        runs = adaptive(one, min_k, max_k, budget)
        wall = [x["wall_s"] for x in runs]
        model = [x["model_s"] for x in runs]
        mw, mm = med(wall), med(model)
        res[str(n)] = {
            "n": n,
            "repeats": len(runs),
            "wall_s": wall,
            "model_s": model,
            "median_wall_s": mw,
            "median_model_s": mm,
            "replicates_per_s_wall": n / mw,
            "replicates_per_s_model": n / mm,
            "replicate_weeks_per_s_wall": n * WEEKS / mw,
            "replicate_weeks_per_s_model": n * WEEKS / mm,
        }
    return res


def single_loop(sim, loaded, count: int, seed0: int) -> dict:
    """Run ``count`` single-replicate ensembles one after another; wall and summed model time."""
    gc.collect()
    model = 0.0
    t0 = time.perf_counter()
    for i in range(count):
        r = sim.run(loaded, replicates=1, seed=seed0 + i, weeks=WEEKS)
        model += r.elapsed_s
    return {"wall_s": time.perf_counter() - t0, "model_s": model}


def bench_loop(sim, loaded, plan: dict, ens: dict) -> dict:
    res = {}
    # N = 1: a loop of one single-replicate run is the N = 1 ensemble itself.
    e1 = ens["1"]
    res["1"] = {
        "n": 1,
        "method": "identical to the N=1 ensemble (speed-up 1 by definition)",
        "sample": 1,
        "extrapolated": False,
        "median_wall_s": e1["median_wall_s"],
        "median_model_s": e1["median_model_s"],
        "speedup_wall": 1.0,
        "speedup_model": 1.0,
    }
    for n, sample in ((100, 100), (10_000, plan["loop_sample_10k"])):
        k = plan["loop_repeats"]
        log(f"  loop N={n:,}: {sample} single-replicate runs x {k} repeats" + (" (extrapolated)" if sample < n else ""))
        runs = [single_loop(sim, loaded, sample, SEED + 1000 * (rep + 1)) for rep in range(k)]
        scale = n / sample
        wall = [x["wall_s"] for x in runs]
        model = [x["model_s"] for x in runs]
        mw, mm = med(wall) * scale, med(model) * scale
        e = ens[str(n)]
        res[str(n)] = {
            "n": n,
            "method": (
                f"loop of {n} single-replicate sim.run calls"
                if sample == n
                else f"loop of {sample} single-replicate sim.run calls, extrapolated linearly x{scale:g}"
            ),
            "sample": sample,
            "extrapolated": sample < n,
            "repeats": k,
            "sample_wall_s": wall,
            "sample_model_s": model,
            "per_replicate_wall_s": med(wall) / sample,
            "per_replicate_model_s": med(model) / sample,
            "median_wall_s": mw,
            "median_model_s": mm,
            "speedup_wall": mw / e["median_wall_s"],
            "speedup_model": mm / e["median_model_s"],
        }
    return res


def timed_subprocess(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return wall


def bench_cli(plan: dict) -> dict:
    exe = str(negsim_exe())
    help_s = []
    log(f"  negsim --help x {plan['cli_help_repeats']}")
    for _ in range(plan["cli_help_repeats"]):
        help_s.append(timed_subprocess([exe, "--help"], REPO))
    run_s = []
    log(f"  negsim run -n {CLI_N:,} x {plan['cli_run_repeats']}")
    for _ in range(plan["cli_run_repeats"]):
        tmp = Path(tempfile.mkdtemp(prefix="negsim-bench-"))
        try:
            out = tmp / "run"  # fresh, non-existent folder each time
            cmd = [
                exe,
                "run",
                str(SCENARIO),
                "-n",
                str(CLI_N),
                "--no-plots",
                "--out",
                str(out),
                "-q",
            ]
            run_s.append(timed_subprocess(cmd, REPO))
            if not (out / "summary.json").exists():
                raise SystemExit(f"negsim run wrote no summary.json in {out}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "help_wall_s": help_s,
        "median_help_wall_s": med(help_s),
        "run_cmd": f"negsim run {SCENARIO.relative_to(REPO)} -n {CLI_N} --no-plots --out <fresh tmpdir> -q",
        "run_wall_s": run_s,
        "median_run_wall_s": med(run_s),
        "run_target_s": CLI_TARGET_S,
        "run_meets_target": med(run_s) < CLI_TARGET_S,
        # largest RSS of any child process waited for so far (the 10k runs dominate)
        "children_max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def bench_breakdown(sim, loaded, plan: dict, ens: dict) -> dict:
    """Where the 10k CLI wall time goes: interpreter + imports, scenario load, model, summary, writing."""
    py = sys.executable
    k = plan["import_repeats"]
    log(f"  breakdown: interpreter start / imports x {k}, load, write x {plan['write_repeats']}")
    bare = [timed_subprocess([py, "-c", "pass"], REPO) for _ in range(k)]
    imports = [
        timed_subprocess([py, "-c", "import sim.cli, sim.engine.runner, sim.output.runfolder, sim.scenario"], REPO)
        for _ in range(k)
    ]
    load_s = []
    for _ in range(max(3, k)):
        t0 = time.perf_counter()
        sim.load(SCENARIO)
        load_s.append(time.perf_counter() - t0)
    r = sim.run(loaded, replicates=CLI_N, seed=SEED, weeks=WEEKS)
    write_s = []
    for _ in range(plan["write_repeats"]):
        tmp = Path(tempfile.mkdtemp(prefix="negsim-bench-"))
        try:
            gc.collect()
            t0 = time.perf_counter()
            sim.write_run(r, tmp / "run", plots=False)
            write_s.append(time.perf_counter() - t0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    e = ens[str(CLI_N)]
    return {
        "python_start_s": bare,
        "python_plus_imports_s": imports,
        "median_python_start_s": med(bare),
        "median_imports_s": med(imports) - med(bare),
        "load_s": load_s,
        "median_load_s": med(load_s),
        "median_model_s": e["median_model_s"],
        "median_summarise_s": e["median_wall_s"] - e["median_model_s"],
        "write_s": write_s,
        "median_write_s": med(write_s),
    }


# ---------------------------------------------------------------------------- report
def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def report(res: dict) -> str:
    m, ens, loop, cli, bd = (
        res["machine"],
        res["ensemble"],
        res["loop"],
        res["cli"],
        res["breakdown"],
    )
    lines = []
    w = lines.append
    w(f"negsim ensemble benchmark  ({res['mode']}, {res['timestamp']})")
    w(f"  scenario  {res['scenario']}, {WEEKS} weeks, seed {SEED}")
    w(f"  machine   {m['cpu_model']}, {m['cpus_usable']} usable of {m['cpu_count']} cores, {m['platform']}")
    w(
        f"  software  python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}, "
        f"negsim {res['negsim_version']} (git {m['git']})"
    )
    w(f"  load avg  start {m['loadavg_start'][0]:.2f}, end {m['loadavg_end'][0]:.2f} (1-min)")
    w("")
    w("Ensemble throughput (one model, all replicates as arrays; medians of k repeats)")
    w("  wall = sim.run() (model + summary); model = r.elapsed_s (construction + stepping)")
    hdr = (
        f"  {'N':>7} {'k':>3} {'wall s':>9} {'model s':>9} "
        f"{'rep/s':>9} {'rep-wk/s':>11} {'rep/s*':>9} {'rep-wk/s*':>11}"
    )
    w(hdr)
    w("  " + "-" * (len(hdr) - 2))
    for key in map(str, SIZES):
        e = ens[key]
        w(
            f"  {e['n']:>7,} {e['repeats']:>3} {e['median_wall_s']:>9.3f} {e['median_model_s']:>9.3f} "
            f"{fmt_rate(e['replicates_per_s_wall']):>9} {fmt_rate(e['replicate_weeks_per_s_wall']):>11} "
            f"{fmt_rate(e['replicates_per_s_model']):>9} {fmt_rate(e['replicate_weeks_per_s_model']):>11}"
        )
    w("  rates use wall time; * = rates on model time")
    w("")
    w("Ensemble vs a loop of N single-replicate runs (median of k loops)")
    hdr = f"  {'N':>7} {'loop wall s':>12} {'ens wall s':>11} {'speed-up':>9} {'speed-up*':>10}  how"
    w(hdr)
    w("  " + "-" * (len(hdr) + 40))
    for key in map(str, SIZES):
        lp, e = loop[key], ens[key]
        how = lp["method"] + (f", k={lp['repeats']}" if "repeats" in lp else "")
        w(
            f"  {lp['n']:>7,} {lp['median_wall_s']:>12.2f} {e['median_wall_s']:>11.3f} "
            f"{lp['speedup_wall']:>8.1f}x {lp['speedup_model']:>9.1f}x  {how}"
        )
    l10 = loop["10000"]
    if l10["extrapolated"]:
        w(
            f"  N=10,000 loop is EXTRAPOLATED: {l10['sample']} single-replicate runs measured "
            f"({l10['per_replicate_wall_s'] * 1e3:.1f} ms each, wall) x 10,000"
        )
    w("  speed-up = loop time / ensemble time on wall; * = on model time")
    w("")
    w("CLI end to end (subprocess wall time, medians)")
    ok = "MEETS" if cli["run_meets_target"] else "MISSES"
    w(
        f"  negsim run -n {CLI_N:,} --no-plots -q   {cli['median_run_wall_s']:6.2f} s  "
        f"(k={len(cli['run_wall_s'])}; target < {CLI_TARGET_S:g} s: {ok})"
    )
    w(f"  negsim --help                         {cli['median_help_wall_s']:6.3f} s  (k={len(cli['help_wall_s'])})")
    w(f"  max RSS of a child process            {cli['children_max_rss_mb']:6.0f} MB")
    w("")
    w(f"Where the {CLI_N:,}-replicate CLI wall time goes (in-process estimates, medians)")
    parts = [
        ("python interpreter start", bd["median_python_start_s"]),
        ("imports (sim.cli/runner/output, numpy, mesa, pydantic...)", bd["median_imports_s"]),
        ("scenario load + validation (sim.load)", bd["median_load_s"]),
        ("model: construction + 104 steps", bd["median_model_s"]),
        ("summary (sim.run wall - model)", bd["median_summarise_s"]),
        ("write_run, no plots (json + csv)", bd["median_write_s"]),
    ]
    total = sum(v for _, v in parts)
    for name, v in parts:
        w(f"  {name:<58} {v:6.2f} s")
    w(f"  {'sum of parts':<58} {total:6.2f} s   (CLI measured {cli['median_run_wall_s']:.2f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and a smaller loop sample (smoke check)")
    ap.add_argument(
        "--json",
        default=str(DEFAULT_JSON),
        help=f"write results here (default {DEFAULT_JSON.relative_to(REPO)})",
    )
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else FULL

    import sim

    t_start = time.perf_counter()
    log(f"negsim benchmark ({'quick' if args.quick else 'full'}); progress on stderr")
    machine = machine_info()
    loaded = sim.load(SCENARIO)
    sim.run(loaded, replicates=10, seed=SEED, weeks=WEEKS)  # warm-up: imports, caches

    log("ensemble throughput")
    ens = bench_ensemble(sim, loaded, plan)
    log("single-replicate loops")
    loop = bench_loop(sim, loaded, plan, ens)
    log("CLI")
    cli = bench_cli(plan)
    bd = bench_breakdown(sim, loaded, plan, ens)
    machine["loadavg_end"] = list(os.getloadavg())

    res = {
        "mode": "quick" if args.quick else "full",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "negsim_version": sim.__version__,
        "scenario": str(SCENARIO.relative_to(REPO)),
        "weeks": WEEKS,
        "seed": SEED,
        "plan": {k: ({str(n): list(v) for n, v in p.items()} if isinstance(p, dict) else p) for k, p in plan.items()},
        "machine": machine,
        "ensemble": ens,
        "loop": loop,
        "cli": cli,
        "breakdown": bd,
        "bench_process_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bench_total_s": time.perf_counter() - t_start,
    }
    print(report(res))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nRaw timings and medians: {out}  (benchmark took {res['bench_total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
