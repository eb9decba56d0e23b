#!/usr/bin/env python
"""Scaling benchmark for negsim: how cost grows with replicates, actors, issues and protocol.

Measures, in one run:

1. ensemble throughput of ``scenarios/reassurance_backstop.yaml`` at 104 weeks for
   N = 1, 100, 10,000, 100,000 (in-process ``sim.run``) and 1,000,000 replicates (one
   ``negsim run ... -n 1000000 --no-plots -q`` subprocess under ``/usr/bin/time -f %M``, which gives
   the model time from its ``manifest.json``, the wall time and the peak RSS);
2. model time against the number of actors (4..64, at 4 issues) and of issues (1..32, at 8 actors)
   for the default protocol on synthetic war scenarios modelled on ``scenarios/baseline.yaml``;
3. the classic protocols (compromise, bdm, smp, exchange) on 50 actors x 5 issues x 100 rounds
   (the scenarios of ``bench_protocols.py``), and bdm/smp time against actors (10..80);
4. ``negsim --help`` start-up time.

Fits the exponent ``b`` of ``time ~ size**b`` by least squares on log-log for replicates, actors,
issues and the bdm/smp actor sweep, prints a table with every figure, its target and MEETS/MISSES,
and writes every raw timing to JSON (default ``benchmarks/results/scaling.json``).

Usage (from the repository root, or anywhere)::

    python benchmarks/bench_scaling.py            # full run, about 4-5 minutes on 2 cores
    python benchmarks/bench_scaling.py --quick    # smoke check, under a minute (1M run replaced by 100k)
    python benchmarks/bench_scaling.py --json out.json
    python benchmarks/bench_scaling.py --from-json benchmarks/results/scaling.json   # re-print a saved table
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Measure this checkout even if another copy of the package is installed; import the sibling benchmarks.
for p in (str(REPO), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from bench_ensemble import log, machine_info, med, negsim_exe  # noqa: E402
from bench_protocols import scenario as talks_scenario  # noqa: E402

SCENARIO = REPO / "scenarios" / "reassurance_backstop.yaml"
DEFAULT_JSON = HERE / "results" / "scaling.json"
WEEKS = 104
SEED = 1
TIME_BIN = "/usr/bin/time"

# Targets. "At most ~linear/quadratic" allows 0.1 of noise on the fitted exponent.
BIG_WALL_TARGET_S = 120.0
BIG_RSS_TARGET_KIB = 2 * 1024 * 1024  # 2 GiB
LINEAR_MAX = 1.1
QUADRATIC_MAX = 2.1
PROTOCOL_TARGET_S = 2.0  # bench_protocols.py (issue 4): bdm and smp under 2 s on 50 x 5 x 100
HELP_TARGET_S = 0.5

ACTOR_SWEEP = (4, 8, 16, 32, 64)
ACTOR_SWEEP_ISSUES = 4  # the baseline core: security_guarantee, aid_level, territory, aid_financing
ISSUE_SWEEP = (1, 2, 4, 8, 16, 32)
ISSUE_SWEEP_ACTORS = 8  # the four baseline actors and four more
PROTOCOLS = ("compromise", "bdm", "smp", "exchange")
PROTO_SHAPE = (50, 5, 100)  # actors, issues, rounds
PROTO_SWEEP = (10, 20, 40, 80)
PROTO_SWEEP_SHAPE = (5, 20)  # issues, rounds

# Repeat plans. ensemble: N -> (min repeats, max repeats, budget s), as in bench_ensemble.py.
FULL = {
    "ensemble": {1: (5, 50, 2.0), 100: (5, 30, 2.0), 10_000: (3, 3, 0.0), 100_000: (3, 3, 0.0)},
    "big_n": 1_000_000,
    "grid_replicates": 2000,
    "grid_weeks": 52,
    "grid_repeats": 3,
    "protocol_repeats": 3,
    "sweep_repeats": 5,
    "help_repeats": 5,
}
QUICK = {
    "ensemble": {1: (3, 3, 0.0), 100: (3, 3, 0.0), 10_000: (1, 1, 0.0)},
    "big_n": 100_000,
    "grid_replicates": 2000,
    "grid_weeks": 52,
    "grid_repeats": 1,
    "protocol_repeats": 1,
    "sweep_repeats": 3,
    "help_repeats": 5,
}


# ---------------------------------------------------------------------------- helpers
def fit_exponent(xs: list[float], ts: list[float]) -> float:
    """Slope b of log t = a + b log x, least squares."""
    return float(np.polyfit(np.log(xs), np.log(ts), 1)[0])


def fits(xs: list[float], ts: list[float]) -> dict:
    """Exponent over all points and over the three largest sizes (where fixed overheads matter least)."""
    return {"all": fit_exponent(xs, ts), "top3": fit_exponent(xs[-3:], ts[-3:]), "x": list(xs), "t": list(ts)}


def verdict(ok: bool) -> str:
    return "MEETS" if ok else "MISSES"


def timed_model(sim, loaded, k: int, **kw) -> dict:
    """``k`` runs of ``sim.run(loaded, **kw)``: model and wall times, and the last result's summary."""
    model, wall, r = [], [], None
    for _ in range(k):
        gc.collect()
        t0 = time.perf_counter()
        r = sim.run(loaded, **kw)
        wall.append(time.perf_counter() - t0)
        model.append(r.elapsed_s)
    return {"model_s": model, "wall_s": wall, "median_model_s": med(model), "median_wall_s": med(wall), "result": r}


