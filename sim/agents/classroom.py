"""Classroom training: the comparator the pilot's authors asked for.

Traditionally a lecture course in the district town (WHO immunization modules),
with no follow-up on site. From the start of ``start_month`` the nurses enrolled
then are trained in cohorts of ``cohort_size``, one cohort a week, each for
``course_days`` days. At the course's end each nurse gains ``gain`` checklist
points per area (capped at 4); afterwards her skills decay as anyone's do, with
no visits to refresh them. While she is away, a facility where she is the only
immunizing nurse holds no sessions: it loses ``course_days`` x (its session days
a week / 5) sessions, each costed at ``lost_session_cost``. Every cost goes to
the same ledger as mentoring's: per diem and travel per trainee, the venue and
the facilitators per course day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config import AREAS

if TYPE_CHECKING:
    from sim.config import Classroom
    from sim.model import Model

WEEK = 7.0


def courses(model: Model, course: Classroom):
    """SimPy process: run the cohorts, one a week, from the start month."""
    env = model.env
    if course.start_month > model.config.months:
        return
    yield env.timeout(model.month_starts[course.start_month - 1])
    trainees = [f.mentee for facs in model.facilities for f in facs if f.mentee is not None]
    gain = np.array([course.gain[a] for a in AREAS])
    for k in range(0, len(trainees), course.cohort_size):
        cohort = trainees[k:k + course.cohort_size]
        start = env.now
        _charge(model, course, cohort, start)
        yield env.timeout(course.course_days)
        for mentee in cohort:
            if mentee.facility.mentee is mentee:  # still enrolled at the course's end
                mentee.train(env.now, gain)
        yield env.timeout(max(0.0, WEEK - course.course_days))


def _charge(model: Model, course: Classroom, cohort: list, day: float) -> None:
    post = model.ledger.post
    days = course.course_days
    subcounties = sorted({m.facility.subcounty for m in cohort})
    where = subcounties[0]  # the venue is booked by the first trainee's subcounty
    for mentee in cohort:
        f = mentee.facility
        who = mentee.who
        post(day, "course_per_diem", who, f.subcounty, course.per_diem_per_day * days)
        post(day, "course_travel", who, f.subcounty, course.travel_per_trainee)
        if f.nurses == 1:
            lost = days * f.sessions_per_week / 5.0
            post(day, "lost_sessions", f"facility:{f.id}", f.subcounty, course.lost_session_cost * lost)
    post(day, "course_venue", "course", where, course.venue_per_day * days)
    post(day, "course_facilitators", "course", where,
         course.facilitators * course.facilitator_fee_per_day * days)
