#!/usr/bin/env python
"""Sweep benchmark: the targets of the experiments issue, measured side by side in one run.

1. The heatmap sweep: a 20 x 20 grid (US backstop credibility x Russian resolve) of 1,000-replicate
   ensembles of ``scenarios/reassurance_backstop.yaml``, on the process pool (all cores), wall time
   from plan to analysed folder (target: under 60 s on a 2-core machine).
2. Pool against in-process: the same 10 x 10 grid (1,000 replicates per point) run with the
   ``serial`` and the ``pool`` backend, alternating, ``--repeats`` times each; the ratio of the
   medians (target: at least 1.7x on 2 cores). The pool's fork server starts once per process
   (about 1-1.5 s, preloading negsim); that cold start is timed separately and is already paid
   when the ratio is measured, as in any sweep after the first.
3. Optionally (``--sobol``), the bundled Sobol' sweep, ``scenarios/sweeps/backstop_sobol.yaml``:
   6 parameters, N = 256, second-order indices, 3,584 ensembles of 500 replicates (about 4-6 minutes
   on 2 cores).

Every sweep runs into a fresh temporary folder (no resuming), so each timing is a full sweep. Prints a
table and writes the raw timings to JSON (default ``benchmarks/results/sweep.json``).

Usage (from anywhere)::

    python benchmarks/bench_sweep.py                # heatmap + pool ratio, about 3 minutes
    python benchmarks/bench_sweep.py --sobol        # also the 3,584-ensemble Sobol' analysis
    python benchmarks/bench_sweep.py --quick        # smoke check: a 5 x 5 grid, 1 repeat
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_JSON = HERE / "results" / "sweep.json"
SCENARIO = REPO / "scenarios" / "reassurance_backstop.yaml"
HEATMAP = REPO / "scenarios" / "sweeps" / "backstop_heatmap.yaml"
SOBOL = REPO / "scenarios" / "sweeps" / "backstop_sobol.yaml"
CRED = "actors.us.guarantees.reassurance_backstop.credibility"
RESOLVE = "actors.russia.resolve"


def _quiet(msg: str) -> None:
    pass


def timed_sweep(plan, backend: str, workers: int | None = None, plots: bool = True) -> dict:
    """Run a sweep into a fresh folder; wall time in seconds and the table's shape."""
    from sim.experiments.sweep import run_sweep

    with tempfile.TemporaryDirectory(prefix="negsim-bench-") as tmp:
        t0 = time.perf_counter()
        res = run_sweep(plan, Path(tmp) / "s", backend=backend, workers=workers, plots=plots, log=_quiet)
        wall = time.perf_counter() - t0
        table = (Path(tmp) / "s" / "results.csv").read_bytes()
    assert res.complete
    sha = hashlib.sha256(table).hexdigest()
    return {"backend": backend, "seconds": wall, "points": plan.n_points, "table_sha256": sha}


SPIN = "\n".join(
    [
        "import time",
        "t = time.perf_counter()",
        "x = 0",
        "for i in range(15_000_000):",
        "    x += i",
        "print(time.perf_counter() - t)",
    ]
)


