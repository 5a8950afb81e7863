"""The reference engine's rounds: a SimPy process per mentor, waking on every release day."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from sim.clock import Late
from sim.rng import Batched
from sim.rules import visits

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.agents.mentor import Mentor
    from sim.engines.reference.interface import ReferenceEngine


def rounds(model: ReferenceEngine, mentor: Mentor, tenure: int):
    """A mentor's rounds (:mod:`sim.rules.visits`): on each of her release days, after
    everything else of the day (a :class:`~sim.clock.Late` timeout), unless she is called
    away, she visits whoever :func:`~sim.rules.visits.round_visits` picks, and each
    visited nurse's next visit falls due (:func:`~sim.rules.visits.next_due`). Whether
    she is called away is drawn for all her release days when she takes up the post,
    from a stream of the slot and her tenure in it."""
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
        mentees = [f.mentee for f in mentor.caseload]
        caseload = [visits.Due(m.next_due, m.id, h) if m is not None
                    else visits.Due(float("inf"), -1, h) for m, h in zip(mentees, hours, strict=True)]
        for k in visits.round_visits(caseload, window_end, cfg.max_visits_per_day,
                                     cfg.workday_hours):
            mentee = mentees[k]
            mentee.next_due = visits.next_due(mentee.next_due, day, cfg.target_interval_days,
                                              cfg.min_days_between_visits)
            mentee.visits += 1
            model.visit(mentor, mentee)


def learning_draws(model: ReferenceEngine, facility: Facility) -> Batched:
    """A facility's visit noise: normal draws with mean ``-sd**2 / 2``
    (:func:`sim.rules.competency.effort`)."""
    sd = model.config.mentee.learning.noise_sd
    return Batched(partial(model.streams("mentee.learning", *facility.key).normal,
                           -0.5 * sd * sd, sd))
