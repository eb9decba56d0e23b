"""Running an ensemble and summarising it: the Python API the CLI and notebooks share."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.chunks import CHUNK, release, run_chunked
from sim.engine.model import CEASEFIRE, COLLAPSED, QUANTILES, NegotiationModel
from sim.engine.result import RunResult
from sim.errors import RunError
from sim.rules import core
from sim.scenario.loader import ALL_OUTCOMES, OUTCOME_CLASSES, LoadedScenario, load

BYTES_PER_CELL = 8 * 14
"""Peak memory (bytes) per replicate and per "cell", ``A * (I + 4) + I + 8`` of them, for the pre-run guard.

Calibrated with ``/usr/bin/time -f %M negsim run SCENARIO -n N -q`` (peak RSS in KiB; plots on, 104 weeks;
Python 3.11, numpy 2, Linux x86-64): baseline (4 actors x 5 issues, 49 cells) 209,100 KiB at n = 10^4 and
650,048 KiB at 10^5, i.e. 5.0 kB per replicate, 102 B per cell (an earlier build: 207,396 / 634,508 /
1,140,296 KiB at 10^4 / 10^5 / 2 x 10^5, 99-106 B per cell); zelenskyy_steps_down (4 x 6, 54 cells)
214,120 and 689,728 KiB at 10^4 and 10^5, 100 B per cell. About 70% is the model's arrays (peak after
``run()``), 30% the formatting of ``outcomes.csv``; the horizon barely matters (20 instead of 104 weeks:
-17 MB at 10^5). 112 B per cell leaves ~10% headroom.
"""
FIXED_BYTES = 192 * 2**20
"""Memory before the first replicate: interpreter, numpy, Mesa, matplotlib (measured intercept ~165 MB).

