"""Figures for results: the competency curve per subcounty with its band.

Figures are built with matplotlib's object-oriented API (no pyplot state, no
backend switching), so they save on a headless server and display in a notebook.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure


class _Figure(Figure):
    """A figure that shows itself in Jupyter whatever the matplotlib backend."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


def competency_figure(ts: pd.DataFrame, title: str = "") -> Figure:
    """Mean and 5-95 % band across replicates of the mean checklist score, by month end."""
    fig = _Figure(figsize=(7, 4), dpi=120, layout="tight")
    ax = fig.subplots()
    for name, sub in ts.groupby("subcounty", sort=False):
        by_month = sub.groupby("month_end")["mean_score"]
        q = by_month.quantile([0.05, 0.95]).unstack()
        line = ax.plot(q.index, by_month.mean(), marker="o", label=name)[0]
        ax.fill_between(q.index, q[0.05], q[0.95], color=line.get_color(), alpha=0.2)
    ax.set_ylim(0, 4)
    ax.set_ylabel("mean competency (0-4 checklist)")
    ax.set_xlabel("date of reading (end of each programme month)")
    ax.set_title(title or "Competency")
    ax.grid(alpha=0.3)
    ax.legend(title="subcounty: mean, 5-95 % of replicates")
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    return fig


def validation_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """Observed result and simulated 90 % prediction interval for each target.

    Shares are plotted as they are; the drop-out counts as shares of facilities.
    """
    rows = table.iloc[::-1].reset_index(drop=True)
    scale = rows["n"].where(rows["kind"] == "dropouts", 1.0)
    fig = _Figure(figsize=(8, 0.22 * len(rows) + 1.2), dpi=110, layout="tight")
    ax = fig.subplots()
    y = range(len(rows))
    ax.hlines(y, rows["simulated_p5"] / scale, rows["simulated_p95"] / scale, color="tab:blue",
              alpha=0.5, lw=4, label="simulated 90 % interval")
    ax.plot(rows["simulated_mean"] / scale, y, "|", color="tab:blue", ms=9, label="simulated mean")
    inside = rows["inside"].to_numpy()
    obs = rows["observed"] / scale
    ax.plot(obs[inside], [i for i in y if inside[i]], "o", color="black", ms=4, label="observed")
    ax.plot(obs[~inside], [i for i in y if not inside[i]], "o", color="tab:red", ms=5,
            label="observed, outside")
    ax.set_yticks(list(y), [f"{t} ({w})" for t, w in zip(rows["target"], rows["wave"], strict=True)],
                  fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("share")
    ax.set_title(title or "Validation")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.22 * len(rows) + 1.2)),
              ncol=4, fontsize=7, frameon=False)
    return fig


def batch_figures(timeseries: pd.DataFrame, outcomes: pd.DataFrame,
                  order: list[str]) -> dict[str, Figure]:
    """The batch's three figures: competency curves, cumulative costs, cost vs competency."""
    # programme-wide per replicate and month: enrolment-weighted score, summed costs
    ts = timeseries.assign(weighted=timeseries["mean_score"] * timeseries["active_mentees"])
    per = ts.groupby(["scenario", "replicate", "month_end"], sort=False)[
        ["weighted", "active_mentees", "cost_total"]].sum()
    per["score"] = per["weighted"] / per["active_mentees"]
    per["cumulative_cost"] = per.groupby(level=["scenario", "replicate"])["cost_total"].cumsum()
    figs = {}
    for key, column, label in (("competency", "score", "mean competency (0-4 checklist)"),
                               ("cost", "cumulative_cost", "cumulative cost (KSh)")):
        fig = _Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
        ax = fig.subplots()
        for scenario in order:
            if scenario not in per.index.get_level_values("scenario"):
                continue
            by_month = per.loc[scenario][column].groupby(level="month_end")
            q = by_month.quantile([0.05, 0.95]).unstack()
            line = ax.plot(q.index, by_month.mean(), label=scenario)[0]
            ax.fill_between(q.index, q[0.05], q[0.95], color=line.get_color(), alpha=0.15)
        ax.set_ylabel(label)
        ax.set_xlabel("date")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), title="mean, 5-95 %")
        figs[key] = fig
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
    ax.set_xlabel("cost per mentee (KSh)")
    ax.set_ylabel("mean competency at the end (0-4)")
    ax.set_title("Cost and competency by scenario (mean, 5-95 %)")
    ax.grid(alpha=0.3)
    figs["tradeoff"] = fig
    return figs


def ce_plane_figure(d_cost: pd.DataFrame, d_effect: pd.DataFrame, comparator: str,
                    effect: str) -> Figure:
    """Incremental cost against incremental effect of each strategy, one dot per draw."""
    fig = _Figure(figsize=(7, 5), dpi=110, layout="constrained")
    ax = fig.subplots()
    for strategy in d_cost.columns:
        if strategy == comparator:
            continue
        ax.scatter(d_effect[strategy], d_cost[strategy], s=8, alpha=0.5, label=strategy)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"incremental {effect.replace('_', ' ')} vs {comparator}")
    ax.set_ylabel(f"incremental discounted cost (KSh) vs {comparator}")
    ax.set_title("Cost-effectiveness plane (one dot per draw)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def ceac_figure(curve: pd.DataFrame, effect: str) -> Figure:
    """Probability each strategy is cost-effective, against willingness to pay."""
    fig = _Figure(figsize=(7, 4.5), dpi=110, layout="constrained")
    ax = fig.subplots()
    for strategy in curve.columns:
        ax.plot(curve.index, curve[strategy], label=strategy)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"willingness to pay (KSh per {effect.replace('_', ' ')})")
    ax.set_ylabel("probability cost-effective")
    ax.set_title("Cost-effectiveness acceptability curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def tornado_figure(table: pd.DataFrame, strategy: str, comparator: str, wtp: float) -> Figure:
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
    ax.set_xlabel(f"incremental net monetary benefit of {strategy} vs {comparator} (KSh), "
                  f"WTP {wtp:,.0f}")
    ax.set_title("One-way sensitivity")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig
