"""The reference engine's SimPy processes: a nurse post, a facility's shocks, a mentor
slot and each mentor's rounds, the classroom course. Each takes the model for the
state changes processes share (:class:`~sim.engines.reference.model.Model`)."""

from __future__ import annotations

import itertools
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from sim.clock import Late
from sim.config import AREAS
from sim.rng import Batched
from sim.rules import competency, costs, visits

if TYPE_CHECKING:
    from sim.config import Classroom
    from sim.engines.reference.agents import Facility, Mentor
    from sim.engines.reference.model import Model

WEEK = 7.0


def nurse_post(model: Model, facility: Facility):
    """A facility's MCH nurse post through turnover, vacancies and furloughs.

    The post holder is enrolled while the facility is in the programme. She leaves at
    a constant hazard (``mentee.turnover.hazard_per_year``); the post stays vacant for
    an exponential delay (``vacancy_days_mean``) before a new nurse, with a fresh
    baseline, takes it. A furlough ends her spell; she comes back with the facility. A
    graduate promoted to mentor keeps her post until she leaves it.
    """
    env = model.env
    cfg = model.config.mentee.turnover
    leave_rng = model.streams("mentee.turnover", *facility.key)
    vacancy_rng = model.streams("mentee.vacancy", *facility.key)
    nurse = model.new_nurse(facility)
    while True:
        if not facility.in_programme:
            yield facility.returned
        model.enrol(nurse)
        quits = (env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
                 if cfg.hazard_per_year > 0 else env.event())
        fired = yield env.any_of([quits, facility.left, nurse.promoted])
        if nurse.promoted in fired and quits not in fired:
            yield quits  # she mentors from her post until she leaves it
            model.mentoring_graduates.pop(facility.id)
        elif quits not in fired:
            model.end_spell(nurse, "furlough")
            continue
        else:
            model.end_spell(nurse, "turnover")
        if cfg.vacancy_days_mean > 0:
            yield env.timeout(vacancy_rng.exponential(cfg.vacancy_days_mean))
        nurse = model.new_nurse(facility)


def economic_shocks(model: Model, facility: Facility):
    """Furlough shocks at a hazard set by the facility's ownership
    (``subcounties[].furlough_hazard_per_year``); the facility may come back after an
    exponential pause (``facilities.furlough_return_days_mean``)."""
    hazard = model.config.subcounties[facility.subcounty].furlough_hazard_per_year[facility.ownership]
    if hazard == 0:
        return
    pause_mean = model.config.facilities.furlough_return_days_mean
    shock = model.streams("facility.furlough", *facility.key)
    pause = model.streams("facility.furlough_return", *facility.key)
    if not facility.in_programme:  # a shock can hit only once the facility has joined
        yield facility.returned
    while True:
        yield model.env.timeout(shock.exponential(365.0 / hazard))
        facility.leave()
        if pause_mean is None:
            return
        yield model.env.timeout(pause.exponential(pause_mean))
        facility.rejoin()


def mentor_post(model: Model, slot: int, key: tuple[int, ...], subcounty: int,
                caseload: list[Facility], origin: str):
    """A caseload slot's mentors through attrition (``mentor.attrition``) and replacement
    after an exponential delay; the first may be a graduate, replacements are recruited."""
    env = model.env
    cfg = model.config.mentor.attrition
    leave_rng = model.streams("mentor.attrition", *key)
    replace_rng = model.streams("mentor.replacement", *key)
    for tenure in itertools.count():
        mentor = model.new_mentor(slot, key, subcounty, caseload, origin)
        origin = "recruit"
        model.process(rounds(model, mentor, tenure))
        if cfg.hazard_per_year == 0:
            return
        yield env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
        model.mentor_leaves(mentor, "attrition")
        if cfg.replacement_days_mean > 0:
            yield env.timeout(replace_rng.exponential(cfg.replacement_days_mean))


def rounds(model: Model, mentor: Mentor, tenure: int):
    """A mentor's rounds: on each of her release days, after everything else of the day,
    unless she is called away, she visits whoever :func:`sim.rules.visits.round_visits`
    picks, and each visited nurse's next visit falls due (:func:`sim.rules.visits.next_due`)."""
    env, cfg = model.env, model.config.mentor
    plan = visits.release_days(mentor.start, model.first_weekday, mentor.release_weekdays,
                               model.horizon)
    away = model.streams("mentor.absence", *mentor.key, tenure).random(len(plan.days))
    hours = [cfg.visit_hours + getattr(cfg.travel_hours, f.setting) for f in mentor.caseload]
    for day, window_end, p in zip(plan.days.tolist(), plan.window_ends.tolist(), away.tolist(),
                                  strict=True):
        yield Late(env, day - env.now)
        if not mentor.active:
            return
        if p < cfg.absence_probability:
            continue
        nurses = [f.nurse for f in mentor.caseload]
        caseload = [visits.Due(n.next_due if n is not None else float("inf"),
                               n.id if n is not None else -1, h)
                    for n, h in zip(nurses, hours, strict=True)]
        for k in visits.round_visits(caseload, window_end, cfg.max_visits_per_day,
                                     cfg.workday_hours):
            nurse = nurses[k]
            nurse.next_due = visits.next_due(nurse.next_due, day, cfg.target_interval_days,
                                             cfg.min_days_between_visits)
            nurse.visits += 1
            model.visit(mentor, nurse)


def learning_draws(model: Model, facility: Facility) -> Batched:
    """A facility's visit noise: normal draws with mean ``-sd**2 / 2``
    (:func:`sim.rules.competency.effort`)."""
    sd = model.config.mentee.learning.noise_sd
    return Batched(partial(model.streams("mentee.learning", *facility.key).normal,
                           -0.5 * sd * sd, sd))


def courses(model: Model, course: Classroom):
    """The classroom comparator: from ``start_month`` the nurses enrolled then go on a
    course in cohorts of ``cohort_size``, one a week; each gains ``gain`` at its end."""
    env = model.env
    if course.start_month > model.config.months:
        return
    yield env.timeout(model.month_starts[course.start_month - 1])
    trainees = [f.nurse for facs in model.facilities for f in facs if f.nurse is not None]
    gain = np.array([course.gain[a] for a in AREAS])
    for k in range(0, len(trainees), course.cohort_size):
        cohort = trainees[k:k + course.cohort_size]
        day = env.now
        for nurse in cohort:
            f = nurse.facility
            for charge in costs.trainee(course, f.nurses, f.sessions_per_week):
                who = f"facility:{f.id}" if charge.category == "lost_sessions" else nurse.who
                model.ledger.post(day, charge.category, who, f.subcounty, charge.ksh)
        where = min(n.facility.subcounty for n in cohort)  # the venue: the first subcounty's
        for charge in costs.cohort(course):
            model.ledger.post(day, charge.category, "course", where, charge.ksh)
        yield env.timeout(course.course_days)
        for nurse in cohort:
            if nurse.facility.nurse is nurse:  # still enrolled at the course's end
                nurse.settle(env.now, model.rates)
                nurse.c = competency.course(nurse.c, gain)
        yield env.timeout(max(0.0, WEEK - course.course_days))
