"""Property tests: randomly generated valid scenarios run without NaN and keep the model's invariants.

A hypothesis strategy builds a scenario dict from scratch: 1 to 20 actors, 1 to 10 issues with 2 to
5 labelled points, and extreme but legal values (zero capability, every actor at one point, all
salience on one issue or none at all, resolve 0 and 1, risk attitudes -1 and 1, degenerate
distributions such as ``{uniform: [x, x]}`` and ``{normal: [m, 0]}``, red lines, leverage,
guarantees, a war with two distinct sides and an aid issue, deterrence, outcome classes for every
point). Each is written to YAML, loaded and run small (50 replicates x 30 weeks); then:

- no NaN or inf in the summary (``null`` only where documented: no ceasefire, no 52 weeks);
- outcome shares in [0, 1] summing to 1; state shares summing to 1;
- positions and proposals (every recorded quantile) inside their issue's scale;
- the Kaplan-Meier curve non-increasing in [0, 1], its interval around it;
- costs non-negative and non-decreasing over time.

With one actor (no war possible), and one time in twenty otherwise, the scenario is talks only:
positions and the protocol's forecasts must stay inside their scales. The number of examples scales
with ``NEGSIM_FUZZ_SCALE`` (default 1).
"""

from __future__ import annotations

import collections
import math
import os
import signal
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import sim
from sim.scenario import OUTCOME_CLASSES

SCALE = float(os.environ.get("NEGSIM_FUZZ_SCALE", "1"))
RUNS: collections.Counter = collections.Counter()
NULLABLE = {
    "median_weeks_to_ceasefire",
    "weeks_to_ceasefire_iqr",
    "ceasefire_survival_52w",
    "ceasefire_survival_52w_95",
    "p_collapse_within_horizon",
    "p_collapse_within_horizon_95",
}
"""Summary keys documented as null when there is nothing to measure (no ceasefire, horizon under 52 weeks)."""

