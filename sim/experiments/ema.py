"""One ensemble as a function of parameters: the entry point for EMA Workbench and similar tools.

Exploratory-modelling tools call a model as ``f(**parameters) -> {outcome: value}``. This module
gives negsim that shape::

    import sim
    out = sim.experiment("scenarios/reassurance_backstop.yaml", replicates=500,
                         **{"actors.russia.resolve": 0.8, "deterrence.guarantee_weight": 6})
    out["ceasefire_survival_52w"]

Parameter names are scenario key paths; since many tools want Python identifiers, ``__`` may stand
for the dots (``actors__russia__resolve``). :func:`make_experiment` binds the scenario and the
ensemble settings once and returns such a function (see ``docs/sweeps.md`` for wrapping it in EMA
Workbench's ``Model``). Outcomes are the sweep table's metrics (:data:`sim.experiments.sweep.METRIC_INFO`),
plain floats, NaN where undefined.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.engine.runner import run
from sim.errors import ScenarioError
from sim.experiments.metrics import point_metrics
from sim.scenario.loader import load


@functools.lru_cache(maxsize=32)
def _base(path: str, mtime_ns: int, size: int):
    return load(path)


def _load(scenario: str | Path):
    p = Path(scenario)
    try:
        st = os.stat(p)
    except OSError:
        raise ScenarioError("no such file", file=str(p), allowed="a scenario YAML file") from None
    return _base(str(p), st.st_mtime_ns, st.st_size)  # re-read when the file changes


def _key(name: str) -> str:
    return name.replace("__", ".")


def experiment(
    scenario: str | Path,
    replicates: int = 1000,
    seed: int | None = None,
    weeks: int | None = None,
    durable: tuple[int, int] = (52, 104),
    **params: Any,
) -> dict[str, float]:
    """Run one ensemble with some parameters set; return its scalar outcomes.

    Args:
        scenario: Scenario file.
        replicates: Monte Carlo replicates.
        seed: Root seed (default: the scenario's). The same seed for every call gives common random numbers
            across experiments: differences between calls then come from the parameters, not from sampling.
        weeks: Horizon in weeks (default: the scenario's).
        durable: ``(within, holds)`` weeks defining ``p_durable_ceasefire`` (reported when weeks >= within + holds).
        **params: Scenario key paths (dots or ``__``) → values, e.g. ``actors__russia__resolve=0.8``.

    Returns:
        Metric name → value (float; NaN where undefined, e.g. survival without any ceasefire).

    Raises:
        ScenarioError: an unknown parameter or an illegal value, naming the key path and what is allowed.
    """
    base = _load(scenario)
    loaded = base.derive({_key(k): v for k, v in params.items()}) if params else base
    result = run(loaded, replicates=replicates, seed=seed, weeks=weeks)
    return {k: (math.nan if v is None else float(v)) for k, v in point_metrics(result, durable).items()}


def make_experiment(
    scenario: str | Path, replicates: int = 1000, seed: int | None = None, weeks: int | None = None
) -> Callable[..., dict[str, float]]:
    """:func:`experiment` with the scenario and ensemble settings bound: ``f(**params) -> outcomes``."""
    path = Path(scenario).resolve()
    _load(path)  # fail now, not in the middle of someone's experiment loop

    def run_experiment(**params: Any) -> dict[str, float]:
        return experiment(path, replicates=replicates, seed=seed, weeks=weeks, **params)

    run_experiment.__name__ = f"negsim_{path.stem}"
    run_experiment.__doc__ = f"negsim ensemble of {path.name} ({replicates} replicates) as f(**params) -> outcomes."
    return run_experiment
