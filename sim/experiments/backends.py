"""Where a sweep's design points run: in this process, on a local process pool, or on Dask.

Every backend yields ``(index, metrics, seconds)`` per finished point; a point's result depends
only on its task (overrides, seed, replicates, weeks), never on the worker that ran it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from sim.engine.runner import run
from sim.errors import RunError
from sim.experiments.metrics import extra_metrics, point_metrics
from sim.experiments.plan import Plan
from sim.scenario.loader import LoadedScenario

Log = Callable[[str], None]
"""Where a backend sends one-line notes (a restarted pool, for example)."""


def evaluate(base: LoadedScenario, task: tuple) -> tuple[int, dict, float]:
    """Run design point ``task = (index, overrides, seed, replicates, weeks, durable[, extra])``.

    ``extra`` names week metrics (:func:`sim.experiments.metrics.extra_metrics`) to add to the point's metrics.

    Returns:
        ``(index, metrics, seconds)``; the same in any process for the same task.
    """
    i, overrides, seed, replicates, weeks, durable, *rest = task
    t0 = time.perf_counter()
    result = run(base.derive(overrides), replicates=replicates, seed=seed, weeks=weeks)
    metrics = point_metrics(result, durable)
    if rest and rest[0]:
        metrics.update(extra_metrics(result, rest[0]))
    return i, metrics, time.perf_counter() - t0


_WORKER_BASE: LoadedScenario | None = None
_DIE_ONCE: str | None = None


def _init_worker(base: LoadedScenario, die_once: str | None = None) -> None:
    """Process-pool initialiser: keep the base scenario; leave Ctrl-C to the parent."""
    global _WORKER_BASE, _DIE_ONCE
    _WORKER_BASE = base
    _DIE_ONCE = die_once
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_evaluate(task: tuple) -> tuple[int, dict, float]:
    assert _WORKER_BASE is not None
    if _DIE_ONCE and os.path.exists(_DIE_ONCE):  # fault injection for the tests: a worker dies once
        os.remove(_DIE_ONCE)
        os._exit(1)
    return evaluate(_WORKER_BASE, task)


def _dask_evaluate(base: LoadedScenario, task: tuple) -> tuple[int, dict, float]:
    return evaluate(base, task)


DASK_CONNECT_TIMEOUT = "10s"
"""How long to try reaching a Dask scheduler before giving up (before any work starts)."""


def serial(plan: Plan, tasks: list[tuple], workers: int | None, dask: tuple | None, log: Log) -> Iterator[tuple]:
    """Evaluate the tasks one after the other in this process."""
    for t in tasks:
        yield evaluate(plan.base, t)


def _mp_context():
    """Worker start method: a fork server with negsim preloaded where there is one, else spawn.

    Forking the parent directly is unsafe once numpy's BLAS threads exist; a fresh interpreter per
    worker (spawn) pays ~1.5 s of imports each time. The fork server imports negsim once and forks
    workers from that clean, single-purpose process; it does not re-import the caller's ``__main__``,
    so scripts without an ``if __name__ == "__main__":`` guard work too.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.experiments.backends"])
        return ctx
    return mp.get_context("spawn")


def pool(plan: Plan, tasks: list[tuple], workers: int | None, dask: tuple | None, log: Log) -> Iterator[tuple]:
    """Evaluate the tasks on a local process pool of ``workers`` processes, replacing dead workers up to 3 times."""
    n_workers = workers or os.cpu_count() or 1
    pending = {t[0]: t for t in tasks}
    restarts = 0
    ctx = _mp_context()
    while pending:
        ex = ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(plan.base, os.environ.get("NEGSIM_TEST_DIE_ONCE")),
        )
        broken = False
        futs: dict = {}
        queue = list(pending.values())
        ahead = 4 * n_workers  # bounded look-ahead keeps memory flat for huge designs
        pos = 0
        try:
            pos, broken = _fill(ex, futs, queue, pos, ahead)
            while futs and not broken:
                done, _ = wait(list(futs), return_when=FIRST_COMPLETED)
                for f in done:
                    i = futs.pop(f)
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    pending.pop(i, None)
                    yield res
                if not broken:
                    pos, broken = _fill(ex, futs, queue, pos, ahead)
        finally:
            ex.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            restarts += 1
            if restarts > 3:
                raise RunError(
                    "worker processes kept dying (4 times); finished points are saved: re-run the same command "
                    'to resume. From a Python script, call run_sweep under `if __name__ == "__main__":` '
                    "(worker processes re-import the script), or use backend='serial'"
                )
            log(f"a worker process died; restarting the pool (restart {restarts} of 3), {len(pending)} points left")


