"""--keep-trajectories: every replicate's weekly state, kept on request, exact, reproducible, refused when too big."""

from __future__ import annotations

import functools
import json
import zipfile

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.engine import chunks, runner
from sim.engine.model import QUANTILES
from sim.engine.result import TRAJECTORIES_FILE
from sim.errors import RunError
from sim.output.runfolder import write_run
from sim.rules import core

from .conftest import ROOT, scenario_path

N, WEEKS = 300, 30
FILE = TRAJECTORIES_FILE


@pytest.fixture(scope="module")
def backstop():
    return sim.load(scenario_path("reassurance_backstop"))


@pytest.fixture(scope="module")
def kept(backstop):
    return sim.run(backstop, replicates=N, seed=4, weeks=WEEKS, keep_trajectories=True)


def _rows(x: np.ndarray) -> np.ndarray:
    """``(N, ...)`` replicates first -> ``(K, N)`` rows, as the weekly statistics see them."""
    return np.ascontiguousarray(x.reshape(x.shape[0], -1).T)


def test_shapes_dtypes_and_exact_size(backstop, kept):
    k = kept.replicate_trajectories
    a, i, w = len(kept.actors), len(kept.issues), WEEKS + 1
    expect = {
        "positions": ((w, N, a, i), np.float64),
        "proposal": ((w, N, i), np.float64),
        "state": ((w, N), np.int8),
        "balance": ((w, N), np.float64),
        "spending_bn": ((w, N, a), np.float64),
        "losses_index": ((w, N, a), np.float64),
        "accepts": ((w, N, a), np.int8),
    }
    for name, (shape, dtype) in expect.items():
        assert k[name].shape == shape and k[name].dtype == dtype, name
    assert list(k["actors"]) == kept.actors and list(k["issues"]) == kept.issues
    np.testing.assert_array_equal(k["week"], np.arange(w))
    assert runner.trajectory_bytes(backstop, N, WEEKS) == sum(k[name].nbytes for name in expect)
    assert set(np.unique(k["state"])) <= {0, 1, 2} and set(np.unique(k["accepts"])) <= {-1, 0, 1}
    assert (k["accepts"][0] == -1).all()  # no talks before the first week


