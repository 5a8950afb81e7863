"""Vaccine stock bookkeeping and the renewal-reward formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.config import Supply
from sim.supply import Stock, expected_stockout_share


def _params(**kw) -> Supply:
    base = dict(review_period_days=30, lead_time_mean_days=0, order_up_to_days=20,
                shortfall_probability=0.0, shortfall_fill_fraction=1.0)
    return Supply(**{**base, **kw})


def test_deterministic_cycle_stockout_days():
    # 20 days of stock, a delivery every 30 days, no delay: 10 of every 30 days out
    params = _params()
    stock = Stock(params)
    env = simpy.Environment()
    rng = np.random.default_rng(0)

    class Phase:  # start exactly at a delivery
        def random(self):
            return 0.5

        def uniform(self, a, b):
            return 0.0

    env.process(stock.run(env, Phase(), rng, rng))
    env.run(until=299)
    assert stock.stockout_days_until(299) == pytest.approx(99)  # out since day 280
    env.run(until=301)
    assert stock.stockout_days_until(301) == pytest.approx(100)  # delivered on day 300
    assert expected_stockout_share(params) == pytest.approx(1 / 3)


def test_formula_cases():
    # stock outlasting the cycle and no lead time: never out
    assert expected_stockout_share(_params(order_up_to_days=40)) == 0
    # exponential lead time, mean m, U > R: m exp((R - U) / m) / (R + m)
    p = _params(order_up_to_days=35, lead_time_mean_days=10)
    assert expected_stockout_share(p) == pytest.approx(10 * math.exp(-0.5) / 40)
    # always out before the next order: 1 - E[Y] / E[D]
    p = _params(order_up_to_days=20, lead_time_mean_days=5, shortfall_probability=0.5,
                shortfall_fill_fraction=0.5)
    assert expected_stockout_share(p) == pytest.approx(1 - (0.5 * 20 + 0.5 * 10) / 35)


def test_starts_in_the_long_run_state():
    """The first month already shows the long-run stock-out share (no warm-up)."""
    params = _params(order_up_to_days=35, lead_time_mean_days=10)
    n, horizon = 4000, 30.0
    out = 0.0
    for i in range(n):
        env = simpy.Environment()
        stock = Stock(params)
        rngs = [np.random.default_rng([i, k]) for k in range(3)]
        env.process(stock.run(env, *rngs))
        env.run(until=horizon)
        out += stock.stockout_days_until(horizon)
    share = out / (n * horizon)
    p = expected_stockout_share(params)
    # Each facility's first month is one (correlated) draw; bound its sd by sqrt(p(1-p)).
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)
