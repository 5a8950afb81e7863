"""Figures for results: competency curves, costs, the plan's timeline, budget and workforce.

Figures are built with matplotlib's object-oriented API (no pyplot state, no
backend switching), so they save on a headless server and display in a notebook.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure


class _Figure(Figure):
    """A figure that shows itself in Jupyter whatever the matplotlib backend."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


#: More groups than this are drawn as small multiples, never as one crowded legend.
MAX_LEGEND = 8


def _dates(ax, small: bool = False) -> None:
    """Readable date ticks: as few as fit (fewer on a small multiple), each written once
    (year, then months)."""
    locator = mdates.AutoDateLocator(minticks=2, maxticks=4 if small else 8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _money(ax, largest: float, axis: str = "y", currency: str = "KSh") -> str:
    """Money ticks with thousands or millions spelled out in the label (no '1e6' offset);
    returns the unit words for the axis label."""
    scale, unit = ((1e6, f"{currency} millions") if largest >= 2e6 else
                   (1e3, f"{currency} thousands") if largest >= 2e4 else (1.0, currency))
    fmt = mticker.FuncFormatter(lambda v, _: f"{v / scale:,.{1 if scale > 1 and largest / scale < 10 else 0}f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return unit


def _panels(n: int, width: float = 8.0, height: float = 4.5):
    """A figure with one axis, or a grid of small multiples for more than MAX_LEGEND
    groups; returns the figure and a list of ``n`` axes (the same axis n times when one)."""
    if n <= MAX_LEGEND:
        fig = _Figure(figsize=(width, height), dpi=110, layout="constrained")
        ax = fig.subplots()
        return fig, [ax] * n
    cols = min(6, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / cols))
    fig = _Figure(figsize=(2.3 * cols, 1.9 * rows + 0.8), dpi=110, layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[max(0, n - cols):n]:  # the last panel of each column shows its ticks
        ax.tick_params(labelbottom=True)
    return fig, list(axes[:n])


def plan_groups(ts: pd.DataFrame, phases: pd.DataFrame | None) -> dict[str, str]:
    """Each subcounty's group in the plan: 'from the start' or 'phase k'."""
    groups = {name: "from the start" for name in ts["subcounty"].unique()}
    if phases is not None:
        for phase, names in phases.groupby("phase")["subcounties"].first().items():
            for name in names.split(", "):
                groups[name] = f"phase {phase}"
    return groups


def _level_in_post(ts: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Mean checklist level of every nurse in post, per ``keys`` and month end."""
    w = ts.assign(points=ts["mean_score_in_post"] * ts["nurses_in_post"])
    per = w.groupby([*keys, "month_end"], sort=False)[["points", "nurses_in_post"]].sum()
    return per["points"] / per["nurses_in_post"]


def competency_figure(ts: pd.DataFrame, phases: pd.DataFrame | None = None,
                      by: str | None = None, title: str = "") -> Figure:
    """Mean competency of every nurse in post at the scenario's facilities (nurses of
    subcounties not yet in the programme count at their baselines, so a phase's start is
    no dip), across replicates with the 5-95 % band, with the phases' starts marked.

    ``by`` draws a curve per ``"subcounty"`` or per ``"phase"`` (the subcounties that
    join together) instead; more than :data:`MAX_LEGEND` become small multiples.
    """
    if by is None:
        data = ts.assign(group="all nurses in post")
    elif by in ("subcounty", "phase"):
        groups = plan_groups(ts, phases) if by == "phase" else None
        data = ts.assign(group=ts["subcounty"].map(groups) if groups else ts["subcounty"])
    else:
        raise ValueError(f"by: expected 'subcounty' or 'phase', got {by!r}")
    names = list(dict.fromkeys(data["group"]))
    if by == "phase":  # in the plan's order
        names.sort(key=lambda n: 0 if n == "from the start" else int(n.removeprefix("phase ")))
    return _bands(_level_in_post(data, ["group", "replicate"]), names,
                  "mean competency (0-4 checklist)", "date of reading (end of each programme month)",
                  title or "Competency of the nurses in post", ylim=(0, 4), phases=phases)


def _bands(series: pd.Series, names: list[str], ylabel: str, xlabel: str, title: str,
           ylim: tuple[float, float] | None = None, phases: pd.DataFrame | None = None,
           money: bool = False) -> Figure:
    """A curve per group of ``series`` (indexed by group, replicate and month end): the mean
    across replicates and the band holding 90 % of them; one axis with a legend, or small
    multiples beyond :data:`MAX_LEGEND` groups. ``money`` writes the y axis in KSh."""
    fig, axes = _panels(len(names))
    small = len(names) > MAX_LEGEND
    for name, ax in zip(names, axes, strict=True):
        by_month = series.loc[name].groupby(level="month_end")
        q = by_month.quantile([0.05, 0.95]).unstack()
        line = ax.plot(q.index, by_month.mean(), marker="o", ms=2.5, label=name)[0]
        ax.fill_between(q.index, q[0.05], q[0.95], color=line.get_color(), alpha=0.2)
        if small:
            ax.set_title(name, fontsize=8)
    if money:
        ylabel = f"{ylabel} ({_money(axes[0], float(series.max()))})"
    marked = phases is not None and len(phases) > 0
    for k, ax in enumerate(dict.fromkeys(axes)):
        ax.grid(alpha=0.3)
        _dates(ax, small)
        if ylim is not None:
            ax.set_ylim(*ylim)
        if marked:
            _mark_phases(ax, phases, labels=k == 0)
    if small:
        fig.supylabel(ylabel)
        fig.supxlabel(f"{xlabel}; band: 5-95 % of replicates"
                      + ("; dotted: phase starts" if marked else ""))
    else:
        axes[0].set_ylabel(ylabel)
        axes[0].set_xlabel(xlabel)
        axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1),
                       title="mean, 5-95 % of replicates", title_fontsize=7)
    fig.suptitle(title)
    return fig


def _mark_phases(ax, phases: pd.DataFrame, labels: bool = True) -> None:
    """A dotted line at each phase's mean actual start, labelled with its number."""
    started = phases.dropna(subset=["start_date"])
    for phase, rows in started.groupby("phase"):
        when = rows["start_date"].mean()
        ax.axvline(when, color="grey", ls=":", lw=1)
        if labels:
            ax.annotate(f"phase {phase}", (when, 0.05), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=7, color="dimgrey", ha="right", va="bottom")


def validation_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """Observed result and simulated 90 % prediction interval for each target.

    Shares are plotted as they are; the drop-out counts as shares of facilities, and
    checklist scores as shares of the top score, 4.
    """
    rows = table.iloc[::-1].reset_index(drop=True)
    scale = rows["n"].where(rows["kind"] == "dropouts", 1.0).where(rows["kind"] != "checklist", 4.0)
    fig = _Figure(figsize=(8, 0.22 * len(rows) + 1.2), dpi=110, layout="tight")
    ax = fig.subplots()
    y = range(len(rows))
    ax.hlines(y, rows["simulated_p5"] / scale, rows["simulated_p95"] / scale, color="tab:blue",
              alpha=0.5, lw=4, label="simulated 90 % interval")
    ax.plot(rows["simulated_mean"] / scale, y, "|", color="tab:blue", ms=9, label="simulated mean")
    inside = rows["inside"].to_numpy()
    held = rows["held_out"].to_numpy() if "held_out" in rows else np.zeros(len(rows), bool)
    obs = rows["observed"] / scale
    for sel, marker, label in ((~held, "o", "observed"), (held, "D", "observed, held out")):
        if sel.any():
            ax.plot(obs[sel & inside], np.flatnonzero(sel & inside), marker, color="black",
                    ms=4, label=label)
            ax.plot(obs[sel & ~inside], np.flatnonzero(sel & ~inside), marker, color="tab:red",
                    ms=5, label=f"{label}, outside")
    ax.set_yticks(list(y), [f"{t} ({w}{', held out' if h else ''})"
                            for t, w, h in zip(rows["target"], rows["wave"], held, strict=True)],
                  fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("share")
    fig.suptitle(title or "Validation", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.22 * len(rows) + 1.2)),
              ncol=3, fontsize=7, frameon=False)
    return fig


def _short(name: str) -> str:
    """A parameter's dotted key without its block: ``learning.rate``."""
    return name.removeprefix("mentee.").removeprefix("mentor.").removeprefix("survey.")


def pairs_figure(draws: pd.DataFrame, mode: dict[str, float], prior: dict[str, float],
                 title: str = "") -> Figure:
    """The posterior's marginals (diagonal: histogram, the mode and the prior centre) and
    its pairs (below: each draw as a point), for the parameters in ``mode``."""
    names = list(mode)
    k = len(names)
    fig = _Figure(figsize=(1.7 * k + 1, 1.7 * k + 0.8), dpi=110, layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    for i, y in enumerate(names):
        for j, x in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(draws[x], bins=20, color="tab:blue", alpha=0.6)
                ax.axvline(mode[x], color="black", lw=1, label="mode")
                ax.axvline(prior[x], color="tab:red", lw=1, ls="--", label="prior centre")
                ax.set_yticks([])
            else:
                ax.plot(draws[x], draws[y], ".", ms=2, color="tab:blue", alpha=0.4)
                ax.plot(mode[x], mode[y], "+", color="black", ms=8)
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(_short(x), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(y), fontsize=7)
    axes[0, 0].legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.05, 1))
    fig.suptitle(title or "Posterior", fontsize=10)
    return fig


