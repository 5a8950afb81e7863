"""The SimPy processes both engines share, and the state changes they make together.

Each takes the engine's model through the narrow interface
:class:`~sim.engines.interface.Engine`, so it reads the same in either engine and
makes the same draws in the same order: a nurse post through turnover, vacancies and
furloughs; a facility's economic shocks; a mentor slot through attrition and
replacement; the opening of a subcounty's WhatsApp groups; the classroom comparator;
and the monthly calendar that reads competency, charges monthly costs and drives the
scale-up plan.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from sim.config import AREAS
from sim.rules import costs

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.config import Classroom
    from sim.engines.interface import Engine

WEEK = 7.0


def nurse_post(model: Engine, facility: Facility):
    """A facility's MCH nurse post through turnover, vacancies and furloughs.

    The post holder is enrolled while the facility is in the programme. She leaves
    at a constant hazard (``mentee.turnover.hazard_per_year``: transfer, resignation);
    the post then stays vacant for an exponential delay (``vacancy_days_mean``)
    before a new nurse, with a fresh baseline, takes it and is enrolled, so late
    joiners get fewer visits. A furlough ends her spell; if the facility comes back,
    she comes back with it. A graduate promoted to mentor keeps her post, and
    mentors from it, until she leaves it.
    """
    env = model.env
    cfg = model.config.mentee.turnover
    leave_rng = model.streams("mentee.turnover", *facility.key)
    vacancy_rng = model.streams("mentee.vacancy", *facility.key)
    nurse = model.new_mentee(facility)
    while True:
        if not facility.in_programme:
            yield facility.returned
        model.enrol(nurse)
        quits = (env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
                 if cfg.hazard_per_year > 0 else env.event())
        fired = yield env.any_of((quits, facility.left, nurse.promoted))
        turned_over = quits in fired
        if nurse.promoted in fired and not turned_over:
            yield quits  # she mentors from her post until she leaves it
            del model.mentoring_graduates[facility.id]
        elif not turned_over:
            model.end_spell(nurse, "furlough")
            continue
        else:
            model.end_spell(nurse, "turnover")
        if cfg.vacancy_days_mean > 0:
            yield env.timeout(vacancy_rng.exponential(cfg.vacancy_days_mean))
        nurse = model.new_mentee(facility)


def economic_shocks(model: Engine, facility: Facility):
    """Furlough shocks at a hazard set by the facility's ownership
    (``subcounties[].furlough_hazard_per_year``): a private or faith-based facility
    under financial strain furloughs its nurse and leaves the programme (6 of the
    pilot's 40 did), optionally coming back after an exponential pause
    (``facilities.furlough_return_days_mean``)."""
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


def mentor_post(model: Engine, slot: int, key: tuple[int, ...], subcounty: int,
                caseload: list[Facility], origin: str = "recruit"):
    """A caseload slot's mentors through attrition (``mentor.attrition``) and replacement
    after an exponential delay; the first may be a graduate, replacements are recruited
    (and oriented afresh)."""
    env = model.env
    cfg = model.config.mentor.attrition
    leave_rng = model.streams("mentor.attrition", *key)
    replace_rng = model.streams("mentor.replacement", *key)
    for tenure in itertools.count():
        mentor = model.new_mentor(slot, key, subcounty, caseload, origin)
        origin = "recruit"
        model.start_rounds(mentor, tenure)
        if cfg.hazard_per_year == 0:
            return
        yield env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
        model.mentor_leaves(mentor, "attrition")
        if cfg.replacement_days_mean > 0:
            yield env.timeout(replace_rng.exponential(cfg.replacement_days_mean))


def whatsapp_opens(model: Engine, subcounty: int):
    """The subcounty's groups open at the start of ``whatsapp.start_month``: its active
    mentors and enrolled mentees join; they post from then on."""
    cfg = model.config.whatsapp
    if not cfg.enabled or cfg.start_month > model.config.months:
        return
    yield model.env.timeout(model.month_starts[cfg.start_month - 1])
    model.networks[subcounty].start(
        [m for m in model.mentors[subcounty] if m.active],
        [f.mentee for f in model.facilities[subcounty] if f.mentee is not None])


def courses(model: Engine, course: Classroom):
    """The classroom comparator the pilot's authors asked for: a lecture course in the
    district town (WHO immunization modules), with no follow-up on site.

    From the start of ``start_month`` the nurses enrolled then go in cohorts of
    ``cohort_size``, one cohort a week, each for ``course_days`` days; at the course's
    end each still enrolled gains ``gain`` points per area (capped at 4), which decay
    as anyone's do. While she is away, a facility where she is the only immunizing
    nurse holds no sessions. Costs: :func:`sim.rules.costs.trainee` and
    :func:`~sim.rules.costs.cohort`.
    """
    env = model.env
    if course.start_month > model.config.months:
        return
    yield env.timeout(model.month_starts[course.start_month - 1])
    trainees = [f.mentee for facs in model.facilities for f in facs if f.mentee is not None]
    gain = np.array([course.gain[a] for a in AREAS])
    post = model.ledger.post
    for k in range(0, len(trainees), course.cohort_size):
        cohort = trainees[k:k + course.cohort_size]
        day = env.now
        for mentee in cohort:
            f = mentee.facility
            for charge in costs.trainee(course, f.nurses, f.sessions_per_week):
                who = f"facility:{f.id}" if charge.category == "lost_sessions" else mentee.who
                post(day, charge.category, who, f.subcounty, charge.ksh)
        where = min(m.facility.subcounty for m in cohort)  # the venue: the first subcounty's
        for charge in costs.cohort(course):
            post(day, charge.category, "course", where, charge.ksh)
        yield env.timeout(course.course_days)
        for mentee in cohort:
            if mentee.facility.mentee is mentee:  # still enrolled at the course's end
                model.train(mentee, gain)
        yield env.timeout(max(0.0, WEEK - course.course_days))


def calendar(model: Engine):
    """The monthly calendar: at each month's start the phases due open, then the month's
    costs are charged; at its end competency is read. At the horizon, the endline."""
    env, plan = model.env, model.plan
    # Phases due at the start open first (then their nurses and mentors take up their
    # posts, at the same instant), so a phase from month 1 is as if it had no phase.
    if plan is not None and plan.open_due(1):
        yield env.timeout(0)
    model.read_month(0)  # the baseline, once every post is filled
    model.record_states("baseline")
    for month in range(1, model.config.months + 1):
        if month > 1 and plan is not None and plan.open_due(month):
            yield env.timeout(0)  # before the month's costs: its mentors are in post
        charge_month(model)
        if month in model.months_waited:
            model.months_waited[month].succeed()
        yield env.timeout(model.month_starts[month] - env.now)
        model.read_month(month)
    if plan is not None:
        plan.close()
    model.record_states("endline")
    for facs in model.facilities:
        for f in facs:
            if f.mentee is not None:
                model.end_spell(f.mentee, None)
    for mentors in model.mentors:
        for mentor in mentors:
            if mentor.active:
                model.mentor_leaves(mentor, None)


def charge_month(model: Engine) -> None:
    """A month's coordination per subcounty in the programme, and airtime per active
    mentor and per group member (:mod:`sim.rules.costs`)."""
    t, c = model.env.now, model.config.costs
    post, post_each = model.ledger.post, model.ledger.post_each
    for s, sub in enumerate(model.config.subcounties):
        if not model.joined[s]:
            continue
        for charge in costs.coordination_month(c):
            post(t, charge.category, f"subcounty:{sub.name}", s, charge.ksh)
        for charge in costs.mentor_month(c):
            post_each(t, charge.category, [m.who for m in model.mentors[s] if m.active], s,
                      charge.ksh)
        for charge in costs.member_month(c):
            post_each(t, charge.category, [m.who for m in model.networks[s].mentees], s,
                      charge.ksh)


def start_mentors(model: Engine, subcounty: int, graduates: bool = False) -> tuple[int, int]:
    """Fill a subcounty's mentor slots, with graduates first if ``graduates``; returns how
    many were recruits and how many graduates."""
    promoted = 0
    for slot in model.slots[subcounty]:
        origin = "graduate" if graduates and promote_graduate(model) else "recruit"
        promoted += origin == "graduate"
        model.process(mentor_post(model, *slot, origin))
    return len(model.slots[subcounty]) - promoted, promoted


def promote_graduate(model: Engine) -> bool:
    """The longest-qualified graduate still enrolled ends her spell to mentor from her
    post (:mod:`sim.rules.graduation`); whether there was one."""
    while model.graduates:
        mentee = model.graduates.pop(0)
        if mentee.facility.mentee is mentee:
            model.end_spell(mentee, "graduated")
            model.mentoring_graduates[mentee.facility.id] = mentee
            mentee.promoted.succeed()
            return True
    return False


def open_subcounty(model: Engine, subcounty: int, graduates: bool = False) -> tuple[int, int]:
    """A scale-up phase brings a subcounty's facilities and mentors in; returns how many of
    its mentors were recruited and how many were graduates."""
    model.joined[subcounty] = True
    for f in model.facilities[subcounty]:
        f.rejoin()
    return start_mentors(model, subcounty, graduates)