def test_kept_arrays_agree_with_the_summaries(kept):
    """One chunk: the quantiles of the kept values are exactly the recorded ones; shares and finals agree."""
    k, rec = kept.replicate_trajectories, kept.records
    for t in (0, 1, WEEKS // 2, WEEKS):
        np.testing.assert_array_equal(core.quantiles_rows(k["balance"][t][None], QUANTILES)[0], rec["balance"][t, 1:])
        assert np.median(k["balance"][t]) == pytest.approx(rec["balance"][t, 3], rel=1e-15)
        pos = core.quantiles_rows(_rows(k["positions"][t]), QUANTILES).reshape(*k["positions"].shape[2:], 5)
        np.testing.assert_array_equal(pos, rec["positions"][t, ..., 1:])
        prop = core.quantiles_rows(_rows(k["proposal"][t]), QUANTILES)
        np.testing.assert_array_equal(prop, rec["proposal"][t, :, 1:])
        np.testing.assert_array_equal(
            core.quantiles_rows(_rows(k["spending_bn"][t]), QUANTILES), rec["spend"][t, :, 1:]
        )
        np.testing.assert_allclose(k["losses_index"][t].mean(axis=0), rec["losses"][t, :, 0], rtol=1e-12)
        shares = [np.mean(k["state"][t] == s) for s in range(3)]
        np.testing.assert_array_equal(shares, rec["state"][t])
    talking = k["accepts"][1:] >= 0
    with np.errstate(invalid="ignore"):
        share = (k["accepts"][1:] == 1).sum(axis=1) / talking.sum(axis=1)
    np.testing.assert_array_equal(np.isnan(share), np.isnan(rec["accept"][1:]))
    np.testing.assert_allclose(share[~np.isnan(share)], rec["accept"][1:][~np.isnan(share)], rtol=1e-15)
    out = kept.outcomes
    np.testing.assert_array_equal(k["balance"][-1], out["final_balance"])
    states = np.array(["war", "ceasefire", "war_after_collapse"])[k["state"][-1]]
    np.testing.assert_array_equal(states, out["final_state"])
    for a, aid in enumerate(kept.actors):
        np.testing.assert_array_equal(k["spending_bn"][-1, :, a], out[f"spending_bn_{aid}"])
    # the week of the first ceasefire: the first week whose state is a ceasefire (state after week t is at t + 1)
    first = np.argmax(k["state"] == 1, axis=0) - 1
    np.testing.assert_array_equal(np.where(out["ceasefire"] == 1, first, -1), out["first_ceasefire_week"])


def test_without_the_flag_nothing_is_kept(backstop, tmp_path):
    r = sim.run(backstop, replicates=50, seed=4, weeks=10)
    assert r.replicate_trajectories is None
    out = write_run(r, tmp_path / "plain", plots=False)
    assert not (out / FILE).exists()
    assert "replicate_trajectories" not in json.loads((out / "manifest.json").read_text())


def test_same_seed_same_bytes(backstop, kept, tmp_path):
    again = sim.run(backstop, replicates=N, seed=4, weeks=WEEKS, keep_trajectories=True)
    other = sim.run(backstop, replicates=N, seed=5, weeks=WEEKS, keep_trajectories=True)
    a = write_run(kept, tmp_path / "a", plots=False)
    b = write_run(again, tmp_path / "b", plots=False)
    c = write_run(other, tmp_path / "c", plots=False)
    assert (a / FILE).read_bytes() == (b / FILE).read_bytes() != (c / FILE).read_bytes()
    man = json.loads((a / "manifest.json").read_text())
    assert FILE in man["outputs_sha256"]
    desc = man["replicate_trajectories"]
    assert desc["file"] == FILE and desc["arrays"]["positions"]["shape"] == [WEEKS + 1, N, 4, 5]
    with zipfile.ZipFile(a / FILE) as zf:  # no clock in the bytes
        assert {zi.date_time for zi in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(a / FILE) as z:  # what a scientist types
        for name, arr in kept.replicate_trajectories.items():
            np.testing.assert_array_equal(z[name], arr)


def test_chunked_runs_keep_every_replicate(backstop, monkeypatch):
    monkeypatch.setattr(runner, "run_chunked", functools.partial(chunks.run_chunked, chunk=120))
    r = sim.run(backstop, replicates=N, seed=4, weeks=WEEKS, keep_trajectories=True)
    k = r.replicate_trajectories
    assert k["balance"].shape == (WEEKS + 1, N)
    np.testing.assert_array_equal(k["balance"][-1], r.outcomes["final_balance"])
    np.testing.assert_array_equal(k["losses_index"][-1, :, 0], r.outcomes[f"losses_{r.actors[0]}"])
    alone = sim.run(backstop, replicates=120, seed=4, weeks=WEEKS, keep_trajectories=True)  # chunk 0
    for name in ("positions", "state", "accepts"):
        np.testing.assert_array_equal(k[name][:, :120], alone.replicate_trajectories[name])


def test_talks_only_runs_keep_positions(tmp_path):
    loaded = sim.import_file(ROOT / "tests/fixtures/ktab-smp-dummy/input.csv", tmp_path / "d.yaml", name="dummy")
    r = sim.run(loaded, replicates=3, keep_trajectories=True)
    k = r.replicate_trajectories
    steps = r.summary["rounds_run"]
    assert set(k) == {"positions", "proposal", "week", "actors", "issues"}
    assert k["positions"].shape == (steps + 1, 3, len(r.actors), len(r.issues))
    np.testing.assert_array_equal(np.median(k["positions"], axis=1), r.records["positions"][..., 3])


def test_refused_before_starting_when_too_big(backstop, monkeypatch):
    # enough for the ensemble, and for the trajectories of about half of it
    kept = runner.KEEP_WRITE_BYTES + runner.trajectory_bytes(backstop, N // 2, WEEKS)
    budget = runner.memory_needed(backstop, N, WEEKS) + kept
    monkeypatch.setattr(runner, "memory_budget", lambda: budget)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the ensemble started")

    monkeypatch.setattr(runner, "run_chunked", must_not_run)
    with pytest.raises(RunError, match="--keep-trajectories") as exc:
        sim.run(backstop, replicates=N, seed=4, weeks=WEEKS, keep_trajectories=True)
    fit = int(str(exc.value).split("use -n ")[1].split()[0].replace(",", ""))
    assert (
        runner.memory_needed(backstop, fit, WEEKS, True)
        <= budget
        < runner.memory_needed(backstop, fit + 1, WEEKS, True)
    )
    assert 0 < fit < N
    with pytest.raises(AssertionError, match="started"):  # without the flag it fits (and would start)
        sim.run(backstop, replicates=N, seed=4, weeks=WEEKS)


def test_cli_flag(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    args = ["run", scenario_path("reassurance_backstop"), "-n", 200, "--weeks", 12, "--seed", 3, "-q", "--no-plots"]
    code = main([str(a) for a in [*args, "--keep-trajectories", "--out", out]])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert FILE in stdout
    with np.load(out / FILE) as z:
        assert z["positions"].shape == (13, 200, 4, 5) and z["state"].dtype == np.int8
    assert main(["verify", "--rerun", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    # too big for the budget: refused before any work, no folder written
    loaded = sim.load(args[1])
    budget = runner.memory_needed(loaded, 200, 12) + runner.KEEP_WRITE_BYTES + runner.trajectory_bytes(loaded, 100, 12)
    monkeypatch.setattr(runner, "memory_budget", lambda: budget)
    code = main([str(a) for a in [*args, "--keep-trajectories", "--out", tmp_path / "big"]])
    err = capsys.readouterr().err
    assert code != 0 and "--keep-trajectories" in err
    fit = int(err.split("use -n ")[1].split()[0].replace(",", ""))
    assert 100 <= fit < 200 and runner.memory_needed(loaded, fit, 12, keep_trajectories=True) <= budget
    assert not (tmp_path / "big").exists()