def chain_figure(z: np.ndarray, names: list[str], burn: int, title: str = "") -> Figure:
    """Every walker's path on each parameter's search scale (log for rates), step by step,
    with the burn-in shaded."""
    k = len(names)
    fig = _Figure(figsize=(8, 1.3 * k + 0.8), dpi=110, layout="constrained")
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    for j, (ax, name) in enumerate(zip(axes, names, strict=True)):
        ax.plot(z[:, :, j], color="tab:blue", lw=0.5, alpha=0.4)
        ax.axvspan(0, burn, color="grey", alpha=0.15)
        ax.set_ylabel(_short(name), fontsize=7)
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("step (burn-in shaded)")
    fig.suptitle(title or "Walkers", fontsize=10)
    return fig


def batch_figures(timeseries: pd.DataFrame, outcomes: pd.DataFrame,
                  order: list[str]) -> dict[str, Figure]:
    """The batch's three figures: competency curves, cumulative costs, cost vs competency."""
    order = [s for s in order if s in set(timeseries["scenario"])]
    level = _level_in_post(timeseries, ["scenario", "replicate"]).rename("level")
    cost = timeseries.groupby(["scenario", "replicate", "month_end"], sort=False)["cost_total"].sum()
    cumulative = cost.groupby(level=["scenario", "replicate"]).cumsum()
    figs = {
        "competency": _bands(level, order, "mean competency (0-4 checklist)", "date",
                             "Competency of the nurses in post, by scenario", ylim=(0, 4)),
        "cost": _bands(cumulative, order, "cumulative cost", "date",
                       "Cumulative cost, by scenario", money=True),
    }
    fig = _Figure(figsize=(7, 5), dpi=110, layout="constrained")
    ax = fig.subplots()
    stats = outcomes.groupby("scenario")[["cost_per_mentee_ksh", "mean_competency_at_horizon"]]
    mean, lo, hi = stats.mean(), stats.quantile(0.05), stats.quantile(0.95)
    for scenario in order:
        if scenario not in mean.index:
            continue
        x, y = mean.loc[scenario]
        ax.errorbar(x, y, xerr=[[x - lo.loc[scenario].iloc[0]], [hi.loc[scenario].iloc[0] - x]],
                    yerr=[[y - lo.loc[scenario].iloc[1]], [hi.loc[scenario].iloc[1] - y]],
                    fmt="o", capsize=2, alpha=0.8)
        ax.annotate(scenario, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel(f"cost per mentee ({_money(ax, float(hi['cost_per_mentee_ksh'].max()), 'x')})")
    ax.set_ylabel("mean competency at the end (0-4)")
    ax.set_title("Cost and competency by scenario (mean, 5-95 %)")
    ax.grid(alpha=0.3)
    figs["tradeoff"] = fig
    return figs


def timeline_figure(phases: pd.DataFrame, order: list[str] | None = None) -> Figure:
    """Planned against actual start of each phase (of each scenario): the planned month,
    the mean actual start and the range across replicates; phases that did not start
    within the horizon in some replicates are flagged."""
    keys = ["scenario", "phase"] if "scenario" in phases.columns else ["phase"]
    if order is not None and "scenario" in phases.columns:
        phases = phases[phases["scenario"].isin(order)].assign(
            _o=lambda d: d["scenario"].map({s: i for i, s in enumerate(order)}))
        phases = phases.sort_values(["_o", "phase"])
    rows = list(phases.groupby(keys, sort=False))
    fig = _Figure(figsize=(8, 0.35 * max(len(rows), 1) + 1.6), dpi=110, layout="constrained")
    ax = fig.subplots()
    labels = []
    for y, (key, grp) in enumerate(rows):
        scenario, phase = key if len(keys) == 2 else ("", key[0] if isinstance(key, tuple) else key)
        labels.append(f"{scenario} · phase {phase}" if scenario else f"phase {phase}")
        planned = grp["planned_date"].iloc[0]
        started = grp["start_date"].dropna()
        ax.plot(planned, y, "D", mfc="none", color="black", ms=6,
                label="planned" if y == 0 else None)
        if len(started):
            ax.hlines(y, started.min(), started.max(), color="tab:blue", lw=5, alpha=0.4,
                      label="actual start, range" if y == 0 else None)
            ax.plot(started.mean(), y, "o", color="tab:blue", ms=5,
                    label="actual start, mean" if y == 0 else None)
        missing = len(grp) - len(started)
        if missing:
            ax.annotate(f"not started in {missing} of {len(grp)}", (planned, y), fontsize=7,
                        color="tab:red", xytext=(8, -3), textcoords="offset points")
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    _dates(ax)
    ax.set_xlabel("date")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("The plan's timeline: planned and actual phase starts")
    return fig


def budget_figure(budget: pd.DataFrame, order: list[str] | None = None) -> Figure:
    """Mean cost per fiscal year against the annual cap, a bar per scenario (or one)."""
    data = budget if "scenario" in budget.columns else budget.assign(scenario="")
    order = [s for s in (order or list(dict.fromkeys(data["scenario"])))
             if s in set(data["scenario"])]
    mean = data.groupby(["fiscal_year", "scenario"], sort=False)["cost_total"].mean().unstack()
    mean = mean.reindex(columns=order)
    years = list(dict.fromkeys(data.sort_values("year_start")["fiscal_year"]))
    mean = mean.reindex(years)
    fig = _Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(order)
    x = np.arange(len(years))
    for k, scenario in enumerate(order):
        ax.bar(x + (k - (len(order) - 1) / 2) * width, mean[scenario], width,
               label=scenario or None)
    caps = data.groupby("scenario")["annual_budget_ksh"].first().dropna()
    for cap in sorted(set(caps)):
        ax.axhline(cap, color="tab:red", ls="--", lw=1)
        ax.annotate(f"annual cap {cap:,.0f} KSh", (0, cap), xycoords=("axes fraction", "data"),
                    fontsize=7, color="tab:red", xytext=(2, 2), textcoords="offset points")
    top = max(float(np.nanmax(mean.to_numpy())), max(caps, default=0.0))
    ax.set_ylabel(f"cost ({_money(ax, top)}), mean of replicates")
    ax.set_xticks(x, [f"FY {y}" for y in years], fontsize=8)
    months = data.groupby("fiscal_year")["programme_months"].first()
    for i, y in enumerate(years):
        if months[y] < 12:
            ax.annotate(f"{months[y]} months", (i, 0), fontsize=7, ha="center",
                        xytext=(0, 2), textcoords="offset points")
    ax.grid(axis="y", alpha=0.3)
    if len(order) > 1 and len(order) <= MAX_LEGEND * 2:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Budget impact: cost by government fiscal year")
    return fig


def workforce_figure(workforce: pd.DataFrame, order: list[str] | None = None) -> Figure:
    """Mentors in post at each fiscal year's end (recruits and graduates taken on in it),
    and the workload pressure on their release days."""
    data = workforce if "scenario" in workforce.columns else workforce.assign(scenario="")
    order = [s for s in (order or list(dict.fromkeys(data["scenario"])))
             if s in set(data["scenario"])]
    years = list(dict.fromkeys(data["fiscal_year"]))
    mean = data.groupby(["scenario", "fiscal_year"], sort=False)[
        ["mentors_in_post", "mentors_recruited", "graduates_promoted", "workload_pressure"]].mean()
    fig = _Figure(figsize=(9, 4), dpi=110, layout="constrained")
    left, right = fig.subplots(1, 2)
    x = np.arange(len(years))
    for scenario in order:
        m = mean.loc[scenario].reindex(years)
        line = left.plot(x, m["mentors_in_post"], marker="o", label=scenario or "mentors in post")[0]
        if len(order) == 1:
            left.bar(x - 0.2, m["mentors_recruited"], 0.4, color="tab:orange", alpha=0.6,
                     label="recruited in the year")
            left.bar(x + 0.2, m["graduates_promoted"], 0.4, color="tab:green", alpha=0.6,
                     label="graduates promoted in the year")
        right.plot(x, m["workload_pressure"], marker="o", color=line.get_color(),
                   label=scenario or None)
    right.axhline(1, color="tab:red", ls="--", lw=1)
    for ax in (left, right):
        ax.set_xticks(x, [f"FY {y}" for y in years], fontsize=7, rotation=30, ha="right")
        ax.grid(alpha=0.3)
    left.set_ylabel("mentors (mean of replicates)")
    left.set_title("Mentors in post at the year's end", fontsize=9)
    right.set_ylabel("visit hours needed / release hours available")
    right.set_ylim(bottom=0)
    right.set_title("Workload pressure (above 1: too few release days)", fontsize=9)
    if len(order) <= MAX_LEGEND:
        left.legend(fontsize=7)
    fig.suptitle("Workforce by government fiscal year")
    return fig


def _colours(names: list[str]) -> dict[str, tuple]:
    """A colour per strategy, the same in every figure of one analysis: tab10's, then
    tab20's lighter shades, without the greys that mark the others and the frontier."""
    tab20 = colormaps["tab20"].colors
    palette = [c for c in tab20[::2] + tab20[1::2] if len(set(c)) > 1]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


#: With more strategies than MAX_LEGEND, those never above this probability are drawn grey.
NOTABLE = 0.05


def _notable(probability: pd.DataFrame, optimal: pd.Series) -> list[str]:
    """The strategies drawn in colour and named: all of them, or beyond :data:`MAX_LEGEND`
    those ever cost-effective in more than :data:`NOTABLE` of draws or ever optimal."""
    if probability.shape[1] <= MAX_LEGEND:
        return list(probability.columns)
    return [s for s in probability.columns
            if probability[s].max() > NOTABLE or s in set(optimal)]


def _wtp_axis(ax, largest: float, one: str, ksh_per_usd: float) -> None:
    """Willingness to pay in KSh below the axis and in US$ above it."""
    ax.set_xlabel(f"willingness to pay ({_money(ax, largest, 'x')} per {one})")
    top = ax.secondary_xaxis("top", functions=(lambda k: k / ksh_per_usd,
                                               lambda u: u * ksh_per_usd))
    top.set_xlabel(f"willingness to pay ({_money(top, largest / ksh_per_usd, 'x', 'US$')} "
                   f"per {one})", fontsize=8)
    top.tick_params(labelsize=8)


def _by_wtp(curves: pd.DataFrame, column: str) -> pd.DataFrame:
    """One of the long curves' columns as willingness to pay x strategies."""
    names = list(dict.fromkeys(curves["strategy"]))
    return curves.pivot(index="wtp_ksh", columns="strategy", values=column)[names]


def _lines(ax, table: pd.DataFrame, shown: list[str], colours: dict[str, tuple]) -> None:
    """A line per strategy: the notable ones in their colour and named, the rest grey and
    named together once."""
    rest = [s for s in table.columns if s not in shown]
    for k, s in enumerate(rest):
        ax.plot(table.index, table[s], color="lightgrey", lw=1,
                label=f"{len(rest)} others, never above {NOTABLE:.0%}" if k == 0 else None)
    for s in shown:
        ax.plot(table.index, table[s], color=colours[s], lw=1.5, label=s)


def _optimal_runs(ax, decision: pd.DataFrame, values: pd.Series, label: str) -> None:
    """A thick band along ``values`` (one per willingness to pay), broken where the optimal
    strategy changes, so no segment joins two strategies' curves."""
    d = decision.assign(value=values.to_numpy())
    runs = (d["optimal"] != d["optimal"].shift()).cumsum()
    for k, (_, run) in enumerate(d.groupby(runs)):
        ax.plot(run["wtp_ksh"], run["value"], color="black", lw=6, alpha=0.22,
                marker="o" if len(run) == 1 else None, solid_capstyle="butt",
                label=label if k == 0 else None, zorder=1)


def ceac_figure(curves: pd.DataFrame, decision: pd.DataFrame, unit: tuple[str, str],
                ksh_per_usd: float) -> Figure:
    """Each strategy's probability of being cost-effective against willingness to pay (its
    acceptability curve), and the acceptability frontier: the probability for the strategy
    with the highest expected net benefit, the one to choose."""
    probability = _by_wtp(curves, "probability_cost_effective")
    colours = _colours(list(probability.columns))
    fig = _Figure(figsize=(9, 4.8), dpi=110, layout="constrained")
    ax = fig.subplots()
    _optimal_runs(ax, decision, decision["probability_cost_effective"],
                  "acceptability frontier (CEAF):\nthe strategy with the highest\n"
                  "expected net benefit")
    _lines(ax, probability, _notable(probability, decision["optimal"]), colours)
    ax.set_ylim(-0.02, 1.02)
    _wtp_axis(ax, float(probability.index.max()), unit[0], ksh_per_usd)
    ax.set_ylabel("probability cost-effective")
    ax.set_title("Cost-effectiveness acceptability curves and frontier")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def expected_loss_figure(curves: pd.DataFrame, decision: pd.DataFrame, unit: tuple[str, str],
                         ksh_per_usd: float) -> Figure:
    """Each strategy's expected loss against willingness to pay: what choosing it forgoes, on
    average, against the best strategy in every draw. The lowest curve is the strategy to
    choose, and its loss the EVPI; the axis stops at three times the largest EVPI, so that
    the strategies close to the decision can be told apart."""
    loss = _by_wtp(curves, "expected_loss_ksh")
    probability = _by_wtp(curves, "probability_cost_effective")
    colours = _colours(list(loss.columns))
    fig = _Figure(figsize=(9, 4.8), dpi=110, layout="constrained")
    ax = fig.subplots()
    _optimal_runs(ax, decision, decision["evpi_ksh"],
                  "EVPI: the lowest expected loss,\nof the strategy to choose")
    _lines(ax, loss, _notable(probability, decision["optimal"]), colours)
    top = 3 * float(decision["evpi_ksh"].max()) or float(loss.to_numpy().max()) or 1.0
    ax.set_ylim(-0.02 * top, top)
    ax.set_ylabel(f"expected loss per decision ({_money(ax, top)})")
    _wtp_axis(ax, float(loss.index.max()), unit[0], ksh_per_usd)
    ax.set_title("Expected loss of each strategy and the EVPI")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), title_fontsize=7,
              title="curves above the frame are cut" if (loss.to_numpy() > top).any() else None)
    return fig


