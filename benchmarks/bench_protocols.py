"""Benchmark: the established protocols on 50 actors x 5 issues x 100 rounds (talks only).

Usage: python benchmarks/bench_protocols.py [--actors 50] [--issues 5] [--rounds 100] [--repeats 3]

Prints wall time per protocol (median of repeats, the whole sim.run including model construction)
and writes benchmarks/results/protocols.json. Target (issue 4): bdm and smp under 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

import sim

ROOT = Path(__file__).resolve().parents[1]


def scenario(actors: int, issues: int, rounds: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    iss = {f"i{k}": {"label": f"Issue {k}", "points": {0: "low", 100: "high"}, "status_quo": 0} for k in range(issues)}
    sal = rng.uniform(0.05, 1.0, (actors, issues))
    sal = sal / sal.sum(axis=1, keepdims=True)  # KTAB needs row sums <= 1
    acts = {
        f"a{n}": {
            "name": f"Actor {n}",
            "capability": float(rng.uniform(0.05, 1.0)),
            "resolve": 0.5,
            "positions": {
                f"i{k}": {"ideal": float(rng.uniform(0, 100)), "salience": float(sal[n, k])} for k in range(issues)
            },
        }
        for n in range(actors)
    }
    return {
        "schema_version": 1,
        "name": "bench",
        "description": "random talks-only benchmark scenario",
        "settings": {"weeks": rounds, "replicates": 1, "seed": 1},
        "issues": iss,
        "actors": acts,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=50)
    ap.add_argument("--issues", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "protocols.json"))
    args = ap.parse_args()
    data = scenario(args.actors, args.issues, args.rounds)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(data))
        sim.run(sim.load(path), weeks=1)  # warm-up: imports (Mesa, pandas) are not part of a protocol's cost
        print(f"{args.actors} actors x {args.issues} issues x {args.rounds} rounds, median of {args.repeats}")
        print(f"{'protocol':14s} {'wall s':>8s} {'rounds run':>11s}  target")
        for proto in ("compromise", "bdm", "smp", "exchange"):
            s = sim.load(path, overrides={"negotiation.protocol": f"{{name: {proto}}}"})
            times, ran = [], 0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                r = sim.run(s)
                times.append(time.perf_counter() - t0)
                ran = r.summary["rounds_run"]
            med = statistics.median(times)
            target = "< 2 s: " + ("MEETS" if med < 2 else "MISSES") if proto in ("bdm", "smp") else ""
            print(f"{proto:14s} {med:8.2f} {ran:11d}  {target}")
            results[proto] = {"median_s": med, "times_s": times, "rounds_run": ran}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"actors": args.actors, "issues": args.issues, "rounds": args.rounds, **results}, indent=2)
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
