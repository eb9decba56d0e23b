"""The protocol interface: how positions move and which text is on the table each round.

Each protocol is a small class in the registry ``PROTOCOLS`` with a ``name``, declared
``traits`` and a pydantic ``Params`` model (the extra keys of ``negotiation.protocol`` in a
scenario). A model calls, once per step:

- :meth:`Protocol.advance` — move positions one round (the established models: BDM, SMP,
  exchange). Protocols whose positions move by the agents' own concessions leave this empty.
- :meth:`Protocol.propose` — the text on the table, ``(N, I)`` on the unit scale; in a war
  scenario every actor compares it with fighting on.
- :meth:`Protocol.forecasts` — the protocol's predicted outcome per issue (e.g. weighted mean and
  median), as reported in ``summary.json``.

Positions in the model are on the unit scale ``(A, N, I)``; the engines in :mod:`sim.rules`
work in each issue's own units and on one replicate at a time, so replicates with identical
inputs are grouped and each group runs the engine once.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from sim.rules import core
from sim.rules.stats import weighted_median_rows

PARAMS_CONFIG = ConfigDict(extra="forbid", frozen=True)
"""Protocol parameters: unknown keys are errors, values are frozen."""


class NoParams(BaseModel):
    """A protocol without parameters."""

    model_config = PARAMS_CONFIG


class Protocol:
    """Base class: a way of moving positions and forming the text on the table."""

    name: ClassVar[str] = ""
    traits: ClassVar[dict[str, object]] = {}
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = self.Params.model_validate(params or {})
        self.history: list[dict[str, Any]] = []
        """Per-round extras for plots (protocol specific), appended by :meth:`advance`."""

    def start(self, model: Any) -> None:
        """Prepare engine state from the model's initial positions (called once)."""

    def advance(self, model: Any) -> None:
        """Move ``model.positions`` one round (default: positions move only by concessions)."""

    def propose(self, model: Any) -> np.ndarray:
        """The text on the table, ``(N, I)`` on the unit scale (fixed and discrete issues applied by the model)."""
        return self.forecasts(model)["mean"]

    def forecasts(self, model: Any) -> dict[str, np.ndarray]:
        """Predicted outcome per issue, ``{"mean": (N, I), ...}`` on the unit scale."""
        w = model.capability[:, :, None] * model.salience
        return {
            "mean": core.compromise_from_weights(model.positions, w),
            "median": weighted_median_rows(model.positions, w),
        }

    @property
    def stopped(self) -> bool:
        """True when the protocol's own stop rule has ended the talks (SMP)."""
        return False