def ce_plane_figure(d_cost: pd.DataFrame, d_effect: pd.DataFrame, reference: str,
                    unit: tuple[str, str], wtp: float, ksh_per_usd: float) -> Figure:
    """Each strategy's incremental cost against its incremental effect over ``reference``
    (the cheapest non-dominated strategy), a dot per draw and a cross at the mean, with the
    line of willingness to pay ``wtp`` (KSh per effect unit) through the origin: below it a
    draw is cost-effective against the reference. Beyond :data:`MAX_LEGEND` strategies,
    a panel each."""
    names = [s for s in d_cost.columns if s != reference]
    colours = _colours(list(d_cost.columns))
    fig, axes = _panels(len(names), 9, 5.2)
    small = len(names) > MAX_LEGEND

    def span(values: np.ndarray) -> tuple[float, float]:
        lo, hi = min(0.0, float(np.nanmin(values))), max(0.0, float(np.nanmax(values)))
        pad = 0.05 * (hi - lo or 1.0)
        return lo - pad, hi + pad

    xlim, ylim = span(d_effect[names].to_numpy()), span(d_cost[names].to_numpy())
    for name, ax in zip(names, axes, strict=True):
        ax.scatter(d_effect[name], d_cost[name], s=8, alpha=0.4, color=colours[name],
                   label=name, linewidths=0)
        ax.scatter(d_effect[name].mean(), d_cost[name].mean(), s=70, marker="X",
                   color=colours[name], edgecolors="black", linewidths=0.8, zorder=3)
        if small:  # a sweep's names are long: break them at their commas
            ax.set_title("\n".join(textwrap.wrap(name.replace(",", ", "), 32)), fontsize=7)
    line = (f"WTP {wtp:,.0f} KSh (US$ {wtp / ksh_per_usd:,.0f}) per {unit[0]}:\n"
            "below the line, cost-effective")
    for ax in dict.fromkeys(axes):
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.plot(xlim, [wtp * x for x in xlim], color="black", ls="--", lw=1, label=line)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        if small:
            ax.tick_params(labelsize=6)
    money = _money(axes[0], max(abs(ylim[0]), abs(ylim[1])))  # shared by the panels
    xlabel = f"incremental effect ({unit[1]}, all nurses)"
    ylabel = f"incremental discounted cost ({money})"
    title = (f"Cost-effectiveness plane against {reference}, the cheapest non-dominated "
             "strategy: a dot per draw, a cross at the mean")
    if small:
        fig.supxlabel(xlabel, fontsize=9)
        fig.supylabel(ylabel, fontsize=9)
        fig.suptitle(textwrap.fill(f"{title}; dashed: {line}".replace("\n", " "), 110),
                     fontsize=9)
    else:
        axes[0].set_xlabel(xlabel)
        axes[0].set_ylabel(ylabel)
        right = axes[0].secondary_yaxis("right", functions=(lambda k: k / ksh_per_usd,
                                                              lambda u: u * ksh_per_usd))
        biggest = max(abs(ylim[0]), abs(ylim[1])) / ksh_per_usd
        right.set_ylabel(f"incremental discounted cost ({_money(right, biggest, 'y', 'US$')})",
                         fontsize=8)
        right.tick_params(labelsize=8)
        axes[0].set_title(textwrap.fill(title, 80), fontsize=10)
        axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.12, 1))
    return fig


