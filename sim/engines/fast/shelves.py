"""The fast engine's shelves: every facility's delivery schedule in three flat arrays.

The rule is :mod:`sim.rules.supply` (periodic review, order-up-to, short and late
deliveries; stock-out days read off the straight-line stock level). Here the
schedules of all facilities of a line are drawn side by side, delivery by delivery,
with the same arithmetic and the same draws as :func:`sim.rules.supply.deliveries`
for one shelf (:func:`draw_stocks`), and read by compiled binary search, so that the
compiled settlement can look a nurse's facility up (:func:`stockout_days`,
:func:`stocked_until`, :func:`flips`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.engines.fast.bundles import ShelfArrays
from sim.rules.supply import BLOCK

if TYPE_CHECKING:
    from sim.config import Supply


_MARGIN = 1e-6  # days: a safe distance from a run-out time (day numbers round at ~1e-12)


class Shelves:
    """One supply line's delivery schedules at many facilities, in three flat arrays.

    Facility ``i``'s deliveries are the items ``start[i]`` to ``start[i + 1]`` of
    ``since`` (their days), ``level`` (the days of use each left on the shelf) and
    ``cum`` (the stock-out days accrued from day 0 before each), so that compiled
    code reads any facility's shelf (:func:`stockout_days`, :func:`stocked_until`,
    :func:`flips`). ``shelves[i]`` is facility ``i``'s :class:`Stock`.
    """

    def __init__(self, since: np.ndarray, level: np.ndarray, cum: np.ndarray,
                 start: np.ndarray) -> None:
        self.since, self.level, self.cum, self.start = since, level, cum, start
        self.arrays = ShelfArrays(since=since, level=level, cum=cum, start=start)
        self._bounds = start.tolist()

    def __len__(self) -> int:
        return len(self.start) - 1

    def __getitem__(self, i: int) -> Stock:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return Stock(self, self._bounds[i], self._bounds[i + 1])

    def stockout_days_at(self, times: np.ndarray) -> np.ndarray:
        """Each facility's cumulative stock-out days at each of ``times``, a row each."""
        return _stockout_days_at(self.since, self.level, self.cum, self.start,
                                 np.asarray(times, np.float64))


class Stock:
    """One facility's shelf of one supply line, with its whole delivery schedule.

    A line's deliveries depend on nothing else in the model, so the schedule up
    to the horizon is drawn once at the start (:func:`draw_stocks`) and read by
    binary search: no SimPy events at all.
    """

    __slots__ = ("_shelves", "_lo", "_hi")

    def __init__(self, shelves: Shelves, lo: int, hi: int) -> None:
        self._shelves, self._lo, self._hi = shelves, lo, hi  # its deliveries in the shelves

    @property
    def since(self) -> np.ndarray:
        """Each delivery's day."""
        return self._shelves.since[self._lo:self._hi]

    @property
    def level(self) -> np.ndarray:
        """The days of use each delivery left on the shelf."""
        return self._shelves.level[self._lo:self._hi]

    @property
    def cum(self) -> np.ndarray:
        """The stock-out days accrued from day 0 before each delivery."""
        return self._shelves.cum[self._lo:self._hi]

    def stockout_days_until(self, t: float) -> float:
        """Cumulative facility-days in stock-out from day 0 to ``t``."""
        sh = self._shelves
        return stockout_days(sh.since, sh.level, sh.cum, self._lo, self._hi, float(t))

    def stocked_until(self, t: float) -> float:
        """A time until which no stock-out days accrue after ``t`` (``t`` itself if the
        shelf is empty then): up to it, :meth:`stockout_days_until` keeps its value at
        ``t``, so a nurse's settlement need not look it up. It is where the shelf next
        runs dry, less a margin far above rounding, so that the lookup it saves would
        have returned exactly the same number."""
        sh = self._shelves
        return stocked_until(sh.since, sh.level, sh.cum, self._lo, self._hi, float(t))

    def in_stock(self, t: float) -> bool:
        """Whether the shelf holds stock at ``t``."""
        sh = self._shelves
        return in_stock(sh.since, sh.level, self._lo, self._hi, float(t))


@njit(cache=True)
def _last(since, lo, hi, t):
    """Index of the facility's last delivery at or before ``t`` (its deliveries: ``lo:hi``)."""
    return lo + np.searchsorted(since[lo:hi], t, side="right") - 1


@njit(cache=True)
def stockout_days(since, level, cum, lo, hi, t):
    """Cumulative facility-days in stock-out from day 0 to ``t`` (its deliveries: ``lo:hi``
    of the :class:`Shelves`)."""
    i = _last(since, lo, hi, t)
    d = t - since[i] - level[i]
    return cum[i] + (d if d > 0.0 else 0.0)


@njit(cache=True)
def _stockout_days_at(since, level, cum, start, times):
    out = np.empty((start.size - 1, times.size))
    for f in range(start.size - 1):
        for j in range(times.size):
            out[f, j] = stockout_days(since, level, cum, start[f], start[f + 1], times[j])
    return out


@njit(cache=True)
def in_stock(since, level, lo, hi, t):
    """Whether the shelf holds stock at ``t``."""
    i = _last(since, lo, hi, t)
    return t - since[i] < level[i]


@njit(cache=True)
def stocked_until(since, level, cum, lo, hi, t):
    """:meth:`Stock.stocked_until`, compiled."""
    i = _last(since, lo, hi, t)
    if t - since[i] - level[i] >= 0.0:
        return t
    while i + 1 < hi and cum[i + 1] == cum[i]:  # restocked before it ran dry
        i += 1
    return since[i] + level[i] - _MARGIN


@njit(cache=True)
def flips(since, level, lo, hi, t0, t1):
    """Whether the shelf is empty just after ``t0``, and the times in ``(t0, t1)`` at
    which that changes: a lazily settled nurse's decay rate changes at those times."""
    i = _last(since, lo, hi, t0)
    empty = first = t0 - since[i] >= level[i]
    out = [0.0 for _ in range(0)]
    while True:
        delivery = since[i + 1] if i + 1 < hi else math.inf
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




def draw_stocks(params: Supply, horizon: float, rngs: list[np.random.Generator]) -> Shelves:
    """The delivery schedules of one supply line at many facilities, each from its stream:
    :func:`sim.rules.supply.deliveries` for each, side by side (the contract checks they
    are the same).

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
    start = np.array([(rng.random(), *rng.standard_exponential(2).tolist(), *rng.random(2).tolist())
                      for rng in rngs]).reshape(n, 5)
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
    ends = np.maximum((since_ <= horizon).sum(axis=1), 1)
    kept = np.arange(since_.shape[1]) < ends[:, None]
    return Shelves(since_[kept], levels_[kept], cum_[kept], np.concatenate([[0], np.cumsum(ends)]))