With it the estimate for the baseline at n = 10^5 is 750 MB against the 666 MB measured (+13%)."""
RESULT_SAMPLED_GUESS = 24
"""Sampled-parameter columns assumed per replicate when estimating the merged results."""
MEMORY_BUDGET_BYTES = 12 * 2**30
"""The most one ensemble may use; on machines with less than 16 GiB, 3/4 of physical memory."""
KEEP_WRITE_BYTES = 32 * 2**20
"""Extra memory while ``replicate_trajectories.npz`` is written (numpy's 16 MiB write buffer, zlib, labels)."""


def memory_budget() -> int:
    """Bytes one ensemble may use: :data:`MEMORY_BUDGET_BYTES`, or 3/4 of physical memory if less."""
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on every platform
        return MEMORY_BUDGET_BYTES
    return min(MEMORY_BUDGET_BYTES, int(phys * 3 / 4)) if phys > 0 else MEMORY_BUDGET_BYTES


def trajectory_layout(loaded: LoadedScenario, replicates: int, weeks: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """Shape and dtype of each array ``keep_trajectories=True`` keeps (labels aside), name → ``(shape, dtype)``.

    Indexed ``[week, replicate, ...]`` for weeks 0..``weeks``: positions ``(weeks+1, N, A, I)`` and
    the proposal ``(weeks+1, N, I)``; in war scenarios also the state and balance ``(weeks+1, N)``
    and spending, losses and votes per actor ``(weeks+1, N, A)``.
    """
    a, i, w, n = len(loaded.spec.actors), len(loaded.spec.issues), weeks + 1, replicates
    layout = {"positions": ((w, n, a, i), "float64"), "proposal": ((w, n, i), "float64")}
    if loaded.spec.war is not None:
        layout["state"] = ((w, n), "int8")
        layout["balance"] = ((w, n), "float64")
        layout["spending_bn"] = ((w, n, a), "float64")
        layout["losses_index"] = ((w, n, a), "float64")
        layout["accepts"] = ((w, n, a), "int8")
    return layout


def trajectory_bytes(loaded: LoadedScenario, replicates: int, weeks: int) -> int:
    """Bytes of the arrays ``keep_trajectories=True`` keeps: exactly the sum of their shapes times item sizes."""
    layout = trajectory_layout(loaded, replicates, weeks)
    return sum(math.prod(shape) * np.dtype(dt).itemsize for shape, dt in layout.values())


def memory_needed(loaded: LoadedScenario, replicates: int, weeks: int, keep_trajectories: bool = False) -> int:
    """Estimated peak memory (bytes) of a run, writing its outputs included (see :data:`BYTES_PER_CELL`).

    With ``keep_trajectories`` the kept arrays (:func:`trajectory_bytes`) and :data:`KEEP_WRITE_BYTES` are added.
    """
    a, i = len(loaded.spec.actors), len(loaded.spec.issues)
    in_model = min(replicates, CHUNK) * (a * (i + 4) + i + 8) * BYTES_PER_CELL  # one chunk at a time
    kept = replicates * (12 + 2 * a + i + RESULT_SAMPLED_GUESS) * 8 * 2  # merged per-replicate results, x2 to merge
    trajectories = trajectory_bytes(loaded, replicates, weeks) + KEEP_WRITE_BYTES if keep_trajectories else 0
    return FIXED_BYTES + in_model + kept + trajectories


def check_memory(loaded: LoadedScenario, replicates: int, weeks: int, keep_trajectories: bool = False) -> None:
    """Refuse, before starting, an ensemble that would not fit the memory budget, naming a size that fits."""
    need, budget = memory_needed(loaded, replicates, weeks, keep_trajectories), memory_budget()
    if need > budget:
        a, i = len(loaded.spec.actors), len(loaded.spec.issues)
        lo, hi = 0, replicates  # largest ensemble that fits: memory_needed is increasing in replicates
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if memory_needed(loaded, mid, weeks, keep_trajectories) <= budget:
                lo = mid
            else:
                hi = mid - 1
        fit = max(1, lo)
        if keep_trajectories:
            kept = trajectory_bytes(loaded, replicates, weeks)
            advice = (
                f"use -n {lo:,} or fewer with --keep-trajectories, or fewer --weeks"
                if lo
                else "no ensemble fits with --keep-trajectories; use fewer --weeks"
            )
            raise RunError(
                f"{replicates:,} replicates of {a} actors x {i} issues over {weeks} weeks with --keep-trajectories "
                f"need about {need / 2**30:,.1f} GiB of memory, {kept / 2**30:,.1f} GiB of it the kept "
                f"trajectories (budget {budget / 2**30:.1f} GiB); {advice}, or run without --keep-trajectories"
            )
        raise RunError(
            f"{replicates:,} replicates of {a} actors x {i} issues need about {need / 2**30:,.1f} GiB of "
            f"memory (budget {budget / 2**30:.0f} GiB); use -n {fit:,} or fewer, or run several ensembles "
            "with different --seed values"
        )


def ensemble_settings(
    loaded: LoadedScenario,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    keep_trajectories: bool = False,
) -> tuple[int, int, int]:
    """An ensemble's size, seed and horizon: defaults, range checks and the memory guard, in one place.

    :func:`run` calls it first; the CLI calls it to refuse every ensemble of a comparison before running any.

    Args:
        loaded: The scenario (its ``settings`` give the defaults).
        replicates: Ensemble size as given (None: the scenario's).
        seed: Root seed as given (None: the scenario's).
        weeks: Horizon as given (None: the scenario's).
        keep_trajectories: Count the kept trajectories in the memory guard.

    Returns:
        ``(replicates, seed, weeks)``.

    Raises:
        RunError: a size or seed out of range, or an ensemble too large for the memory budget.
    """
    st = loaded.spec.settings
    n = int(replicates if replicates is not None else st.replicates)
    seed = int(seed if seed is not None else st.seed)
    weeks = int(weeks if weeks is not None else st.weeks)
    if n < 1:
        raise RunError(f"replicates must be at least 1, got {n}")
    if weeks < 1:
        raise RunError(f"weeks must be at least 1, got {weeks}")
    if seed < 0:
        raise RunError(f"seed must be a non-negative integer, got {seed}")
    check_memory(loaded, n, weeks, keep_trajectories)
    return n, seed, weeks


def run(
    scenario: LoadedScenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the documented API name)
    progress: Callable[[int, int], None] | None = None,
    keep_trajectories: bool = False,
) -> RunResult:
    """Run a Monte Carlo ensemble of a scenario.

    Args:
        scenario: A loaded scenario or a path to one.
        replicates: Ensemble size (default: the scenario's ``settings.replicates``).
        seed: Root seed (default: ``settings.seed``); same scenario + seed ⇒ identical outputs.
        weeks: Horizon in weeks (default: ``settings.weeks``).
        set: Overrides ``{"actors.us.resolve": 0.7}`` applied before validation.
        progress: Called as ``progress(week, weeks)`` after each simulated week.
        keep_trajectories: Also keep every replicate's weekly state, balance, positions, proposal,
            costs and votes in ``result.replicate_trajectories`` (written to
            ``replicate_trajectories.npz``); refused before starting when it would not fit in memory.

    Returns:
        The ensemble's :class:`RunResult`.

    Raises:
        RunError: bad sizes, or an ensemble (with its kept trajectories) too large for the memory budget.
    """
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    if set:
        loaded = loaded.with_overrides(set)
    n, seed, weeks = ensemble_settings(loaded, replicates, seed, weeks, keep_trajectories)
    keep = None
    if keep_trajectories:  # filled week by week, each chunk its own slice of replicates
        keep = {k: np.empty(shape, dtype=dt) for k, (shape, dt) in trajectory_layout(loaded, n, weeks).items()}
    t0 = time.perf_counter()
    if loaded.spec.war is None:  # talks only: one model (small ensembles; no chunking needed)
        model = run_chunked(loaded, n, seed, weeks, progress, chunk=max(n, 1), keep=keep)
    else:  # bounded memory: at most CHUNK replicates in memory at once
        model = run_chunked(loaded, n, seed, weeks, progress, keep=keep)
    elapsed = time.perf_counter() - t0
    if not model.war_enabled:
        result = _summarise_talks(loaded, model, n, seed, weeks, elapsed)
    else:
        result = _summarise(loaded, model, n, seed, weeks, elapsed)
    if keep is not None:
        steps = model.week  # fewer than weeks when a talks-only protocol stopped early
        result.replicate_trajectories = {
            **{k: v[: steps + 1] for k, v in keep.items()},
            "week": np.arange(steps + 1),
            "actors": np.array(model.actor_ids),
            "issues": np.array(model.issue_ids),
        }
    if isinstance(model, NegotiationModel):
        release(model)  # Mesa's class-level registry would otherwise keep every model alive
    return result


def _header(loaded: LoadedScenario, n: int, seed: int, weeks: int) -> dict:
    """The fields every ``summary.json`` starts with."""
    return {
        "scenario": loaded.name,
        "title": loaded.spec.title,
        "replicates": n,
        "seed": seed,
        "weeks": weeks,
        "protocol": loaded.spec.negotiation.protocol.name,
    }


def _forecast_summary(m: NegotiationModel) -> dict:
    """The protocol's forecast per issue at the last step, on each issue's scale (median over replicates)."""
    out = {}
    t = m.week
    for key, arr in m.rec_forecast.items():
        out[key] = {iid: _r(arr[t, j]) for j, iid in enumerate(m.issue_ids)}
    return out


def _positions_rows(m: NegotiationModel) -> list[list]:
    """``positions.csv``: step, actor, issue, position (median over replicates, scale units)."""
    rows = []
    for t in range(m.week + 1):
        for a, aid in enumerate(m.actor_ids):
            for j, iid in enumerate(m.issue_ids):
                rows.append([t, aid, iid, m.rec_positions[t, a, j, 3]])
    return rows


def _summarise_talks(loaded: LoadedScenario, m: NegotiationModel, n: int, seed: int, weeks: int, elapsed: float):
    """Summary of a talks-only run: the protocol's forecast per issue, by round."""
    steps = m.week
    by_round = {
        key: [{iid: _r(arr[t, j]) for j, iid in enumerate(m.issue_ids)} for t in range(steps + 1)]
        for key, arr in m.rec_forecast.items()
    }
    summary = {
        **_header(loaded, n, seed, weeks),
        "rounds_run": steps,
        "stopped_early": bool(steps < weeks),
        "protocol_params": dict(loaded.spec.negotiation.protocol.model_extra or {}),
        "forecast": _forecast_summary(m),
        "forecast_by_round": by_round,
        "definitions": {
            "forecast": "the protocol's predicted outcome per issue after the last round (median over replicates); "
            "compromise/mediated text: capability x salience weighted mean (and weighted median); bdm: the round's "
            "weighted median and mean; smp: the most probable position (mode) and the probability-weighted mean; "
            "exchange: the weighted mean after the round's exchanges",
            "forecast_by_round": "the same, after each round (round 0 = the input positions)",
        },
    }
    cols = ["week", "quantity", "actor", "issue", "mean", *[f"q{int(q * 100):02d}" for q in QUANTILES]]
    rows: list[list] = []
    for t in range(steps + 1):
        for a, aid in enumerate(m.actor_ids):
            for j, iid in enumerate(m.issue_ids):
                rows.append([t, "position", aid, iid, *m.rec_positions[t, a, j]])
        for key, arr in m.rec_forecast.items():
            for j, iid in enumerate(m.issue_ids):
                v = arr[t, j]
                rows.append([t, f"forecast_{key}", "", iid, v, v, v, v, v, v])
    records = {
        "positions": m.rec_positions[: steps + 1],
        "forecast": {k: v[: steps + 1] for k, v in m.rec_forecast.items()},
    }
    records["protocol_history"] = m.protocol.history
    return RunResult(
        scenario=loaded,
        replicates=n,
        seed=seed,
        weeks=weeks,
        summary=summary,
        outcomes={},
        trajectory_columns=cols,
        trajectories=rows,
        survival=(np.zeros(1), np.ones(1), np.ones(1), np.ones(1)),
        elapsed_s=elapsed,
        actors=m.actor_ids,
        issues=m.issue_ids,
        records=records,
        positions_rows=_positions_rows(m),
    )


def _r(x: float | None, nd: int = 6) -> float | None:
    """Round for output files; None for missing values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def _summarise(loaded: LoadedScenario, m: NegotiationModel, n: int, seed: int, weeks: int, elapsed: float) -> RunResult:
    actors, issues = m.actor_ids, m.issue_ids
    had_cf = m.first_cf_week >= 0
    collapsed = m.first_collapse_week >= 0
    # survival of the first ceasefire: from its start to collapse, censored at the horizon
    # a ceasefire agreed at step t faces its first resumption draw at step t + 1; one that holds to
    # the last step (weeks - 1) is censored after weeks - 1 - t draws
    dur = np.where(collapsed, m.first_collapse_week - m.first_cf_week, weeks - 1 - m.first_cf_week)[had_cf]
    ev = collapsed[had_cf]
    surv = core.kaplan_meier(dur, ev) if had_cf.any() else (np.zeros(1), np.ones(1), np.ones(1), np.ones(1))
    k_cf = int(had_cf.sum())
    s52 = lo52 = hi52 = None
    if k_cf and dur.max() >= 52:
        s52 = core.km_at(surv[0], surv[1], 52)
        lo52 = core.km_at(surv[0], surv[2], 52)
        hi52 = core.km_at(surv[0], surv[3], 52)
    shares, intervals = {}, {}
    for c, name in enumerate(OUTCOME_CLASSES):
        k = int(np.count_nonzero(m.first_class == c))
        shares[name] = _r(k / n)
        intervals[name] = [_r(v) for v in core.wilson_interval(k, n)]
    k_none = n - k_cf
    shares["no_agreement"] = _r(k_none / n)
    intervals["no_agreement"] = [_r(v) for v in core.wilson_interval(k_none, n)]
    costs = {}
    for a, aid in enumerate(actors):
        sp, lo = m.spend[a], m.losses[a]
        costs[aid] = {
            "spending_bn": _r(sp.mean(), 4),
            "spending_bn_95": [_r(v, 4) for v in np.quantile(sp, [0.025, 0.975])],
            "losses_index": _r(lo.mean(), 4),
            "losses_index_95": [_r(v, 4) for v in np.quantile(lo, [0.025, 0.975])],
        }
    p_cf = k_cf / n
    cf_weeks = m.first_cf_week[had_cf]
    p_collapse = float(collapsed[had_cf].mean()) if k_cf else None
    summary = {
        **_header(loaded, n, seed, weeks),
        "p_ceasefire": _r(p_cf),
        "p_ceasefire_95": [_r(v) for v in core.wilson_interval(k_cf, n)],
        "median_weeks_to_ceasefire": _r(float(np.median(cf_weeks))) if k_cf else None,
        "weeks_to_ceasefire_iqr": [_r(v) for v in np.quantile(cf_weeks, [0.25, 0.75])] if k_cf else None,
        "ceasefire_survival_52w": _r(s52),
        "ceasefire_survival_52w_95": [_r(lo52), _r(hi52)] if s52 is not None else None,
        "p_collapse_within_horizon": _r(p_collapse),
        "p_collapse_within_horizon_95": [_r(v) for v in core.wilson_interval(int(collapsed[had_cf].sum()), k_cf)]
        if k_cf
        else None,
        "p_ceasefire_at_horizon": _r(float(np.mean(m.state == CEASEFIRE))),
        "p_at_war_after_collapse_at_horizon": _r(float(np.mean(m.state == COLLAPSED))),
        "outcome_shares": shares,
        "outcome_shares_95": intervals,
        "forecast": _forecast_summary(m),
        "costs": costs,
        "definitions": {
            "p_ceasefire": "share of replicates with a ceasefire agreed at some week within the horizon",
            "median_weeks_to_ceasefire": "median week of the first ceasefire among replicates that reached one",
            "ceasefire_survival_52w": "Kaplan-Meier probability that a first ceasefire lasts 52 weeks "
            "without renewed war, censored at the horizon; 95% Greenwood (log-log) interval",
            "outcome_shares": "class of the first agreed package (or no_agreement); 95% Wilson intervals",
            "costs": "mean cumulative cost per replicate over the horizon: spending in $bn (aid, deployments), "
            "losses as an index (1 = one week of fighting at an even balance)",
        },
    }
    # ---- outcomes.csv columns
    first_scale = m.lo + m.first_package * (m.hi - m.lo)
    out: dict[str, np.ndarray] = {
        "replicate": np.arange(n),
        "ceasefire": had_cf.astype(int),
        "first_ceasefire_week": np.where(had_cf, m.first_cf_week, -1),
        "outcome_class": np.array([ALL_OUTCOMES[c] if c >= 0 else "no_agreement" for c in m.first_class]),
    }
    for j, iid in enumerate(issues):
        out[f"agreed_{iid}"] = first_scale[:, j]
    out["collapsed"] = collapsed.astype(int)
    out["collapse_week"] = np.where(collapsed, m.first_collapse_week, -1)
    out["n_ceasefires"] = m.n_ceasefires
    out["weeks_at_war"] = m.war_weeks
    out["final_state"] = np.array(["war", "ceasefire", "war_after_collapse"])[m.state]
    out["final_balance"] = m.balance
    for a, aid in enumerate(actors):
        out[f"spending_bn_{aid}"] = m.spend[a]
        out[f"losses_{aid}"] = m.losses[a]
    for path, arr in sorted(m.sampled.items()):
        out[f"param:{path}"] = arr
    # ---- trajectories.csv rows (tidy: week, quantity, actor, issue, mean, quantiles)
    cols = [
        "week",
        "quantity",
        "actor",
        "issue",
        "mean",
        *[f"q{int(q * 100):02d}" for q in QUANTILES],
    ]
    rows: list[list] = []
    for t in range(weeks + 1):
        for a, aid in enumerate(actors):
            for j, iid in enumerate(issues):
                rows.append([t, "position", aid, iid, *m.rec_positions[t, a, j]])
        for j, iid in enumerate(issues):
            rows.append([t, "proposal", "", iid, *m.rec_proposal[t, j]])
        rows.append([t, "balance", "", "", *m.rec_balance[t]])
        for a, aid in enumerate(actors):
            rows.append([t, "spending_bn", aid, "", *m.rec_spend[t, a]])
            rows.append([t, "losses_index", aid, "", *m.rec_losses[t, a]])
        for s, label in enumerate(("share_war", "share_ceasefire", "share_collapsed")):
            v = m.rec_state[t, s]
            rows.append([t, label, "", "", v, v, v, v, v, v])
        for a, aid in enumerate(actors):
            v = m.rec_accept[t, a]
            if np.isfinite(v):
                rows.append([t, "share_accepting", aid, "", v, v, v, v, v, v])
    records = {
        "positions": m.rec_positions,
        "proposal": m.rec_proposal,
        "balance": m.rec_balance,
        "spend": m.rec_spend,
        "losses": m.rec_losses,
        "state": m.rec_state,
        "accept": m.rec_accept,
    }
    return RunResult(
        scenario=loaded,
        replicates=n,
        seed=seed,
        weeks=weeks,
        summary=summary,
        outcomes=out,
        trajectory_columns=cols,
        trajectories=rows,
        survival=surv,
        elapsed_s=elapsed,
        actors=actors,
        issues=issues,
        records=records,
        positions_rows=_positions_rows(m),
    )
