"""Mentor: a peer MCH nurse released to visit her caseload, and mentor attrition.

A mentor is released ``release_days_per_week`` weekdays a week, never on her
own facility's immunization days. On each release day (unless she is called
away, with ``absence_probability``) she visits the mentees whose next visit is
due by the midpoint to her next release day, most overdue first, as many as
``max_visits_per_day`` and her working hours (visit plus travel time, which
depends on the facility's setting) allow. Each mentee's plan is one visit per
``target_interval_days``; when a visit slips, the next keeps at least
``min_days_between_visits`` after it. A mentor leaves at a constant hazard;
her caseload waits unvisited until a replacement (oriented afresh) arrives.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.model import Model

WORKDAYS = 5  # Monday to Friday


class Mentor:
    """One mentor in a caseload slot; a replacement takes the same slot."""

    def __init__(
        self,
        mid: int,
        slot: int,
        key: tuple[int, ...],
        subcounty: int,
        caseload: list[Facility],
        release_weekdays: tuple[int, ...],
        first_weekday: int,
        start: float,
        origin: str,
    ) -> None:
        self.id = mid
        self.slot = slot
        self.key = key  # random-stream key of the slot
        self.start = start
        self.origin = origin  # "recruit", or "graduate" of the programme
        self.subcounty = subcounty
        self.caseload = caseload
        self.release_weekdays = release_weekdays
        self._first_weekday = first_weekday  # weekday of simulation day 0
        self.active = True

    def next_release_day(self, t: float) -> float:
        """The first release day at or after ``t``."""
        day = math.ceil(t)
        for k in range(7):
            if (self._first_weekday + day + k) % 7 in self.release_weekdays:
                return float(day + k)
        raise AssertionError("a mentor has at least one release weekday")


def draw_weekdays(rng: np.random.Generator, home_days: int, release_days: int) -> tuple[int, ...]:
    """Release weekdays chosen among the weekdays her own facility holds no session."""
    home = set(rng.choice(WORKDAYS, size=home_days, replace=False).tolist())
    free = [d for d in range(WORKDAYS) if d not in home]
    return tuple(sorted(rng.choice(free, size=release_days, replace=False).tolist()))


def visiting(model: Model, mentor: Mentor):
    """SimPy process: the mentor's release days, until she leaves or the horizon."""
    env = model.env
    absent = model.streams("mentor.absence", *mentor.key)
    p_absent = model.config.mentor.absence_probability
    day = mentor.next_release_day(env.now)
    while True:
        yield env.timeout(day - env.now)
        if not mentor.active or day >= model.horizon:
            return
        following = mentor.next_release_day(day + 1)
        if absent.random() >= p_absent:
            visit_round(model, mentor, day, window=(following - day) / 2)
        day = following


def visit_round(model: Model, mentor: Mentor, day: float, window: float) -> None:
    """One release day: due mentees, most overdue first, within hours and visit cap."""
    cfg = model.config.mentor
    due = [
        f.mentee
        for f in mentor.caseload
        if f.mentee is not None and f.mentee.next_due <= day + window
    ]
    due.sort(key=lambda m: (m.next_due, m.id))
    hours, done = 0.0, 0
    for mentee in due:
        need = cfg.visit_hours + getattr(cfg.travel_hours, mentee.facility.setting)
        if hours + need > cfg.workday_hours:
            continue
        model.visit(mentor, mentee, day)
        hours += need
        done += 1
        if done == cfg.max_visits_per_day:
            break


def mentor_post(
    model: Model, slot: int, key: tuple[int, ...], subcounty: int, caseload: list[Facility],
    origin: str = "recruit",
):
    """SimPy process: a caseload slot's mentors through attrition and replacement (the first
    may be a graduate of the programme; replacements are recruited)."""
    env = model.env
    cfg = model.config.mentor.attrition
    leave_rng = model.streams("mentor.attrition", *key)
    replace_rng = model.streams("mentor.replacement", *key)
    while True:
        mentor = model.new_mentor(slot, key, subcounty, caseload, origin)
        origin = "recruit"
        env.process(visiting(model, mentor))
        if cfg.hazard_per_year == 0:
            return
        yield env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
        model.mentor_leaves(mentor, "attrition")
        if cfg.replacement_days_mean > 0:
            yield env.timeout(replace_rng.exponential(cfg.replacement_days_mean))
