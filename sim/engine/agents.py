"""The agents: one negotiating actor each, as in Mesa's examples.

An agent's state (positions, acceptance, pressure) is a view into the model's arrays with a
replicate axis, so one agent acts in every replicate of the ensemble at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.rules import core

if TYPE_CHECKING:  # pragma: no cover
    from sim.engine.model import NegotiationModel


class ActorAgent(mesa.Agent):
    """A negotiating actor. Its arrays are views into the model's stacked state (replicate axis first)."""

    def __init__(self, model: NegotiationModel, key: str, index: int) -> None:
        super().__init__(model)
        self.key = key
        self.index = index
        self.accepts = np.zeros(model.n, dtype=bool)
        self.utility_of_proposal = np.zeros(model.n)
        self.reservation_value = np.zeros(model.n)
        self.pressure = np.zeros(model.n)

    @property
    def position(self) -> np.ndarray:
        """Current bargaining positions, unit scale, ``(N, I)`` (a view)."""
        return self.model.positions[self.index]

    def evaluate(self) -> None:
        """Compare the proposal with fighting on; set ``accepts`` per replicate.

        Utility of the text, pressure and reservation value come from the model's one ``(A, N)`` pass
        over all actors (:meth:`NegotiationModel._assess`); the actor adds its red lines.
        """
        m, k = self.model, self.index
        self.utility_of_proposal = m.utilities[k]
        self.pressure = m.pressures[k]
        self.reservation_value = m.reservations[k]
        cols = m.red_cols[k]  # only the issues this actor has red lines on
        if cols.size:
            lo, hi, breaks, excl = m.red_rules[k]
            red_ok = core.red_line_ok(m.proposal[:, cols], lo, hi, breaks, self.pressure, excl)
        else:
            red_ok = True
        self.accepts = (self.utility_of_proposal >= self.reservation_value) & red_ok

    def concede(self) -> None:
        """Where talks run and this actor rejected, move positions toward the proposal."""
        m, k = self.model, self.index
        moving = m.still_talking & ~self.accepts
        if not moving.any():
            return
        rate = core.concession_rate(m.concession_base, self.pressure, m.weights[k], m.concede_factor[k])
        rate *= moving[:, None]
        rate[:, m.fixed_cols] *= 0.0  # fixed issues are not negotiated (x 0, as x open_issue)
        core.concede(m.positions[k], m.proposal, rate, out=m.positions[k])
        m.positions_moved[k, m.open_cols] = True  # concessions move open issues only