PROTOCOLS = ["mediated_single_text", "compromise"]


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float = 10):
    """Fail (rather than hang) when the body runs longer than ``seconds`` (POSIX main thread only)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield
        return

    def _alarm(signum, frame):
        raise Hang(f"a case ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------------- strategies


def _floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def param(draw, lo: float, hi: float, bounded: bool = True):
    """A legal value for a parameter on ``[lo, hi]``: an end, a number, or a (possibly degenerate) distribution."""
    ends = st.sampled_from([lo, hi, lo + (hi - lo) / 2])
    x = draw(st.one_of(ends, _floats(lo, hi)))
    kind = draw(
        st.sampled_from(
            ["number", "number", "number", "uniform_point", "uniform", "normal0", "normal", "tri", "tri_point", "beta"]
        )
    )
    if kind == "number":
        return x
    if kind == "uniform_point":
        return {"uniform": [x, x]}
    if kind == "uniform":
        y = draw(st.one_of(ends, _floats(lo, hi)))
        return {"uniform": sorted([x, y])}
    if kind == "normal0":
        return {"normal": [x, 0]}
    if kind == "normal":
        return {"normal": [x, draw(st.sampled_from([1e-9, 0.1, 1.0, 1e3, 1e9]))]}
    if kind == "tri_point":
        return {"triangular": [x, x, x]}
    if kind == "tri":
        pts = sorted([x, draw(_floats(lo, hi)), draw(_floats(lo, hi))])
        return {"triangular": pts}
    if bounded:
        return {"beta": [draw(st.sampled_from([1e-3, 0.5, 1.0, 7.0, 1e3])) for _ in range(2)]}
    return x


@st.composite
def scales(draw):
    """2..5 labelled points: small integers, arbitrary floats, a tiny span or a huge one."""
    kind = draw(st.sampled_from(["ints", "ints", "unit", "floats", "tiny", "huge"]))
    k = draw(st.integers(2, 5))
    if kind == "ints":
        start = draw(st.integers(-5, 5))
        pts = [float(start + i) for i in range(k)]
    elif kind == "unit":
        pts = [i / (k - 1) for i in range(k)]
    elif kind == "floats":
        pts = sorted(draw(st.lists(_floats(-1e6, 1e6), min_size=k, max_size=k, unique=True)))
    elif kind == "tiny":
        pts = [i * 1e-9 for i in range(k)]
    else:
        pts = [-1e300 + i * 5e299 for i in range(k)]
    assume(len(set(pts)) == len(pts))
    return pts


ID_STYLES = [
    lambda k: f"a{k}",
    lambda k: f"actor_{k}",
    lambda k: f"акт{k}",
    lambda k: f"国{k}",
    lambda k: f"{k}",
]


@st.composite
def scenarios(draw):
    """A valid scenario dict, built from scratch."""
    n_actors = draw(st.one_of(st.integers(1, 6), st.integers(1, 20)))  # large ones are slow: fewer of them
    n_issues = draw(st.one_of(st.integers(1, 4), st.integers(1, 10)))
    astyle, istyle = draw(st.sampled_from(ID_STYLES)), draw(st.sampled_from(ID_STYLES))
    actors = [astyle(k) for k in range(n_actors)]
    issues = [f"i_{istyle(k)}" for k in range(n_issues)]
    flags = {
        "zero_capability": draw(st.booleans()) and draw(st.booleans()),
        "one_point": draw(st.booleans()) and draw(st.booleans()),
        "fragile": draw(st.booleans()) and draw(st.booleans()),  # no deterrent: ceasefires collapse
        "one_issue": draw(st.booleans()) and draw(st.booleans()),
        "zero_salience": draw(st.booleans()) and draw(st.booleans()),
    }
    war = n_actors >= 2 and draw(st.integers(0, 19)) > 0

    pts_of = {iid: draw(scales()) for iid in issues}
    aid_issue = draw(st.sampled_from(issues))
    if pts_of[aid_issue][0] < 0 or pts_of[aid_issue][-1] > 1e6:  # an aid level is a multiple, 0 .. 1e6
        pts_of[aid_issue] = [float(p) for p in range(draw(st.integers(2, 5)))]
    issue_data = {}
    for iid in issues:
        pts = pts_of[iid]
        issue_data[iid] = {
            "label": draw(st.sampled_from(["An issue", "Ünïcödé issue", "議題", ""])) or iid,
            "points": {p: draw(st.sampled_from(["low", "high", "mid", "点", "x"])) for p in pts},
            "discrete": draw(st.booleans()),
            "status_quo": draw(st.one_of(st.sampled_from(pts), _floats(pts[0], pts[-1]))),
            "decided_by_battle": draw(st.booleans()),
        }
    salient = draw(st.sampled_from(issues))

    def in_scale(iid: str):
        lo, hi = pts_of[iid][0], pts_of[iid][-1]
        return st.one_of(st.sampled_from(pts_of[iid]), param(lo, hi, bounded=False))

    common_ideal = {iid: draw(st.sampled_from(pts_of[iid])) for iid in issues}
    actor_data = {}
    for aid in actors:
        on = draw(st.lists(st.sampled_from(issues), min_size=1, max_size=n_issues, unique=True))
        positions = {}
        for iid in on:
            if flags["zero_salience"]:
                sal = 0.0
            elif flags["one_issue"]:
                sal = 1.0 if iid == salient else 0.0
            else:
                sal = draw(param(0.0, 1.0))
            pos = {"ideal": common_ideal[iid] if flags["one_point"] else draw(in_scale(iid)), "salience": sal}
            if draw(st.booleans()):
                pos["position"] = draw(in_scale(iid))
            positions[iid] = pos
        a = {
            "name": aid.upper(),
            "capability": 0.0 if flags["zero_capability"] else draw(param(0.0, 1.0)),
            "resolve": draw(st.one_of(st.sampled_from([0.0, 1.0]), param(0.0, 1.0))),
            "risk_attitude": draw(st.one_of(st.sampled_from([-1.0, 1.0, 0.0]), param(-1.0, 1.0))),
            "revisionism": 1.0 if flags["fragile"] else draw(param(0.0, 1.0)),
            "positions": positions,
            "veto": draw(st.lists(st.sampled_from(issues), max_size=3, unique=True)),
        }
        if draw(st.booleans()):
            a["weariness_reference_bn"] = draw(param(1e-6, 1e9))
        if draw(st.booleans()):
            a["weariness_reference_losses"] = draw(param(1e-6, 1e9))
        if draw(st.booleans()):
            red = {}
            for iid in draw(st.lists(st.sampled_from(issues), min_size=1, max_size=2, unique=True)):
                lo, hi = pts_of[iid][0], pts_of[iid][-1]
                rl = {}
                if draw(st.booleans()):
                    rl["min"] = draw(st.one_of(st.sampled_from(pts_of[iid]), _floats(lo, hi)))
                if draw(st.booleans()):
                    rl["max"] = draw(st.one_of(st.sampled_from(pts_of[iid]), _floats(lo, hi)))
                if draw(st.booleans()):
                    rl["exclude"] = draw(st.lists(st.sampled_from(pts_of[iid]), max_size=3))
                if draw(st.booleans()):
                    rl["breaks_at_pressure"] = draw(param(0.0, 1000.0))
                red[iid] = rl
            a["red_lines"] = red
        others = [b for b in actors if b != aid]
        if others and draw(st.booleans()):
            a["leverage"] = {
                b: draw(param(0.0, 10.0))
                for b in draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
            }
        if draw(st.booleans()):
            a["guarantees"] = {
                cls: {
                    "commitment": draw(param(0.0, 1.0)),
                    "credibility": draw(param(0.0, 1.0)),
                    "cost_bn_per_week": draw(param(0.0, 1000.0)),
                }
                for cls in draw(st.lists(st.sampled_from(OUTCOME_CLASSES), min_size=1, max_size=4, unique=True))
            }
        actor_data[aid] = a

    fixed_issues = draw(st.lists(st.sampled_from(issues), max_size=n_issues, unique=True))
    negotiation = {
        "protocol": {"name": draw(st.sampled_from(PROTOCOLS))},
        "fixed": {
            iid: draw(st.one_of(st.sampled_from(pts_of[iid]), _floats(pts_of[iid][0], pts_of[iid][-1])))
            for iid in fixed_issues
        },
        "concession_rate": draw(param(0.0, 1.0)),
        "outlook_weeks": draw(st.sampled_from([1, 26, 520])),
        "start_week": draw(st.sampled_from([0, 0, 5, 29, 40])),
        "renegotiation_delay_weeks": draw(st.sampled_from([0, 4, 100])),
    }
    if draw(st.booleans()):
        negotiation["protocol"]["mediator"] = draw(st.sampled_from(actors))
        negotiation["protocol"]["mediator_weight"] = draw(
            st.one_of(st.sampled_from([0.0, 1.0, 100.0]), _floats(0, 100))
        )
    data = {
        "schema_version": 1,
        "name": "generated",
        "description": "A scenario generated by the property tests.",
        "seeds": [],
        "issues": issue_data,
        "actors": actor_data,
        "negotiation": negotiation,
    }
    if war:
        sides = draw(st.lists(st.sampled_from(actors), min_size=2, max_size=2, unique=True))
        unit_issues = [i for i in issues if pts_of[i][0] >= 0 and pts_of[i][-1] <= 1]
        donors = draw(st.lists(st.sampled_from(actors), max_size=4, unique=True))
        for s in sides:
            actor_data[s].setdefault("weariness_reference_losses", draw(param(1e-6, 1e9)))
        for d in donors:
            actor_data[d].setdefault("weariness_reference_bn", draw(param(1e-6, 1e9)))
        w = {
            "sides": sides,
            "initial_balance": draw(param(0.01, 0.99)),
            "mean_reversion": draw(param(0.0, 1.0)),
            "volatility": draw(param(0.0, 2.0)),
            "aid_issue": aid_issue,
            "aid_effect": draw(param(0.0, 10.0)),
            "aid_bn_per_week": draw(param(0.0, 1000.0)),
            "donors": {d: draw(param(0.0, 1.0)) for d in donors},
            "losses_per_week": draw(param(0.0, 100.0)),
            "ceasefire_aid_fraction": draw(param(0.0, 1.0)),
        }
        if unit_issues and draw(st.booleans()):
            w["financing_issue"] = draw(st.sampled_from(unit_issues))
        oi = draw(st.sampled_from(issues))
        data["war"] = w
        data["deterrence"] = {
            "challenger": draw(st.sampled_from(actors)),
            "defender": draw(st.sampled_from(actors)),
            "base_hazard": 1.0 if flags["fragile"] else draw(st.one_of(st.sampled_from([0.0, 1.0]), param(0.0, 1.0))),
            "guarantee_weight": 0.0 if flags["fragile"] else draw(param(0.0, 100.0)),
            "self_defence_weight": 0.0 if flags["fragile"] else draw(param(0.0, 100.0)),
        }
        data["outcomes"] = {"issue": oi, "classes": {p: draw(st.sampled_from(OUTCOME_CLASSES)) for p in pts_of[oi]}}
    return data


# ----------------------------------------------------------------------------- invariants


def _scale(loaded) -> tuple[np.ndarray, np.ndarray]:
    issues = [loaded.spec.issues[i] for i in loaded.issue_ids]
    return np.array([i.lo for i in issues]), np.array([i.hi for i in issues])


SUMMARY_ROUNDING = 5e-7
"""summary.json rounds to 6 decimals, so a value at a scale end such as 0.0078125 is written 0.007812."""


def _inside(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, what: str, rounded: float = 0.0) -> None:
    """``values`` (..., I) within [lo, hi] per issue, allowing for rounding in scale ↔ unit conversions
    (and ``rounded``, the rounding of the file the values were read from)."""
    assert np.isfinite(values).all(), f"{what}: NaN or inf"
    tol = 1e-9 * (np.abs(lo) + np.abs(hi)) + 1e-12 + rounded
    assert (values >= lo - tol).all() and (values <= hi + tol).all(), f"{what}: outside the scale"


def _numbers(node, key: str = "") -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _numbers(v, str(k) if not key else f"{key}.{k}")]
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in _numbers(v, f"{key}.{i}")]
    return [(key, node)]


def check_summary_numbers(summary: dict) -> None:
    for key, v in _numbers({k: v for k, v in summary.items() if k != "definitions"}):
        top = key.split(".")[0]
        if v is None:
            assert top in NULLABLE, f"summary {key} is null (a NaN or inf in the model?)"
        elif isinstance(v, float):
            assert math.isfinite(v), f"summary {key} = {v}"


def check_run(r) -> list[str]:
    """Every invariant of a run's outputs (war scenarios and talks-only ones); returns labels for the counts."""
    loaded = r.scenario
    lo, hi = _scale(loaded)
    check_summary_numbers(r.summary)
    pos = r.records["positions"]  # (T+1, A, I, 6)
    _inside(pos, lo[None, None, :, None], hi[None, None, :, None], "positions")
    for key, by_issue in r.summary.get("forecast", {}).items():  # the protocol's forecast, both modes
        values = np.array([by_issue[i] for i in loaded.issue_ids], dtype=float)
        _inside(values, lo, hi, f"summary forecast {key}", rounded=SUMMARY_ROUNDING)
    if loaded.spec.war is None:
        for key, arr in r.records.get("forecast", {}).items():
            _inside(arr, lo[None, :], hi[None, :], f"forecast {key}")
        return ["talks only"]
    s = r.summary
    _inside(r.records["proposal"], lo[None, :, None], hi[None, :, None], "proposal")
    shares = s["outcome_shares"]
    assert all(0.0 <= v <= 1.0 for v in shares.values()), shares
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=1e-5), shares
    for name, (a, b) in s["outcome_shares_95"].items():
        assert 0.0 <= a <= shares[name] + 1e-6 and shares[name] - 1e-6 <= b <= 1.0, (name, a, b)
    for k in ("p_ceasefire", "p_ceasefire_at_horizon", "p_at_war_after_collapse_at_horizon"):
        assert 0.0 <= s[k] <= 1.0, (k, s[k])
    assert math.isclose(s["p_ceasefire"] + shares["no_agreement"], 1.0, abs_tol=1e-5)
    state = r.records["state"]
    assert np.isfinite(state).all() and (state >= 0).all() and (state <= 1).all()
    assert np.allclose(state.sum(axis=1), 1.0)
    bal = r.records["balance"]
    assert np.isfinite(bal).all() and (bal >= 0.01 - 1e-12).all() and (bal <= 0.99 + 1e-12).all()
    acc = r.records["accept"]
    assert np.all(np.isnan(acc) | ((acc >= 0) & (acc <= 1)))
    times, surv, s_lo, s_hi = r.survival
    assert np.isfinite(times).all() and np.all(np.diff(times) >= 0)
    assert np.isfinite(surv).all() and (surv >= 0).all() and (surv <= 1).all()
    assert np.all(np.diff(surv) <= 1e-12), "survival must not increase"
    assert np.all(s_lo <= surv + 1e-9) and np.all(surv <= s_hi + 1e-9)
    assert (s_lo >= 0).all() and (s_hi <= 1).all()
    for rec in ("spend", "losses"):
        c = r.records[rec]  # (T+1, A, 6): mean and quantiles of cumulative costs
        assert np.isfinite(c).all() and (c >= 0).all(), rec
        assert np.all(np.diff(c, axis=0) >= -1e-9 * (1 + np.abs(c[1:]))), f"{rec} must not decrease"
    for aid, cost in s["costs"].items():
        assert cost["spending_bn"] >= 0 and cost["losses_index"] >= 0, (aid, cost)
    o = r.outcomes
    for a in r.actors:
        assert (o[f"spending_bn_{a}"] >= 0).all() and (o[f"losses_{a}"] >= 0).all()
    cf = o["ceasefire"].astype(bool)
    for j, iid in enumerate(r.issues):
        agreed = o[f"agreed_{iid}"]
        assert np.isnan(agreed[~cf]).all()
        _inside(agreed[cf], lo[j], hi[j], f"agreed {iid}")
    return (
        ["war"]
        + ["war with a ceasefire"] * (s["p_ceasefire"] > 0)
        + ["war with a collapse"] * bool(s["p_collapse_within_horizon"])
    )