def _fill(ex: ProcessPoolExecutor, futs: dict, queue: list[tuple], pos: int, ahead: int) -> tuple[int, bool]:
    """Submit tasks from ``queue[pos:]`` until ``ahead`` are in flight: ``(next pos, pool broke)``.

    A worker that dies can break the pool before a submission as well as during a task.
    """
    while pos < len(queue) and len(futs) < ahead:
        try:
            futs[ex.submit(_pool_evaluate, queue[pos])] = queue[pos][0]
        except BrokenProcessPool:
            return pos, True
        pos += 1
    return pos, False


def dask_client(workers: int | None, scheduler: str | None) -> tuple:
    """Connect to Dask before any work: ``(client, cluster)``; ``cluster`` is None for an existing scheduler.

    Args:
        workers: Worker processes of a local cluster (default: all cores).
        scheduler: ``local`` or None (start a LocalCluster), or an address such as ``tcp://HOST:8786``.

    Raises:
        RunError: Dask not installed, a malformed address, or no Dask scheduler at the address.
    """
    try:  # deferred: Dask is an optional extra (negsim[dask]) and slow to import
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise RunError("the dask backend needs Dask: pip install 'negsim[dask]'") from None
    if scheduler in (None, "local"):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        return Client(cluster), cluster
    if not re.match(r"^(tcp|tls|inproc|ucx)://[^\s]+$", scheduler):
        raise RunError(f"--scheduler {scheduler!r}: expected 'local' or an address such as tcp://HOST:8786")
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise RunError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (something answered, but not a Dask scheduler)
        raise RunError(
            f"no Dask scheduler at {scheduler}: the connection failed with {type(exc).__name__} "
            "(is that the scheduler's address and port, e.g. tcp://HOST:8786?)"
        ) from None
    return client, None


def on_dask(plan: Plan, tasks: list[tuple], workers: int | None, dask: tuple | None, log: Log) -> Iterator[tuple]:
    """Evaluate the tasks on Dask through ``dask = (client, cluster)`` from :func:`dask_client`.

    The caller owns the client and closes it (:func:`close_dask`) when all its batches have run.
    """
    from dask.distributed import as_completed  # deferred: optional extra

    client = dask[0]
    base_f = client.scatter(plan.base, broadcast=True, hash=False)  # a fresh key per batch: no release race
    key = plan.key[:12]
    futs = [client.submit(_dask_evaluate, base_f, t, key=f"negsim-{key}-{t[0]}", pure=False, retries=3) for t in tasks]
    try:
        for f in as_completed(futs):
            yield f.result()
    finally:
        client.cancel(futs)


def stderr_log(msg: str) -> None:
    """The default note sink of sweeps and calibrations: one ``negsim: ...`` line on stderr."""
    print(f"negsim: {msg}", file=sys.stderr)


def check_options(backend: str, workers: int | None, scheduler: str | None) -> None:
    """Refuse, before any work, an unknown backend, fewer than one worker, or a scheduler without Dask."""
    if backend not in BACKENDS:
        raise RunError(f"unknown backend {backend!r} (allowed: {', '.join(BACKENDS)})")
    if workers is not None and workers < 1:
        raise RunError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and backend != "dask":
        raise RunError("--scheduler applies to --backend dask only")


def close_dask(dask: tuple | None) -> None:
    """Close a ``(client, cluster)`` pair from :func:`dask_client` (None: nothing to close)."""
    if dask:
        client, cluster = dask
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


BACKENDS: dict[str, Callable[..., Iterator[tuple]]] = {"serial": serial, "pool": pool, "dask": on_dask}
"""serial: in this process; pool: a local process pool (all cores by default); dask: Dask distributed.
Each is called as ``backend(plan, tasks, workers, dask, log)`` and yields ``(index, metrics, seconds)``."""
