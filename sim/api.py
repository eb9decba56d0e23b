"""The notebook face of the Python API: runs with plots and views, comparisons, sources, imports.

The engine's results are plain data (:class:`~sim.engine.result.RunResult`); this module adds
what a reader does with them, by composition (:class:`Run`, :class:`Comparison`) and by
registering IPython display formatters (matplotlib Figures as PNG, scenarios as HTML tables)::

    import sim
    r = sim.run("scenarios/aid_only.yaml", replicates=2000, seed=1)
    r                            # in a notebook: a summary table
    r.summary_info.p_ceasefire   # typed fields (r.summary stays the summary.json dict)
    r.outcomes_df                # one row per replicate (outcomes.csv) as a DataFrame
    r.trajectories_df            # per week (trajectories.csv)
    r.plot.survival()            # matplotlib Figures from sim.output.plots
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.engine import runner
from sim.engine.result import ActorCosts, Interval, RunResult, Summary
from sim.errors import RunError, ScenarioError
from sim.experiments import calibrate as calibration
from sim.experiments.calibrate import CalibrationResult
from sim.experiments.ema import experiment, make_experiment
from sim.output import runfolder
from sim.output.report import compact_summary_html, esc, pct, pct_interval, scenario_html, write_report
from sim.output.runfolder import COMPARE_COLUMNS, compare_row, write_compare
from sim.scenario import importers, provenance
from sim.scenario.loader import ALL_OUTCOMES, LoadedScenario, load
from sim.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "ActorCosts",
    "CalibrationResult",
    "Comparison",
    "Interval",
    "Run",
    "RunError",
    "RunResult",
    "ScenarioError",
    "Summary",
    "__version__",
    "calibrate",
    "claims",
    "compare",
    "experiment",
    "import_file",
    "load",
    "make_experiment",
    "run",
    "sources",
    "write_report",
    "write_run",
]


def show_scenarios_in_ipython() -> bool:
    """Let IPython show a :class:`~sim.scenario.loader.LoadedScenario` as its actors x parameters table.

    The scenario is plain data; its HTML view is registered here, by the notebook face. Called when
    :mod:`sim.api` is imported; does nothing outside IPython.

    Returns:
        True if the formatter was registered.
    """
    ipy = sys.modules.get("IPython")
    shell = getattr(ipy, "get_ipython", lambda: None)() if ipy is not None else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "text/html" not in formatters:
        return False
    formatters["text/html"].for_type(LoadedScenario, scenario_repr_html)
    return True


def show_figures_in_ipython() -> bool:
    """Let IPython draw matplotlib Figures as PNG, even without pyplot's inline backend.

    :mod:`sim.output.plots` builds Figures without pyplot (so it works headless), and IPython registers
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
    from IPython.core.pylabtools import print_figure  # deferred: only inside IPython

    png.for_type_by_name("matplotlib.figure", "Figure", functools.partial(print_figure, fmt="png", base64=True))
    return True


# ----------------------------------------------------------------------------- plots of one run


