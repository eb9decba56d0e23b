"""The notebook side of the Python API: typed summaries, DataFrames, plot accessors, comparisons.

:class:`~sim.runner.RunResult` gets these from :class:`ResultAPI`::

    import sim
    r = sim.run("scenarios/aid_only.yaml", replicates=2000, seed=1)
    r                            # in a notebook: a summary table
    r.summary_info.p_ceasefire   # typed fields (r.summary stays the summary.json dict)
    r.outcomes_df                # one row per replicate (outcomes.csv) as a DataFrame
    r.trajectories_df            # per week (trajectories.csv)
    r.plot.survival()            # matplotlib Figures from sim.plots
    r.report("aid_only.html")    # one self-contained HTML file

    c = sim.compare(["scenarios/nato_entry.yaml", "scenarios/aid_only.yaml"], replicates=2000)
    c.table                      # comparison.csv as a DataFrame
    c.plot.survival()

pandas and matplotlib are imported on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.errors import RunError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.runner import RunResult
    from sim.scenario import LoadedScenario


def show_figures_in_ipython() -> bool:
    """Let IPython draw matplotlib Figures as PNG, even without pyplot's inline backend.

    :mod:`sim.plots` builds Figures without pyplot (so it works headless), and IPython registers
    its Figure formatter only once pyplot is imported. In an IPython session where no formatter
    is registered yet, register the one pyplot's inline backend would (PNG, tight bounding box), so
    ``r.plot.survival()`` as the last line of a cell draws the plot. Called when :mod:`sim.api`
    is imported; does nothing outside IPython or when a formatter exists.

    Returns:
        True if a formatter was registered.
    """
    ipy = sys.modules.get("IPython")
    shell = getattr(ipy, "get_ipython", lambda: None)() if ipy is not None else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    png = formatters["image/png"]
    try:
        png.lookup_by_type("matplotlib.figure.Figure")
        return False  # pyplot's inline backend (or the user) already chose how to draw Figures
    except KeyError:
        pass
    from IPython.core.pylabtools import print_figure

    png.for_type_by_name("matplotlib.figure", "Figure", functools.partial(print_figure, fmt="png", base64=True))
    return True


show_figures_in_ipython()


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
            return cls(**common, rounds_run=s.get("rounds_run"))
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


# ----------------------------------------------------------------------------- plots of one run


class RunPlots:
    """``r.plot``: each method returns a :class:`matplotlib.figure.Figure` from :mod:`sim.plots`.

    War runs: :meth:`positions`, :meth:`states`, :meth:`outcomes`, :meth:`survival`, :meth:`costs`.
    Talks-only runs: :meth:`rounds`, and :meth:`win_probability` (smp) or :meth:`quad_map` (bdm).
    :meth:`all` returns the plots the run folder would hold, by file stem.
    """

    def __init__(self, result: RunResult) -> None:
        self._r = result

    def _war(self, what: str) -> RunResult:
        if self._r.talks_only:
            raise RunError(f"{what}() needs a run with a war; {self._r.name} is talks only: use rounds()")
        return self._r

    def positions(self) -> Figure:
        """Each actor's position per issue over time (median, 50% and 90% bands) and the proposal."""
        from sim import plots

        return plots.positions(self._war("positions"))

    def states(self) -> Figure:
        """Share of replicates at war, in a holding ceasefire, or at war again after a collapse."""
        from sim import plots

        return plots.states(self._war("states"))

    def outcomes(self) -> Figure:
        """Outcome class of the first agreed package, with 95% intervals."""
        from sim import plots

        return plots.outcomes(self._war("outcomes"))

    def survival(self) -> Figure:
        """Kaplan-Meier survival of the first ceasefire, with its 95% band."""
        from sim import plots

        return plots.survival(self._war("survival"))

    def costs(self) -> Figure:
        """Cumulative spending and losses per actor."""
        from sim import plots

        return plots.costs(self._war("costs"))

    def rounds(self) -> Figure:
        """Talks only: positions by round, with the protocol's forecasts."""
        from sim import plots

        if not self._r.talks_only:
            raise RunError(f"rounds() is for talks-only runs; {self._r.name} has a war: use positions()")
        return plots.rounds(self._r)

    def win_probability(self) -> Figure:
        """Talks only, protocol smp: probability that each actor's position prevails, by round."""
        from sim import plots

        self._protocol("win_probability", "smp")
        return plots.win_probability(self._r)

    def quad_map(self) -> Figure:
        """Talks only, protocol bdm: the expected-utility (quad) map of the first round."""
        from sim import plots

        self._protocol("quad_map", "bdm")
        return plots.quad_map(self._r)

    def _protocol(self, what: str, proto: str) -> None:
        if not self._r.talks_only or self._r.summary.get("protocol") != proto:
            raise RunError(f"{what}() is for talks-only runs of protocol {proto}")

    def all(self) -> dict[str, Figure]:
        """Every plot a run folder of this run holds, by file stem (``sim.plots.plots_for``)."""
        from sim import plots

        return {stem: fn(self._r) for stem, fn in plots.plots_for(self._r).items()}

    def __repr__(self) -> str:
        from sim import plots

        names = ", ".join(f"{s}()" for s in plots.plots_for(self._r))
        return f"<plots of {self._r.name}: {names}>"


