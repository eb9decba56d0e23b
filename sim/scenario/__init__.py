"""Scenarios: the YAML format and its schema, loading, parameter distributions, provenance, importers."""

from sim.scenario.loader import ALL_OUTCOMES, OUTCOME_CLASSES, LoadedScenario, Scenario, json_schema, load

__all__ = ["ALL_OUTCOMES", "OUTCOME_CLASSES", "LoadedScenario", "Scenario", "json_schema", "load"]
