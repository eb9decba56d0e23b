"""The ensemble model: determinism, invariants, and the single-replicate case."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

import sim
from sim.engine.model import CEASEFIRE, NegotiationModel

from .conftest import BUNDLED, scenario_path


@pytest.fixture(scope="module")
def backstop():
    return sim.load(scenario_path("reassurance_backstop"))


def test_agents_are_mesa_agents_one_per_actor(backstop):
    m = NegotiationModel(backstop, 10, 1, 5)
    assert isinstance(m, mesa.Model)
    assert len(m.agents) == 4
    assert [a.key for a in m.agents] == ["ukraine", "us", "russia", "uk_europe"]
    assert all(isinstance(a, mesa.Agent) for a in m.agents)
    # agents hold views into the model's replicate arrays
    a = list(m.agents)[2]
    assert np.shares_memory(a.position, m.positions)
    assert a.position.shape == (10, 5)


def test_same_seed_same_everything(backstop):
    r1 = sim.run(backstop, replicates=300, seed=7, weeks=40)
    r2 = sim.run(backstop, replicates=300, seed=7, weeks=40)
    for k in r1.outcomes:
        np.testing.assert_array_equal(r1.outcomes[k], r2.outcomes[k])
    assert r1.summary == r2.summary
    r3 = sim.run(backstop, replicates=300, seed=8, weeks=40)
    assert not np.array_equal(r1.outcomes["final_balance"], r3.outcomes["final_balance"])


def test_single_replicate_is_the_same_code(backstop):
    r = sim.run(backstop, replicates=1, seed=3, weeks=30)
    assert r.outcomes["replicate"].tolist() == [0]
    assert sum(r.summary["outcome_shares"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", BUNDLED)
def test_invariants(name):
    r = sim.run(sim.load(scenario_path(name)), replicates=400, seed=11, weeks=104)
    s = r.summary
    assert sum(s["outcome_shares"].values()) == pytest.approx(1.0, abs=1e-5)
    for lo, hi in s["outcome_shares_95"].values():
        assert 0.0 <= lo <= hi <= 1.0
    # positions stay on their scales; quantiles are ordered
    pos = r.records["positions"]
    spec = r.scenario.spec
    for j, iid in enumerate(r.issues):
        iss = spec.issues[iid]
        assert pos[:, :, j, 1:].min() >= iss.lo - 1e-9 and pos[:, :, j, 1:].max() <= iss.hi + 1e-9
    assert np.all(np.diff(pos[..., 1:], axis=-1) >= -1e-12)
    # state shares sum to one each week; costs never fall
    np.testing.assert_allclose(r.records["state"].sum(axis=1), 1.0)
    assert np.all(np.diff(r.records["spend"][..., 0], axis=0) >= -1e-9)
    assert np.all(np.diff(r.records["losses"][..., 0], axis=0) >= -1e-9)
    # Kaplan-Meier survival is non-increasing and inside its band
    t, surv, lo, hi = r.survival
    assert np.all(np.diff(surv) <= 1e-12)
    assert np.all(lo <= surv + 1e-12) and np.all(surv <= hi + 1e-12)
    # no NaN anywhere in the per-replicate outcomes except missing packages
    for k, v in r.outcomes.items():
        if v.dtype.kind == "f" and not k.startswith("agreed_"):
            assert np.all(np.isfinite(v)), k
    # the agreed class matches the agreed arrangement
    oc = r.outcomes
    agreed = oc["agreed_security_guarantee"]
    classes = spec.outcomes.classes
    for c, v in zip(oc["outcome_class"], agreed, strict=True):
        if c != "no_agreement":
            assert classes[float(v)] == c


def test_fixed_arrangement_is_what_is_agreed():
    r = sim.run(sim.load(scenario_path("aid_only")), replicates=500, seed=2)
    agreed = r.outcomes["agreed_security_guarantee"][r.outcomes["ceasefire"] == 1]
    assert agreed.size > 0 and np.all(agreed == 1.0)


def test_discrete_issue_agreements_are_labelled_points():
    r = sim.run(sim.load(scenario_path("baseline")), replicates=500, seed=2)
    agreed = r.outcomes["agreed_security_guarantee"][r.outcomes["ceasefire"] == 1]
    assert set(np.unique(agreed)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_collapse_only_after_ceasefire_and_renegotiation_possible(backstop):
    r = sim.run(
        backstop.with_overrides({"actors.russia.revisionism": 1.0, "deterrence.base_hazard": 0.5}),
        replicates=500,
        seed=4,
    )
    oc = r.outcomes
    col = oc["collapsed"] == 1
    assert col.any()
    assert np.all(oc["ceasefire"][col] == 1)
    assert np.all(oc["collapse_week"][col] > oc["first_ceasefire_week"][col])
    # a resumed war can be renegotiated: some replicates reach a second ceasefire
    assert (oc["n_ceasefires"] >= 2).any()


def test_common_random_numbers_across_parameter_changes(backstop):
    """Changing the backstop's credibility does not change draws of other parameters or the war."""
    a = sim.run(backstop, replicates=200, seed=5, weeks=30)
    b = sim.run(
        backstop.with_overrides({"actors.us.guarantees.reassurance_backstop.credibility": 0.9}),
        replicates=200,
        seed=5,
        weeks=30,
    )
    np.testing.assert_array_equal(a.outcomes["param:actors.russia.resolve"], b.outcomes["param:actors.russia.resolve"])
    np.testing.assert_array_equal(a.outcomes["first_ceasefire_week"], b.outcomes["first_ceasefire_week"])


def test_sampled_parameters_follow_their_distribution(backstop):
    r = sim.run(backstop, replicates=20000, seed=9, weeks=1)
    x = r.outcomes["param:actors.russia.resolve"]
    assert x.min() >= 0.6 and x.max() <= 0.95
    assert x.mean() == pytest.approx((0.6 + 0.8 + 0.95) / 3, abs=0.005)


def test_zero_revisionism_means_no_collapse(backstop):
    r = sim.run(backstop.with_overrides({"actors.russia.revisionism": 0}), replicates=500, seed=1)
    assert r.outcomes["collapsed"].sum() == 0
    assert r.summary["ceasefire_survival_52w"] in (None, 1.0)


def test_state_constants(backstop):
    m = NegotiationModel(backstop, 50, 1, 3)
    m.step()
    assert set(np.unique(m.state)) <= {0, CEASEFIRE, 2}


def test_run_rejects_bad_sizes(backstop):
    with pytest.raises(sim.RunError):
        sim.run(backstop, replicates=0)
    with pytest.raises(sim.RunError):
        sim.run(backstop, weeks=0)
    with pytest.raises(sim.RunError, match="use -n"):
        sim.run(backstop, replicates=10**9, weeks=104)


def test_mediator_weight_steers_the_text(backstop):
    """A mediator with more weight pulls the single text toward its own position."""
    base = NegotiationModel(backstop, 5, 1, 1)
    heavy = NegotiationModel(backstop.with_overrides({"negotiation.protocol.mediator_weight": 5}), 5, 1, 1)
    j = base.issue_ids.index("minerals_deal")  # the US (mediator) wants the full deal: 1
    assert heavy.proposal[0, j] > base.proposal[0, j]
    w = base.capability[:, 0] * base.salience[:, 0, j]
    x = base.positions[:, 0, j]
    assert base.proposal[0, j] == pytest.approx((w * x).sum() / w.sum())
    w[1] *= 5
    assert heavy.proposal[0, j] == pytest.approx((w * x).sum() / w.sum())
