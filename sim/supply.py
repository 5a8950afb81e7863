"""Stock lines at a facility: periodic review, order-up-to, late and short deliveries.

Each facility keeps one stock per supply line of the config: ``vaccines``, whose
stock-outs stop immunization sessions, and any others (vaccination materials,
child health cards) that the survey reads. Each line follows a simplified
version of the replenishment policy HERMES-style supply-chain models use for
the last mile. Stock is counted in *days of use*, so the facility's session
pattern sets the consumption rate and drops out of the bookkeeping:

* ``review_period_days`` after each delivery the facility orders from the
  subcounty store; the order arrives after an exponential lead time
  (mean ``lead_time_mean_days``);
* a delivery tops the shelf up to ``order_up_to_days`` of use, except that with
  probability ``shortfall_probability`` the store is short and sends only
  ``shortfall_fill_fraction`` of what was asked for;
* stock runs down at one day of use per day; at zero the line is in
  stock-out until the next delivery (for vaccines: no immunization session).

Inter-delivery times are i.i.d. (review period plus lead time), so stock-outs
form a renewal-reward process; :func:`expected_stockout_share` gives its
long-run share when the shelf holds nothing over from one cycle to the next.
Stock-out starts need no event of their own: the stock level is a straight
line between deliveries, and :meth:`Stock.stockout_days_until` reads it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import simpy

    from sim.config import Supply


class Stock:
    """One facility's shelf of one supply line, and the process that resupplies it."""

    __slots__ = ("params", "_level", "_since", "_cum_out")

    def __init__(self, params: Supply) -> None:
        self.params = params
        self._level = 0.0  # days of use on the shelf at the last delivery
        self._since = 0.0  # time of the last delivery
        self._cum_out = 0.0  # stock-out days accrued before the last delivery

    def stockout_days_until(self, t: float) -> float:
        """Cumulative facility-days in stock-out from day 0 to ``t``."""
        return self._cum_out + max(0.0, t - self._since - self._level)

    def in_stock(self, t: float) -> bool:
        """Whether the shelf holds stock at ``t`` (``t`` not before the last delivery)."""
        return t - self._since < self._level

    def _deliver(self, t: float, fill: float) -> None:
        self._cum_out = self.stockout_days_until(t)
        on_hand = max(0.0, self._level - (t - self._since))
        self._level = on_hand + fill * (self.params.order_up_to_days - on_hand)
        self._since = t

    def run(
        self,
        env: simpy.Environment,
        phase: np.random.Generator,
        lead: np.random.Generator,
        short: np.random.Generator,
    ):
        """SimPy process: the resupply cycle, started in its long-run state.

        Day 0 falls at a uniform point of a length-biased cycle (the renewal
        process's equilibrium), so stock-outs do not start artificially low.
        """
        p = self.params
        r, m = p.review_period_days, p.lead_time_mean_days
        # A cycle R + L, L ~ Exp(m), length-biased: L ~ Gamma(2, m) w.p. m / (R + m).
        shape = 2.0 if phase.random() * (r + m) < m else 1.0
        cycle = r + (phase.gamma(shape, m) if m else 0.0)
        age = phase.uniform(0.0, cycle)
        fill = p.shortfall_fill_fraction if phase.random() < p.shortfall_probability else 1.0
        self._level = fill * p.order_up_to_days
        self._since = -age
        self._cum_out = -max(0.0, age - self._level)  # count only days from day 0
        yield env.timeout(cycle - age)
        while True:
            shortfall = short.random() < p.shortfall_probability
            self._deliver(env.now, p.shortfall_fill_fraction if shortfall else 1.0)
            yield env.timeout(r)
            yield env.timeout(lead.exponential(m) if m else 0.0)


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
