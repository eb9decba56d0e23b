"""The ``sweep:`` block: which parameters a sweep varies, over what ranges, with which design.

The block can sit in a scenario file (next to what it varies) or in a sweep file of its own::

    sweep:
      scenario: ../reassurance_backstop.yaml    # sweep files only: the scenario to vary
      design: grid                              # grid | lhs | sobol | morris
      replicates: 1000                          # per design point (each point is a full ensemble)
      factors:
        actors.us.guarantees.reassurance_backstop.credibility:
          {bounds: [0, 1], steps: 20, label: US backstop credibility}
        actors.russia.resolve: {bounds: [0.5, 1.0], steps: 20, label: Russian resolve}

SALib's problem form is accepted too (``names:``, ``bounds:`` and optional ``labels:`` lists instead of
``factors:``). The command line (``negsim sweep --vary PATH=LO:HI[:STEPS] --design ...``) overrides
what the block says. This module holds only the schema (pydantic, no heavy imports) so the scenario
loader can validate the block with the rest of the file; :mod:`sim.experiments.sweep` runs it.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DESIGNS = ("grid", "lhs", "sobol", "morris")
"""Sampling designs: full-factorial grid, Latin hypercube, Saltelli/Sobol' sequence (for Sobol indices),
Morris elementary-effects trajectories."""

_Strict = ConfigDict(extra="forbid", frozen=True)


def _finite_pair(v: tuple[float, float]) -> tuple[float, float]:
    lo, hi = v
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"bounds must be finite numbers, got [{lo}, {hi}]; allowed: [LO, HI] with LO < HI")
    if lo >= hi:
        raise ValueError(f"the lower bound must be below the upper, got [{lo}, {hi}]; allowed: [LO, HI] with LO < HI")
    return v


class FactorSpec(BaseModel):
    """One varied parameter: its range, grid steps and a label for plots."""

    model_config = _Strict
    bounds: tuple[float, float] = Field(description="[LO, HI]: the range sampled, in the parameter's units.")
    steps: int | None = Field(
        None, ge=2, le=10_000, description="Grid points between LO and HI inclusive (grid design; default 5)."
    )
    label: str | None = Field(None, description="Short axis label for plots (default: the parameter path).")

    _bounds = field_validator("bounds")(classmethod(lambda cls, v: _finite_pair(v)))


class DiscoverSpec(BaseModel):
    """Scenario discovery to run after the sweep."""

    model_config = _Strict
    condition: str = Field(description="Outcome of interest, e.g. 'p_durable_ceasefire >= 0.5'.")
    method: Literal["cart", "prim"] = Field("cart", description="CART tree (scikit-learn) or PRIM (EMA Workbench).")
    threshold: float = Field(0.8, gt=0, le=1, description="PRIM: the density a box must reach.")


class DurableSpec(BaseModel):
    """What counts as a durable ceasefire (the ``p_durable_ceasefire`` metric)."""

    model_config = _Strict
    within: int = Field(52, ge=1, le=5200, description="The first ceasefire is agreed within this many weeks...")
    holds: int = Field(104, ge=1, le=5200, description="...and holds at least this many weeks after agreement.")


class SweepSpec(BaseModel):
    """A sweep: a design over parameter paths; every design point is a full Monte Carlo ensemble."""

    model_config = _Strict
    scenario: str | None = Field(None, description="Sweep files only: the scenario file, relative to this file.")
    design: Literal[DESIGNS] = Field("grid", description="grid | lhs | sobol | morris.")
    samples: int | None = Field(
        None,
        ge=1,
        le=10_000_000,
        description="lhs: design points; sobol: base sample N (a power of two; N x (2k+2) points with second-order "
        "indices, N x (k+2) without); morris: trajectories (N x (k+1) points). Not used by grid.",
    )
    replicates: int | None = Field(None, ge=1, le=100_000_000, description="Replicates per design point.")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Root seed (default: the scenario's).")
    weeks: int | None = Field(None, ge=1, le=5200, description="Horizon in weeks (default: the scenario's).")
    seeds: Literal["per_point", "common"] = Field(
        "per_point",
        description="per_point: each design point's seed derives from the root seed and the point's index; "
        "common: every point uses the root seed (common random numbers).",
    )
    second_order: bool = Field(True, description="sobol: also estimate second-order indices S2.")
    num_levels: int = Field(4, ge=2, le=1000, description="morris: grid levels per factor (even).")
    factors: dict[str, FactorSpec] = Field(default_factory=dict, description="Parameter path -> range.")
    names: list[str] | None = Field(None, description="SALib form: parameter paths (with bounds:).")
    bounds: list[tuple[float, float]] | None = Field(None, description="SALib form: [LO, HI] per name.")
    labels: list[str] | None = Field(None, description="SALib form: plot labels per name.")
    metrics: list[str] = Field(default_factory=list, description="Metrics to analyse and plot (default: two).")
    durable: DurableSpec = Field(default_factory=DurableSpec)
    discover: DiscoverSpec | None = None

    @field_validator("bounds")
    @classmethod
    def _pairs(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        for pair in v or []:
            _finite_pair(pair)
        return v


class SweepFile(BaseModel):
    """A sweep file of its own: a ``sweep:`` block naming its ``scenario:``, and an optional description."""

    model_config = _Strict
    description: str = ""
    sweep: SweepSpec


def sweep_json_schema() -> dict:
    """JSON Schema (2020-12) of a sweep file, from the model the loader validates with (``negsim schema --sweep``)."""
    schema = SweepFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "title": "negsim sweep file",
        "description": "A negsim sweep file. Generated by `negsim schema --sweep`; do not edit.",
    }