class RunPlots:
    """``r.plot``: each method returns a :class:`matplotlib.figure.Figure` from :mod:`sim.output.plots`.

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
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.positions(self._war("positions"))

    def states(self) -> Figure:
        """Share of replicates at war, in a holding ceasefire, or at war again after a collapse."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.states(self._war("states"))

    def outcomes(self) -> Figure:
        """Outcome class of the first agreed package, with 95% intervals."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.outcomes(self._war("outcomes"))

    def survival(self) -> Figure:
        """Kaplan-Meier survival of the first ceasefire, with its 95% band."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.survival(self._war("survival"))

    def costs(self) -> Figure:
        """Cumulative spending and losses per actor."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.costs(self._war("costs"))

    def rounds(self) -> Figure:
        """Talks only: positions by round, with the protocol's forecasts."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        if not self._r.talks_only:
            raise RunError(f"rounds() is for talks-only runs; {self._r.name} has a war: use positions()")
        return plots.rounds(self._r)

    def win_probability(self) -> Figure:
        """Talks only, protocol smp: probability that each actor's position prevails, by round."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        self._protocol("win_probability", "smp")
        return plots.win_probability(self._r)

    def quad_map(self) -> Figure:
        """Talks only, protocol bdm: the expected-utility (quad) map of the first round."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        self._protocol("quad_map", "bdm")
        return plots.quad_map(self._r)

    def _protocol(self, what: str, proto: str) -> None:
        if not self._r.talks_only or self._r.summary_info.protocol != proto:
            raise RunError(f"{what}() is for talks-only runs of protocol {proto}")

    def all(self) -> dict[str, Figure]:
        """Every plot a run folder of this run holds, by file stem (``sim.output.plots.plots_for``)."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return {stem: fn(self._r) for stem, fn in plots.plots_for(self._r).items()}

    def __repr__(self) -> str:
        from sim.output import plots  # deferred: matplotlib loads on first plot

        names = ", ".join(f"{s}()" for s in plots.plots_for(self._r))
        return f"<plots of {self._r.name}: {names}>"


# ----------------------------------------------------------------------------- a run in a notebook


class Run:
    """A finished run as the notebook sees it: the engine's result, plus plots, files and views.

    Composition, not inheritance: every data attribute (``summary``, ``summary_info``, ``outcomes``,
    ``outcomes_df``, ``scenario``, ``replicates`` ...) is the result's own, read through; this class
    adds what a reader does with it (``plot``, ``write``, ``report``, the HTML view).

    Attributes:
        result: The plain result from the engine.
    """

    __slots__ = ("result",)

    def __init__(self, result: RunResult) -> None:
        self.result = result

    def __getattr__(self, name: str) -> Any:
        if name == "result":  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.result, name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *dir(self.result)})

    def __getstate__(self) -> RunResult:
        return self.result

    def __setstate__(self, state: RunResult) -> None:
        self.result = state

    @property
    def plot(self) -> RunPlots:
        """The run's plots: ``r.plot.survival()`` etc. (see :class:`RunPlots`)."""
        return RunPlots(self.result)

    def write(self, out: str | Path, **kwargs: Any) -> Path:
        """Write the run folder the CLI writes (:func:`sim.output.runfolder.write_run`); returns the folder."""
        return write_run(self.result, out, **kwargs)

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
        r = self.result
        with tempfile.TemporaryDirectory(prefix="negsim-report-") as tmp:
            folder = write_run(r, Path(tmp) / r.name, command=["sim.run(...).report", str(path)])
            return write_report(
                folder,
                path,
                force=force,
                scenario=r.scenario,
                origin="written from the Python API (RunResult.report); the run folder was not kept",
            )

    def __repr__(self) -> str:
        return repr(self.result)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text view: one line, not every array."""
        p.text(repr(self.result))

    def _repr_html_(self) -> str:
        r = self.result
        info = r.summary_info
        steps = f"{info.rounds_run} rounds" if r.talks_only else f"{r.weeks} weeks"
        detail = (
            f"{r.name}: {r.replicates:,} replicates, seed {r.seed}, {steps}, "
            f"protocol {info.protocol}, model time {r.elapsed_s:.2f} s"
        )
        return compact_summary_html(info, r.scenario.spec.title or r.name, detail)


def _result(r: Run | RunResult) -> RunResult:
    """The engine's result behind a :class:`Run` (or the result itself)."""
    return r.result if isinstance(r, Run) else r


def run(
    scenario: LoadedScenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the documented API name)
    progress: Callable[[int, int], None] | None = None,
    keep_trajectories: bool = False,
) -> Run:
    """Run a Monte Carlo ensemble of a scenario (:func:`sim.engine.runner.run`) for a notebook.

    Args:
        scenario: A loaded scenario or a path to one.
        replicates: Ensemble size (default: the scenario's ``settings.replicates``).
        seed: Root seed (default: ``settings.seed``); same scenario + seed ⇒ identical outputs.
        weeks: Horizon in weeks (default: ``settings.weeks``).
        set: Overrides ``{"actors.us.resolve": 0.7}`` applied before validation.
        progress: Called as ``progress(week, weeks)`` after each simulated week.
        keep_trajectories: Also keep every replicate's weekly state (``result.replicate_trajectories``).

    Returns:
        A :class:`Run`: the result's data, plus ``plot``, ``write``, ``report`` and a notebook view.
    """
    return Run(
        runner.run(
            scenario,
            replicates=replicates,
            seed=seed,
            weeks=weeks,
            set=set,
            progress=progress,
            keep_trajectories=keep_trajectories,
        )
    )


