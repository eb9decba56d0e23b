"""sim.experiment: one ensemble as f(**params) -> outcomes, and its use from EMA Workbench."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import sim
from sim import ScenarioError

from .conftest import scenario_path

BACKSTOP = scenario_path("reassurance_backstop")


def test_experiment_is_the_ensemble_sim_run_gives():
    out = sim.experiment(BACKSTOP, replicates=120, seed=4, weeks=60, actors__russia__resolve=0.7)
    r = sim.run(BACKSTOP, replicates=120, seed=4, weeks=60, set={"actors.russia.resolve": 0.7})
    assert out["p_ceasefire"] == r.summary["p_ceasefire"]
    assert out["p_ceasefire_at_horizon"] == r.summary["p_ceasefire_at_horizon"]
    assert all(isinstance(v, float) for v in out.values())
    assert out == sim.experiment(BACKSTOP, replicates=120, seed=4, weeks=60, **{"actors.russia.resolve": 0.7})


def test_undefined_outcomes_are_nan_not_missing():
    out = sim.experiment(BACKSTOP, replicates=50, seed=1, weeks=30, actors__russia__resolve=0.99)
    assert out["p_ceasefire"] == 0.0
    assert math.isnan(out["ceasefire_survival_52w"]) and math.isnan(out["median_weeks_to_ceasefire"])


def test_bad_parameters_are_scenario_errors():
    with pytest.raises(ScenarioError, match="out of range"):
        sim.experiment(BACKSTOP, replicates=10, actors__russia__resolve=3)
    with pytest.raises(ScenarioError, match="unknown key 'resolv'"):
        sim.experiment(BACKSTOP, replicates=10, actors__russia__resolv=0.5)
    with pytest.raises(ScenarioError, match="no such file"):
        sim.make_experiment("nowhere.yaml")


def test_edited_scenario_file_is_re_read(tmp_path):
    f = tmp_path / "s.yaml"
    parent = BACKSTOP.parent / "baseline.yaml"
    f.write_text(BACKSTOP.read_text().replace("extends: baseline.yaml", f"extends: {parent}"))
    fn = sim.make_experiment(f, replicates=80, seed=2, weeks=40)
    a = fn()
    text = f.read_text().replace("name: reassurance_backstop", "name: edited\nsettings: {seed: 1}")
    f.write_text(text + "\n")
    assert fn() == a  # the seed is bound; the edit (another default seed) is read but changes nothing here
    f.write_text(text.replace("security_guarantee: 3 ", "security_guarantee: 1 "))
    assert fn() != a  # aid only instead of the backstop


def test_drops_into_ema_workbench():
    pytest.importorskip("ema_workbench")
    with warnings.catch_warnings():  # EMA Workbench warns at import about optional parallel back-ends
        warnings.simplefilter("ignore")
        from ema_workbench import Model, RealParameter, ScalarOutcome, SequentialEvaluator, perform_experiments

    model = Model("negsim", function=sim.make_experiment(BACKSTOP, replicates=80, seed=5, weeks=60))
    model.uncertainties = [
        RealParameter("actors__russia__resolve", 0.5, 1.0),
        RealParameter("deterrence__guarantee_weight", 2.0, 8.0),
    ]
    model.outcomes = [ScalarOutcome("p_ceasefire"), ScalarOutcome("p_ceasefire_at_horizon")]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=5, evaluator=evaluator)
    assert len(experiments) == 5 and set(outcomes) == {"p_ceasefire", "p_ceasefire_at_horizon"}
    # each EMA experiment is exactly the negsim ensemble at those parameter values
    row = experiments.iloc[2]
    direct = sim.experiment(
        BACKSTOP,
        replicates=80,
        seed=5,
        weeks=60,
        actors__russia__resolve=float(row["actors__russia__resolve"]),
        deterrence__guarantee_weight=float(row["deterrence__guarantee_weight"]),
    )
    assert np.isclose(outcomes["p_ceasefire"][2], direct["p_ceasefire"], rtol=0, atol=0)
