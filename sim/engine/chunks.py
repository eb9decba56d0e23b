"""Bounded memory for large ensembles: run in chunks of replicates and merge.

An ensemble of ``N`` replicates runs as ``ceil(N / CHUNK)`` models of at most :data:`CHUNK`
replicates each, one after the other, so working memory does not grow with ``N``. Chunk 0 uses
the run's root seed (an ensemble of up to ``CHUNK`` replicates is exactly one model); chunk
``k > 0`` uses a seed derived from ``(root seed, k)``. The same ``N`` and seed therefore always give
the same results.

Merging: per-replicate results are concatenated; weekly means and state shares are averaged over
all replicates, weighted by chunk size; weekly quantiles (the 5-95% bands of the trajectories) are
exact over a fixed-size reservoir, the first chunk's ``CHUNK`` replicates.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from sim.engine.agents import ActorAgent
from sim.engine.model import NegotiationModel
from sim.scenario.loader import LoadedScenario

CHUNK = 100_000
"""Replicates per model; also the size of the reservoir behind the weekly quantiles."""

PER_REPLICATE = (
    "first_cf_week",
    "first_collapse_week",
    "first_class",
    "n_ceasefires",
    "war_weeks",
    "state",
    "balance",
)
PER_ACTOR_REPLICATE = ("spend", "losses")
WEEKLY_STATS = ("rec_positions", "rec_proposal", "rec_balance", "rec_spend", "rec_losses")


def chunk_seed(seed: int, k: int) -> int:
    """Root seed of chunk ``k``: the run's seed for chunk 0, else derived from ``(seed, k)``."""
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def sizes(n: int, chunk: int = CHUNK) -> list[int]:
    """Chunk sizes for an ensemble of ``n`` replicates."""
    return [min(chunk, n - start) for start in range(0, n, chunk)]


def run_chunked(
    loaded: LoadedScenario,
    n: int,
    seed: int,
    weeks: int,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
    keep: dict[str, np.ndarray] | None = None,
) -> NegotiationModel | SimpleNamespace:
    """Run an ensemble chunk by chunk.

    ``keep``: arrays ``(weeks + 1, n, ...)`` to fill with every replicate's weekly state
    (``--keep-trajectories``; see :meth:`NegotiationModel.keep_week`), or None; each chunk writes
    its own slice of replicates, so nothing is merged or copied.

    Returns:
        The model itself when one chunk suffices; otherwise a namespace with the attributes the
        summary reads (per-replicate arrays over all ``n`` replicates, merged weekly records).
    """
    parts = sizes(n, chunk)
    total_steps = weeks * len(parts)
    models_done = 0
    merged: SimpleNamespace | None = None
    for k, size in enumerate(parts):
        start = k * chunk
        part = None if keep is None else {name: arr[:, start : start + size] for name, arr in keep.items()}
        model = NegotiationModel(loaded, size, chunk_seed(seed, k), weeks, keep=part)
        for w in range(weeks):
            model.step()
            if progress is not None:
                progress(models_done * weeks + w + 1, total_steps)
            if not model.running:
                break
        models_done += 1
        if len(parts) == 1:
            return model
        merged = _absorb(merged, model, size, n)
        release(model)
        del model
        gc.collect()
    assert merged is not None
    return merged


def release(model: NegotiationModel) -> None:
    """Let a finished model be freed.

    Mesa 3 keeps a class-level ``Agent._ids`` registry keyed by model, which holds every model ever
    created (and with it all of its replicate arrays); drop this model's entry and its agents.
    """
    for cls in ActorAgent.__mro__:
        ids = cls.__dict__.get("_ids")
        if isinstance(ids, dict):
            ids.pop(model, None)
    if hasattr(model, "remove_all_agents"):
        model.remove_all_agents()


def _absorb(acc: SimpleNamespace | None, m: NegotiationModel, size: int, n: int) -> SimpleNamespace:
    """Fold one chunk's model into the running merge and drop the model's big arrays."""
    w = size / n
    if acc is None:
        acc = SimpleNamespace(
            n=0,
            week=m.week,
            weeks=m.weeks,
            lo=m.lo,
            hi=m.hi,
            actor_ids=m.actor_ids,
            issue_ids=m.issue_ids,
            war_enabled=m.war_enabled,
            protocol=m.protocol,
            rec_forecast=m.rec_forecast,
            sampled={k: [] for k in m.sampled},
            rec_state=np.zeros_like(m.rec_state),
            rec_accept=np.zeros_like(m.rec_accept),
            accept_seen=np.zeros(m.rec_accept.shape, dtype=bool),
            **{k: [] for k in (*PER_REPLICATE, *PER_ACTOR_REPLICATE, "first_package")},
        )
        for key in WEEKLY_STATS:  # quantiles from the reservoir (this first chunk); means re-accumulated below
            arr = getattr(m, key).copy()
            arr[..., 0] = 0.0
            setattr(acc, key, arr)
    for key in PER_REPLICATE:
        getattr(acc, key).append(getattr(m, key))
    for key in PER_ACTOR_REPLICATE:
        getattr(acc, key).append(getattr(m, key))
    acc.first_package.append(m.first_package)
    for key, arr in m.sampled.items():
        acc.sampled[key].append(arr)
    for key in WEEKLY_STATS:
        getattr(acc, key)[..., 0] += w * getattr(m, key)[..., 0]
    acc.rec_state += w * m.rec_state
    acc.rec_accept += w * np.nan_to_num(m.rec_accept)
    acc.accept_seen |= np.isfinite(m.rec_accept)
    acc.n += size
    if acc.n == n:  # last chunk: concatenate
        for key in PER_REPLICATE:
            setattr(acc, key, np.concatenate(getattr(acc, key)))
        for key in PER_ACTOR_REPLICATE:
            setattr(acc, key, np.concatenate(getattr(acc, key), axis=1))
        acc.first_package = np.concatenate(acc.first_package)
        acc.sampled = {k: np.concatenate(v) for k, v in acc.sampled.items()}
        acc.rec_accept[~acc.accept_seen] = np.nan
    return acc