def write_run(result: Run | RunResult, out: str | Path, **kwargs: Any) -> Path:
    """Write a run folder as ``negsim run`` does (:func:`sim.output.runfolder.write_run`); returns the folder."""
    return runfolder.write_run(_result(result), out, **kwargs)


def run_to_folder(
    scenario: LoadedScenario | str | Path,
    out: str | Path | None = None,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the documented API name)
    keep_trajectories: bool = False,
    force: bool = False,
    plots: bool = True,
    fmt: str = "png",
    progress: Callable[[int, int], None] | None = None,
    command: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Run, Path]:
    """What ``negsim run`` does: validate, refuse before any work, run, write the run folder.

    Everything that can be refused is refused before the model starts: the scenario, the ensemble's
    size and memory (:func:`sim.engine.runner.ensemble_settings`) and the output folder
    (an existing non-empty folder without ``force``).

    Args:
        scenario: A loaded scenario or a path to one.
        out: The run folder (default: a new folder under ``runs/`` named after the scenario).
        replicates: Ensemble size (default: the scenario's).
        seed: Root seed (default: the scenario's).
        weeks: Horizon in weeks (default: the scenario's).
        set: Overrides ``{"actors.us.resolve": 0.7}``.
        keep_trajectories: Also write ``replicate_trajectories.npz``.
        force: Replace an existing non-empty ``out``.
        plots: Write the plots.
        fmt: Plot format: ``png``, ``svg`` or ``pdf``.
        progress: Called as ``progress(week, weeks)`` while the model runs.
        command: The command line, for the manifest.
        log: Receives one-line notes (leftovers of killed runs removed); default: dropped.

    Returns:
        ``(run, folder)``.
    """
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario, overrides=set)
    if set and isinstance(scenario, LoadedScenario):
        loaded = loaded.with_overrides(set)
    runner.ensemble_settings(loaded, replicates, seed, weeks, keep_trajectories)
    folder = _checked_out(out, loaded.name, force, log)
    r = runner.run(
        loaded, replicates=replicates, seed=seed, weeks=weeks, progress=progress, keep_trajectories=keep_trajectories
    )
    return Run(r), runfolder.write_run(r, folder, force=force, plots=plots, fmt=fmt, command=command)


def compare_to_folder(
    scenarios: Sequence[LoadedScenario | str | Path],
    out: str | Path | None = None,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the documented API name)
    force: bool = False,
    plots: bool = True,
    fmt: str = "png",
    progress: Callable[[int, int], None] | None = None,
    command: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Comparison, Path]:
    """What ``negsim compare`` does: every scenario checked before any runs, then run, then one folder.

    Args are those of :func:`run_to_folder`; the same ensemble settings apply to every scenario.

    Returns:
        ``(comparison, folder)``.

    Raises:
        RunError: scenarios with the same name (their sub-folders would clash), or any refusal of
            :func:`run_to_folder`, before anything runs.
    """
    loaded = [s if isinstance(s, LoadedScenario) else load(s, overrides=set) for s in scenarios]
    names = [s.name for s in loaded]
    if len(names) != len(dict.fromkeys(names)):
        raise RunError(f"compare needs scenarios with distinct names, got {', '.join(names)}")
    for s in loaded:
        runner.ensemble_settings(s, replicates, seed, weeks)
    folder = _checked_out(out, "compare-" + "-".join(names)[:80], force, log)
    results = [runner.run(s, replicates=replicates, seed=seed, weeks=weeks, progress=progress) for s in loaded]
    written = write_compare(results, folder, force=force, plots=plots, fmt=fmt, command=command)
    return Comparison([Run(r) for r in results]), written


def _checked_out(out: str | Path | None, name: str, force: bool, log: Callable[[str], None] | None) -> Path:
    """The output folder, after removing leftovers of killed runs into it and refusing to overwrite."""
    folder = Path(out) if out else runfolder.default_out(name)
    for msg in runfolder.clean_leftovers(folder):
        if log is not None:
            log(msg)
    runfolder.check_out(folder, force)
    return folder


