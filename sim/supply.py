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
Stock-outs need no events: the stock level is a straight line between
deliveries, and :meth:`Stock.stockout_days_until` reads it.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.config import Supply


_MARGIN = 1e-6  # days: a safe distance from a run-out time (day numbers round at ~1e-12)


class Stock:
    """One facility's shelf of one supply line, with its whole delivery schedule.

    A line's deliveries depend on nothing else in the model, so the schedule up
    to the horizon is drawn once at the start (:func:`draw_stocks`) and read by
    binary search: no SimPy events at all.
    """

    __slots__ = ("_since", "_level", "_cum", "_hint")

    def __init__(self, since: Sequence[float], level: Sequence[float], cum: Sequence[float]) -> None:
        # per delivery: its day, the days of use it left on the shelf, and the stock-out
        # days accrued since day 0 before it
        self._since, self._level, self._cum = since, level, cum
        self._hint = 0  # the delivery last looked up: the model mostly asks in time order

    def _last(self, t: float) -> int:
        """Index of the last delivery at or before ``t``."""
        since, i = self._since, self._hint
        if since[i] <= t and (i + 1 == len(since) or t < since[i + 1]):
            return i
        i = self._hint = bisect_right(since, t) - 1
        return i

    def stockout_days_until(self, t: float) -> float:
        """Cumulative facility-days in stock-out from day 0 to ``t``."""
        since, i = self._since, self._hint
        if not (since[i] <= t and (i + 1 == len(since) or t < since[i + 1])):
            i = self._hint = bisect_right(since, t) - 1  # _last, inlined: a hot path
        return self._cum[i] + max(0.0, t - since[i] - self._level[i])

    def stocked_until(self, t: float) -> float:
        """A time until which no stock-out days accrue after ``t`` (``t`` itself if the
        shelf is empty then): up to it, :meth:`stockout_days_until` keeps its value at
        ``t``, so a nurse's settlement need not look it up. It is where the shelf next
        runs dry, less a margin far above rounding, so that the lookup it saves would
        have returned exactly the same number."""
        since, level, cum = self._since, self._level, self._cum
        i = self._last(t)
        if t - since[i] - level[i] >= 0.0:
            return t
        n = len(since)
        while i + 1 < n and cum[i + 1] == cum[i]:  # restocked before it ran dry
            i += 1
        return since[i] + level[i] - _MARGIN

    def stockout_days_at(self, times: np.ndarray) -> np.ndarray:
        """:meth:`stockout_days_until` at many times at once."""
        since = np.asarray(self._since)
        i = np.searchsorted(since, times, side="right") - 1
        return np.asarray(self._cum)[i] + np.maximum(0.0, times - since[i] - np.asarray(self._level)[i])

    def in_stock(self, t: float) -> bool:
        """Whether the shelf holds stock at ``t``."""
        i = self._last(t)
        return t - self._since[i] < self._level[i]

    def flips(self, t0: float, t1: float) -> tuple[bool, list[float]]:
        """Whether the shelf is empty just after ``t0``, and the times in ``(t0, t1)`` at
        which that changes: a lazily settled nurse's decay rate changes at those times."""
        since, level = self._since, self._level
        i = self._last(t0)
        empty = first = t0 - since[i] >= level[i]
        out: list[float] = []
        n = len(since)
        while True:
            delivery = since[i + 1] if i + 1 < n else math.inf
            if not empty:
                runs_out = since[i] + level[i]
                if runs_out < delivery:
                    if runs_out >= t1:
                        return first, out
                    out.append(runs_out)
                    empty = True
                    continue
            if delivery >= t1:
                return first, out
            if empty:
                out.append(delivery)
                empty = False
            i += 1


BLOCK = 64  # deliveries' random numbers are drawn this many at a time


def draw_stocks(params: Supply, horizon: float, rngs: list[np.random.Generator]) -> list[Stock]:
    """The delivery schedules of one supply line at many facilities, each from its stream.

    Day 0 falls at a uniform point of a length-biased cycle (the renewal
    process's equilibrium), so stock-outs do not start artificially low. Each
    stream is read in a fixed layout, whatever the parameters: five numbers for
    the start, then blocks of ``BLOCK`` uniforms (shortfalls) and ``BLOCK``
    standard exponentials (lead times), one of each per delivery. Delivery *k*
    thus always gets the same two numbers, so scenarios that differ in a supply
    parameter keep common random numbers. The facilities' schedules are worked
    out side by side, delivery by delivery, with the same arithmetic as one
    facility at a time.
    """
    p = params
    r, m, u = p.review_period_days, p.lead_time_mean_days, p.order_up_to_days
    n = len(rngs)
    start = np.empty((n, 5))
    for i, rng in enumerate(rngs):
        start[i, 0] = rng.random()
        start[i, 1:3] = rng.standard_exponential(2)
        start[i, 3] = rng.random()
        start[i, 4] = rng.random()
    pick, e1, e2, age_u, fill_u = start.T
    # A cycle R + L, L ~ Exp(m), length-biased: L ~ Gamma(2, m) (a sum of two
    # exponentials) with probability m / (R + m).
    cycle = r + m * np.where(pick * (r + m) < m, e1 + e2, e1)
    age = age_u * cycle
    level = np.where(fill_u < p.shortfall_probability, p.shortfall_fill_fraction, 1.0) * u
    since, levels, cum = [-age], [level], [-np.maximum(0.0, age - level)]
    t = cycle - age
    shorts = leads = np.empty((n, 0))
    k = 0
    while (t <= horizon).any():
        if k == shorts.shape[1]:
            block = [(rng.random(BLOCK), rng.standard_exponential(BLOCK)) for rng in rngs]
            shorts = np.hstack([shorts, np.array([b[0] for b in block])])
            leads = np.hstack([leads, np.array([b[1] for b in block])])
        fill = np.where(shorts[:, k] < p.shortfall_probability, p.shortfall_fill_fraction, 1.0)
        elapsed = t - since[-1]
        last = levels[-1]
        cum.append(cum[-1] + np.maximum(0.0, elapsed - last))
        on_hand = np.maximum(0.0, last - elapsed)
        levels.append(on_hand + fill * (u - on_hand))
        since.append(t)
        t = t + r  # two steps, as simulated time would add them
        t = t + m * leads[:, k]
        k += 1
    since_, levels_, cum_ = (np.array(x).T for x in (since, levels, cum))
    # each facility's schedule ends with its last delivery before the horizon
    ends = (since_ <= horizon).sum(axis=1)
    ends[:] = np.maximum(ends, 1)
    return [Stock(_doubles(since_[i, :e]), _doubles(levels_[i, :e]), _doubles(cum_[i, :e]))
            for i, e in enumerate(ends.tolist())]


def _doubles(values: np.ndarray) -> array:
    """A compact sequence of floats: one buffer, not a Python object per number, which
    matters for millions of deliveries (and for the garbage collector)."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


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
