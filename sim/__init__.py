"""negsim: an agent-based simulator of international security negotiations.

The Python API notebooks and the CLI share::

    import sim
    s = sim.load("scenarios/aid_only.yaml")
    r = sim.run(s, replicates=2000, seed=1, weeks=104, set={"actors.us.resolve": 0.7})
    r.summary["p_ceasefire"]            # or r.summary_info.p_ceasefire (typed)
    r.outcomes_df, r.plot.survival(), r.report("run.html")
    c = sim.compare(["scenarios/nato_entry.yaml", "scenarios/aid_only.yaml"], replicates=2000)

Heavy modules (Mesa, matplotlib) are imported on first use, so ``negsim --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import RunError, ScenarioError

__version__ = "0.1.0"
__all__ = [
    "ScenarioError",
    "RunError",
    "load",
    "run",
    "compare",
    "Comparison",
    "Summary",
    "sources",
    "claims",
    "import_file",
    "write_run",
    "write_report",
    "experiment",
    "make_experiment",
    "__version__",
]
_API = ("compare", "Comparison", "Summary", "sources", "claims", "import_file")
"""Names served by :mod:`sim.api` (the notebook API)."""

if TYPE_CHECKING:  # pragma: no cover
    from sim.api import Comparison, Summary, claims, compare, import_file, sources
    from sim.experiments import experiment, make_experiment
    from sim.output import write_run
    from sim.report import write_report
    from sim.runner import run
    from sim.scenario import load


def __getattr__(name: str) -> Any:
    if name == "load":
        from sim.scenario import load

        return load
    if name == "run":
        from sim.runner import run

        return run
    if name == "write_run":
        from sim.output import write_run

        return write_run
    if name in _API:
        from sim import api

        return getattr(api, name)
    if name in ("experiment", "make_experiment"):
        import importlib

        return getattr(importlib.import_module("sim.experiments"), name)
    if name == "write_report":
        from sim.report import write_report

        return write_report
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