# ---------------------------------------------------------------------------- synthetic war scenarios
SG_POINTS = {0: "none", 1: "aid only", 2: "reassurance force", 3: "reassurance force + backstop", 4: "alliance entry"}
SG_CLASSES = {0: "aid_only", 1: "aid_only", 2: "reassurance_only", 3: "reassurance_backstop", 4: "nato_entry"}
TRI = "triangular"
CORE_ISSUES = {  # the baseline's issues, added in this order
    "security_guarantee": {"label": "Security guarantee", "points": SG_POINTS, "discrete": True, "status_quo": 1},
    "aid_level": {
        "label": "Military aid to side A",
        "points": {0: "ends", 0.5: "halved", 1: "as now", 1.5: "surge"},
        "status_quo": 1,
    },
    "territory": {
        "label": "Territory",
        "points": {0: "old border", 1: "earlier line", 2: "current line", 3: "side B's claim"},
        "status_quo": 2,
        "decided_by_battle": True,
    },
    "aid_financing": {
        "label": "Share of aid from frozen assets",
        "points": {0: "budgets", 0.5: "half", 1: "all"},
        "status_quo": 0,
    },
}
CORE_POSITIONS = {  # baseline (ideal, salience) of the four core actors on the core issues
    "side_a": {
        "security_guarantee": (4, 0.9),
        "aid_level": (1.5, 0.6),
        "aid_financing": (1, 0.3),
        "territory": (0, 0.7),
    },
    "mediator": {
        "security_guarantee": (1, 0.6),
        "aid_level": (0.3, 0.5),
        "aid_financing": (1, 0.4),
        "territory": (2, 0.2),
    },
    "side_b": {"security_guarantee": (0, 1.0), "aid_level": (0, 0.4), "aid_financing": (0, 0.2), "territory": (3, 0.7)},
    "donor": {
        "security_guarantee": (3, 0.7),
        "aid_level": (1, 0.6),
        "aid_financing": (0.5, 0.5),
        "territory": (1, 0.5),
    },
}


