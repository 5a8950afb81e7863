"""Cost-effectiveness maths: discounting, ICERs with dominance, net benefit, CEAC, CEAF,
expected loss and EVPI.

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
    """The incremental analysis: dominance, extended dominance, increments and ICERs.

    Strategies are sorted by cost (the more effective first among equal costs). One is
    *dominated* when another costs no more and is at least as effective (and better on
    one count; of two identical strategies the one listed later counts as dominated, so
    the frontier's costs and effects rise strictly); *extendedly dominated* when its
    ICER exceeds that of the next more effective strategy on the frontier (a mix of its
    neighbours would do better). The cheapest strategy is the ``reference``; every other
    one is compared with the frontier strategy that comes before it in cost order
    (``compared_with``, empty for the reference), so ``d_cost`` and ``d_effect`` are its increments over that
    strategy, and ``icer`` is ``d_cost / d_effect`` on the frontier only (NaN elsewhere).
    """
    df = pd.DataFrame({"strategy": list(strategies), "cost": np.asarray(costs, float),
                       "effect": np.asarray(effects, float)})
    df = df.sort_values(["cost", "effect"], ascending=[True, False], kind="stable")
    df = df.reset_index(drop=True)
    cost, effect = df["cost"].to_numpy(), df["effect"].to_numpy()
    # sorted by cost, a strategy that costs no more and achieves as much comes earlier
    status = ["dominated" if (effect[:i] >= effect[i]).any() else "" for i in range(len(df))]
    frontier = [i for i in range(len(df)) if not status[i]]
    changed = True
    while changed:  # remove extendedly dominated options until the ICERs rise
        changed = False
        for k in range(1, len(frontier) - 1):
            a, b, c = frontier[k - 1], frontier[k], frontier[k + 1]
            if (cost[b] - cost[a]) / (effect[b] - effect[a]) > \
                    (cost[c] - cost[b]) / (effect[c] - effect[b]):
                status[b] = "extendedly dominated"
                del frontier[k]
                changed = True
                break
    status = [s or ("reference" if i == frontier[0] else "frontier") for i, s in enumerate(status)]
    against = [max((f for f in frontier if f < i), default=None) for i in range(len(df))]
    d_cost = [np.nan if a is None else cost[i] - cost[a] for i, a in enumerate(against)]
    d_effect = [np.nan if a is None else effect[i] - effect[a] for i, a in enumerate(against)]
    icer = [dc / de if s == "frontier" else np.nan
            for s, dc, de in zip(status, d_cost, d_effect, strict=True)]
    return df.assign(status=status,
                     compared_with=["" if a is None else df.loc[a, "strategy"] for a in against],
                     d_cost=d_cost, d_effect=d_effect, icer=icer)


def net_monetary_benefit(costs: np.ndarray, effects: np.ndarray, wtp: float) -> np.ndarray:
    """Net monetary benefit ``wtp * effect - cost`` (same shape as the inputs)."""
    return wtp * np.asarray(effects, float) - np.asarray(costs, float)


def _nmb(costs: np.ndarray, effects: np.ndarray, wtps: Sequence[float]) -> np.ndarray:
    """Net monetary benefit at every willingness to pay: (wtps x draws x strategies)."""
    costs, effects = np.asarray(costs, float), np.asarray(effects, float)
    return np.asarray(wtps, float)[:, None, None] * effects[None] - costs[None]


def ceac(costs: np.ndarray, effects: np.ndarray, wtps: Sequence[float]) -> np.ndarray:
    """Cost-effectiveness acceptability curves.

    ``costs`` and ``effects`` are (draws x strategies), one row per draw of a
    probabilistic sensitivity analysis. Returns (len(wtps) x strategies): at each
    willingness to pay, the share of draws in which each strategy has the
    highest net benefit (ties go to the first strategy).
    """
    best = np.argmax(_nmb(costs, effects, wtps), axis=2)
    n = np.shape(costs)[1]
    return np.array([np.bincount(row, minlength=n) / len(row) for row in best]).reshape(-1, n)


def ceaf(costs: np.ndarray, effects: np.ndarray,
         wtps: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The cost-effectiveness acceptability frontier (Fenwick et al. 2001).

    At each willingness to pay, the strategy the decision rule picks, the one with the
    highest *expected* net benefit (index; ties go to the first), and the probability
    that it is cost-effective, its value on its own acceptability curve. That is not
    always the strategy most often cost-effective: a skewed net benefit can make
    another win in more draws by less.
    """
    optimal = np.argmax(_nmb(costs, effects, wtps).mean(axis=1), axis=1)
    return optimal, ceac(costs, effects, wtps)[np.arange(len(optimal)), optimal]


def expected_loss(costs: np.ndarray, effects: np.ndarray, wtps: Sequence[float]) -> np.ndarray:
    """Expected loss of choosing each strategy (Eckermann and Willan): (wtps x strategies).

    ``E[max over strategies of NMB] - E[NMB of the strategy]``: what choosing it forgoes,
    on average, against choosing the best strategy in every draw. The strategy with the
    highest expected net benefit has the lowest expected loss, and that loss is the EVPI.
    """
    nmb = _nmb(costs, effects, wtps)
    # the mean of each draw's shortfall, never below zero as a difference of means can be
    return (nmb.max(axis=2, keepdims=True) - nmb).mean(axis=1)


def evpi(costs: np.ndarray, effects: np.ndarray, wtps: Sequence[float]) -> np.ndarray:
    """Expected value of perfect information per decision, at each willingness to pay.

    ``E[max over strategies of NMB] - max over strategies of E[NMB]``: what it would be
    worth to know, before choosing, which draw is the true one; the lowest expected loss.
    """
    return expected_loss(costs, effects, wtps).min(axis=1)
