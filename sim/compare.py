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
    """A batch's strategies compared: per-draw discounted costs (KSh) and effects (totals for
    all the scenario's nurses), and the analysis, with money also in US$ at ``ksh_per_usd``."""

    name: str
    measure: str  # the effect, one of metrics.EFFECTS
    strategies: list[str]
    rate: float
    ksh_per_usd: float
    cost: pd.DataFrame  # draws x strategies
    effect: pd.DataFrame
    icer: pd.DataFrame  # the incremental analysis, in cost order
    curves: pd.DataFrame  # per willingness to pay and strategy: CEAC, expected NB and loss
    decision: pd.DataFrame  # per willingness to pay: the CEAF and EVPI
    price_year: int | None = None

    @property
    def reference(self) -> str:
        """The cheapest non-dominated strategy, which the CE plane is drawn against."""
        return str(self.icer.loc[self.icer["status"] == "reference", "strategy"].iloc[0])

    @property
    def d_cost(self) -> pd.DataFrame:
        """Each draw's cost over the reference's."""
        return self.cost.sub(self.cost[self.reference], axis=0)

    @property
    def d_effect(self) -> pd.DataFrame:
        """Each draw's effect over the reference's."""
        return self.effect.sub(self.effect[self.reference], axis=0)

    def at(self, wtp_ksh: float) -> pd.Series:
        """The decision at one willingness to pay (KSh per effect unit), on or off the grid."""
        return by_wtp(self.cost, self.effect, [wtp_ksh], self.ksh_per_usd)[1].iloc[0]


