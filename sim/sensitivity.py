"""One-way sensitivity: the tornado of a strategy's incremental net benefit.

Each uncertain parameter of an experiment's ``psa:`` block is set to its 5th and
then its 95th percentile while every other one stays at its median; the
strategy and the comparator are run with the same seeds (common random
numbers), and the change in incremental net monetary benefit at a willingness
to pay shows which uncertainty matters most.
"""

from __future__ import annotations

import pandas as pd

from sim import cea, metrics
from sim.config import Config, ConfigError
from sim.experiment import Experiment
from sim.engines import simulate

LOW, HIGH = 0.05, 0.95


def _economics(cfg: Config, seed: int, reps: int, effect: str, rate: float) -> tuple[float, float]:
    """Mean discounted cost and effect of a config over ``reps`` replicates."""
    records = [simulate(cfg, seed, r) for r in range(reps)]
    ledger = metrics.costs(cfg, records)
    ts = metrics.timeseries(cfg, records, ledger)
    econ = metrics.economics(ledger, ts, rate)
    return float(econ["cost_discounted_ksh"].mean()), float(econ[effect].mean())


def incremental_nmb(exp: Experiment, strategy: str, values: dict[str, float], wtp: float,
                    reps: int, effect: str, rate: float) -> float:
    """Net monetary benefit of ``strategy`` over the comparator, with ``values`` set."""
    cost_s, eff_s = _economics(exp.config_with(strategy, values), exp.seed, reps, effect, rate)
    cost_c, eff_c = _economics(exp.config_with(exp.comparator, values), exp.seed, reps, effect, rate)
    return float(cea.net_monetary_benefit(cost_s - cost_c, eff_s - eff_c, wtp))


def tornado(exp: Experiment, strategy: str, wtp: float, reps: int = 20,
            effect: str = "competency_point_years", rate: float = 0.03) -> pd.DataFrame:
    """Incremental NMB at each parameter's low and high value, widest swing first."""
    if not exp.psa:
        raise ConfigError(f"{exp.name}: psa: a tornado needs the parameters' distributions")
    if strategy not in {s.name for s in exp.scenarios} or strategy == exp.comparator:
        raise ConfigError(f"{exp.name}: no strategy '{strategy}' to compare with {exp.comparator}")
    median = {k: d.quantile(0.5) for k, d in exp.psa.items()}
    base = incremental_nmb(exp, strategy, median, wtp, reps, effect, rate)
    rows = []
    for key, dist in exp.psa.items():
        lo, hi = dist.quantile(LOW), dist.quantile(HIGH)
        nmb_lo = incremental_nmb(exp, strategy, {**median, key: lo}, wtp, reps, effect, rate)
        nmb_hi = incremental_nmb(exp, strategy, {**median, key: hi}, wtp, reps, effect, rate)
        rows.append({"parameter": key, "low": lo, "high": hi, "nmb_at_low": nmb_lo,
                     "nmb_at_high": nmb_hi, "base_nmb": base, "swing": abs(nmb_hi - nmb_lo)})
    return pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
