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

from sim.scenario.loader import OUTCOME_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from sim.engine.result import RunResult

OKABE_ITO = ["#0072B2", "#009E73", "#D55E00", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
"""Okabe & Ito (2008) palette, reordered so the bundled actors get blue, green, vermillion, orange."""
STATE_COLOURS = {
    "At war": "#D55E00",
    "Ceasefire holding": "#009E73",
    "War resumed after collapse": "#CC79A7",
}
CLASS_LABELS = {k: textwrap.fill(v, 17) for k, v in OUTCOME_LABELS.items()}
"""Outcome labels broken over lines for bar charts."""
LINESTYLES = ["-", "--", "-.", ":"]


TOL_MUTED = ["#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499"]
"""Paul Tol's colour-blind-safe 'muted' scheme, used after the Okabe-Ito colours run out."""
PALETTE = OKABE_ITO + TOL_MUTED


def actor_colour(index: int) -> str:
    """Colour of the actor at this position in the scenario (17 distinct colour-blind-safe colours)."""
    return PALETTE[index % len(PALETTE)]


def _title(fig: Figure, result: RunResult, what: str) -> None:
    name = result.scenario.spec.title or result.name
    fig.suptitle(f"{name}: {what}\n{result.caption()}", fontsize=11)


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
    info = result.summary_info
    shares = np.array([info.outcome_shares[k] for k in names]) * 100
    ci = np.array([info.outcome_shares_95[k] for k in names]) * 100
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
    n_cf = int(round(result.summary_info.p_ceasefire * result.replicates))
    if n_cf:
        _km(ax, result.survival, "#009E73", f"First ceasefire ({n_cf:,} replicates reached one)")
        s52 = result.summary_info.ceasefire_survival_52w
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
"""Plots written for every war run, by file stem."""


def rounds(result: RunResult) -> Figure:
    """Talks only: each actor's position per issue by round, with the protocol's forecasts."""
    spec = result.scenario.spec
    issues = result.issues
    ncol = 2 if len(issues) > 1 else 1
    nrow = int(np.ceil(len(issues) / ncol))
    fig = Figure(figsize=(7.5 * ncol, 3.4 * nrow + 1.3), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    rec = result.records["positions"]
    steps = np.arange(rec.shape[0])
    fstyle = {"mean": ("black", "--"), "median": ("#555555", ":"), "mode": ("#555555", "-.")}
    handles: dict[str, object] = {}
    many = len(result.actors) > len(PALETTE)
    for j, (iid, ax) in enumerate(zip(issues, axes, strict=False)):
        issue = spec.issues[iid]
        for a, aid in enumerate(result.actors):
            colour = "#999999" if many else actor_colour(a)
            (h,) = ax.plot(
                steps, rec[:, a, j, 3], color=colour, lw=1.2 if many else 1.8, marker="" if many else "o", ms=3
            )
            if not many:
                handles.setdefault(spec.actors[aid].name, h)
        if len(issue.points) <= 2:  # only the ends are labelled: numbers say more
            unit_label = " — ".join(f"{p:g} = {issue.points[p]}" for p in sorted(issue.points))
            ax.set_ylabel(f"Position ({unit_label})", fontsize=8)
        for key, arr in result.records["forecast"].items():
            c, ls = fstyle.get(key, ("black", "-"))
            (h,) = ax.plot(steps, arr[:, j], color=c, ls=ls, lw=2.2)
            handles.setdefault(f"Forecast: {key}", h)
        pts = sorted(issue.points)
        if 2 < len(pts) <= 8:
            ax.set_yticks(pts)
            ax.set_yticklabels([textwrap.fill(issue.points[p], 22) for p in pts], fontsize=8)
            ax.set_ylabel("Position")
        pad = 0.04 * (issue.hi - issue.lo)
        ax.set_ylim(issue.lo - pad, issue.hi + pad)
        ax.set_xlim(0, max(1, steps[-1]))
        unit = f" ({issue.unit})" if issue.unit else ""
        ax.set_title(issue.label + unit, fontsize=10)
        ax.set_xlabel("Round")
        ax.grid(alpha=0.3)
    for ax in axes[len(issues) :]:
        ax.set_axis_off()
    if many:
        (h,) = axes[0].plot([], [], color="#999999", lw=1.2)
        handles = {"Actors (grey)": h, **handles}
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=min(len(handles), 5), fontsize=9)
    _title(fig, result, f"positions by round, protocol {result.summary_info.protocol}")
    return fig


def win_probability(result: RunResult) -> Figure:
    """SMP: probability that each actor's position prevails, by round."""
    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    hist = [h["win_prob"] for h in result.records.get("protocol_history", []) if "win_prob" in h]
    if hist:
        wp = np.array(hist)
        for a, aid in enumerate(result.actors):
            name = result.scenario.spec.actors[aid].name
            ax.plot(np.arange(1, len(wp) + 1), wp[:, a] * 100, color=actor_colour(a), lw=1.8, label=name)
        if len(result.actors) <= 10:
            ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("Round")
    ax.set_ylabel("Probability the actor's position prevails (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    _title(fig, result, "SMP win probabilities by round")
    return fig


def quad_map(result: RunResult) -> Figure:
    """BDM: the expected-utility perspective ("quad") map of the first round, first issue.

    Each point is a pair of actors (a, o): x = EU_a(a challenges o), y = EU_a(o challenges a), as a
    sees it. Right of the axis a expects to gain by challenging; above it a expects to gain when
    challenged.
    """
    fig = Figure(figsize=(8.5, 6.5), layout="constrained")
    ax = fig.subplots()
    hist = result.records.get("protocol_history", [])
    if hist and "eu_challenge" in hist[0]:
        x = hist[0]["eu_challenge"][0]
        y = hist[0]["eu_challenged"][0]
        a_n = len(result.actors)
        for a in range(a_n):
            mask = np.arange(a_n) != a
            colour = actor_colour(a) if a_n <= len(PALETTE) else "#0072B2"
            label = result.scenario.spec.actors[result.actors[a]].name if a_n <= len(PALETTE) else None
            marker = "osD^v<>"[a % 7]
            ax.scatter(x[a, mask], y[a, mask], s=26, color=colour, marker=marker, label=label, alpha=0.85)
        ax.axhline(0, color="#333333", lw=1)
        ax.axvline(0, color="#333333", lw=1)
        if a_n <= len(PALETTE):
            fig.legend(fontsize=7, title="Perspective of", title_fontsize=8, loc="outside right upper")
    ax.set_xlabel("EU of challenging the other actor (as the actor sees it)")
    ax.set_ylabel("EU of being challenged by the other actor")
    issue = result.scenario.spec.issues[result.issues[0]].label
    _title(fig, result, f"BDM quad map, round 1, {issue}")
    return fig


def plots_for(result: RunResult) -> dict:
    """The plots a run writes, by file stem."""
    if not result.talks_only:
        return SINGLE_PLOTS
    out = {"rounds": rounds}
    proto = result.summary_info.protocol
    if proto == "smp":
        out["win_probability"] = win_probability
    if proto == "bdm":
        out["quad_map"] = quad_map
    return out


def compare_survival(results: list[RunResult]) -> Figure:
    """Kaplan-Meier survival curves of several scenarios, overlaid."""
    fig = Figure(figsize=(8.5, 5), layout="constrained")
    ax = fig.subplots()
    for k, r in enumerate(results):
        n_cf = int(round(r.summary_info.p_ceasefire * r.replicates))
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
        f"Does the ceasefire hold? Kaplan-Meier survival of the first ceasefire, 95% bands\n{r0.caption(each=True)}",
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
        shares = np.array([r.summary_info.outcome_shares[c] for c in names]) * 100
        ci = np.array([r.summary_info.outcome_shares_95[c] for c in names]) * 100
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
        f"Outcomes side by side\n{r0.caption(each=True)}",
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
        f"Peace over time: share of replicates in a ceasefire that still holds\n{r0.caption(each=True)}",
        fontsize=11,
    )
    return fig


COMPARE_PLOTS = {
    "compare_survival": compare_survival,
    "compare_outcomes": compare_outcomes,
    "compare_states": compare_states,
}