def by_wtp(cost: pd.DataFrame, effect: pd.DataFrame, wtps: Sequence[float],
           ksh_per_usd: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysis at each willingness to pay (KSh per effect unit) of draws x strategies
    costs and effects: the curves, per willingness to pay and strategy (probability of being
    cost-effective, expected net benefit, expected loss), and the decision, per willingness
    to pay (the strategy with the highest expected net benefit, its probability of being
    cost-effective, which traces the acceptability frontier, and the EVPI)."""
    c, e, w = cost.to_numpy(), effect.to_numpy(), np.asarray(wtps, float)
    n = len(cost.columns)
    curves = pd.DataFrame({
        "wtp_ksh": np.repeat(w, n), "wtp_usd": np.repeat(w, n) / ksh_per_usd,
        "strategy": np.tile(cost.columns, len(w)),
        "probability_cost_effective": cea.ceac(c, e, w).ravel(),
        "expected_net_benefit_ksh": (w[:, None] * e.mean(axis=0) - c.mean(axis=0)).ravel(),
        "expected_loss_ksh": cea.expected_loss(c, e, w).ravel()})
    optimal, probability = cea.ceaf(c, e, w)
    value = cea.evpi(c, e, w)
    decision = pd.DataFrame({"wtp_ksh": w, "wtp_usd": w / ksh_per_usd,
                             "optimal": cost.columns[optimal],
                             "probability_cost_effective": probability,
                             "evpi_ksh": value, "evpi_usd": value / ksh_per_usd})
    return curves, decision


def exchange_rate(out: str | Path) -> float:
    """The batch's exchange rate, its scenarios' ``costs.ksh_per_usd``."""
    first = yaml.safe_load((Path(out) / "scenarios" / "000.yaml").read_text())
    return float(first["costs"]["ksh_per_usd"])


def cost_effectiveness(out: str | Path, effect: str = "competency_point_years",
                       rate: float | None = None,
                       wtps: Sequence[float] = tuple(range(0, 100_001, 2000))) -> CostEffectiveness:
    """Discount a batch's costs and effects (``rate``; default the scenarios' own) and run
    the incremental analysis, and the acceptability curves and frontier, expected losses
    and EVPI over ``wtps`` (KSh per effect unit).

    Effects are totals for the scenario's nurses: one per post (facility), whether or not
    its subcounty has joined the programme; the table also gives them per nurse."""
    exp = batch.experiment_of(out)
    first = yaml.safe_load((Path(out) / "scenarios" / "000.yaml").read_text())
    if rate is None:
        rate = float(first["costs"]["discount_rate"])
    rate_usd = exchange_rate(out)
    ts = batch.read(out, "timeseries")
    econ = metrics.economics(batch.read(out, "costs"), ts, rate, keys=("scenario", "replicate"))
    cost = econ.pivot(index="replicate", columns="scenario", values="cost_discounted_ksh")
    eff = econ.pivot(index="replicate", columns="scenario", values=effect)
    order = [s for s in exp["scenarios"] if s in cost.columns]
    cost, eff = cost[order].dropna(), eff[order].dropna()
    if exp["comparator"] not in order:
        raise batch.OutputError(f"{out}: no results yet for the comparator {exp['comparator']}")
    # every post is filled at the baseline reading
    nurses = (ts[ts["month"] == 0].groupby(["scenario", "replicate"])["nurses_in_post"].sum()
              .groupby("scenario").mean())
    t = cea.icer_table(order, cost.mean().to_numpy(), eff.mean().to_numpy())
    per = nurses.reindex(t["strategy"]).to_numpy()
    icer = pd.DataFrame({
        "strategy": t["strategy"], "status": t["status"], "compared_with": t["compared_with"],
        "nurses": per, "cost_ksh": t["cost"], "cost_usd": t["cost"] / rate_usd,
        "effect": t["effect"], "effect_per_nurse": t["effect"] / per,
        "d_cost_ksh": t["d_cost"], "d_cost_usd": t["d_cost"] / rate_usd,
        "d_effect": t["d_effect"], "icer_ksh": t["icer"], "icer_usd": t["icer"] / rate_usd})
    return CostEffectiveness(exp["name"], effect, order, rate, rate_usd, cost, eff, icer,
                             *by_wtp(cost, eff, wtps, rate_usd),
                             first["costs"].get("price_year"))


def money(x: float, signed: bool = False, cents: bool = False) -> str:
    """Whole units (with ``cents``, cents below 100), thousands separated, a minus sign; a
    dash for none."""
    if np.isnan(x):
        return "—"
    text = f"{abs(x):,.2f}" if cents and 0 < abs(x) < 100 else f"{abs(x):,.0f}"
    return ("−" if x < 0 else "+" if signed and x > 0 else "") + text


def _amount(x: float, signed: bool = False, digits: int = 1) -> str:
    """An effect: ``digits`` decimals, thousands separated, a minus sign; a dash for none."""
    if np.isnan(x):
        return "—"
    return ("−" if x < 0 else "+" if signed and x > 0 else "") + f"{abs(x):,.{digits}f}"


def icer_shown(ce: CostEffectiveness) -> pd.DataFrame:
    """The incremental table a person reads, under two rows of headers that give the units:
    money rounded to the shilling (and dollar), effects for all the nurses and per nurse,
    a dash where a value does not apply."""
    one, many = metrics.EFFECT_UNITS[ce.measure]
    t = ce.icer
    increment = "Over the strategy compared with"
    columns = {
        ("Strategy", ""): t["strategy"],
        ("Status", ""): t["status"],
        ("Compared with", ""): t["compared_with"].replace("", "—"),
        ("Nurses", ""): [f"{n:,.0f}" for n in t["nurses"]],
        ("Cost", "KSh"): [money(x) for x in t["cost_ksh"]],
        ("Cost", "US$"): [money(x, cents=True) for x in t["cost_usd"]],
        (f"Effect ({many})", "all nurses"): [_amount(x) for x in t["effect"]],
        (f"Effect ({many})", "per nurse"): [_amount(x, digits=3) for x in t["effect_per_nurse"]],
        (increment, "ΔCost (KSh)"): [money(x, signed=True) for x in t["d_cost_ksh"]],
        (increment, f"ΔEffect ({many})"): [_amount(x, signed=True) for x in t["d_effect"]],
        (f"ICER (per {one})", "KSh"): [money(x) for x in t["icer_ksh"]],
        (f"ICER (per {one})", "US$"): [money(x, cents=True) for x in t["icer_usd"]],
    }
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


def decision_shown(ce: CostEffectiveness, rows: int = 9) -> pd.DataFrame:
    """The decision at ``rows`` evenly spread points of the willingness-to-pay grid, its ends
    included (fewer if the grid is shorter):
    the strategy with the highest expected net benefit, its probability of being
    cost-effective (the acceptability frontier) and the EVPI per decision."""
    one = metrics.EFFECT_UNITS[ce.measure][0]
    d = ce.decision.iloc[np.unique(np.linspace(0, len(ce.decision) - 1, rows).round().astype(int))]
    return pd.DataFrame({
        f"WTP (KSh per {one})": [money(x) for x in d["wtp_ksh"]],
        f"WTP (US$ per {one})": [money(x, cents=True) for x in d["wtp_usd"]],
        "Optimal strategy": d["optimal"],
        "Probability cost-effective": [f"{x:.2f}" for x in d["probability_cost_effective"]],
        "EVPI (KSh)": [money(x) for x in d["evpi_ksh"]],
        "EVPI (US$)": [money(x, cents=True) for x in d["evpi_usd"]],
    })


def decision_line(ce: CostEffectiveness, wtp_ksh: float) -> str:
    """The decision at one willingness to pay, in a sentence."""
    d = ce.at(wtp_ksh)
    one = metrics.EFFECT_UNITS[ce.measure][0]
    return (f"At a willingness to pay of {money(wtp_ksh)} KSh (US$ {money(d['wtp_usd'], cents=True)}) "
            f"per {one}, {d['optimal']} has the highest expected net benefit and is "
            f"cost-effective in {d['probability_cost_effective']:.0%} of draws; the expected "
            f"value of perfect information is {money(d['evpi_ksh'])} KSh "
            f"(US$ {money(d['evpi_usd'], cents=True)}) per decision.")