def parallel_capacity(n: int) -> float:
    """How many cores' worth of work n CPU-bound processes get done at once (n x one alone / n together).

    Shared virtual machines may give less than their core count: on a 2-core machine this is 2.0 when
    both cores are really available and 1.0 when two processes only share one. The pool's speed-up
    cannot exceed it.
    """
    import subprocess

    one = float(subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True, check=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(n)]
    together = max(float(p.communicate()[0]) for p in procs)
    return n * one / together


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 5 x 5 grid and one repeat (smoke check)")
    ap.add_argument("--sobol", action="store_true", help="also run the 3,584-ensemble Sobol' sweep")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the pool/serial comparison (default 3)")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the raw timings")
    args = ap.parse_args(argv)
    from sim.experiments.plan import make_plan

    cores = os.cpu_count() or 1
    out: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": cores, "python": platform.python_version(), "platform": platform.platform()},
        "load_before": os.getloadavg(),
    }
    out["parallel_capacity_before"] = parallel_capacity(cores)
    # 0. cold start of the process pool (the fork server, once per process)
    tiny = make_plan(SCENARIO, vary=[f"{RESOLVE}=0.5:0.9:2"], replicates=10, weeks=5)
    out["pool_cold_start_s"] = timed_sweep(tiny, "pool", plots=False)["seconds"]
    # 1. the heatmap sweep
    if args.quick:
        heat = make_plan(SCENARIO, vary=[f"{CRED}=0:1:5", f"{RESOLVE}=0.5:1:5"], replicates=1000)
    else:
        heat = make_plan(HEATMAP)
    print(f"heatmap: {heat.describe()} ...", file=sys.stderr)
    out["heatmap"] = timed_sweep(heat, "pool")
    # 2. pool vs serial, alternating, same sweep
    steps = 4 if args.quick else 10
    cmp_plan = make_plan(SCENARIO, vary=[f"{CRED}=0:1:{steps}", f"{RESOLVE}=0.5:0.9:{steps}"], replicates=1000)
    reps = 1 if args.quick else args.repeats
    runs: dict[str, list[float]] = {"serial": [], "pool": []}
    tables = set()
    for k in range(reps):
        for backend in ("serial", "pool") if k % 2 == 0 else ("pool", "serial"):
            print(f"ratio: {backend} repeat {k + 1}/{reps} ...", file=sys.stderr)
            t = timed_sweep(cmp_plan, backend, plots=False)
            runs[backend].append(t["seconds"])
            tables.add(t["table_sha256"])
    assert len(tables) == 1, "serial and pool gave different tables"
    med = {b: statistics.median(v) for b, v in runs.items()}
    out["pool_vs_serial"] = {
        "points": cmp_plan.n_points,
        "replicates": cmp_plan.replicates,
        "seconds": runs,
        "median_seconds": med,
        "ratio": med["serial"] / med["pool"],
    }
    # 3. Sobol'
    if args.sobol:
        sob = make_plan(SOBOL)
        print(f"sobol: {sob.describe()} ...", file=sys.stderr)
        out["sobol"] = timed_sweep(sob, "pool")
    out["load_after"] = os.getloadavg()
    out["parallel_capacity_after"] = parallel_capacity(cores)
    # ---- table
    h = out["heatmap"]
    pv = out["pool_vs_serial"]
    rows = [
        ("measurement", "result", "target", "verdict"),
        (
            f"heatmap sweep, {h['points']} ensembles x 1,000 replicates (pool, {cores} workers)",
            f"{h['seconds']:.1f} s",
            "< 60 s",
            "MEETS" if h["seconds"] < 60 else "MISSES",
        ),
        (
            f"pool / in-process, {pv['points']} points, median of {reps}",
            f"{pv['ratio']:.2f}x ({med['serial']:.1f} s vs {med['pool']:.1f} s)",
            ">= 1.7x on 2 cores",
            "MEETS" if pv["ratio"] >= 1.7 else "MISSES",
        ),
    ]
    if "sobol" in out:
        s = out["sobol"]
        what = f"Sobol' sweep, {s['points']:,} ensembles x 500 replicates (pool)"
        rows.append((what, f"{s['seconds']:.0f} s", "completes", "MEETS"))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [" | ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "-+-".join("-" * x for x in w))
    print("\n".join(lines))
    cap = (out["parallel_capacity_before"], out["parallel_capacity_after"])
    print(
        f"\nparallel capacity of this machine ({cores} CPU-bound processes at once, in cores): "
        f"{cap[0]:.2f} before, {cap[1]:.2f} after (the ceiling for the pool's speed-up)"
    )
    print(f"\npool cold start (fork server with negsim preloaded, 2-point sweep): {out['pool_cold_start_s']:.2f} s")
    print(f"\nload average before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f}; {cores} cores")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"raw timings: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
