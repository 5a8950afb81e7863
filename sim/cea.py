"""Cost-effectiveness maths: discounting, ICERs with dominance, net benefit, CEAC, EVPI.

Pure functions on plain arrays and tables, so that every number a health
economist reads can be checked by hand. Costs are in any one currency and
effects in any one unit (e.g. competency-point-years or nurses reaching
proficiency); "strategy" is whatever is compared (mentoring, classroom, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def discount_factor(days: np.ndarray | float, rate: float) -> np.ndarray:
    """Present value of 1 paid ``days`` after the start, at ``rate`` a year (e.g. 0.03).

    Discounting is continuous in time, ``(1 + rate) ** -(days / 365.25)``, so a
    cost in the middle of year one is discounted by half a year, not a whole one.
    """
    if rate <= -1:
        raise ValueError("a discount rate must be above -100 %")
    return (1.0 + rate) ** (-np.asarray(days, dtype=float) / DAYS_PER_YEAR)


def icer_table(strategies: Sequence[str], costs: Sequence[float],
               effects: Sequence[float]) -> pd.DataFrame:
    """The incremental analysis: dominance, extended dominance and ICERs.

    Strategies are sorted by cost. One is *dominated* when another costs no more
    and is at least as effective (and better on one count); *extendedly
    dominated* when its ICER exceeds that of the next more effective strategy
    on the frontier (a mix of its neighbours would do better). The ICER of a
    frontier strategy is against the previous frontier strategy.
    """
    df = pd.DataFrame({"strategy": list(strategies), "cost": np.asarray(costs, float),
                       "effect": np.asarray(effects, float)})
    df = df.sort_values(["cost", "effect"], ascending=[True, False], kind="stable")
    df = df.reset_index(drop=True)
    status = ["" for _ in range(len(df))]
    for i, row in df.iterrows():
        better = df[(df["cost"] <= row["cost"]) & (df["effect"] >= row["effect"])
                    & ((df["cost"] < row["cost"]) | (df["effect"] > row["effect"]))]
        if len(better):
            status[i] = "dominated"
    frontier = [i for i in range(len(df)) if not status[i]]
    changed = True
    while changed:  # remove extendedly dominated options until the ICERs rise
        changed = False
        for k in range(1, len(frontier) - 1):
            a, b, c = (df.loc[frontier[j]] for j in (k - 1, k, k + 1))
            if (b["cost"] - a["cost"]) / (b["effect"] - a["effect"]) > \
                    (c["cost"] - b["cost"]) / (c["effect"] - b["effect"]):
                status[frontier[k]] = "extendedly dominated"
                del frontier[k]
                changed = True
                break
    icer = [np.nan] * len(df)
    for prev, cur in zip(frontier, frontier[1:], strict=False):
        icer[cur] = ((df.loc[cur, "cost"] - df.loc[prev, "cost"])
                     / (df.loc[cur, "effect"] - df.loc[prev, "effect"]))
    status = [s or ("reference" if i == frontier[0] else "frontier") for i, s in enumerate(status)]
    return df.assign(status=status, icer=icer)


def net_monetary_benefit(costs: np.ndarray, effects: np.ndarray, wtp: float) -> np.ndarray:
    """Net monetary benefit ``wtp * effect - cost`` (same shape as the inputs)."""
    return wtp * np.asarray(effects, float) - np.asarray(costs, float)


def ceac(costs: np.ndarray, effects: np.ndarray, wtps: Sequence[float]) -> np.ndarray:
    """Cost-effectiveness acceptability curves.

    ``costs`` and ``effects`` are (draws x strategies), one row per draw of a
    probabilistic sensitivity analysis. Returns (len(wtps) x strategies): at each
    willingness to pay, the share of draws in which each strategy has the
    highest net benefit (ties go to the first strategy).
    """
    costs, effects = np.asarray(costs, float), np.asarray(effects, float)
    out = np.zeros((len(wtps), costs.shape[1]))
    for k, wtp in enumerate(wtps):
        best = np.argmax(net_monetary_benefit(costs, effects, wtp), axis=1)
        out[k] = np.bincount(best, minlength=costs.shape[1]) / len(best)
    return out


def evpi(costs: np.ndarray, effects: np.ndarray, wtp: float) -> float:
    """Expected value of perfect information per decision, at ``wtp``.

    ``E[max over strategies of NMB] - max over strategies of E[NMB]``: what it
    would be worth to know, before choosing, which draw is the true one.
    """
    nmb = net_monetary_benefit(costs, effects, wtp)
    return float(nmb.max(axis=1).mean() - nmb.mean(axis=0).max())
