"""The visit-scheduling rule: one mentor's release days and rounds over her caseload.

A mentor is released ``mentor.release_days_per_week`` weekdays a week, never on her
own facility's immunization days. On each release day, unless she is called away
(``mentor.absence_probability``), she holds a round: the nurses of her caseload due
by the round's window end, most overdue first, as many as ``max_visits_per_day`` and
her ``workday_hours`` allow, each visit taking ``visit_hours`` plus the travel time of
the facility's setting. Each nurse is due one ``target_interval_days`` after her
last visit was due, but never sooner than ``min_days_between_visits`` after it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

WORKDAYS = 5  # Monday to Friday


def release_weekdays(rng: np.random.Generator, home_days: int, release_days: int) -> tuple[int, ...]:
    """Her release weekdays (0 = Monday), drawn among the weekdays her own facility holds
    no session (``mentor.home_session_days_per_week``)."""
    home = set(rng.choice(WORKDAYS, size=home_days, replace=False).tolist())
    free = [d for d in range(WORKDAYS) if d not in home]
    return tuple(sorted(rng.choice(free, size=release_days, replace=False).tolist()))


class ReleaseDays(NamedTuple):
    """A mentor's release days from her start to the horizon, with each round's window."""

    days: np.ndarray  # simulation days
    window_ends: np.ndarray  # a round visits whoever is due by its day's window end


def release_days(start: float, first_weekday: int, weekdays: Sequence[int],
                 horizon: float) -> ReleaseDays:
    """Her release days at or after ``start`` and before ``horizon``; day 0 falls on
    ``first_weekday``. A round's window ends halfway to her next release day, so a nurse
    falls due in the round nearest her due day."""
    day = math.ceil(start)
    first = next(float(day + k) for k in range(7) if (first_weekday + day + k) % 7 in weekdays)
    offsets = sorted((w - first_weekday - int(first)) % 7 for w in weekdays)
    weeks = int((horizon - first) // 7) + 2
    days = (first + 7 * np.arange(weeks)[:, None] + np.asarray(offsets)[None, :]).ravel()
    n = int(np.searchsorted(days, horizon))  # days[n] is the first at or after the horizon
    return ReleaseDays(days[:n], days[:n] + np.diff(days[: n + 1]) / 2)


class Due(NamedTuple):
    """A nurse of the caseload, as a round sees her."""

    due: float  # the day her next visit is due (inf: not enrolled)
    nurse: int  # her id: breaks ties between nurses due the same day
    hours: float  # a visit's hours with the travel to her facility


def round_visits(caseload: Sequence[Due], window_end: float, cap: int,
                 workday_hours: float) -> list[int]:
    """Who a round visits, as positions in ``caseload``, in the order of the visits: those
    due by ``window_end``, most overdue first, as many as the ``cap`` and her hours allow
    (a visit that does not fit is skipped, a shorter one after it may still fit)."""
    due = sorted((n.due, n.nurse, k) for k, n in enumerate(caseload) if n.due <= window_end)
    visited: list[int] = []
    spent = 0.0
    for _, _, k in due:
        if len(visited) < cap and spent + caseload[k].hours <= workday_hours:
            visited.append(k)
            spent += caseload[k].hours
    return visited


def next_due(due: float, today: float, interval: float, min_gap: float) -> float:
    """When a nurse visited ``today`` is next due: one interval after this visit was due,
    never sooner than the minimum gap after today."""
    return max(due + interval, today + min_gap)