def calibrate(
    scenario: LoadedScenario | str | Path | None = None,
    fit: Mapping[str, Any] | Sequence[str] | None = None,
    targets: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    targets_file: str | Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    weeks: int | None = None,
    particles: int | None = None,
    generations: int | None = None,
    min_epsilon: float | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 (the documented API name)
    out: str | Path | None = None,
    backend: str = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    plots: bool = True,
) -> CalibrationResult:
    """Fit scenario parameters to observed facts by ABC-SMC (``negsim calibrate``; :mod:`sim.experiments.calibrate`).

    Example::

        res = sim.calibrate(
            "scenarios/reassurance_backstop.yaml",
            fit={"actors.russia.resolve": (0.5, 0.95)},
            targets={"p_ceasefire_by_60w": {"value": 0.0, "sd": 0.03, "source": "no ceasefire in 60 weeks"}},
        )
        res.posterior                 # one row per particle: weight, fitted values, distance, simulated targets
        res.targets                   # observed against prior and posterior predictive
        res.plot.posterior(); res.plot.predictive()
        res.to_scenario()             # the scenario with the fitted parameters as distributions

    Args:
        scenario: A scenario (or path); may be None when ``targets_file`` names it.
        fit: Key path -> ``(lo, hi)`` (uniform prior) or ``{"bounds": (lo, hi), "prior": {"normal": [m, s]}}``;
            or ``PATH=LO:HI`` strings.
        targets: Metric -> ``(value, sd)`` or ``{"value", "sd", "source"}``; or ``METRIC=VALUE±SD`` strings.
        targets_file: A YAML file with ``fit:``, ``targets:``, ``settings:`` (and ``scenario:``).
        replicates: Replicates per candidate (default 1,000).
        seed: Root seed (default: the scenario's).
        weeks: Horizon (default: the scenario's).
        particles: Particles per generation (default 200).
        generations: The most generations (default 8).
        min_epsilon: Stop at this tolerance, an RMS z-score of the targets (default 1).
        set: Overrides applied to the scenario first.
        out: The calibration folder (default ``runs/calibrations/NAME-KEY``; the same calibration resumes).
        backend: ``serial``, ``pool`` or ``dask``.
        workers: Worker processes.
        scheduler: Dask: ``local`` or ``tcp://HOST:PORT``.
        plots: Write ``posterior.png`` and ``predictive.png``.

    Returns:
        A :class:`~sim.experiments.calibrate.CalibrationResult`.
    """
    cal = calibration.make_calibration(
        scenario,
        fit=fit,
        targets=targets,
        targets_file=targets_file,
        replicates=replicates,
        seed=seed,
        weeks=weeks,
        particles=particles,
        generations=generations,
        min_epsilon=min_epsilon,
        sets=set,
    )
    return calibration.run_calibration(cal, out, backend=backend, workers=workers, scheduler=scheduler, plots=plots)


def scenario_repr_html(loaded: LoadedScenario) -> str:
    """A scenario in a notebook: what it is, and its actors × parameters table."""
    return scenario_html(loaded)


# ----------------------------------------------------------------------------- comparisons


