"""Plots of one ensemble and comparisons of several (matplotlib, no display needed).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so it works
headless (Agg) and in notebooks alike. Colours are the Okabe-Ito colour-blind-safe palette;
an actor keeps the same colour in every plot (by its order in the scenario).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    from sim.runner import RunResult

OKABE_ITO = ["#0072B2", "#009E73", "#D55E00", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
"""Okabe & Ito (2008) palette, reordered so the bundled actors get blue, green, vermillion, orange."""
STATE_COLOURS = {
    "At war": "#D55E00",
    "Ceasefire holding": "#009E73",
    "War resumed after collapse": "#CC79A7",
}
CLASS_LABELS = {
    "nato_entry": "NATO entry",
    "reassurance_backstop": "Reassurance force\n+ US backstop",
    "reassurance_only": "Reassurance force\nonly",
    "aid_only": "Aid only",
    "no_agreement": "No agreement",
}
LINESTYLES = ["-", "--", "-.", ":"]


def actor_colour(index: int) -> str:
    """Colour of the actor at this position in the scenario."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def _title(fig: Figure, result: RunResult, what: str) -> None:
    spec = result.scenario.spec
    name = spec.title or result.name
    fig.suptitle(
        f"{name}: {what}\n{result.replicates:,} replicates, seed {result.seed}, {result.weeks} weeks",
        fontsize=11,
    )


def positions(result: RunResult) -> Figure:
    """Each actor's bargaining position per issue over time: median with 50% and 90% bands."""
    spec = result.scenario.spec
    issues = result.issues
    ncol = 2 if len(issues) > 1 else 1
    nrow = int(np.ceil(len(issues) / ncol))
    fig = Figure(figsize=(7.5 * ncol, 3.3 * nrow + 1.2), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    weeks = np.arange(result.weeks + 1)
    rec = result.records["positions"]  # (T, A, I, 6): mean, q05, q25, q50, q75, q95
    prop = result.records["proposal"]
    handles = []
    for j, (iid, ax) in enumerate(zip(issues, axes, strict=False)):
        issue = spec.issues[iid]
        for a, aid in enumerate(result.actors):
            if iid not in spec.actors[aid].positions:
                continue
            c = actor_colour(a)
            r = rec[:, a, j]
            ax.fill_between(weeks, r[:, 1], r[:, 5], color=c, alpha=0.12, lw=0)
            ax.fill_between(weeks, r[:, 2], r[:, 4], color=c, alpha=0.28, lw=0)
            (h,) = ax.plot(weeks, r[:, 3], color=c, lw=2, label=spec.actors[aid].name)
            if j == 0 or len(handles) < len(result.actors):
                if h.get_label() not in [x.get_label() for x in handles]:
                    handles.append(h)
        fixed = iid in spec.negotiation.fixed
        (hp,) = ax.plot(
            weeks,
            prop[:, j, 3],
            color="black",
            lw=1.3,
            ls="--",
            label="Proposal on the table (median)",
        )
        if "Proposal on the table (median)" not in [x.get_label() for x in handles]:
            handles.append(hp)
        pts = sorted(issue.points)
        ax.set_yticks(pts)
        ax.set_yticklabels([textwrap.fill(issue.points[p], 22) for p in pts], fontsize=8)
        pad = 0.04 * (issue.hi - issue.lo)
        ax.set_ylim(issue.lo - pad, issue.hi + pad)
        ax.set_xlim(0, result.weeks)
        unit = f" ({issue.unit})" if issue.unit else ""
        ax.set_title(issue.label + unit + (" — fixed by the scenario" if fixed else ""), fontsize=10)
        ax.set_xlabel("Week")
        ax.grid(alpha=0.3)
    for ax in axes[len(issues) :]:
        ax.set_axis_off()
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 5),
        fontsize=9,
        title="Line: median position; shading: 50% and 90% of replicates",
        title_fontsize=9,
    )
    _title(fig, result, "bargaining positions by issue")
    return fig


