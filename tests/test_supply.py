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


class _Phase:
    """A phase stream that starts the shelf exactly at a full delivery."""

    def random(self):
        return 0.5

    def uniform(self, a, b):
        return 0.0


def test_deterministic_cycle_stockout_days():
    # 20 days of stock, a delivery every 30 days, no delay: 10 of every 30 days out
    params = _params()
    rng = np.random.default_rng(0)
    stock = Stock(params, 400, _Phase(), rng, rng)
    assert stock.stockout_days_until(299) == pytest.approx(99)  # out since day 280
    assert stock.stockout_days_until(301) == pytest.approx(100)  # delivered on day 300
    assert stock.in_stock(300.5) and not stock.in_stock(299.5)
    assert expected_stockout_share(params) == pytest.approx(1 / 3)


def _reference(params: Supply, horizon: float, streams) -> list[float]:
    """The schedule simulated event by event in SimPy: the reference for the precomputed one."""
    phase, lead, short = streams
    p, env = params, simpy.Environment()
    r, m, u = p.review_period_days, p.lead_time_mean_days, p.order_up_to_days
    state = {}

    def process():
        shape = 2.0 if phase.random() * (r + m) < m else 1.0
        cycle = r + (phase.gamma(shape, m) if m else 0.0)
        age = phase.uniform(0.0, cycle)
        fill = p.shortfall_fill_fraction if phase.random() < p.shortfall_probability else 1.0
        state.update(level=fill * u, since=-age, cum=-max(0.0, age - fill * u))
        yield env.timeout(cycle - age)
        while True:
            f = p.shortfall_fill_fraction if short.random() < p.shortfall_probability else 1.0
            t = env.now
            state["cum"] += max(0.0, t - state["since"] - state["level"])
            on_hand = max(0.0, state["level"] - (t - state["since"]))
            state.update(level=on_hand + f * (u - on_hand), since=t)
            yield env.timeout(r)
            yield env.timeout(lead.exponential(m) if m else 0.0)

    env.process(process())
    out = []
    for t in np.linspace(0.5, horizon - 0.5, 97):
        env.run(until=t)
        out.append(state["cum"] + max(0.0, t - state["since"] - state["level"]))
    return out


@pytest.mark.parametrize("kw", [
    {"lead_time_mean_days": 7, "order_up_to_days": 40, "shortfall_probability": 0.2,
     "shortfall_fill_fraction": 0.5},
    {"lead_time_mean_days": 0, "order_up_to_days": 25},
    {"lead_time_mean_days": 12, "order_up_to_days": 60, "shortfall_probability": 0.5,
     "shortfall_fill_fraction": 0.1},
])
def test_precomputed_schedule_equals_the_event_by_event_process(kw):
    params, horizon = _params(**kw), 720.0
    for seed in range(5):
        stock = Stock(params, horizon, *[np.random.default_rng([seed, k]) for k in range(3)])
        expected = _reference(params, horizon, [np.random.default_rng([seed, k]) for k in range(3)])
        times = np.linspace(0.5, horizon - 0.5, 97)
        assert [stock.stockout_days_until(t) for t in times] == expected  # bit for bit


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
        stock = Stock(params, horizon, *[np.random.default_rng([i, k]) for k in range(3)])
        out += stock.stockout_days_until(horizon)
    share = out / (n * horizon)
    p = expected_stockout_share(params)
    # Each facility's first month is one (correlated) draw; bound its sd by sqrt(p(1-p)).
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)
