"""What the fast engine relies on: the properties of the rules its representation assumes.

For speed the fast engine does not call every rule: it keeps gains folded at a
reference exposure, sums posts' effects in closed form, compiles the visit rule and
draws all shelves side by side. That is right only while the rules keep certain
properties. Each :class:`Reliance` names a rule, the property, the fast paths that
depend on it, and a check of the property against the rule as it is now. Change a
rule (on the reference engine) so that a check fails, and :func:`broken` names the fast
paths to update; ``tests/test_engines.py`` prints them when the engines disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from sim.engines.fast import kernels, rounds, shelves
from sim.engines.fast.bundles import DueArrays, RoundArrays, VisitRule
from sim.rules import competency, supply, visits

_AREAS = 8
_TOL = 1e-12


class Reliance(NamedTuple):
    rule: str  # the rule's function(s)
    property: str  # what the fast engine assumes of it
    fast_paths: tuple[str, ...]  # where it relies on it: module:function or module:Class
    holds: Callable[[], bool]  # the property, checked against the rule as it is now


def _nurses(seed: int, n: int = 50) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    floor = rng.uniform(0, 3, (n, _AREAS))
    return rng, floor, np.minimum(floor + rng.uniform(0, 2, (n, _AREAS)), competency.MAX_SCORE)


def _decay_is_exponential() -> bool:
    rng, floor, c = _nurses(1)
    k = rng.uniform(0.5, 5) / 365
    for b, ci in zip(floor, c, strict=True):
        x1, x2 = rng.uniform(0, 400, 2)
        once = competency.decay(ci, b, k, x1 + x2)
        if not np.allclose(competency.decay(competency.decay(ci, b, k, x1), b, k, x2), once,
                           rtol=0, atol=_TOL):
            return False  # folding gains needs decay(x1) then decay(x2) = decay(x1 + x2)
        if not np.allclose(once, b + (ci - b) * math.exp(-k * (x1 + x2)), rtol=0, atol=_TOL):
            return False  # ... and each gain above the baseline scaled by exp(-k x)
        if not np.allclose(kernels.decay(b[None], (ci - b)[None], k, np.array([[x1 + x2]]))[0],
                           once, rtol=0, atol=_TOL):
            return False
    return True


def _exposure_is_linear() -> bool:
    rng = np.random.default_rng(2)
    for _ in range(50):
        elapsed, pp, wp = rng.uniform(0, 60), rng.uniform(0, 0.5), rng.uniform(0, 0.5)
        practice, active = rng.uniform(0, elapsed), rng.choice([0.0, elapsed])
        want = elapsed - pp * practice - wp * active
        got = competency.exposure(elapsed, practice, active, pp, wp)
        if abs(got - want) > _TOL or abs(kernels.decay_exposure(elapsed, practice, active, pp, wp)
                                         - got) > _TOL:
            return False
    return True


def _post_closes_a_share() -> bool:
    rng, _, c = _nurses(3)
    r = 0.07
    for ci in c:
        a = int(rng.integers(_AREAS))
        want = ci.copy()
        want[a] = ci[a] + r * (competency.MAX_SCORE - ci[a])
        if not np.allclose(competency.post(ci, a, r), want, rtol=0, atol=_TOL):
            return False
    return True


def _learning_matches_the_kernels() -> bool:
    rng, _, c = _nurses(4)
    rate, n = 0.8, 3
    weights = rng.uniform(0.2, 1, (len(c), _AREAS))
    draws = rng.normal(-0.08, 0.4, (len(c), n))
    areas = kernels.agenda(c, weights, n)
    out = kernels.learn(c, areas, np.exp(-rate * np.exp(draws)))
    for j in range(len(c)):
        rule_areas = competency.agenda(c[j], weights[j], n)
        efforts = [competency.effort(z) for z in draws[j]]
        if list(areas[j]) != list(rule_areas) or not np.allclose(
                competency.learn(c[j], rule_areas, efforts, rate), out[j], rtol=0, atol=_TOL):
            return False
    return True


def _rounds_match_the_kernel() -> bool:
    rng = np.random.default_rng(5)
    for _ in range(40):
        width = int(rng.integers(1, 7))
        due = np.where(rng.random(width) < 0.2, math.inf, rng.uniform(0, 40, width))
        ids, hours = rng.permutation(100)[:width], rng.choice([3.5, 4.0, 4.5], width)
        day, end, cap, workday, interval, gap = 20.0, 23.5, int(rng.integers(1, 4)), 8.5, 30.4, 14.0
        caseload = [visits.Due(float(d), int(i), float(h)) for d, i, h in zip(due, ids, hours,
                                                                             strict=True)]
        picked = visits.round_visits(caseload, end, cap, workday)
        want = due.copy()
        for k in picked:
            want[k] = visits.next_due(due[k], day, interval, gap)
        # one slot, one release day today, its window ending at ``end``
        next_due = np.append(due, math.inf)
        calendar = RoundArrays(
            rows=np.arange(width)[None], hours=hours[None], days=np.array([[day, math.inf]]),
            ends=np.array([[end, math.inf]]), absent=np.zeros((1, 2), bool), count=np.array([1]),
            following=np.zeros(1, np.intp), wake=np.zeros(1, np.intp), wake_day=np.zeros(1),
            entry=np.zeros(1, np.int64))
        nurses = DueArrays(ids=np.append(ids, -1), next_due=next_due,
                           visits=np.zeros(width + 1, np.int64))
        rule = VisitRule(cap=cap, workday=workday, interval=interval, min_gap=gap)
        seen, _, _ = rounds._hold_rounds(np.array([0]), day, 0, *calendar, *nurses, *rule)
        if list(seen) != picked or not np.array_equal(next_due[:width], want):
            return False
    return True


def _shelves_match_the_rule() -> bool:
    from sim.config import Supply
    rng = np.random.default_rng(6)
    for _ in range(5):
        params = Supply(review_period_days=float(rng.uniform(10, 40)),
                        lead_time_mean_days=float(rng.uniform(1, 20)),
                        order_up_to_days=float(rng.uniform(20, 60)),
                        shortfall_probability=float(rng.uniform(0, 0.6)),
                        shortfall_fill_fraction=float(rng.uniform(0.2, 0.9)))
        seeds = rng.integers(1 << 32, size=4)
        drawn = shelves.draw_stocks(params, 800.0, [np.random.default_rng(s) for s in seeds])
        for i, s in enumerate(seeds):
            shelf = supply.deliveries(params, 800.0, np.random.default_rng(s))
            stock = drawn[i]
            if not (np.array_equal(stock.since, shelf.since) and np.array_equal(stock.level, shelf.level)
                    and np.array_equal(stock.cum, shelf.cum)):
                return False
            for t in rng.uniform(0, 800, 20):
                if (stock.stockout_days_until(t) != shelf.stockout_days_until(t)
                        or stock.in_stock(t) != shelf.in_stock(t)):
                    return False
    return True


RELIANCES = (
    Reliance("sim.rules.competency.decay",
             "exponential in the unprotected exposure, each gain above the baseline scaled by "
             "exp(-k x)",
             ("sim/engines/fast/nurses.py:Nurses (gains folded at a reference exposure)",
              "sim/engines/fast/nurses.py:_settle_rows, _read_posts, _train, competencies",
              "sim/engines/fast/groups.py:PostSums, _write_post (prefix sums of exp(k s t))",
              "sim/engines/fast/kernels.py:decay"),
             _decay_is_exponential),
    Reliance("sim.rules.competency.exposure",
             "linear in the days elapsed, practised and followed",
             ("sim/engines/fast/nurses.py:Dynamics.slopes, _read_posts (piecewise-linear "
              "exposure between shelf flips)", "sim/engines/fast/kernels.py:decay_exposure"),
             _exposure_is_linear),
    Reliance("sim.rules.competency.post",
             "closes a fixed share of one area's gap to 4, the same for every member",
             ("sim/engines/fast/nurses.py:_read_posts ((1 - r)^n folding)",
              "sim/engines/fast/groups.py:PostSums.keep, _write_post"),
             _post_closes_a_share),
    Reliance("sim.rules.competency.agenda, learn, effort",
             "what the compiled copies compute",
             ("sim/engines/fast/kernels.py:agenda, learn", "sim/engines/fast/nurses.py:_train"),
             _learning_matches_the_kernels),
    Reliance("sim.rules.visits.round_visits, next_due",
             "what the compiled rounds compute; nobody not due by a window's end is visited "
             "(so a mentor may sleep until someone is)",
             ("sim/engines/fast/rounds.py:_hold_rounds, _first_due, Rounds",),
             _rounds_match_the_kernel),
    Reliance("sim.rules.supply.deliveries, Shelf",
             "what the side-by-side draw and the compiled lookups compute",
             ("sim/engines/fast/shelves.py:draw_stocks, stockout_days, stocked_until, flips, "
              "in_stock",),
             _shelves_match_the_rule),
)


def broken() -> list[str]:
    """A line per reliance whose rule no longer has its property, naming the fast paths to
    update (none: the fast engine still implements the rules)."""
    return [f"{r.rule} is no longer {r.property}: update {'; '.join(r.fast_paths)}"
            for r in RELIANCES if not r.holds()]
