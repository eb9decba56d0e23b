"""negsim: an agent-based simulator of international security negotiations.

The Python API notebooks and the CLI share::

    import sim
    s = sim.load("scenarios/aid_only.yaml")
    r = sim.run(s, replicates=2000, seed=1, weeks=104, set={"actors.us.resolve": 0.7})
    r.summary["p_ceasefire"]

Heavy modules (Mesa, matplotlib) are imported on first use, so ``negsim --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import RunError, ScenarioError

__version__ = "0.1.0"
__all__ = ["ScenarioError", "RunError", "load", "run", "write_run", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from sim.output import write_run
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
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