def states(result: RunResult) -> Figure:
    """Share of replicates at war, in a holding ceasefire, or at war again after a collapse."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    weeks = np.arange(result.weeks + 1)
    st = result.records["state"] * 100
    ax.stackplot(
        weeks,
        st[:, 0],
        st[:, 1],
        st[:, 2],
        labels=list(STATE_COLOURS),
        colors=list(STATE_COLOURS.values()),
        alpha=0.85,
    )
    ax.set_xlim(0, result.weeks)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Week")
    ax.set_ylabel("Share of replicates (%)")
    fig.legend(loc="outside lower center", ncol=3, fontsize=9)
    ax.grid(alpha=0.3)
    _title(fig, result, "war and ceasefire over time")
    return fig


def outcomes(result: RunResult) -> Figure:
    """Outcome class of the first agreed package, with 95% Wilson intervals."""
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax = fig.subplots()
    names = list(CLASS_LABELS)
    shares = np.array([result.summary["outcome_shares"][k] for k in names]) * 100
    ci = np.array([result.summary["outcome_shares_95"][k] for k in names]) * 100
    err = np.vstack([shares - ci[:, 0], ci[:, 1] - shares])
    colours = ["#0072B2", "#009E73", "#E69F00", "#D55E00", "#999999"]
    bars = ax.bar(range(len(names)), shares, color=colours, yerr=err, capsize=4, ecolor="#333333")
    for b, v in zip(bars, shares, strict=True):
        ax.annotate(
            f"{v:.1f}%",
            (b.get_x() + b.get_width() / 2, v),
            xytext=(0, 12),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([CLASS_LABELS[k] for k in names], fontsize=9)
    ax.set_ylabel("Share of replicates (%)")
    ax.set_ylim(0, min(100, max(shares.max(), 5) * 1.25 + 5))
    ax.set_xlabel("Security arrangement of the first agreed ceasefire (error bars: 95% interval)")
    ax.grid(axis="y", alpha=0.3)
    _title(fig, result, "outcome of the negotiations")
    return fig


def _km(ax, surv, colour: str, label: str, ls: str = "-") -> None:
    t, s, lo, hi = surv
    ax.step(t, s * 100, where="post", color=colour, lw=2, label=label, ls=ls)
    ax.fill_between(t, lo * 100, hi * 100, step="post", color=colour, alpha=0.15, lw=0)


def survival(result: RunResult) -> Figure:
    """Kaplan-Meier survival of the first ceasefire (censored at the horizon), 95% band."""
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax = fig.subplots()
    n_cf = int(round(result.summary["p_ceasefire"] * result.replicates))
    if n_cf:
        _km(ax, result.survival, "#009E73", f"First ceasefire ({n_cf:,} replicates reached one)")
        s52 = result.summary["ceasefire_survival_52w"]
        ax.axvline(52, color="#555555", lw=1, ls=":")
        if s52 is not None:
            ax.annotate(
                f"52 weeks: {s52 * 100:.0f}%",
                (52, s52 * 100),
                xytext=(6, 8),
                textcoords="offset points",
                fontsize=9,
            )
        ax.legend(loc="lower left", fontsize=9)
    else:
        ax.text(
            0.5,
            0.5,
            "No ceasefire in any replicate",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
    ax.set_xlim(0, result.weeks)
    ax.set_ylim(0, 102)
    ax.set_xlabel("Weeks since the ceasefire was agreed")
    ax.set_ylabel("Probability the ceasefire still holds (%)")
    ax.grid(alpha=0.3)
    _title(fig, result, "does the ceasefire hold? (Kaplan-Meier, 95% band)")
    return fig


def costs(result: RunResult) -> Figure:
    """Cumulative costs per actor: spending ($bn) and losses (index), median with 90% band."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax_s, ax_l = fig.subplots(1, 2)
    weeks = np.arange(result.weeks + 1)
    for a, aid in enumerate(result.actors):
        name = result.scenario.spec.actors[aid].name
        c = actor_colour(a)
        for ax, rec in ((ax_s, result.records["spend"]), (ax_l, result.records["losses"])):
            r = rec[:, a]
            if r[-1, 5] <= 0:
                continue
            ax.fill_between(weeks, r[:, 1], r[:, 5], color=c, alpha=0.15, lw=0)
            ax.plot(weeks, r[:, 3], color=c, lw=2, label=name)
    ax_s.set_title("Spending: aid and deployments", fontsize=10)
    ax_s.set_ylabel("Cumulative spending ($bn)")
    ax_l.set_title("Losses from fighting", fontsize=10)
    ax_l.set_ylabel("Cumulative losses (index: weeks of even fighting)")
    for ax in (ax_s, ax_l):
        ax.set_xlabel("Week")
        ax.set_xlim(0, result.weeks)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, loc="upper left", title="median, 90% band", title_fontsize=8)
    _title(fig, result, "cumulative costs")
    return fig


