"""The protocol registry: every protocol by name, the only list of them (the CLI's help reads it too)."""

from __future__ import annotations

from typing import Any

from sim.protocols.adapters import BDM, SMP, Compromise, Exchange, MediatedSingleText
from sim.protocols.base import Protocol

PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (MediatedSingleText, Compromise, BDM, SMP, Exchange)}
"""Registered protocols by name."""


def get_protocol(name: str, params: dict[str, Any] | None = None) -> Protocol:
    """Instantiate a registered protocol by name with its parameters (the extra keys of ``protocol``)."""
    return PROTOCOLS[name](params)
