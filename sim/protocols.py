"""Negotiation protocols: how the week's proposal is formed.

Each protocol is a small class with a ``name``, declared ``traits`` and one method,
``propose(model) -> (N, I)`` proposal on the unit scale. The registry ``PROTOCOLS`` lists them;
a scenario picks one with ``negotiation.protocol.name``. More protocols (compromise, BDM, SMP,
exchange) plug in here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sim import core

if TYPE_CHECKING:  # pragma: no cover
    from sim.model import NegotiationModel


class Protocol:
    """Base class: a way of forming one proposal per replicate each week."""

    name: ClassVar[str] = ""
    traits: ClassVar[dict[str, object]] = {}

    def propose(self, model: NegotiationModel) -> np.ndarray:
        """The week's proposal, ``(N, I)`` on the unit scale (fixed and discrete issues applied by the model)."""
        raise NotImplementedError


class MediatedSingleText(Protocol):
    """A mediator drafts one text: the capability × salience weighted compromise of current positions.

    The mediator (the United States in the article's talks) drafts; by default
    (``mediator_weight: 1``) its own position counts like any other actor's, so the text is the
    compromise model's forecast (Achen 2006) applied to *current* bargaining positions, which
    move as rejecting actors concede. A ``mediator_weight`` above 1 multiplies the mediator's
    capability in the draft: a mediator that steers the text toward its own position.
    """

    name = "mediated_single_text"
    traits = {"stochastic": False, "multi_issue": True, "needs_mediator": True}

    def propose(self, model: NegotiationModel) -> np.ndarray:
        """Weighted compromise of the agents' current positions."""
        return core.compromise_from_weights(model.positions, model.draft_weights)


PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (MediatedSingleText,)}
"""Registered protocols by name."""


def get_protocol(name: str) -> Protocol:
    """Instantiate a registered protocol by name."""
    return PROTOCOLS[name]()
