"""negsim sweep: designs, seeds, bad input, backends that agree, and resuming after a kill.

The Done-when of the sweep issue, as tests:
- the same sweep gives an identical table in-process, in the process pool and on a Dask LocalCluster;
- a sweep killed half-way (SIGKILL, and Ctrl-C) and re-run gives the same table as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ScenarioError
from sim.cli import main
from sim.errors import RunError
from sim.experiments import backends, metrics, sweep
from sim.experiments.plan import make_plan

from .conftest import ROOT, scenario_path

BACKSTOP = scenario_path("reassurance_backstop")
CRED = "actors.us.guarantees.reassurance_backstop.credibility"
RESOLVE = "actors.russia.resolve"
SMALL = [f"{CRED}=0:1:3", f"{RESOLVE}=0.5:0.9:2"]


def _plan(**kw):
    kw.setdefault("vary", SMALL)
    kw.setdefault("replicates", 60)
    kw.setdefault("weeks", 40)
    return make_plan(BACKSTOP, **kw)


def _quiet(msg: str) -> None:
    pass


# ----------------------------------------------------------------------------- designs and seeds


def test_grid_is_full_factorial_first_factor_slowest():
    p = _plan()
    assert p.n_points == 6
    np.testing.assert_array_equal(p.X[:, 0], [0, 0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(p.X[:, 1], [0.5, 0.9] * 3)
    assert p.overrides(3) == {CRED: 0.5, RESOLVE: 0.9}


def test_design_sizes_follow_salib():
    vary = [f"{CRED}=0:1", f"{RESOLVE}=0.5:1", "deterrence.guarantee_weight=2:8"]
    k = len(vary)
    assert _plan(vary=vary, design="sobol", samples=8).n_points == 8 * (2 * k + 2)
    assert _plan(vary=vary, design="morris", samples=5).n_points == 5 * (k + 1)
    lhs = _plan(vary=vary, design="lhs", samples=10)
    assert lhs.n_points == 10
    # a Latin hypercube: one point in each of the 10 strata of every factor
    for j, f in enumerate(lhs.factors):
        strata = np.floor((lhs.X[:, j] - f.lo) / (f.hi - f.lo) * 10).clip(0, 9)
        assert sorted(strata) == list(range(10))


def test_design_and_seeds_depend_only_on_the_root_seed():
    a = _plan(design="lhs", vary=[f"{CRED}=0:1", f"{RESOLVE}=0.5:1"], samples=12, seed=5)
    b = _plan(design="lhs", vary=[f"{CRED}=0:1", f"{RESOLVE}=0.5:1"], samples=12, seed=5)
    c = _plan(design="lhs", vary=[f"{CRED}=0:1", f"{RESOLVE}=0.5:1"], samples=12, seed=6)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    assert a.key == b.key != c.key
    assert not np.array_equal(a.X, c.X)
    assert len(set(a.seeds.tolist())) == a.n_points  # per-point seeds are distinct
    common = _plan(seeding="common", seed=5)
    assert set(common.seeds.tolist()) == {5}


def test_integer_parameter_is_detected_and_rounded():
    p = _plan(vary=["negotiation.renegotiation_delay_weeks=2:12"], design="lhs", samples=7)
    f = p.factors[0]
    assert f.integer and f.baseline == 8
    assert all(float(v).is_integer() for v in p.X[:, 0])
    assert all(isinstance(v, int) for v in (p.overrides(i)[f.name] for i in range(p.n_points)))


def test_distribution_parameter_is_fixed_per_point_and_said_so():
    p = _plan()
    f = {x.name: x for x in p.factors}
    assert f[CRED].baseline == 0.6 and f[CRED].note == ""
    assert f[RESOLVE].baseline == pytest.approx((0.6 + 0.8 + 0.95) / 3)  # the mean of triangular(0.6, 0.8, 0.95)
    assert "triangular" in f[RESOLVE].note and f[RESOLVE].as_dict()["baseline_is_mean"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kw", "expect"),
    [
        ({"vary": ["actors.russia.resolv=0:1"]}, "no such parameter"),
        ({"vary": ["actors.russia.resolv=0:1"]}, "actors.russia.resolve"),  # suggested
        ({"vary": ["actors.nobody.resolve=0:1"]}, "no such parameter"),
        ({"vary": [f"{RESOLVE}=0.9:0.5"]}, "LO must be below HI"),
        ({"vary": [f"{RESOLVE}=0.5:1.5"]}, "1.5 is not a legal value"),
        ({"vary": ["negotiation.protocol.name=0:1"]}, "not a number"),
        ({"vary": ["actors.us.veto=0:1"]}, "not a number"),
        ({"vary": ["title=0:1"]}, "not a number"),
        ({"vary": ["settings.weeks=10:20"]}, "--replicates, --seed and --weeks"),
        ({"vary": [f"{RESOLVE}=a:b"]}, "not numbers"),
        ({"vary": [f"{RESOLVE}0.5:1"]}, "PATH=LO:HI"),
        ({"vary": [f"{RESOLVE}=0.5:1", f"{RESOLVE}=0.6:1"]}, "varied twice"),
        ({"vary": [f"{CRED}=0:1", f"{RESOLVE}=0.5:1"], "design": "sobol", "samples": 100}, "power of two"),
        ({"vary": [f"{CRED}=0:1", f"{RESOLVE}=0.5:1"], "design": "sobol", "samples": 100}, "64 or 128"),
        ({"vary": [f"{CRED}=0:1"], "design": "sobol", "samples": 64}, "at least 2 varied parameters"),
        ({"vary": [f"{CRED}=0:1:5"], "design": "lhs"}, "grid design only"),
        ({"vary": [f"{CRED}=0:1:5"], "samples": 10}, "not --samples"),
        ({"metrics": ["p_peace"]}, "unknown metric 'p_peace'"),
        ({"metrics": ["p_durable_ceasefire"]}, "--weeks 156"),
        ({"discover": "p_ceasefire >> 0.5"}, "p_ceasefire"),
        ({"discover": "p_peace >= 0.5"}, "p_peace"),
    ],
)
def test_bad_input_is_refused_before_any_work(kw, expect, tmp_path):
    with pytest.raises(ScenarioError) as info:
        _plan(**kw)
    assert expect in info.value.message
    assert not (tmp_path / "runs").exists()


def test_bad_input_on_the_command_line_is_one_clear_line(tmp_path, capsys):
    rc = main(["sweep", str(BACKSTOP), "--vary", f"{RESOLVE}=0.9:0.5", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("negsim: error: --vary") and "LO must be below HI" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_unreachable_scheduler_is_refused_before_any_work(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(backends, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(RunError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        sweep.run_sweep(_plan(), tmp_path / "s", backend="dask", scheduler="tcp://127.0.0.1:9", log=_quiet)
    assert not (tmp_path / "s").exists()
    with pytest.raises(RunError, match="expected 'local' or an address"):
        sweep.run_sweep(_plan(), tmp_path / "s", backend="dask", scheduler="my-cluster", log=_quiet)


def test_broken_sweep_file_names_file_line_and_key(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        f"sweep:\n  scenario: {BACKSTOP}\n  design: grid\n  factors:\n    {RESOLVE}: {{bounds: [0.9, 0.5]}}\n"
        "  replicates: 0\n"
    )
    with pytest.raises(ScenarioError) as info:
        make_plan(f)
    e = info.value  # every problem is listed; the first with its line
    assert e.file == str(f) and e.line == 6 and e.path == "sweep.replicates" and "greater than or equal to 1" in str(e)
    assert "bounds: the lower bound must be below the upper" in e.message and f"{f}:5" in e.message
    f.write_text(f"sweep:\n  scenario: {BACKSTOP}\n  desing: grid\n")
    with pytest.raises(ScenarioError) as info:
        make_plan(f)
    assert info.value.line == 3 and "unknown key 'desing'" in info.value.message and "design" in info.value.message
    f.write_text("sweep:\n  scenario: nowhere.yaml\n")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        make_plan(f)


def test_folder_of_another_sweep_is_never_overwritten(tmp_path):
    out = tmp_path / "s"
    sweep.run_sweep(_plan(), out, backend="serial", plots=False, log=_quiet)
    before = (out / "results.csv").read_bytes()
    with pytest.raises(RunError, match="holds a different sweep"):
        sweep.run_sweep(_plan(seed=99), out, backend="serial", plots=False, log=_quiet)
    assert (out / "results.csv").read_bytes() == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty"):
        sweep.run_sweep(_plan(), other, backend="serial", plots=False, log=_quiet)


# ----------------------------------------------------------------------------- the table


def test_table_is_inputs_by_metrics_and_matches_single_runs(tmp_path):
    import sim

    p = _plan()
    res = sweep.run_sweep(p, tmp_path / "s", backend="serial", plots=False, log=_quiet)
    t = pd.read_csv(tmp_path / "s" / "results.csv")
    assert list(t.columns[:4]) == ["point", "seed", CRED, RESOLVE]
    assert len(t) == p.n_points and res.complete
    # every row is exactly the ensemble `negsim run --set ... --seed SEED` gives
    for i in (0, 5):
        r = sim.run(BACKSTOP, replicates=60, weeks=40, seed=int(p.seeds[i]), set=p.overrides(i))
        assert t.loc[i, "p_ceasefire"] == r.summary["p_ceasefire"]
        assert t.loc[i, "p_ceasefire_at_horizon"] == r.summary["p_ceasefire_at_horizon"]
        assert t.loc[i, "spending_bn_us"] == r.summary["costs"]["us"]["spending_bn"]
    shares = t[[c for c in t.columns if c.startswith("share_")]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0, atol=1e-5)
    assert ((t.p_ceasefire_lo <= t.p_ceasefire) & (t.p_ceasefire <= t.p_ceasefire_hi)).all()
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["complete"] and "results.csv" in manifest["outputs_sha256"]


def test_durable_ceasefire_metric_counts_replicates_exactly():
    import sim

    r = sim.run(BACKSTOP, replicates=300, weeks=160, seed=3)
    m = metrics.point_metrics(r, (52, 104))
    o = r.outcomes
    cf, col = o["first_ceasefire_week"], o["collapse_week"]
    by_hand = sum(
        1
        for a, c in zip(cf, col, strict=True)
        if 0 <= a < 52 and (c < 0 or c - a > 104)  # agreed in year one; no collapse in the 104 weeks after
    )
    assert m["p_durable_ceasefire"] == round(by_hand / 300, 6)
    assert m["p_durable_ceasefire_lo"] <= m["p_durable_ceasefire"] <= m["p_durable_ceasefire_hi"]
    assert "p_durable_ceasefire" not in metrics.point_metrics(sim.run(BACKSTOP, replicates=20, weeks=100, seed=3))


def test_sweep_block_in_a_scenario_and_a_sweep_file_give_the_same_plan(tmp_path):
    text = BACKSTOP.read_text()
    scen = tmp_path / "with_sweep.yaml"
    scen.write_text(
        text.replace("extends: baseline.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}")
        + f"sweep:\n  replicates: 60\n  weeks: 40\n  factors:\n    {CRED}: {{bounds: [0, 1], steps: 3}}\n"
        f"    {RESOLVE}: {{bounds: [0.5, 0.9], steps: 2}}\n"
    )
    a = make_plan(scen)
    sf = tmp_path / "s.yaml"
    sf.write_text(
        f"sweep:\n  scenario: {BACKSTOP}\n  replicates: 60\n  weeks: 40\n  names: [{CRED}, {RESOLVE}]\n"
        "  bounds: [[0, 1], [0.5, 0.9]]\n  design: lhs\n  samples: 6\n"
    )
    b = make_plan(sf)
    c = _plan()
    np.testing.assert_array_equal(a.X, c.X)
    assert (a.replicates, a.weeks) == (c.replicates, c.weeks)
    assert b.design == "lhs" and b.n_points == 6 and [f.name for f in b.factors] == [CRED, RESOLVE]
    # the command line overrides the file
    assert make_plan(sf, replicates=7).replicates == 7


def test_bundled_sweep_files_are_valid():
    files = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        p = make_plan(f)
        assert p.n_points >= 100
    sobol = make_plan(ROOT / "scenarios" / "sweeps" / "backstop_sobol.yaml")
    assert sobol.n_points == 3584 and len(sobol.factors) == 6


# ----------------------------------------------------------------------------- backends agree


def test_same_table_in_process_in_the_pool_and_on_a_dask_local_cluster(tmp_path):
    pytest.importorskip("dask.distributed")
    p = _plan(vary=[f"{CRED}=0:1:3", f"{RESOLVE}=0.5:0.9:3"])
    tables = {}
    for backend in ("serial", "pool", "dask"):
        out = tmp_path / backend
        res = sweep.run_sweep(p, out, backend=backend, workers=2, scheduler=None, plots=False, log=_quiet)
        assert res.complete and res.ran == p.n_points
        tables[backend] = (out / "results.csv").read_bytes()
    assert tables["serial"] == tables["pool"] == tables["dask"]


def test_a_worker_killed_mid_sweep_is_replaced(tmp_path, monkeypatch):
    """A pool worker that dies (here: os._exit in the worker on one point) costs a pool restart, not the sweep."""
    p = _plan(vary=[f"{CRED}=0:1:4", f"{RESOLVE}=0.5:0.9:2"])
    ref = sweep.run_sweep(p, tmp_path / "ref", backend="serial", plots=False, log=_quiet)
    marker = tmp_path / "die-once"
    marker.write_text("")
    monkeypatch.setenv("NEGSIM_TEST_DIE_ONCE", str(marker))
    notes = []
    res = sweep.run_sweep(p, tmp_path / "s", backend="pool", workers=2, plots=False, log=notes.append)
    assert res.complete and not marker.exists()
    assert any("worker process died" in n for n in notes)
    assert (tmp_path / "s" / "results.csv").read_bytes() == (ref.folder / "results.csv").read_bytes()


# ----------------------------------------------------------------------------- resuming


def _sweep_cmd(out: Path, backend: str = "pool") -> list[str]:
    return [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(BACKSTOP),
        "--vary",
        f"{CRED}=0:1:6",
        "--vary",
        f"{RESOLVE}=0.5:0.9:4",
        "-n",
        "150",
        "--weeks",
        "60",
        "--backend",
        backend,
        "--workers",
        "2",
        "--no-plots",
        "-q",
        "--out",
        str(out),
    ]


def _wait_for_points(log: Path, k: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if log.exists():
            n = log.read_bytes().count(b"\n")
            if n >= k:
                return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the sweep made no progress")


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGKILL are POSIX-only")
def test_killed_sweep_resumes_to_the_same_table_as_an_uninterrupted_run(tmp_path):
    ref = tmp_path / "ref"
    done = subprocess.run(_sweep_cmd(ref, "serial"), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(_sweep_cmd(out), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    n = _wait_for_points(out / "points.jsonl", 8, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers: no cleanup code runs
    proc.communicate()
    assert 8 <= n < 24
    # a kill in the middle of a write leaves a partial last line: the resume drops it
    with open(out / "points.jsonl", "ab") as fh:
        fh.write(b'{"point": 23, "metr')
    again = subprocess.run(_sweep_cmd(out), capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "resumed from the folder" in again.stdout
    ran_now = int(again.stdout.split("point(s) run now")[0].split()[-1])
    assert ran_now <= 24 - 8
    assert (out / "results.csv").read_bytes() == (ref / "results.csv").read_bytes()
    lines = (out / "points.jsonl").read_bytes().splitlines()
    assert sorted(json.loads(x)["point"] for x in lines) == list(range(24))  # each point exactly once


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery as from a terminal is POSIX-only")
def test_ctrl_c_saves_finished_points_and_says_how_to_resume(tmp_path):
    ref = tmp_path / "ref"
    assert subprocess.run(_sweep_cmd(ref, "serial"), capture_output=True, check=False).returncode == 0
    out = tmp_path / "s"
    proc = subprocess.Popen(
        _sweep_cmd(out), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_points(out / "points.jsonl", 5, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Re-run the same command to resume" in err and "Traceback" not in err
    partial = pd.read_csv(out / "results.csv")
    assert 5 <= len(partial) < 24
    again = subprocess.run(_sweep_cmd(out), capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert (out / "results.csv").read_bytes() == (ref / "results.csv").read_bytes()


def test_finished_sweep_rerun_does_no_work_and_changes_nothing(tmp_path):
    p = _plan()
    out = tmp_path / "s"
    sweep.run_sweep(p, out, backend="serial", plots=False, log=_quiet)
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    res = sweep.run_sweep(_plan(), out, backend="serial", plots=False, log=_quiet)
    assert res.ran == 0 and res.complete
    after = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    assert before == after


def test_second_sweep_into_a_running_folder_is_refused(tmp_path):
    p = _plan()
    out = tmp_path / "s"
    sweep.run_sweep(p, out, backend="serial", plots=False, log=_quiet)
    with sweep._Lock(out):
        with pytest.raises(RunError, match="another negsim sweep is running"):
            sweep.run_sweep(p, out, backend="serial", plots=False, log=_quiet)


def test_address_that_is_not_a_dask_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    """Something listens at the address but does not speak Dask (here: a server that sends garbage)."""
    pytest.importorskip("dask.distributed")
    import socket
    import threading

    monkeypatch.setattr(backends, "DASK_CONNECT_TIMEOUT", "2s")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"\xff" * 64)

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(RunError, match=f"127.0.0.1:{port}"):
            sweep.run_sweep(_plan(), tmp_path / "s", backend="dask", scheduler=f"tcp://127.0.0.1:{port}", log=_quiet)
    finally:
        srv.close()
    assert not (tmp_path / "s").exists()


def test_sweep_schema_is_current_and_validates_the_bundled_sweep_files(capsys):
    import jsonschema
    import yaml

    from sim.scenario.sweepspec import sweep_json_schema

    assert main(["schema", "--sweep"]) == 0
    emitted = json.loads(capsys.readouterr().out)
    assert emitted == sweep_json_schema()
    committed = json.loads((ROOT / "scenarios" / "sweeps" / "sweep.schema.json").read_text())
    assert committed == emitted, "run `negsim schema --sweep -o scenarios/sweeps/sweep.schema.json`"
    validator = jsonschema.Draft202012Validator(emitted)
    for f in sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml")):
        text = f.read_text()
        assert text.splitlines()[0] == "# yaml-language-server: $schema=sweep.schema.json"
        assert not list(validator.iter_errors(yaml.safe_load(text))), f
    bad = yaml.safe_load((ROOT / "scenarios" / "sweeps" / "backstop_heatmap.yaml").read_text())
    bad["sweep"]["desing"] = "grid"
    assert any("desing" in e.message for e in validator.iter_errors(bad))