def war_scenario(actors: int, issues: int, weeks: int, replicates: int, seed: int = 11) -> dict:
    """A valid war scenario with ``actors`` actors (>= 4) and ``issues`` issues (>= 1), baseline.yaml's structure.

    The first four actors are the baseline's belligerents (side_a, side_b), the US-like mediator/donor
    and the European-like donor, with the baseline's parameters, vetoes, red lines, leverage and
    guarantees. The first issues are the baseline's (security_guarantee, aid_level, territory decided
    by battle, aid_financing); further issues are [0, 1] scales. Every actor holds a position on every
    issue; positions and saliences not taken from the baseline are random (seeded by the shape). The
    core actors' saliences on the extra issues total 0.2 on average whatever their number, so the war
    stays about the core issues and the mix of war and ceasefire weeks stays similar. As in
    reassurance_backstop.yaml the security arrangement is fixed at point 3, so ceasefires happen
    within the horizon and every phase of the model (war, talks, agreement, deterrence) runs.
    With one issue, security_guarantee doubles as the aid issue and, being fixed, leaves nothing to
    negotiate: that scenario stays at war (it still runs every phase but agreement).
    """
    if actors < 4 or issues < 1:
        raise ValueError("need at least 4 actors and 1 issue")
    rng = np.random.default_rng([seed, actors, issues])
    iss = {k: dict(v) for k, v in list(CORE_ISSUES.items())[:issues]}
    for k in range(len(iss), issues):
        sq = round(float(rng.uniform(0, 1)), 3)
        iss[f"issue_{k}"] = {"label": f"Issue {k}", "points": {0: "low", 1: "high"}, "status_quo": sq}
    generic = [i for i in iss if i not in CORE_ISSUES]

    def random_position(iid: str, max_salience: float) -> dict:
        pts = sorted(iss[iid]["points"])
        if iss[iid].get("discrete"):
            ideal = float(rng.choice(pts))
        else:
            ideal = round(float(rng.uniform(pts[0], pts[-1])), 3)
        return {"ideal": ideal, "salience": round(float(rng.uniform(0.0, max_salience)), 4)}

    # core actors: saliences on the extra issues total 0.2 on average, whatever their number
    core_generic_max = 0.4 / max(len(generic), 1)

    def positions(core: str | None) -> dict:
        out = {}
        for iid in iss:
            if core is not None and iid in CORE_POSITIONS[core]:
                ideal, sal = CORE_POSITIONS[core][iid]
                out[iid] = {"ideal": ideal, "salience": sal}
            else:
                out[iid] = random_position(iid, core_generic_max if core is not None else 1.0)
        return out

    belligerent_veto = [i for i in ("security_guarantee", "territory") if i in iss] + generic
    acts: dict[str, dict] = {
        "side_a": {
            "name": "Side A",
            "capability": 0.25,
            "resolve": {TRI: [0.6, 0.75, 0.9]},
            "weariness_reference_losses": 150,
            "veto": belligerent_veto,
            "positions": positions("side_a"),
            "red_lines": {"security_guarantee": {"min": 2, "breaks_at_pressure": {TRI: [0.35, 0.5, 0.8]}}},
        },
        "mediator": {
            "name": "Mediator",
            "capability": 1.0,
            "resolve": 0.3,
            "weariness_reference_bn": 60,
            "veto": ["security_guarantee"],
            "positions": positions("mediator"),
            "red_lines": {"security_guarantee": {"max": 3}},
            "leverage": {"side_a": 0.25, "side_b": 0.03},
            "guarantees": {
                "nato_entry": {"commitment": 1.0, "credibility": 0.8},
                "reassurance_backstop": {"commitment": 0.5, "credibility": 0.6, "cost_bn_per_week": 0.05},
            },
        },
        "side_b": {
            "name": "Side B",
            "capability": 0.5,
            "resolve": {TRI: [0.6, 0.8, 0.95]},
            "risk_attitude": -0.5,
            "revisionism": 0.85,
            "weariness_reference_losses": {TRI: [80, 150, 250]},
            "veto": belligerent_veto,
            "positions": positions("side_b"),
        },
        "donor": {
            "name": "Donor",
            "capability": 0.6,
            "resolve": 0.6,
            "weariness_reference_bn": 100,
            "veto": ["security_guarantee"],
            "positions": positions("donor"),
            "red_lines": {"security_guarantee": {"exclude": [2]}},
            "leverage": {"side_b": 0.07},
            "guarantees": {
                "reassurance_only": {"commitment": 0.5, "credibility": 0.35, "cost_bn_per_week": 0.3},
                "reassurance_backstop": {"commitment": 0.5, "credibility": 0.6, "cost_bn_per_week": 0.3},
                "nato_entry": {"commitment": 1.0, "credibility": 0.8},
            },
        },
    }
    for n in range(4, actors):
        acts[f"actor_{n}"] = {
            "name": f"Actor {n}",
            "capability": round(float(rng.uniform(0.02, 0.3)), 3),
            "resolve": round(float(rng.uniform(0.2, 0.9)), 3),
            "risk_attitude": round(float(rng.uniform(-0.5, 0.5)), 3),
            "positions": positions(None),
        }
    war = {
        "sides": ["side_a", "side_b"],
        "initial_balance": 0.45,
        "mean_reversion": 0.05,
        "volatility": 0.08,
        "aid_issue": "aid_level" if "aid_level" in iss else "security_guarantee",
        "aid_effect": 0.2,
        "aid_bn_per_week": 2.2,
        "donors": {"mediator": 0.5, "donor": 0.5},
        "losses_per_week": 1.0,
        "ceasefire_aid_fraction": 0.5,
    }
    if "aid_financing" in iss:
        war["financing_issue"] = "aid_financing"
    return {
        "schema_version": 1,
        "name": f"scaling_{actors}x{issues}",
        "description": f"Synthetic scaling benchmark: {actors} actors x {issues} issues, baseline structure.",
        "settings": {"weeks": weeks, "replicates": replicates, "seed": SEED},
        "seeds": [],
        "issues": iss,
        "actors": acts,
        "negotiation": {
            "protocol": {"name": "mediated_single_text", "mediator": "mediator"},
            "fixed": {"security_guarantee": 3},
            "concession_rate": 0.05,
            "outlook_weeks": 26,
            "renegotiation_delay_weeks": 8,
        },
        "war": war,
        "deterrence": {
            "challenger": "side_b",
            "defender": "side_a",
            "base_hazard": 0.05,
            "guarantee_weight": 4.0,
            "self_defence_weight": 1.0,
        },
        "outcomes": {"issue": "security_guarantee", "classes": SG_CLASSES},
    }