def tornado_figure(table: pd.DataFrame, strategy: str, comparator: str, wtp: float,
                   ksh_per_usd: float) -> Figure:
    """Bars from the base-case incremental net benefit to its value at each parameter's
    5th and 95th percentile, widest first."""
    rows = table.iloc[::-1].reset_index(drop=True)
    base = float(rows["base_nmb"].iloc[0])
    fig = _Figure(figsize=(8, 0.4 * len(rows) + 1.5), dpi=110, layout="constrained")
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh(y, rows["nmb_at_low"] - base, left=base, color="tab:blue", label="5th percentile")
    ax.barh(y, rows["nmb_at_high"] - base, left=base, color="tab:orange", alpha=0.8,
            label="95th percentile")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(list(y), rows["parameter"], fontsize=8)
    largest = float(np.nanmax(np.abs(rows[["nmb_at_low", "nmb_at_high"]].to_numpy())))
    ax.set_xlabel(f"incremental net monetary benefit of {strategy} vs {comparator} "
                  f"({_money(ax, largest, 'x')}), WTP {wtp:,.0f} KSh "
                  f"(US$ {wtp / ksh_per_usd:,.0f})")
    ax.set_title("One-way sensitivity")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def information_figure(evppi: pd.DataFrame, title: str = "") -> Figure:
    """The information-rank chart: each parameter's and group's EVPPI over the population
    the decision affects, largest first, with two Monte Carlo standard errors."""
    rows = evppi.sort_values("population_ksh").reset_index(drop=True)
    fig = _Figure(figsize=(8, 0.32 * len(rows) + 1.6), dpi=110, layout="constrained")
    ax = fig.subplots()
    group = (rows["parameters"] > 1).to_numpy()
    y = np.arange(len(rows))
    for sel, colour, label in ((~group, "tab:blue", "one parameter"),
                               (group, "tab:grey", "a group")):
        ax.barh(y[sel], rows["population_ksh"][sel], color=colour, label=label,
                xerr=2 * rows["population_se_ksh"][sel], error_kw={"lw": 0.8})
    ax.set_yticks(y, [_short(n) for n in rows["name"]], fontsize=8)
    unit = _money(ax, float(max(rows["population_ksh"].max(), 1.0)), "x")
    ax.set_xlabel(f"expected value of perfect information ({unit}, over the population)")
    ax.set_title(title or "Value of information", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def sampling_figure(evsi: pd.DataFrame, bound: float | None, title: str = "") -> Figure:
    """EVSI of an evaluation survey against its size, over the population, with two standard
    errors, the survey's cost and its expected net benefit where costed, and the EVPPI of
    what the survey measures, which it cannot exceed."""
    fig = _Figure(figsize=(7, 4.5), dpi=110, layout="constrained")
    ax = fig.subplots()
    n = evsi["facilities"].to_numpy()
    value, se = evsi["population_ksh"].to_numpy(), evsi["population_se_ksh"].to_numpy()
    ax.plot(n, value, "o-", color="tab:blue", label="EVSI")
    ax.fill_between(n, value - 2 * se, value + 2 * se, color="tab:blue", alpha=0.2)
    if "survey_cost_ksh" in evsi:
        ax.plot(n, evsi["survey_cost_ksh"], "s--", color="tab:red", label="survey cost")
        ax.plot(n, evsi["net_benefit_of_sampling_ksh"], "^-", color="tab:green",
                label="expected net benefit of sampling")
        ax.axhline(0, color="black", lw=0.8)
    if bound is not None:
        ax.axhline(bound, color="tab:grey", ls=":", label="EVPPI of what the survey measures")
    columns = [c for c in ("population_ksh", "survey_cost_ksh", "net_benefit_of_sampling_ksh")
               if c in evsi]
    unit = _money(ax, float(np.nanmax(np.abs(evsi[columns].to_numpy()))) or 1.0)
    ax.set_xlabel("facilities surveyed")
    ax.set_ylabel(f"value over the population ({unit})")
    ax.set_title(title or "Value of an evaluation survey", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
