"""Replenishment of one facility's shelf of one supply line, and its stock-outs.

A simplified version of the last-mile policy HERMES-style supply-chain models use
(``supply.<line>``). Stock is counted in days of use:

* ``review_period_days`` after each delivery the facility orders from the subcounty
  store; the order arrives after an exponential lead time (``lead_time_mean_days``);
* a delivery tops the shelf up to ``order_up_to_days``, except that with probability
  ``shortfall_probability`` the store is short and sends ``shortfall_fill_fraction``
  of what was asked for;
* stock runs down one day of use a day; at zero the line is out until the next
  delivery (for vaccines: no immunization session).

Day 0 falls at a uniform point of a length-biased cycle (the renewal process's
equilibrium), so stock-outs do not start artificially low. A shelf's stream is read
in a fixed layout whatever the parameters (five numbers for the start, then blocks
of :data:`BLOCK` uniforms for shortfalls and :data:`BLOCK` exponentials for lead
times), so delivery *k* always gets the same numbers: common random numbers across
scenarios that differ in a supply parameter.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from sim.config import Supply

BLOCK = 64  # deliveries' random numbers are drawn this many at a time


class Shelf(NamedTuple):
    """One shelf's deliveries up to the horizon."""

    since: list[float]  # each delivery's day (the first before day 0)
    level: list[float]  # the days of use each delivery left on the shelf
    cum: list[float]  # the stock-out days accrued from day 0 before each delivery

    def stockout_days_until(self, t: float) -> float:
        """Stock-out days from day 0 to ``t``."""
        i = bisect_right(self.since, t) - 1
        d = t - self.since[i] - self.level[i]
        return self.cum[i] + (d if d > 0.0 else 0.0)

    def in_stock(self, t: float) -> bool:
        i = bisect_right(self.since, t) - 1
        return t - self.since[i] < self.level[i]


def deliveries(params: Supply, horizon: float, rng: np.random.Generator) -> Shelf:
    """A shelf's delivery schedule up to the horizon, drawn from its own stream."""
    r, m, u = params.review_period_days, params.lead_time_mean_days, params.order_up_to_days
    p, f = params.shortfall_probability, params.shortfall_fill_fraction
    pick = rng.random()
    e1, e2 = rng.standard_exponential(2).tolist()
    age_u, fill_u = rng.random(2).tolist()
    # A cycle R + L, L ~ Exp(m), length-biased: L ~ Gamma(2, m) (a sum of two exponentials)
    # with probability m / (R + m).
    cycle = r + m * (e1 + e2 if pick * (r + m) < m else e1)
    age = age_u * cycle
    level = (f if fill_u < p else 1.0) * u
    since, levels, cum = [-age], [level], [-max(0.0, age - level)]
    t = cycle - age
    shorts: list[float] = []
    leads: list[float] = []
    k = 0
    while t <= horizon:
        if k == len(shorts):
            shorts += rng.random(BLOCK).tolist()
            leads += rng.standard_exponential(BLOCK).tolist()
        elapsed = t - since[-1]
        cum.append(cum[-1] + max(0.0, elapsed - levels[-1]))
        on_hand = max(0.0, levels[-1] - elapsed)
        levels.append(on_hand + (f if shorts[k] < p else 1.0) * (u - on_hand))
        since.append(t)
        t = t + r  # two steps, as simulated time adds them
        t = t + m * leads[k]
        k += 1
    return Shelf(since, levels, cum)


def expected_stockout_share(params: Supply) -> float:
    """Long-run share of days in stock-out, by the renewal-reward theorem.

    A cycle lasts ``R + L`` with ``L ~ Exp(m)`` and starts with ``Y`` days of
    stock (``U``, or ``f U`` when short). Exact when no stock is carried over
    between cycles, i.e. with no shortfall or when ``U <= R``.
    """
    r, m, u = params.review_period_days, params.lead_time_mean_days, params.order_up_to_days
    p, f = params.shortfall_probability, params.shortfall_fill_fraction

    def mean_out(y: float) -> float:  # E[max(0, R + L - y)]
        c = r - y
        if m == 0:
            return max(0.0, c)
        return c + m if c >= 0 else m * math.exp(c / m)

    return ((1 - p) * mean_out(u) + p * mean_out(f * u)) / (r + m)
