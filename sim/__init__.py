"""negsim: an agent-based simulator of international security negotiations.

The Python API notebooks and the CLI share::

    import sim
    s = sim.load("scenarios/aid_only.yaml")
    r = sim.run(s, replicates=2000, seed=1, weeks=104, set={"actors.us.resolve": 0.7})
    r.summary["p_ceasefire"]            # or r.summary_info.p_ceasefire (typed)
    r.outcomes_df, r.plot.survival(), r.report("run.html")
    c = sim.compare(["scenarios/nato_entry.yaml", "scenarios/aid_only.yaml"], replicates=2000)

Every name is served by :mod:`sim.api`, the notebook face, imported on first use so that
``negsim --help`` starts fast. The package's parts are mapped in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import RunError, ScenarioError
from sim.version import __version__

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
    "calibrate",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from sim.api import (
        Comparison,
        Summary,
        calibrate,
        claims,
        compare,
        experiment,
        import_file,
        load,
        make_experiment,
        run,
        sources,
        write_report,
        write_run,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sim import api  # deferred: the API loads numpy, pydantic and Mesa; `negsim --help` does not need them

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