# ---------------------------------------------------------------------------- 1. replicates
def bench_ensemble(sim, loaded, plan: dict) -> dict:
    res = {}
    for n, (min_k, max_k, budget) in plan["ensemble"].items():
        log(f"  ensemble N={n:,}: {min_k}..{max_k} repeats")
        model, wall, spent = [], [], 0.0
        while len(model) < max_k and (len(model) < min_k or spent < budget):
            gc.collect()
            t0 = time.perf_counter()
            r = sim.run(loaded, replicates=n, seed=SEED, weeks=WEEKS)
            wall.append(time.perf_counter() - t0)
            model.append(r.elapsed_s)
            spent += wall[-1]
        res[str(n)] = {
            "n": n,
            "source": "in-process sim.run",
            "repeats": len(model),
            "model_s": model,
            "wall_s": wall,
            "median_model_s": med(model),
            "median_wall_s": med(wall),
            "replicate_weeks_per_s": n * WEEKS / med(model),
        }
    return res


def peak_rss_run(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run ``cmd``; return (wall s, peak RSS KiB, how RSS was measured). Uses /usr/bin/time -f %M if present."""
    with tempfile.NamedTemporaryFile(prefix="negsim-time-", suffix=".txt", delete=False) as fh:
        tfile = Path(fh.name)
    try:
        if Path(TIME_BIN).exists():
            full, how = [TIME_BIN, "-f", "%M", "-o", str(tfile), *cmd], f"{TIME_BIN} -f %M"
        else:  # fallback: the child's own rusage from wait4
            full, how = cmd, "os.wait4 ru_maxrss (no /usr/bin/time)"
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=1800)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(full)}\n{out}\n{err}")
        if Path(TIME_BIN).exists():
            rss = int(tfile.read_text().strip().splitlines()[-1])
        else:
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children: an upper bound
        return wall, rss, how
    finally:
        tfile.unlink(missing_ok=True)


def bench_big(plan: dict) -> dict:
    n = plan["big_n"]
    exe = str(negsim_exe())
    tmp = Path(tempfile.mkdtemp(prefix="negsim-scaling-"))
    out = tmp / "run"
    cmd = [exe, "run", str(SCENARIO.relative_to(REPO)), "-n", str(n), "--no-plots", "-q", "--out", str(out)]
    log(f"  negsim run -n {n:,} (subprocess, peak RSS)")
    try:
        wall, rss, how = peak_rss_run(cmd, REPO)
        manifest = json.loads((out / "manifest.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    model = float(manifest["model_seconds"])
    return {
        "n": n,
        "cmd": " ".join([Path(exe).name, *cmd[1:-1], "<tmp>"]),
        "seed": manifest["seed"],
        "wall_s": wall,
        "model_s": model,
        "replicate_weeks_per_s": n * WEEKS / model,
        "peak_rss_kib": rss,
        "rss_measured_by": how,
        "targets_apply": n == 1_000_000,
        "wall_target_s": BIG_WALL_TARGET_S,
        "rss_target_kib": BIG_RSS_TARGET_KIB,
        "wall_meets": wall < BIG_WALL_TARGET_S,
        "rss_meets": rss < BIG_RSS_TARGET_KIB,
    }


# ---------------------------------------------------------------------------- 2. actors and issues
def bench_grid(sim, plan: dict, tmp: Path) -> dict:
    n, weeks, k = plan["grid_replicates"], plan["grid_weeks"], plan["grid_repeats"]
    cells: dict[tuple[int, int], dict] = {}

    def cell(a: int, i: int) -> dict:
        if (a, i) not in cells:
            path = tmp / f"scaling_{a}x{i}.yaml"
            path.write_text(yaml.safe_dump(war_scenario(a, i, weeks, n), sort_keys=False))
            loaded = sim.load(path)
            rec = timed_model(sim, loaded, k, replicates=n, seed=SEED, weeks=weeks)
            r = rec.pop("result")
            rec.update(actors=a, issues=i, p_ceasefire=r.summary["p_ceasefire"])
            cells[(a, i)] = rec
        return cells[(a, i)]

    log(f"  actors {ACTOR_SWEEP} x {ACTOR_SWEEP_ISSUES} issues, {n:,} replicates x {weeks} weeks, k={k}")
    actors = [cell(a, ACTOR_SWEEP_ISSUES) for a in ACTOR_SWEEP]
    log(f"  issues {ISSUE_SWEEP} x {ISSUE_SWEEP_ACTORS} actors, k={k}")
    issues = [cell(ISSUE_SWEEP_ACTORS, i) for i in ISSUE_SWEEP]
    return {
        "replicates": n,
        "weeks": weeks,
        "repeats": k,
        "protocol": "mediated_single_text",
        "actors_sweep": {"issues": ACTOR_SWEEP_ISSUES, "cells": actors},
        "issues_sweep": {"actors": ISSUE_SWEEP_ACTORS, "cells": issues},
        "fit_actors": fits(list(ACTOR_SWEEP), [c["median_model_s"] for c in actors]),
        "fit_issues": fits(list(ISSUE_SWEEP), [c["median_model_s"] for c in issues]),
    }


# ---------------------------------------------------------------------------- 3. classic protocols
def bench_protocols(sim, plan: dict, tmp: Path) -> dict:
    def load(actors: int, issues: int, rounds: int, proto: str):
        path = tmp / f"talks_{actors}x{issues}x{rounds}.yaml"
        if not path.exists():
            path.write_text(yaml.safe_dump(talks_scenario(actors, issues, rounds)))
        return sim.load(path, overrides={"negotiation.protocol": f"{{name: {proto}}}"})

    sim.run(load(5, 2, 2, "bdm"))  # warm-up: the classic engines' imports
    a, i, rounds = PROTO_SHAPE
    k = plan["protocol_repeats"]
    log(f"  {'/'.join(PROTOCOLS)} on {a} x {i} x {rounds}, k={k}")
    table = {}
    for proto in PROTOCOLS:
        rec = timed_model(sim, load(a, i, rounds, proto), k)
        rec["rounds_run"] = rec.pop("result").summary["rounds_run"]
        rec["target_s"] = PROTOCOL_TARGET_S if proto in ("bdm", "smp") else None
        table[proto] = rec
    si, sr = PROTO_SWEEP_SHAPE
    k = plan["sweep_repeats"]
    log(f"  bdm/smp vs actors {PROTO_SWEEP} x {si} issues x {sr} rounds, k={k}")
    sweeps = {}
    for proto in ("bdm", "smp"):
        cells = []
        for n in PROTO_SWEEP:
            rec = timed_model(sim, load(n, si, sr, proto), k)
            rec["rounds_run"] = rec.pop("result").summary["rounds_run"]
            rec["actors"] = n
            rec["model_s_per_round"] = rec["median_model_s"] / max(rec["rounds_run"], 1)
            cells.append(rec)
        sweeps[proto] = {
            "cells": cells,
            "fit_per_round": fits(list(PROTO_SWEEP), [c["model_s_per_round"] for c in cells]),
            "fit_total": fits(list(PROTO_SWEEP), [c["median_model_s"] for c in cells]),
        }
    return {"shape": list(PROTO_SHAPE), "table": table, "sweep_shape": [si, sr], "sweeps": sweeps}


# ---------------------------------------------------------------------------- 4. start-up
def bench_help(plan: dict) -> dict:
    exe = str(negsim_exe())
    times = []
    for _ in range(plan["help_repeats"]):
        t0 = time.perf_counter()
        p = subprocess.run([exe, "--help"], cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"negsim --help failed: {p.stderr}")
    return {"wall_s": times, "median_s": med(times), "target_s": HELP_TARGET_S, "meets": med(times) < HELP_TARGET_S}


# ---------------------------------------------------------------------------- report
def rate(x: float) -> str:
    return f"{x:,.0f}"


def exp_line(label: str, f: dict, limit: float, what: str) -> tuple[str, bool]:
    ok = f["all"] <= limit
    top = "" if f["top3"] <= limit else f"   (top-3 slope {f['top3']:.2f} is above {limit:g})"
    return (
        f"  {label:<46} {f['all']:5.2f}   {f['top3']:5.2f}   <= {limit:g} ({what})  {verdict(ok)}{top}",
        ok,
    )


def report(res: dict) -> str:
    m, ens, big, grid, pr, hp = (res[k] for k in ("machine", "ensemble", "big", "grid", "protocols", "help"))
    lines: list[str] = []
    w = lines.append
    checks: list[tuple[str, str, str, bool, str]] = []  # label, value, target, ok, note
    w(f"negsim scaling benchmark  ({res['mode']}, {res['timestamp']})")
    w(f"  machine   {m['cpu_model']}, {m['cpus_usable']} usable of {m['cpu_count']} cores, {m['platform']}")
    w(
        f"  software  python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}, "
        f"negsim {res['negsim_version']} (git {m['git']})"
    )
    la0, la1 = m["loadavg_start"], m["loadavg_end"]
    busy = "  <- busy machine: treat timings with care" if max(la0[0], la1[0]) > 1.5 * (m["cpus_usable"] or 1) else ""
    w(f"  load avg  before {la0[0]:.2f} {la0[1]:.2f} {la0[2]:.2f}, after {la1[0]:.2f} {la1[1]:.2f} {la1[2]:.2f}{busy}")
    w("")

    w(f"1. Ensemble throughput: {res['scenario']} x {WEEKS} weeks (model time = RunResult.elapsed_s, medians)")
    hdr = f"  {'N':>9} {'k':>3} {'model s':>9} {'rep-wk/s':>11}  source"
    w(hdr)
    w("  " + "-" * (len(hdr) + 30))
    for e in ens.values():
        w(
            f"  {e['n']:>9,} {e['repeats']:>3} {e['median_model_s']:>9.3f} {rate(e['replicate_weeks_per_s']):>11}  "
            f"in-process sim.run, seed {SEED} (sim.run wall {e['median_wall_s']:.3f} s)"
        )
    w(
        f"  {big['n']:>9,} {1:>3} {big['model_s']:>9.3f} {rate(big['replicate_weeks_per_s']):>11}  "
        f"CLI subprocess below, model_seconds from its manifest.json (seed {big['seed']})"
    )
    w(f"  {big['cmd']}")
    gib = big["peak_rss_kib"] / 1024 / 1024
    if big["targets_apply"]:
        w(f"    wall time   {big['wall_s']:8.1f} s     target < {BIG_WALL_TARGET_S:g} s  {verdict(big['wall_meets'])}")
        w(
            f"    peak RSS    {gib:8.2f} GiB   target < 2 GiB  {verdict(big['rss_meets'])}   "
            f"({big['peak_rss_kib']:,} KiB, {big['rss_measured_by']})"
        )
        checks.append(
            ("1M CLI wall time", f"{big['wall_s']:.1f} s", f"< {BIG_WALL_TARGET_S:g} s", big["wall_meets"], "")
        )
        checks.append(("1M CLI peak RSS", f"{gib:.2f} GiB", "< 2 GiB", big["rss_meets"], ""))
    else:
        w(f"    wall time   {big['wall_s']:8.1f} s     (--quick: {big['n']:,} replicates, the 1M targets do not apply)")
        w(f"    peak RSS    {gib:8.2f} GiB   ({big['peak_rss_kib']:,} KiB, {big['rss_measured_by']})")
    rest = big["wall_s"] - big["model_s"]
    w(f"    rest of the CLI run (start-up, load, summary, writing = wall - model): {rest:.1f} s")
    w("")

    w(
        f"2. Cost vs actors and issues: synthetic baseline-like war scenarios, default protocol, "
        f"{grid['replicates']:,} replicates x {grid['weeks']} weeks, median model s of k={grid['repeats']}"
    )
    for key, dim, fixed in (
        ("actors_sweep", "actors", f"{ACTOR_SWEEP_ISSUES} issues"),
        ("issues_sweep", "issues", f"{ISSUE_SWEEP_ACTORS} actors"),
    ):
        cells = grid[key]["cells"]
        w(f"  {dim + ' (' + fixed + ')':<22}" + "".join(f"{c[dim]:>8}" for c in cells))
        w(f"  {'model s':<22}" + "".join(f"{c['median_model_s']:>8.3f}" for c in cells))
        w(
            f"  {'us per rep-wk-cell':<22}"
            + "".join(
                f"{1e6 * c['median_model_s'] / (grid['replicates'] * grid['weeks'] * c['actors'] * c['issues']):>8.3f}"
                for c in cells
            )
        )
        w(f"  {'p_ceasefire':<22}" + "".join(f"{c['p_ceasefire']:>8.2f}" for c in cells))
    w("")

    a, i, rounds = pr["shape"]
    w(f"3. Classic protocols, {a} actors x {i} issues x {rounds} rounds (bench_protocols.py scenarios, talks only)")
    hdr = f"  {'protocol':<12} {'wall s':>8} {'model s':>8} {'rounds':>7}  target"
    w(hdr)
    w("  " + "-" * (len(hdr) + 16))
    for proto, rec in pr["table"].items():
        tgt = ""
        if rec["target_s"] is not None:
            ok = rec["median_wall_s"] < rec["target_s"]
            tgt = f"< {rec['target_s']:g} s  {verdict(ok)}"
            label = f"{proto} {a}x{i}x{rounds} wall"
            checks.append((label, f"{rec['median_wall_s']:.2f} s", f"< {rec['target_s']:g} s", ok, ""))
        w(f"  {proto:<12} {rec['median_wall_s']:>8.2f} {rec['median_model_s']:>8.2f} {rec['rounds_run']:>7}  {tgt}")
    si, sr = pr["sweep_shape"]
    w(f"  bdm/smp vs actors at {si} issues x {sr} rounds (median model s of k; per round run)")
    w(f"  {'actors':<22}" + "".join(f"{n:>9}" for n in PROTO_SWEEP))
    for proto, sw in pr["sweeps"].items():
        w(f"  {proto + ' model s':<22}" + "".join(f"{c['median_model_s']:>9.3f}" for c in sw["cells"]))
        w(f"  {proto + ' rounds run':<22}" + "".join(f"{c['rounds_run']:>9}" for c in sw["cells"]))
        w(f"  {proto + ' ms per round':<22}" + "".join(f"{1e3 * c['model_s_per_round']:>9.2f}" for c in sw["cells"]))
    w("")

    w("Fitted exponents b of time ~ size**b (least squares on log-log)")
    w(f"  {'':<46} {'all':>5}   {'top-3':>5}   target")
    rows = [
        (f"model time vs replicates (N = 1 .. {big['n']:,})", res["fit_replicates"], LINEAR_MAX, "~linear"),
        (f"model time vs actors ({ACTOR_SWEEP_ISSUES} issues)", grid["fit_actors"], LINEAR_MAX, "~linear"),
        (f"model time vs issues ({ISSUE_SWEEP_ACTORS} actors)", grid["fit_issues"], LINEAR_MAX, "~linear"),
        ("bdm time per round vs actors (10..80)", pr["sweeps"]["bdm"]["fit_per_round"], QUADRATIC_MAX, "quadratic"),
        ("smp time per round vs actors (10..80)", pr["sweeps"]["smp"]["fit_per_round"], QUADRATIC_MAX, "quadratic"),
    ]
    for label, f, limit, what in rows:
        line, ok = exp_line(label, f, limit, what)
        w(line)
        note = f"  but top-3 slope {f['top3']:.2f}" if f["top3"] > limit else ""
        checks.append((label, f"b = {f['all']:.2f}", f"<= {limit:g}", ok, note))
    for proto in ("bdm", "smp"):
        ft = pr["sweeps"][proto]["fit_total"]
        w(f"  ({proto} total time incl. stop rule: all {ft['all']:.2f}, top-3 {ft['top3']:.2f})")
    w("  all = fit over every size; top-3 = fit over the three largest sizes, where fixed costs matter least")
    w("")

    w("4. CLI start-up")
    w(
        f"  negsim --help   {hp['median_s']:.3f} s  (median of {len(hp['wall_s'])})   "
        f"target < {HELP_TARGET_S:g} s   {verdict(hp['meets'])}"
    )
    checks.append(("negsim --help", f"{hp['median_s']:.3f} s", f"< {HELP_TARGET_S:g} s", hp["meets"], ""))
    w("")

    w("Targets")
    for label, value, target, ok, note in checks:
        w(f"  {label:<46} {value:>10}  {target:<9} {verdict(ok)}{note}")
    met = sum(c[3] for c in checks)
    w(f"  {met} of {len(checks)} targets met")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="fewer repeats; the 1M CLI run becomes 100k, no in-process 100k"
    )
    ap.add_argument(
        "--json", default=str(DEFAULT_JSON), help=f"write results here (default {DEFAULT_JSON.relative_to(REPO)})"
    )
    ap.add_argument("--from-json", metavar="FILE", help="only print the table of a saved result, run nothing")
    args = ap.parse_args(argv)
    if args.from_json:
        print(report(json.loads(Path(args.from_json).read_text())))
        return 0
    plan = QUICK if args.quick else FULL

    import sim

    t_start = time.perf_counter()
    log(f"negsim scaling benchmark ({'quick' if args.quick else 'full'}); progress on stderr")
    machine = machine_info()
    loaded = sim.load(SCENARIO)
    sim.run(loaded, replicates=10, seed=SEED, weeks=WEEKS)  # warm-up: imports, caches

    log("1. ensemble throughput")
    ens = bench_ensemble(sim, loaded, plan)
    big = bench_big(plan)
    ns = [e["n"] for e in ens.values()] + [big["n"]]
    ts = [e["median_model_s"] for e in ens.values()] + [big["model_s"]]
    with tempfile.TemporaryDirectory(prefix="negsim-scaling-") as tmp:
        log("2. actors and issues")
        grid = bench_grid(sim, plan, Path(tmp))
        log("3. classic protocols")
        protocols = bench_protocols(sim, plan, Path(tmp))
    log("4. CLI start-up")
    help_ = bench_help(plan)
    machine["loadavg_end"] = list(os.getloadavg())

    res = {
        "mode": "quick" if args.quick else "full",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "negsim_version": sim.__version__,
        "scenario": str(SCENARIO.relative_to(REPO)),
        "weeks": WEEKS,
        "seed": SEED,
        "plan": {k: ({str(n): list(v) for n, v in p.items()} if isinstance(p, dict) else p) for k, p in plan.items()},
        "targets": {
            "big_wall_s": BIG_WALL_TARGET_S,
            "big_peak_rss_kib": BIG_RSS_TARGET_KIB,
            "linear_max_exponent": LINEAR_MAX,
            "quadratic_max_exponent": QUADRATIC_MAX,
            "protocol_bdm_smp_s": PROTOCOL_TARGET_S,
            "help_s": HELP_TARGET_S,
        },
        "machine": machine,
        "ensemble": ens,
        "big": big,
        "fit_replicates": fits(ns, ts),
        "grid": grid,
        "protocols": protocols,
        "help": help_,
        "bench_process_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bench_total_s": time.perf_counter() - t_start,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")  # first, so a report problem loses no measurement
    print(report(res))
    print(f"\nRaw timings and fits: {out}  (benchmark took {res['bench_total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
