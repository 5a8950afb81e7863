"""Comparing the scenarios of a batch: outcomes, paired differences, cost-effectiveness."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import batch, cea, metrics

OUTCOMES = (
    "mean_competency_at_horizon",
    "share_all_areas_3_or_above",
    "visits_per_mentee",
    "total_cost_ksh",
    "cost_per_mentee_ksh",
    "cost_per_competency_point_ksh",
)


def _stats(x: pd.Series) -> tuple[float, float, float]:
    x = x.dropna()
    if x.empty:
        return (np.nan, np.nan, np.nan)
    return (float(x.mean()), float(x.quantile(0.05)), float(x.quantile(0.95)))


def compare(out: str | Path) -> pd.DataFrame:
    """One row per (scenario, outcome): mean and 90 % interval across replicates, and the
    difference from the comparator paired by replicate (common random numbers)."""
    exp = batch.experiment_of(out)
    outcomes = batch.read(out, "outcomes").set_index(["scenario", "replicate"])
    if exp["comparator"] not in outcomes.index.get_level_values("scenario"):
        raise batch.OutputError(f"{out}: no results yet for the comparator {exp['comparator']} "
                                "(finish the batch with --resume)")
    base = outcomes.loc[exp["comparator"]]
    rows = []
    for scenario in exp["scenarios"]:
        if scenario not in outcomes.index.get_level_values("scenario"):
            continue
        own = outcomes.loc[scenario]
        diff = own.sub(base).dropna(how="all")
        for name in OUTCOMES:
            m, lo, hi = _stats(own[name])
            dm, dlo, dhi = _stats(diff[name])
            rows.append({"scenario": scenario, "outcome": name, "replicates": len(own),
                         "mean": m, "p5": lo, "p95": hi,
                         "diff_mean": dm, "diff_p5": dlo, "diff_p95": dhi})
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    if np.isnan(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"


SHORT = {
    "mean_competency_at_horizon": "competency",
    "share_all_areas_3_or_above": "proficient",
    "visits_per_mentee": "visits",
    "total_cost_ksh": "total KSh",
    "cost_per_mentee_ksh": "KSh/mentee",
    "cost_per_competency_point_ksh": "KSh/point",
}


def wide(table: pd.DataFrame, difference: bool = False) -> pd.DataFrame:
    """The table a person reads: a row per scenario, each cell 'mean (p5 to p95)', of the
    outcomes or (``difference``) of the paired differences from the comparator."""
    cols = ("diff_mean", "diff_p5", "diff_p95") if difference else ("mean", "p5", "p95")
    cells = table.assign(cell=[f"{_fmt(a)} ({_fmt(b)} to {_fmt(c)})"
                               for a, b, c in table[list(cols)].itertuples(index=False)])
    out = cells.pivot(index="scenario", columns="outcome", values="cell")
    out = out.reindex(index=list(dict.fromkeys(table["scenario"])), columns=list(OUTCOMES))
    return out.rename(columns=SHORT).rename_axis(None, axis=1).reset_index()


def markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table."""
    cells = [list(map(str, df.columns))] + df.astype(str).values.tolist()
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    lines.insert(1, "|" + "---|" * len(df.columns))
    return "\n".join(lines)


@dataclass
class CostEffectiveness:
    """A batch's strategies compared: per-draw discounted costs and effects, and the analysis."""

    name: str
    comparator: str
    strategies: list[str]
    rate: float
    cost: pd.DataFrame  # draws x strategies
    effect: pd.DataFrame
    icer: pd.DataFrame
    curve: pd.DataFrame  # willingness to pay x strategies (probability), plus evpi_ksh
    price_year: int | None = None

    @property
    def d_cost(self) -> pd.DataFrame:
        return self.cost.sub(self.cost[self.comparator], axis=0)

    @property
    def d_effect(self) -> pd.DataFrame:
        return self.effect.sub(self.effect[self.comparator], axis=0)


def cost_effectiveness(out: str | Path, effect: str = "competency_point_years",
                       rate: float | None = None,
                       wtps: Sequence[float] = tuple(range(0, 100_001, 2000))) -> CostEffectiveness:
    """Discount a batch's costs and effects (``rate``; default the scenarios' own) and run
    the incremental analysis, the acceptability curves and EVPI over ``wtps``."""
    exp = batch.experiment_of(out)
    first = yaml.safe_load((Path(out) / "scenarios" / "000.yaml").read_text())
    if rate is None:
        rate = float(first["costs"]["discount_rate"])
    econ = metrics.economics(batch.read(out, "costs"), batch.read(out, "timeseries"), rate,
                             keys=("scenario", "replicate"))
    cost = econ.pivot(index="replicate", columns="scenario", values="cost_discounted_ksh")
    eff = econ.pivot(index="replicate", columns="scenario", values=effect)
    order = [s for s in exp["scenarios"] if s in cost.columns]
    cost, eff = cost[order].dropna(), eff[order].dropna()
    if exp["comparator"] not in order:
        raise batch.OutputError(f"{out}: no results yet for the comparator {exp['comparator']}")
    icer = cea.icer_table(order, cost.mean().to_numpy(), eff.mean().to_numpy())
    icer.insert(2, "cost_usd", icer["cost"] / float(first["costs"]["ksh_per_usd"]))
    icer["icer_usd"] = icer["icer"] / float(first["costs"]["ksh_per_usd"])
    curve = pd.DataFrame(cea.ceac(cost.to_numpy(), eff.to_numpy(), wtps), index=list(wtps),
                         columns=order).rename_axis("wtp")
    curve["evpi_ksh"] = cea.evpi(cost.to_numpy(), eff.to_numpy(), wtps)
    return CostEffectiveness(exp["name"], exp["comparator"], order, rate, cost, eff, icer, curve,
                             first["costs"].get("price_year"))