class ComparePlots:
    """``c.plot``: overlay plots of a :class:`Comparison` (``sim.output.plots.COMPARE_PLOTS``)."""

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
            res = _result(r)
            out.append(dataclasses.replace(res, scenario=dataclasses.replace(res.scenario, spec=spec)))
        return out

    def survival(self) -> Figure:
        """Kaplan-Meier survival curves of the first ceasefire, overlaid."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.compare_survival(self._labelled())

    def outcomes(self) -> Figure:
        """Outcome shares side by side, with 95% intervals."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

        return plots.compare_outcomes(self._labelled())

    def states(self) -> Figure:
        """Share of replicates in a holding ceasefire, week by week."""
        from sim.output import plots  # deferred: matplotlib loads on first plot

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

    results: list[Run]
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = _labels(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return f"<Comparison of {len(self)} runs: {', '.join(self.labels)}>"

    def __iter__(self) -> Iterator[Run]:
        return iter(self.results)

    def __getitem__(self, key: int | str) -> Run:
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

        War runs: the columns of ``comparison.csv`` (:data:`sim.output.runfolder.COMPARE_COLUMNS`; shares
        in [0, 1], NaN where undefined). Talks-only runs: the forecast per issue, columns
        ``(forecast kind, issue)``.
        """
        import pandas as pd  # deferred: pandas loads on first use

        if all(not r.talks_only for r in self.results):
            rows = [[None if v == "" else v for v in compare_row(r)][1:] for r in self.results]
            df = pd.DataFrame(rows, columns=COMPARE_COLUMNS[1:], index=pd.Index(self.labels, name="run"))
            return df.astype(float)
        return self.forecasts.pivot_table(index="run", columns=["forecast", "issue"], values="value", sort=False)

    @property
    def forecasts(self) -> pd.DataFrame:
        """Long table of every run's final forecasts: run, scenario, protocol, forecast kind, issue, value."""
        import pandas as pd  # deferred: pandas loads on first use

        rows = []
        for label, r in zip(self.labels, self.results, strict=True):
            s = r.summary_info
            for kind, per in s.forecast.items():
                for iid, v in per.items():
                    rows.append([label, r.name, s.protocol, kind, iid, v])
        return pd.DataFrame(rows, columns=["run", "scenario", "protocol", "forecast", "issue", "value"])

    def write(self, out: str | Path, **kwargs: Any) -> Path:
        """Write the comparison folder ``negsim compare`` writes (:func:`sim.output.runfolder.write_compare`)."""
        names = [r.name for r in self.results]
        if len(set(names)) != len(names):
            raise RunError(f"a comparison folder needs runs of distinct scenarios, got {', '.join(names)}")
        return write_compare([r.result for r in self.results], out, **kwargs)

    def _repr_html_(self) -> str:
        r0 = self.results[0]
        cap = esc(f"{len(self.results)} runs, {r0.caption(each=True)}")
        if any(r.talks_only for r in self.results):
            return f"<div><b>{cap}</b>{self.table.to_html(float_format=lambda x: f'{x:,.4g}')}</div>"
        head = (
            "<tr><th>run</th><th>ceasefire</th><th>95% interval</th><th>median week</th><th>holds 52 weeks</th>"
            "<th>95% interval</th><th>collapses</th><th>NATO</th><th>backstop</th><th>reassurance</th>"
            "<th>aid only</th><th>none</th></tr>"
        )
        body = []
        for label, r in zip(self.labels, self.results, strict=True):
            s = r.summary_info
            med = s.median_weeks_to_ceasefire
            cells = [
                pct(s.p_ceasefire),
                pct_interval(s.p_ceasefire_95),
                "n/a" if med is None else f"{med:.0f}",
                pct(s.ceasefire_survival_52w),
                pct_interval(s.ceasefire_survival_52w_95),
                pct(s.p_collapse_within_horizon),
                *(pct(s.outcome_shares[k]) for k in ALL_OUTCOMES),
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
            label = f"{r.name} ({r.summary_info.protocol})"
        out.append(label)
    seen: dict[str, int] = {}
    final = []
    for label in out:
        seen[label] = seen.get(label, 0) + 1
        final.append(label if out.count(label) == 1 else f"{label} #{seen[label]}")
    return final


def compare(
    runs: Sequence[Run | RunResult | LoadedScenario | str | Path],
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
    if not runs:
        raise RunError("compare needs at least one run or scenario")
    done = next((r for r in runs if isinstance(r, Run | RunResult)), None)
    if done is not None:
        replicates = done.replicates if replicates is None else replicates
        seed = done.seed if seed is None else seed
        weeks = done.weeks if weeks is None else weeks
    results = [
        r
        if isinstance(r, Run)
        else Run(r)
        if isinstance(r, RunResult)
        else run(r, replicates=replicates, seed=seed, weeks=weeks, set=set)
        for r in runs
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
    import pandas as pd  # deferred: pandas loads on first use

    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    prov = provenance.check(loaded)
    rows = provenance.explain_rows(prov)
    ids = [tuple(e.source.claims) if e.source is not None else () for e in prov.entries]
    df = pd.DataFrame(rows).drop(columns=["details"])
    df.insert(5, "claims", ids)
    return df[["group", "parameter", "path", "value", "kind", "claims", "speaker", "source"]]


def claims(scenario: LoadedScenario | str | Path) -> pd.DataFrame:
    """The claims of the digests a scenario cites, indexed by claim id: speaker, role, said, quote, paraphrase."""
    import pandas as pd  # deferred: pandas loads on first use

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
    src = Path(path)
    if out is None:
        stem = name or importers.slug(src.stem)
        out = Path(tempfile.mkdtemp(prefix="negsim-import-")) / f"{stem}.yaml"
    return importers.import_to(src, Path(out), fmt, protocol, name, title)[1]


show_figures_in_ipython()
show_scenarios_in_ipython()