# ----------------------------------------------------------------------------- RunResult mixin


class ResultAPI:
    """Notebook conveniences of :class:`~sim.runner.RunResult` (mixed in; no state of its own)."""

    __slots__ = ()

    @property
    def summary_info(self) -> Summary:
        """The summary as a frozen :class:`Summary` with typed fields (``summary`` stays the dict)."""
        return Summary.from_dict(self.summary)

    @property
    def outcomes_df(self) -> pd.DataFrame:
        """``outcomes.csv`` as a DataFrame: one row per replicate (empty for talks-only runs)."""
        import pandas as pd

        return pd.DataFrame({k: v for k, v in self.outcomes.items()})

    @property
    def trajectories_df(self) -> pd.DataFrame:
        """``trajectories.csv`` as a DataFrame: week, quantity, actor, issue, mean and quantiles."""
        import pandas as pd

        return pd.DataFrame(self.trajectories, columns=self.trajectory_columns)

    @property
    def positions_df(self) -> pd.DataFrame:
        """``positions.csv`` as a DataFrame: step, actor, issue, median position."""
        import pandas as pd

        return pd.DataFrame(self.positions_rows, columns=["step", "actor", "issue", "position"])

    @property
    def plot(self) -> RunPlots:
        """The run's plots: ``r.plot.survival()`` etc. (see :class:`RunPlots`)."""
        return RunPlots(self)

    def write(self, out: str | Path, **kwargs: Any) -> Path:
        """Write the run folder the CLI writes (:func:`sim.output.write_run`); returns the folder."""
        from sim.output import write_run

        return write_run(self, out, **kwargs)

    def report(self, path: str | Path, *, force: bool = True) -> Path:
        """Write this run as one self-contained HTML file (the page of ``negsim report``).

        The run folder is written to a temporary folder first (so the page shows exactly what
        ``negsim run`` + ``negsim report`` would), then removed.

        Args:
            path: The HTML file to write.
            force: Replace an existing file (default True; False refuses).

        Returns:
            The file written.
        """
        from sim.output import write_run
        from sim.report import write_report

        with tempfile.TemporaryDirectory(prefix="negsim-report-") as tmp:
            folder = write_run(self, Path(tmp) / self.name, command=["sim.run(...).report", str(path)])
            return write_report(
                folder,
                path,
                force=force,
                scenario=self.scenario,
                origin="written from the Python API (RunResult.report); the run folder was not kept",
            )

    def __repr__(self) -> str:
        return run_line(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text view: one line, not the dataclass's full field dump."""
        p.text(run_line(self))

    def _repr_html_(self) -> str:
        from sim.report import compact_summary_html

        steps = f"{self.summary.get('rounds_run', self.weeks)} rounds" if self.talks_only else f"{self.weeks} weeks"
        detail = (
            f"{self.name}: {self.replicates:,} replicates, seed {self.seed}, {steps}, "
            f"protocol {self.summary.get('protocol')}, model time {self.elapsed_s:.2f} s"
        )
        return compact_summary_html(self.summary, self.scenario.spec.title or self.name, detail)


def run_line(r: RunResult) -> str:
    """A run in one line: settings and its headline numbers."""
    s = r.summary
    head = f"<RunResult {r.name}: {r.replicates:,} replicates, seed {r.seed}, "
    if r.talks_only:
        return head + f"{s.get('rounds_run')} rounds, protocol {s.get('protocol')}, forecast {s.get('forecast')}>"
    s52 = s["ceasefire_survival_52w"]
    return head + (
        f"{r.weeks} weeks, protocol {s['protocol']}: ceasefire {s['p_ceasefire']:.1%}, "
        f"holds 52 weeks {'n/a' if s52 is None else f'{s52:.1%}'}>"
    )


def scenario_line(loaded: LoadedScenario) -> str:
    """A scenario in one line (IPython's plain-text view of a LoadedScenario)."""
    spec = loaded.spec
    over = f", overrides {dict(loaded.overrides)}" if loaded.overrides else ""
    return (
        f"<LoadedScenario {loaded.name} ({loaded.path}): {spec.title or loaded.name}; "
        f"{len(spec.actors)} actors, {len(spec.issues)} issues, protocol {spec.negotiation.protocol.name}{over}>"
    )


def scenario_repr_html(loaded: LoadedScenario) -> str:
    """``LoadedScenario._repr_html_``: the scenario's actors × parameters table."""
    from sim.report import scenario_html

    return scenario_html(loaded)


# ----------------------------------------------------------------------------- comparisons


class ComparePlots:
    """``c.plot``: overlay plots of a :class:`Comparison` (``sim.plots.COMPARE_PLOTS``)."""

    def __init__(self, comparison: Comparison) -> None:
        self._c = comparison

    def _war(self) -> list[RunResult]:
        talks = [r.name for r in self._c.results if r.talks_only]
        if talks:
            raise RunError(f"overlay plots need runs with a war; talks only: {', '.join(talks)}")
        return self._c.results

    def _labelled(self) -> list[RunResult]:
        """The runs, titled by their labels where those are not the scenario names (legends tell them apart)."""
        runs = self._war()
        if all(lab == r.name for lab, r in zip(self._c.labels, runs, strict=True)):
            return runs
        out = []
        for lab, r in zip(self._c.labels, runs, strict=True):
            spec = r.scenario.spec.model_copy(update={"title": lab})
            out.append(dataclasses.replace(r, scenario=dataclasses.replace(r.scenario, spec=spec)))
        return out

    def survival(self) -> Figure:
        """Kaplan-Meier survival curves of the first ceasefire, overlaid."""
        from sim import plots

        return plots.compare_survival(self._labelled())

    def outcomes(self) -> Figure:
        """Outcome shares side by side, with 95% intervals."""
        from sim import plots

        return plots.compare_outcomes(self._labelled())

    def states(self) -> Figure:
        """Share of replicates in a holding ceasefire, week by week."""
        from sim import plots

        return plots.compare_states(self._labelled())

    def __repr__(self) -> str:
        return "<comparison plots: survival(), outcomes(), states()>"


@dataclass(repr=False)
class Comparison:
    """Several runs side by side (``sim.compare``).

    Attributes:
        results: The runs, in order.
        labels: One distinct label per run: the scenario name, with the protocol (and a number)
            added where names repeat.
    """

    results: list[RunResult]
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = _labels(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return f"<Comparison of {len(self)} runs: {', '.join(self.labels)}>"

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self.results)

    def __getitem__(self, key: int | str) -> RunResult:
        """A run by position or by label."""
        if isinstance(key, str):
            try:
                return self.results[self.labels.index(key)]
            except ValueError:
                raise KeyError(f"{key!r}: not one of {', '.join(self.labels)}") from None
        return self.results[key]

    @property
    def plot(self) -> ComparePlots:
        """Overlay plots: ``c.plot.survival()``, ``c.plot.outcomes()``, ``c.plot.states()``."""
        return ComparePlots(self)

    @property
    def table(self) -> pd.DataFrame:
        """One row per run, indexed by label.

        War runs: the columns of ``comparison.csv`` (:data:`sim.output.COMPARE_COLUMNS`; shares
        in [0, 1], NaN where undefined). Talks-only runs: the forecast per issue, columns
        ``(forecast kind, issue)``.
        """
        import pandas as pd

        from sim.output import COMPARE_COLUMNS, compare_row

        if all(not r.talks_only for r in self.results):
            rows = [[None if v == "" else v for v in compare_row(r)][1:] for r in self.results]
            df = pd.DataFrame(rows, columns=COMPARE_COLUMNS[1:], index=pd.Index(self.labels, name="run"))
            return df.astype(float)
        return self.forecasts.pivot_table(index="run", columns=["forecast", "issue"], values="value", sort=False)

    @property
    def forecasts(self) -> pd.DataFrame:
        """Long table of every run's final forecasts: run, scenario, protocol, forecast kind, issue, value."""
        import pandas as pd

        rows = []
        for label, r in zip(self.labels, self.results, strict=True):
            for kind, per in (r.summary.get("forecast") or {}).items():
                for iid, v in per.items():
                    rows.append([label, r.name, r.summary.get("protocol"), kind, iid, v])
        return pd.DataFrame(rows, columns=["run", "scenario", "protocol", "forecast", "issue", "value"])

    def write(self, out: str | Path, **kwargs: Any) -> Path:
        """Write the comparison folder ``negsim compare`` writes (:func:`sim.output.write_compare`)."""
        from sim.output import write_compare

        names = [r.name for r in self.results]
        if len(set(names)) != len(names):
            raise RunError(f"a comparison folder needs runs of distinct scenarios, got {', '.join(names)}")
        return write_compare(self.results, out, **kwargs)

    def _repr_html_(self) -> str:
        from sim.report import esc, pct, pct_interval

        r0 = self.results[0]
        cap = esc(f"{len(self.results)} runs, {r0.replicates:,} replicates each, seed {r0.seed}, {r0.weeks} weeks")
        if any(r.talks_only for r in self.results):
            return f"<div><b>{cap}</b>{self.table.to_html(float_format=lambda x: f'{x:,.4g}')}</div>"
        head = (
            "<tr><th>run</th><th>ceasefire</th><th>95% interval</th><th>median week</th><th>holds 52 weeks</th>"
            "<th>95% interval</th><th>collapses</th><th>NATO</th><th>backstop</th><th>reassurance</th>"
            "<th>aid only</th><th>none</th></tr>"
        )
        body = []
        for label, r in zip(self.labels, self.results, strict=True):
            s = r.summary
            sh = s["outcome_shares"]
            med = s["median_weeks_to_ceasefire"]
            cells = [
                pct(s["p_ceasefire"]),
                pct_interval(s["p_ceasefire_95"]),
                "n/a" if med is None else f"{med:.0f}",
                pct(s["ceasefire_survival_52w"]),
                pct_interval(s["ceasefire_survival_52w_95"]),
                pct(s["p_collapse_within_horizon"]),
                *(
                    pct(sh[k])
                    for k in ("nato_entry", "reassurance_backstop", "reassurance_only", "aid_only", "no_agreement")
                ),
            ]
            body.append(
                f"<tr><th>{esc(label)}</th>"
                + "".join(f'<td style="text-align:right">{c}</td>' for c in cells)
                + "</tr>"
            )
        return f"<table><caption><b>{cap}</b></caption><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _labels(results: Sequence[RunResult]) -> list[str]:
    names = [r.name for r in results]
    out = []
    for r in results:
        label = r.name
        if names.count(r.name) > 1:
            label = f"{r.name} ({r.summary.get('protocol')})"
        out.append(label)
    seen: dict[str, int] = {}
    final = []
    for label in out:
        seen[label] = seen.get(label, 0) + 1
        final.append(label if out.count(label) == 1 else f"{label} #{seen[label]}")
    return final


def compare(
    runs: Sequence[RunResult | LoadedScenario | str | Path],
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the API's name, as in sim.run)
    labels: Sequence[str] | None = None,
) -> Comparison:
    """Run (where needed) and compare several scenarios.

    Args:
        runs: Finished runs (used as they are) or scenarios (loaded or paths), run here with the
            settings below.
        replicates: Ensemble size for the scenarios (default: that of the first finished run given,
            else each scenario's own), so that like is compared with like.
        seed: Root seed, defaulting the same way.
        weeks: Horizon in weeks, defaulting the same way.
        set: Overrides applied to every scenario run here.
        labels: Labels for the table's rows (default: the scenario names, made distinct).

    Returns:
        A :class:`Comparison`.
    """
    from sim.runner import RunResult, run

    if not runs:
        raise RunError("compare needs at least one run or scenario")
    done = next((r for r in runs if isinstance(r, RunResult)), None)
    if done is not None:
        replicates = done.replicates if replicates is None else replicates
        seed = done.seed if seed is None else seed
        weeks = done.weeks if weeks is None else weeks
    results = [
        r if isinstance(r, RunResult) else run(r, replicates=replicates, seed=seed, weeks=weeks, set=set) for r in runs
    ]
    if labels is not None and len(labels) != len(results):
        raise RunError(f"{len(labels)} labels for {len(results)} runs")
    return Comparison(results, list(labels) if labels is not None else [])


# ----------------------------------------------------------------------------- sources and imports


def sources(scenario: LoadedScenario | str | Path) -> pd.DataFrame:
    """Every parameter of a scenario with its value and source (``negsim explain`` as a DataFrame).

    Columns: group, parameter, path, value, kind (claim / assumption / default / MISSING),
    claims (tuple of claim ids), speaker, source (quotes or the assumption).
    """
    import pandas as pd

    from sim import provenance
    from sim.scenario import LoadedScenario, load

    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    prov = provenance.check(loaded)
    rows = provenance.explain_rows(prov)
    ids = [tuple(e.source.claims) if e.source is not None else () for e in prov.entries]
    df = pd.DataFrame(rows).drop(columns=["details"])
    df.insert(5, "claims", ids)
    return df[["group", "parameter", "path", "value", "kind", "claims", "speaker", "source"]]


def claims(scenario: LoadedScenario | str | Path) -> pd.DataFrame:
    """The claims of the digests a scenario cites, indexed by claim id: speaker, role, said, quote, paraphrase."""
    import pandas as pd

    from sim import provenance
    from sim.scenario import LoadedScenario, load

    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    prov = provenance.check(loaded)
    cols = ["speaker", "role", "said", "quote", "paraphrase"]
    df = pd.DataFrame(
        [[getattr(c, k) for k in cols] for c in prov.claims.values()],
        columns=cols,
        index=pd.Index(list(prov.claims), name="id"),
    )
    return df


def import_file(
    path: str | Path,
    out: str | Path | None = None,
    *,
    fmt: str = "auto",
    protocol: str | None = None,
    name: str | None = None,
    title: str | None = None,
) -> LoadedScenario:
    """Import a BDM CSV, KTAB SMP CSV or Decide TSV as a talks-only scenario (``negsim import``) and load it.

    Args:
        path: The data file.
        out: The scenario file to write (default: a file in a temporary folder kept for the session).
        fmt: ``auto``, ``bdm``, ``smp`` or ``decide``.
        protocol: The protocol to set (default: bdm, smp or exchange by format).
        name: The scenario's name (default: from the file name).
        title: The scenario's title (default: from the file).

    Returns:
        The loaded scenario.
    """
    from sim import importers

    src = Path(path)
    if out is None:
        stem = name or importers._key(src.stem)
        out = Path(tempfile.mkdtemp(prefix="negsim-import-")) / f"{stem}.yaml"
    return importers.import_to(src, Path(out), fmt, protocol, name, title)[1]