SINGLE_PLOTS = {
    "positions": positions,
    "states": states,
    "outcomes": outcomes,
    "survival": survival,
    "costs": costs,
}
"""Plots written for every run, by file stem."""


def compare_survival(results: list[RunResult]) -> Figure:
    """Kaplan-Meier survival curves of several scenarios, overlaid."""
    fig = Figure(figsize=(8.5, 5), layout="constrained")
    ax = fig.subplots()
    for k, r in enumerate(results):
        n_cf = int(round(r.summary["p_ceasefire"] * r.replicates))
        label = f"{r.scenario.spec.title or r.name} (n={n_cf:,})"
        if n_cf:
            _km(
                ax,
                r.survival,
                OKABE_ITO[k % len(OKABE_ITO)],
                label,
                LINESTYLES[k % len(LINESTYLES)],
            )
        else:
            ax.plot([], [], color=OKABE_ITO[k % len(OKABE_ITO)], label=label + ": no ceasefire")
    ax.axvline(52, color="#555555", lw=1, ls=":")
    ax.set_xlim(0, max(r.weeks for r in results))
    ax.set_ylim(0, 102)
    ax.set_xlabel("Weeks since the ceasefire was agreed")
    ax.set_ylabel("Probability the ceasefire still holds (%)")
    ax.legend(
        fontsize=8,
        loc="lower left",
        title="Scenario (replicates with a ceasefire)",
        title_fontsize=8,
    )
    ax.grid(alpha=0.3)
    r0 = results[0]
    fig.suptitle(
        f"Does the ceasefire hold? Kaplan-Meier survival of the first ceasefire, 95% bands\n"
        f"{r0.replicates:,} replicates each, seed {r0.seed}, {r0.weeks} weeks",
        fontsize=11,
    )
    return fig


def compare_outcomes(results: list[RunResult]) -> Figure:
    """Outcome shares of several scenarios side by side, with 95% intervals."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    names = list(CLASS_LABELS)
    width = 0.8 / len(results)
    for k, r in enumerate(results):
        shares = np.array([r.summary["outcome_shares"][c] for c in names]) * 100
        ci = np.array([r.summary["outcome_shares_95"][c] for c in names]) * 100
        x = np.arange(len(names)) - 0.4 + width * (k + 0.5)
        ax.bar(
            x,
            shares,
            width,
            color=OKABE_ITO[k % len(OKABE_ITO)],
            label=r.scenario.spec.title or r.name,
            yerr=np.vstack([shares - ci[:, 0], ci[:, 1] - shares]),
            capsize=2,
            ecolor="#333333",
        )
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([CLASS_LABELS[c] for c in names], fontsize=9)
    ax.set_ylabel("Share of replicates (%)")
    ax.set_ylim(0, 105)
    ax.set_xlabel("Security arrangement of the first agreed ceasefire (error bars: 95% interval)")
    ax.legend(fontsize=8, title="Scenario", title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    r0 = results[0]
    fig.suptitle(
        f"Outcomes side by side\n{r0.replicates:,} replicates each, seed {r0.seed}, {r0.weeks} weeks",
        fontsize=11,
    )
    return fig


def compare_states(results: list[RunResult]) -> Figure:
    """Share of replicates in a holding ceasefire, week by week, for several scenarios."""
    fig = Figure(figsize=(8.5, 5), layout="constrained")
    ax = fig.subplots()
    for k, r in enumerate(results):
        weeks = np.arange(r.weeks + 1)
        ax.plot(
            weeks,
            r.records["state"][:, 1] * 100,
            color=OKABE_ITO[k % len(OKABE_ITO)],
            ls=LINESTYLES[k % len(LINESTYLES)],
            lw=2,
            label=r.scenario.spec.title or r.name,
        )
    ax.set_xlim(0, max(r.weeks for r in results))
    ax.set_ylim(0, 100)
    ax.set_xlabel("Week")
    ax.set_ylabel("Replicates in a holding ceasefire (%)")
    ax.legend(fontsize=8, loc="upper left", title="Scenario", title_fontsize=8)
    ax.grid(alpha=0.3)
    r0 = results[0]
    fig.suptitle(
        f"Peace over time: share of replicates in a ceasefire that still holds\n"
        f"{r0.replicates:,} replicates each, seed {r0.seed}, {r0.weeks} weeks",
        fontsize=11,
    )
    return fig


COMPARE_PLOTS = {
    "compare_survival": compare_survival,
    "compare_outcomes": compare_outcomes,
    "compare_states": compare_states,
}
