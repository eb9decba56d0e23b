"""Negotiation protocols: how positions move and which text is on the table each round.

``base`` (the interface), ``adapters`` (the protocols, and adapters of the classic engines in
:mod:`sim.rules`), ``registry`` (every protocol by name).
"""

from sim.protocols.base import Protocol
from sim.protocols.registry import PROTOCOLS, get_protocol

__all__ = ["PROTOCOLS", "Protocol", "get_protocol"]
