"""Bounded memory: chunked ensembles merge exactly where they should and stay reproducible."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import sim
from sim.engine import chunks, runner
from sim.engine.model import NegotiationModel

from .conftest import scenario_path


@pytest.fixture(scope="module")
def backstop():
    return sim.load(scenario_path("reassurance_backstop"))


def test_chunk_sizes_and_seeds():
    assert chunks.sizes(250, 100) == [100, 100, 50]
    assert chunks.chunk_seed(7, 0) == 7
    assert chunks.chunk_seed(7, 1) != chunks.chunk_seed(7, 2) != 7
    assert chunks.chunk_seed(7, 1) == chunks.chunk_seed(7, 1) >= 0


def test_first_chunk_is_the_unchunked_ensemble(backstop):
    """Chunk 0 uses the root seed: its replicates are exactly those of an ensemble of that size."""
    merged = chunks.run_chunked(backstop, 250, 11, 40, chunk=100)
    alone = chunks.run_chunked(backstop, 100, 11, 40, chunk=100)
    assert isinstance(alone, NegotiationModel)
    np.testing.assert_array_equal(merged.first_cf_week[:100], alone.first_cf_week)
    np.testing.assert_array_equal(merged.spend[:, :100], alone.spend)
    assert merged.first_cf_week.shape == (250,) and merged.spend.shape == (4, 250)
    # quantiles come from the reservoir (chunk 0); means and shares from all replicates
    np.testing.assert_array_equal(merged.rec_positions[..., 1:], alone.rec_positions[..., 1:])
    np.testing.assert_allclose(merged.rec_state.sum(axis=1), 1.0)
    spend_mean = merged.spend.mean(axis=1)
    np.testing.assert_allclose(merged.rec_spend[-1, :, 0], spend_mean, rtol=1e-12)


def test_chunked_runs_are_reproducible_and_summarise(backstop):
    a = runner._summarise(backstop, chunks.run_chunked(backstop, 230, 5, 30, chunk=100), 230, 5, 30, 0.0)
    b = runner._summarise(backstop, chunks.run_chunked(backstop, 230, 5, 30, chunk=100), 230, 5, 30, 0.0)
    assert a.summary == b.summary
    assert sum(a.summary["outcome_shares"].values()) == pytest.approx(1.0, abs=1e-5)
    assert len(a.outcomes["replicate"]) == 230


def test_models_are_released(backstop):
    """Mesa's class-level agent registry must not keep finished models (and their arrays) alive."""
    m = NegotiationModel(backstop, 50, 1, 3)
    ref = weakref.ref(m)
    chunks.release(m)
    del m
    gc.collect()
    assert ref() is None