# ----------------------------------------------------------------------------- tests


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("props")


def write_and_load(folder: Path, data: dict):
    p = folder / "generated.yaml"
    p.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return sim.load(p)


@settings(
    max_examples=max(1, int(250 * SCALE)),
    deadline=timedelta(seconds=10),  # checked after each example; time_limit() catches a hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
@example(  # found by CI: a scale end with 7 decimals, written rounded in summary.json (the model is exact)
    data={
        "schema_version": 1,
        "name": "generated",
        "description": "A scenario generated by the property tests.",
        "seeds": [],
        "issues": {"i_a0": {"label": "An issue", "points": {0.0078125: "low", 1.0: "low"}, "status_quo": 0.0078125}},
        "actors": {
            "a0": {
                "name": "A0",
                "capability": 0.0,
                "resolve": 0.0,
                "risk_attitude": -1.0,
                "revisionism": 1.0,
                "positions": {"i_a0": {"ideal": 0.0078125, "salience": 1.0}},
            }
        },
        "negotiation": {"protocol": {"name": "mediated_single_text"}, "concession_rate": 0.0, "outlook_weeks": 1},
    },
    seed=0,
)
def test_generated_scenarios_run_clean(folder, data, seed):
    with time_limit(20):
        loaded = write_and_load(folder, data)  # a generated scenario is valid by construction
        r = sim.run(loaded, replicates=50, seed=seed, weeks=30)  # numpy's NaN/overflow warnings are errors here
    RUNS.update(["examples", *check_run(r)])


def small_war() -> dict:
    """Two sides, one issue: zero capability and salience, both actors at one point, the issue fixed."""
    return {
        "schema_version": 1,
        "description": "degenerate",
        "issues": {"x": {"label": "x", "points": {0: "a", 1: "b"}, "status_quo": 0, "discrete": True}},
        "actors": {
            k: {
                "name": k,
                "capability": 0.0,
                "resolve": {"uniform": [1, 1]},
                "risk_attitude": r,
                "weariness_reference_losses": 1e-6,
                "weariness_reference_bn": 1e9,
                "positions": {"x": {"ideal": {"normal": [0.5, 0]}, "salience": 0.0}},
            }
            for k, r in (("a", -1.0), ("b", 1.0))
        },
        "negotiation": {"fixed": {"x": 1}, "protocol": {"mediator": "a", "mediator_weight": 0}},
        "war": {
            "sides": ["a", "b"],
            "initial_balance": 0.01,
            "aid_issue": "x",
            "financing_issue": "x",
            "aid_effect": 0,
            "aid_bn_per_week": 0,
            "donors": {"a": 0.0},
        },
        "deterrence": {
            "challenger": "b",
            "defender": "a",
            "base_hazard": 1,
            "guarantee_weight": 0,
            "self_defence_weight": 0,
        },
        "outcomes": {"issue": "x", "classes": {0: "aid_only", 1: "nato_entry"}},
    }


def test_degenerate_everything(folder):
    """The corner of corners: zero capability and salience, every actor at one point, everything fixed."""
    r = sim.run(write_and_load(folder, small_war()), replicates=50, seed=1, weeks=30)
    check_run(r)


@pytest.mark.parametrize("points", [{-2: "repaid", 0: "none", 1: "full"}, {0: "none", 1e300: "everything"}])
def test_regression_aid_issue_scale(folder, points):
    """scenario._check_refs: a negative aid level made negative spending, a 1e300 one inf and NaN costs."""
    data = small_war()
    data["issues"]["aid"] = {"label": "aid", "points": points, "status_quo": min(points)}
    data["war"].update(aid_issue="aid", aid_bn_per_week=1000)
    data["actors"]["a"]["weariness_reference_bn"] = 1e-6
    data["war"]["donors"] = {"a": 1.0}
    with pytest.raises(sim.ScenarioError) as info:
        write_and_load(folder, data)
    assert info.value.path == "war.aid_issue" and "[0, 1e+06]" in info.value.message
    data["issues"]["aid"]["points"] = {0: "none", 1e6: "the most allowed"}
    data["issues"]["aid"]["status_quo"] = 1e6
    check_run(sim.run(write_and_load(folder, data), replicates=50, seed=1, weeks=30))


def test_report_run_counts(capsys):
    """Prints how many generated scenarios were run (shown with -rA, and always on the terminal)."""
    line = "property cases: " + ", ".join(f"{k}: {v}" for k, v in sorted(RUNS.items()))
    print(line)
    with capsys.disabled():
        print("\n" + line)
