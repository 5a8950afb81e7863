"""Vaccine stock bookkeeping and the renewal-reward formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.config import Supply
from sim.engines.fast.shelves import draw_stocks, flips
from sim.rules.supply import BLOCK, expected_stockout_share


def _params(**kw) -> Supply:
    base = dict(review_period_days=30, lead_time_mean_days=0, order_up_to_days=20,
                shortfall_probability=0.0, shortfall_fill_fraction=1.0)
    return Supply(**{**base, **kw})


class _Zeros:
    """A stream of zeros: the shelf starts at a full delivery, never short, never late."""

    def random(self, size=None):
        return 0.0 if size is None else np.zeros(size)

    def standard_exponential(self, size):
        return np.zeros(size)


def test_deterministic_cycle_stockout_days():
    # 20 days of stock, a delivery every 30 days, no delay: 10 of every 30 days out
    params = _params()
    stock = draw_stocks(params, 400, [_Zeros()])[0]
    assert stock.stockout_days_until(299) == pytest.approx(99)  # out since day 280
    assert stock.stockout_days_until(301) == pytest.approx(100)  # delivered on day 300
    assert stock.in_stock(300.5) and not stock.in_stock(299.5)
    assert expected_stockout_share(params) == pytest.approx(1 / 3)


def _reference(params: Supply, horizon: float, rng: np.random.Generator) -> list[float]:
    """The schedule simulated event by event in SimPy, reading the stream in the
    documented layout: the reference for the precomputed one."""
    p, env = params, simpy.Environment()
    r, m, u = p.review_period_days, p.lead_time_mean_days, p.order_up_to_days
    state = {}

    def deliveries():  # (uniform, standard exponential) per delivery, in blocks
        while True:
            shorts, leads = rng.random(BLOCK), rng.standard_exponential(BLOCK)
            yield from zip(shorts.tolist(), leads.tolist(), strict=True)

    def process():
        pick = rng.random()
        e1, e2 = rng.standard_exponential(2)
        cycle = r + m * (e1 + e2 if pick * (r + m) < m else e1)
        age = rng.random() * cycle
        fill = p.shortfall_fill_fraction if rng.random() < p.shortfall_probability else 1.0
        state.update(level=fill * u, since=-age, cum=-max(0.0, age - fill * u))
        yield env.timeout(cycle - age)
        for short, lead in deliveries():
            f = p.shortfall_fill_fraction if short < p.shortfall_probability else 1.0
            t = env.now
            state["cum"] += max(0.0, t - state["since"] - state["level"])
            on_hand = max(0.0, state["level"] - (t - state["since"]))
            state.update(level=on_hand + f * (u - on_hand), since=t)
            yield env.timeout(r)
            yield env.timeout(m * lead)

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
        stock = draw_stocks(params, horizon, [np.random.default_rng(seed)])[0]
        expected = _reference(params, horizon, np.random.default_rng(seed))
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
        stock = draw_stocks(params, horizon, [np.random.default_rng(i)])[0]
        out += stock.stockout_days_until(horizon)
    share = out / (n * horizon)
    p = expected_stockout_share(params)
    # Each facility's first month is one (correlated) draw; bound its sd by sqrt(p(1-p)).
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_deliveries_keep_their_random_numbers_across_supply_scenarios():
    """Common random numbers: a scenario with more shortfalls has the same delivery days,
    and one with longer lead times the same lead times scaled."""
    horizon = 720.0
    base = _params(lead_time_mean_days=5, order_up_to_days=40, shortfall_probability=0.1,
                   shortfall_fill_fraction=0.5)
    scarce = base.model_copy(update={"shortfall_probability": 0.6})
    slow = base.model_copy(update={"lead_time_mean_days": 10})
    for seed in range(5):
        a, b, c = (draw_stocks(p, horizon, [np.random.default_rng(seed)])[0]
                   for p in (base, scarce, slow))
        np.testing.assert_array_equal(a.since, b.since)
        assert (a.level != b.level).any()  # the shortfalls differ
        lead_a = np.diff(a.since[1:]) - 30
        lead_c = np.diff(c.since[1:]) - 30
        n = min(len(lead_a), len(lead_c))
        np.testing.assert_allclose(lead_c[:n], 2 * lead_a[:n], atol=1e-9)


def test_schedules_drawn_side_by_side_equal_those_drawn_one_at_a_time():
    params = _params(lead_time_mean_days=9, order_up_to_days=45, shortfall_probability=0.3,
                     shortfall_fill_fraction=0.4)
    horizon = 3000.0  # more deliveries than one block of random numbers
    together = draw_stocks(params, horizon, [np.random.default_rng(s) for s in range(30)])
    for s, stock in enumerate(together):
        alone = draw_stocks(params, horizon, [np.random.default_rng(s)])[0]
        for name in ("since", "level", "cum"):
            np.testing.assert_array_equal(getattr(stock, name), getattr(alone, name))
        assert stock.since[-1] <= horizon and len(stock.since) > BLOCK


@pytest.mark.parametrize("kw", [
    {"lead_time_mean_days": 5, "order_up_to_days": 40, "shortfall_probability": 0.15,
     "shortfall_fill_fraction": 0.5},
    {"lead_time_mean_days": 12, "order_up_to_days": 60, "shortfall_probability": 0.5,
     "shortfall_fill_fraction": 0.1},
])
def test_stocked_until_is_where_the_shelf_next_runs_dry(kw):
    """Nurses skip the stock-out lookup up to ``stocked_until``: the count must not move
    before it (bit for bit), and the shelf must run dry just after it (the bound is tight)."""
    horizon = 1500.0
    stocks = draw_stocks(_params(**kw), horizon, [np.random.default_rng(s) for s in range(20)])
    rng = np.random.default_rng(99)
    for stock in stocks:
        for t in np.sort(rng.uniform(0, horizon, 60)).tolist():
            until, out = stock.stocked_until(t), stock.stockout_days_until(t)
            if until == t:
                assert not stock.in_stock(t + 1e-9)
                continue
            assert t < until
            for u in (*rng.uniform(t, until, 5).tolist(), until):
                assert stock.stockout_days_until(u) == out
            assert stock.stockout_days_until(until + 1e-4) > out


def test_flips_are_where_the_shelf_empties_or_is_refilled():
    """A nurse's decay rate changes where her shelf flips: between two flips it must be
    in stock throughout or out throughout, and each flip must change it."""
    params = _params(lead_time_mean_days=12, order_up_to_days=35, shortfall_probability=0.4,
                     shortfall_fill_fraction=0.3)
    shelves = draw_stocks(params, 1000.0, [np.random.default_rng(s) for s in range(10)])
    rng = np.random.default_rng(5)
    seen = 0
    for f in range(len(shelves)):
        stock, lo, hi = shelves[f], shelves.start[f], shelves.start[f + 1]
        for _ in range(20):
            t0, t1 = np.sort(rng.uniform(0, 1000, 2)).tolist()
            empty, times = flips(shelves.since, shelves.level, lo, hi, t0, t1)
            ends = [t0, *times, t1]
            assert ends == sorted(ends) and t0 < ends[1]
            for a, b in zip(ends[:-1], ends[1:], strict=True):
                for t in rng.uniform(a, b, 5).tolist():
                    assert stock.in_stock(t) is not empty
                empty = not empty
            seen += len(times)
    assert seen > 300  # shelves flip often: the test saw many flips
