"""What an ensemble run produces: :class:`RunResult` (plain data) and its typed :class:`Summary`.

``RunResult.summary`` is the ``summary.json`` mapping the runner writes; :class:`Summary` is the
same with typed fields, which every reader (output files, plots, the CLI, the notebook face) uses.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sim.scenario.loader import LoadedScenario

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class Interval(NamedTuple):
    """A 95% interval (or range) ``(lo, hi)``; either end is None when undefined."""

    lo: float | None
    hi: float | None


def _interval(pair: Sequence[float | None] | None) -> Interval | None:
    if pair is None:
        return None
    lo, hi = pair
    return Interval(lo, hi)


@dataclass(frozen=True)
class ActorCosts:
    """Mean cumulative cost of one actor per replicate, with the 2.5-97.5% range over replicates.

    Attributes:
        spending_bn: Spending on aid and deployments ($bn).
        spending_bn_95: Its 95% range over replicates.
        losses_index: Losses from fighting (1 = one week of fighting at an even balance).
        losses_index_95: Its 95% range over replicates.
    """

    spending_bn: float | None
    spending_bn_95: Interval | None
    losses_index: float | None
    losses_index_95: Interval | None


@dataclass(frozen=True)
class Summary:
    """A run's summary (``summary.json``) with typed fields; see :attr:`definitions` for their meaning.

    War runs fill the ceasefire fields; talks-only runs (``talks_only``) fill :attr:`forecast` and
    :attr:`rounds_run` and leave the ceasefire fields None and the mappings empty.

    Attributes:
        scenario, title, protocol: What was run.
        replicates, seed, weeks: Ensemble settings.
        talks_only: True for a scenario without a war.
        p_ceasefire: Share of replicates with a ceasefire within the horizon; ``p_ceasefire_95`` its Wilson interval.
        median_weeks_to_ceasefire: Median week of the first ceasefire; ``weeks_to_ceasefire_iqr`` its IQR.
        ceasefire_survival_52w: Kaplan-Meier probability that a first ceasefire lasts 52 weeks; ``..._95`` its band.
        p_collapse_within_horizon: Share of first ceasefires that end in renewed war within the horizon.
        p_ceasefire_at_horizon: Share of replicates in a holding ceasefire at the last week.
        p_at_war_after_collapse_at_horizon: Share at war again after a collapse at the last week.
        outcome_shares: Class of the first agreement (or ``no_agreement``) → share; ``outcome_shares_95`` intervals.
        costs: Actor id → :class:`ActorCosts`.
        forecast: The protocol's forecast per issue, by kind (``mean``, ``median``, ``mode``).
        rounds_run: Talks only: rounds run (fewer than ``weeks`` when the protocol's stop rule fired).
        stopped_early: Talks only: the protocol's stop rule ended the talks before ``weeks`` rounds.
        protocol_params: Talks only: the protocol's parameters as given in the scenario.
        forecast_by_round: Talks only: the forecast after each round, kind → one mapping issue → value per round.
        definitions: What each field means, as in ``summary.json``.
    """

    scenario: str
    title: str
    protocol: str
    replicates: int
    seed: int
    weeks: int
    talks_only: bool = False
    p_ceasefire: float | None = None
    p_ceasefire_95: Interval | None = None
    median_weeks_to_ceasefire: float | None = None
    weeks_to_ceasefire_iqr: Interval | None = None
    ceasefire_survival_52w: float | None = None
    ceasefire_survival_52w_95: Interval | None = None
    p_collapse_within_horizon: float | None = None
    p_collapse_within_horizon_95: Interval | None = None
    p_ceasefire_at_horizon: float | None = None
    p_at_war_after_collapse_at_horizon: float | None = None
    outcome_shares: Mapping[str, float] = field(default_factory=dict)
    outcome_shares_95: Mapping[str, Interval] = field(default_factory=dict)
    costs: Mapping[str, ActorCosts] = field(default_factory=dict)
    forecast: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    rounds_run: int | None = None
    stopped_early: bool = False
    protocol_params: Mapping[str, Any] = field(default_factory=dict)
    forecast_by_round: Mapping[str, Sequence[Mapping[str, float | None]]] = field(default_factory=dict, repr=False)
    definitions: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, s: Mapping[str, Any]) -> Summary:
        """Build from a ``summary.json`` mapping (as in :attr:`RunResult.summary`)."""
        talks = "p_ceasefire" not in s
        common = {
            "scenario": s["scenario"],
            "title": s.get("title") or "",
            "protocol": s.get("protocol") or "",
            "replicates": int(s["replicates"]),
            "seed": int(s["seed"]),
            "weeks": int(s["weeks"]),
            "talks_only": talks,
            "forecast": {k: dict(v) for k, v in (s.get("forecast") or {}).items()},
            "definitions": dict(s.get("definitions") or {}),
        }
        if talks:
            return cls(
                **common,
                rounds_run=s.get("rounds_run"),
                stopped_early=bool(s.get("stopped_early", False)),
                protocol_params=dict(s.get("protocol_params") or {}),
                forecast_by_round={k: [dict(r) for r in v] for k, v in (s.get("forecast_by_round") or {}).items()},
            )
        return cls(
            **common,
            p_ceasefire=s["p_ceasefire"],
            p_ceasefire_95=_interval(s["p_ceasefire_95"]),
            median_weeks_to_ceasefire=s["median_weeks_to_ceasefire"],
            weeks_to_ceasefire_iqr=_interval(s["weeks_to_ceasefire_iqr"]),
            ceasefire_survival_52w=s["ceasefire_survival_52w"],
            ceasefire_survival_52w_95=_interval(s["ceasefire_survival_52w_95"]),
            p_collapse_within_horizon=s["p_collapse_within_horizon"],
            p_collapse_within_horizon_95=_interval(s["p_collapse_within_horizon_95"]),
            p_ceasefire_at_horizon=s["p_ceasefire_at_horizon"],
            p_at_war_after_collapse_at_horizon=s["p_at_war_after_collapse_at_horizon"],
            outcome_shares=dict(s["outcome_shares"]),
            outcome_shares_95={k: _interval(v) for k, v in s["outcome_shares_95"].items()},
            costs={
                aid: ActorCosts(
                    c["spending_bn"],
                    _interval(c["spending_bn_95"]),
                    c["losses_index"],
                    _interval(c["losses_index_95"]),
                )
                for aid, c in s["costs"].items()
            },
        )


TRAJECTORIES_FILE = "replicate_trajectories.npz"
"""The file ``--keep-trajectories`` adds to a run folder."""
TRAJECTORY_MEANING = {
    "state": "0 at war (no ceasefire yet), 1 in a ceasefire, 2 at war again after a collapse",
    "balance": "battlefield balance: side a's share of military standing, 0.01..0.99",
    "positions": "each actor's bargaining position per issue, in the issue's scale units",
    "proposal": "the text on the table per issue, in the issue's scale units",
    "spending_bn": "cumulative spending per actor since week 0, $bn",
    "losses_index": "cumulative losses per actor (1 = one week of fighting at an even balance)",
    "accepts": "each actor's vote on that week's text: 1 accepts, 0 rejects, -1 not in talks",
    "week": "week of each first-axis index (0: before the first week; a round in talks-only runs)",
    "actors": "actor ids, the order of the actor axis",
    "issues": "issue ids, the order of the issue axis",
}
"""What each array of ``replicate_trajectories.npz`` holds; arrays are indexed ``[week, replicate, ...]``."""


@dataclass(repr=False)  # repr: one line, not every array
class RunResult:
    """An ensemble's outputs: plain data (the notebook face, :mod:`sim.api`, adds plots and views).

    Attributes:
        scenario: The scenario that was run.
        replicates, seed, weeks: Ensemble settings.
        summary: The ``summary.json`` content.
        outcomes: Per-replicate columns (``outcomes.csv``), name → array.
        trajectories: Per-week rows (``trajectories.csv``), as lists of column values.
        survival: Kaplan-Meier curve of the first ceasefire ``(weeks, S, lower, upper)``.
        elapsed_s: Model time in seconds.
        actors, issues: Ids in scenario order.
    """

    scenario: LoadedScenario
    replicates: int
    seed: int
    weeks: int
    summary: dict
    outcomes: dict[str, np.ndarray]
    trajectory_columns: list[str]
    trajectories: list[list]
    survival: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    elapsed_s: float
    actors: list[str]
    issues: list[str]
    records: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    positions_rows: list[list] = field(repr=False, default_factory=list)
    replicate_trajectories: dict[str, np.ndarray] | None = field(repr=False, default=None)
    """Every replicate's weekly state with ``keep_trajectories=True`` (see :data:`TRAJECTORY_MEANING`), else None."""

    @property
    def talks_only(self) -> bool:
        """True for a scenario without a war (the established models on their own)."""
        return self.scenario.spec.war is None

    @property
    def name(self) -> str:
        """The scenario's short name."""
        return self.scenario.name

    @property
    def steps_label(self) -> str:
        """How long the run went: ``"104 weeks"``, or ``"10 rounds"`` for talks only (rounds actually run)."""
        if self.talks_only:
            return f"{self.summary_info.rounds_run} rounds"
        return f"{self.weeks} weeks"

    def caption(self, each: bool = False) -> str:
        """The ensemble caption of tables and plots: ``"2,000 replicates, seed 1, 104 weeks"`` (see :func:`caption`)."""
        return caption(self.replicates, self.seed, self.steps_label, each=each)

    @functools.cached_property
    def summary_info(self) -> Summary:
        """The summary as a frozen :class:`Summary` with typed fields (``summary`` stays the ``summary.json`` dict)."""
        return Summary.from_dict(self.summary)

    @property
    def outcomes_df(self) -> pd.DataFrame:
        """``outcomes.csv`` as a DataFrame: one row per replicate (empty for talks-only runs)."""
        import pandas as pd  # deferred: pandas loads on first use

        return pd.DataFrame({k: v for k, v in self.outcomes.items()})

    @property
    def trajectories_df(self) -> pd.DataFrame:
        """``trajectories.csv`` as a DataFrame: week, quantity, actor, issue, mean and quantiles."""
        import pandas as pd  # deferred: pandas loads on first use

        return pd.DataFrame(self.trajectories, columns=self.trajectory_columns)

    @property
    def positions_df(self) -> pd.DataFrame:
        """``positions.csv`` as a DataFrame: step, actor, issue, median position."""
        import pandas as pd  # deferred: pandas loads on first use

        return pd.DataFrame(self.positions_rows, columns=["step", "actor", "issue", "position"])

    def __repr__(self) -> str:
        return run_line(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text view: one line, not the dataclass's full field dump."""
        p.text(run_line(self))


def caption(replicates: int, seed: int, steps: str, *, each: bool = False) -> str:
    """The caption of an ensemble, one wording everywhere: ``"2,000 replicates, seed 1, 104 weeks"``.

    Args:
        replicates: Ensemble size.
        seed: Root seed.
        steps: The horizon as text, e.g. ``"104 weeks"`` or ``"10 rounds"``.
        each: Several ensembles of this size (``"2,000 replicates each, ..."``), as in comparisons.
    """
    noun = "replicate" if replicates == 1 else "replicates"
    return f"{replicates:,} {noun}{' each' if each else ''}, seed {seed}, {steps}"


def run_line(r: RunResult) -> str:
    """A run in one line: settings and its headline numbers."""
    s = r.summary_info
    head = f"<RunResult {r.name}: {r.caption()}, protocol {s.protocol}"
    if r.talks_only:
        return head + f", forecast {r.summary['forecast']}>"
    s52 = s.ceasefire_survival_52w
    return head + f": ceasefire {s.p_ceasefire:.1%}, holds 52 weeks {'n/a' if s52 is None else f'{s52:.1%}'}>"
