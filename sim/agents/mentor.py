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

A mentor does not wake on release days when nobody is due: she sleeps until
the first release day on which someone will be, and a nurse enrolling in her
caseload wakes her early. Her rounds are kept in a calendar of days
(:class:`Rounds`) rather than as a SimPy process each: one event per day runs
all of that day's rounds. Whether she is held at her own facility is drawn for
each of her release days when she takes up the post, from a stream of her own
(the slot and her tenure in it), so skipped days change nothing and a
predecessor's tenure does not shift her draws. A day with many rounds (a
national rollout has hundreds) holds them as array operations over the
caseloads (:func:`visit_rounds`), with the same rule as one round alone
(:func:`visit_round`).
"""

from __future__ import annotations

import itertools
import math
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING

import numpy as np
import simpy

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.model import Model

WORKDAYS = 5  # Monday to Friday
LATE = 2  # a priority after SimPy's URGENT (0) and NORMAL (1): release-day rounds come last
DAY_END = 3  # after the rounds: the day's visits are trained together (Model._visit_day)
_FEW = 16  # fewer rounds than this in a day are held one by one (array operations' fixed cost)


def late_timeout(env: simpy.Environment, delay: float, priority: int = LATE) -> simpy.Event:
    """A timeout processed after every other event of its instant.

    A mentor plans her next round up to weeks ahead, so a plain timeout would
    order it among the same instant's events by when it was planned. Her round
    instead comes after everything else that happens that day (a month's
    reading, a phase opening, nurses enrolling), as it did when she woke each
    release day. SimPy orders events by (time, priority, sequence) and accepts
    any integer priority; ``_ok`` and ``_value`` are what its own Timeout sets.
    """
    event = simpy.Event(env)
    event._ok, event._value = True, None
    env.schedule(event, priority, delay)
    return event


class Mentor:
    """One mentor in a caseload slot; a replacement takes the same slot."""

    __slots__ = ("id", "who", "slot", "key", "start", "origin", "subcounty", "caseload", "rows", "hours",
                 "release_weekdays", "_first_weekday", "active", "wake", "entry",
                 "days", "_ends", "absent", "_next")

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
        self.who = f"mentor:{mid}"  # as the cost ledger names her
        self.slot = slot
        self.key = key  # random-stream key of the slot
        self.start = start
        self.origin = origin  # "recruit", or "graduate" of the programme
        self.subcounty = subcounty
        self.caseload = caseload
        self.rows = [f.id for f in caseload]  # the posts' rows in the model's Nurses
        self.hours: list[float] = []  # hours a visit to each caseload facility takes, with travel
        self.release_weekdays = release_weekdays
        self._first_weekday = first_weekday  # weekday of simulation day 0
        self.active = True
        self.wake = 0  # index in self.days of the release day she will wake on (past the end: none)
        self.entry = 0  # her entry in the rounds' calendar (earlier ones are void)
        self.days = array("d")  # her release days before the horizon
        self._ends = array("d")  # each day plus its window: who is due by then is visited
        self.absent: list[bool] = []  # whether she is held at her own facility that day
        self._next = 0  # index of the first release day not yet past

    def next_release_day(self, t: float) -> float:
        """The first release day at or after ``t``."""
        day = math.ceil(t)
        for k in range(7):
            if (self._first_weekday + day + k) % 7 in self.release_weekdays:
                return float(day + k)
        raise AssertionError("a mentor has at least one release weekday")

    def plan(self, horizon: float, absent: np.random.Generator, p_absent: float) -> None:
        """Lay out her release days from now to the horizon, each one's window (half
        the gap to the following release day) and whether she is absent that day."""
        first = self.next_release_day(self.start)
        offsets = sorted((w - self._first_weekday - int(first)) % 7 for w in self.release_weekdays)
        weeks = int((horizon - first) // 7) + 2
        days = (first + 7 * np.arange(weeks)[:, None] + np.asarray(offsets)[None, :]).ravel()
        n = int(np.searchsorted(days, horizon))  # days[n] is the first at or after the horizon
        self.days = array("d", days[:n].tobytes())
        self._ends = array("d", (days[:n] + np.diff(days[: n + 1]) / 2).tobytes())
        self.absent = (absent.random(n) < p_absent).tolist()

    def first_due(self, due: float, now: float) -> int:
        """Index of the first release day, from now on, whose window reaches ``due``
        (past the last day if none)."""
        i = self._next
        if i < len(self.days) and self.days[i] < now:  # days passed asleep
            i = bisect_left(self.days, now, lo=i)
        return bisect_left(self._ends, due, lo=i)


def draw_weekdays(rng: np.random.Generator, home_days: int, release_days: int) -> tuple[int, ...]:
    """Release weekdays chosen among the weekdays her own facility holds no session."""
    home = set(rng.choice(WORKDAYS, size=home_days, replace=False).tolist())
    free = [d for d in range(WORKDAYS) if d not in home]
    return tuple(sorted(rng.choice(free, size=release_days, replace=False).tolist()))


class Rounds:
    """The mentors' rounds: a calendar of release days, each with the mentors who wake on it.

    A mentor is entered under the first release day on which one of her nurses
    will be due, and after each round under the next. One SimPy event per
    calendar day runs that day's rounds, after everything else of the day, in
    the order they were planned, which is the order separate timeouts would give
    them; a day with hundreds of rounds costs one event, not hundreds. A nurse
    enrolling in her caseload may wake her earlier: she is entered again under
    the earlier day, and the later entry is void (a mentor who has left is
    skipped too).
    """

    def __init__(self, model: Model, caseloads: list[list[Facility]]) -> None:
        self.model = model
        self.days: dict[float, list[tuple[Mentor, int]]] = {}
        self.entries = 0  # entries made so far; each mentor's latest is her valid one
        self.held = 0  # rounds held (absent days included), for benchmarks
        # per caseload slot, its posts' rows and the hours a visit to each takes with travel,
        # padded to one length with the Nurses row that is never due
        cfg = model.config.mentor
        width = max(map(len, caseloads), default=0)
        self.rows = np.full((len(caseloads), width), len(model.nurses.next_due) - 1, np.intp)
        self.hours = np.zeros((len(caseloads), width))
        for slot, facilities in enumerate(caseloads):
            self.rows[slot, :len(facilities)] = [f.id for f in facilities]
            self.hours[slot, :len(facilities)] = [cfg.visit_hours + getattr(cfg.travel_hours, f.setting)
                                                  for f in facilities]

    def start(self, mentor: Mentor, tenure: int) -> None:
        """A mentor takes up her caseload: lay out her release days and her first wake."""
        model = self.model
        cfg = model.config.mentor
        mentor.plan(model.horizon, model.streams("mentor.absence", *mentor.key, tenure),
                    cfg.absence_probability)
        mentor.hours = self.hours[mentor.slot, :len(mentor.caseload)].tolist()
        self._enter(mentor, earliest_due(self.model, mentor))

    def nudge(self, mentor: Mentor, now: float) -> None:
        """A nurse enrolled in her caseload, due now: wake earlier if she must."""
        if mentor.first_due(now, now) < mentor.wake:
            self._enter(mentor, earliest_due(self.model, mentor))

    def _enter(self, mentor: Mentor, due: float) -> None:
        """Enter her under the first release day whose window reaches ``due``. Only a
        visit or an enrolment changes a nurse's due day, and both come here; a nurse
        who leaves may leave the entry early: she wakes to find nobody due."""
        env = self.model.env
        i = mentor.wake = mentor.first_due(due, env.now)
        self.entries += 1
        mentor.entry = self.entries
        if i == len(mentor.days):  # nobody due before the horizon
            return
        day = mentor.days[i]
        planned = self.days.get(day)
        if planned is None:
            planned = self.days[day] = []
            late_timeout(env, day - env.now).callbacks.append(self._hold)
        planned.append((mentor, self.entries))

    def _hold(self, event: simpy.Event) -> None:
        """The day's rounds, in the order they were planned: one at a time for a few
        mentors (a pilot's day), else together (:func:`visit_rounds`). A mentor's round
        and her next entry involve nobody else's, so doing every round before every
        entry changes nothing."""
        model = self.model
        day = model.env.now
        mentors = [mentor for mentor, entry in self.days.pop(day)
                   if entry == mentor.entry and mentor.active]
        self.held += len(mentors)
        for mentor in mentors:
            mentor._next = mentor.wake + 1
        if len(mentors) < _FEW:
            dues = [earliest_due(model, m) if m.absent[m.wake]
                    else visit_round(model, m, day, window=m._ends[m.wake] - day) for m in mentors]
        else:
            dues = visit_rounds(model, mentors, day)
        for mentor, due in zip(mentors, dues, strict=True):
            self._enter(mentor, due)


def earliest_due(model: Model, mentor: Mentor) -> float:
    """The earliest day a nurse of her caseload is due a visit (inf if none is enrolled)."""
    next_due = model.nurses._next_due
    return min([next_due[row] for row in mentor.rows], default=math.inf)


def visit_round(model: Model, mentor: Mentor, day: float, window: float) -> float:
    """One release day: due mentees, most overdue first, within hours and visit cap.
    Returns the earliest day one of her nurses is due after it."""
    cfg = model.config.mentor
    next_due = model.nurses._next_due
    by = day + window
    due = []
    later = math.inf
    # zip without strict=: this runs at every round, and the lengths are equal by construction
    for f, row, hours in zip(mentor.caseload, mentor.rows, mentor.hours):  # noqa: B905
        d = next_due[row]
        if d <= by:
            due.append((d, f.mentee.id, f, hours))
        elif d < later:
            later = d
    if len(due) > 1:
        due.sort(key=lambda d: d[:2])
    hours, visits = 0.0, []
    for _, _, f, need in due:
        mentee = f.mentee
        if len(visits) < cfg.max_visits_per_day and hours + need <= cfg.workday_hours:
            mentee.plan_visit(day, cfg.target_interval_days, cfg.min_days_between_visits)
            visits.append(f.id)
            hours += need
        if mentee.next_due < later:
            later = mentee.next_due
    if visits:
        model.visit([mentor] * len(visits), visits)
    return later


def visit_rounds(model: Model, mentors: list[Mentor], day: float) -> list[float]:
    """:func:`visit_round` for many mentors' release days at once (each mentor once), as
    array operations over their caseloads; absent mentors visit nobody. The same rule,
    order and arithmetic: the due nurses sorted by due day and id, then the hours and
    visit cap applied position by position. Returns each one's earliest due day after it."""
    cfg = model.config.mentor
    nurses, rounds = model.nurses, model.rounds
    slots = np.fromiter([m.slot for m in mentors], np.intp, len(mentors))
    by = np.array([day + (m._ends[m.wake] - day) for m in mentors])
    here = np.array([not m.absent[m.wake] for m in mentors], dtype=bool)
    rows = rounds.rows[slots]
    due = nurses.next_due[rows]
    wanted = (due <= by[:, None]) & here[:, None]
    order = np.lexsort((nurses.id[rows], np.where(wanted, due, math.inf)), axis=1)
    wanted = np.take_along_axis(wanted, order, 1)
    need = np.take_along_axis(rounds.hours[slots], order, 1)
    hours = np.zeros(len(mentors))
    done = np.zeros(len(mentors), np.int64)
    visit = np.zeros_like(wanted)
    for k in range(rows.shape[1]):
        fits = (done < cfg.max_visits_per_day) & (hours + need[:, k] <= cfg.workday_hours)
        ok = visit[:, k] = wanted[:, k] & fits
        hours = np.where(ok, hours + need[:, k], hours)
        done += ok
    who, k = np.nonzero(visit)
    position = order[who, k]
    seen = rows[who, position]
    # Mentee.plan_visit's rule: one visit per interval, never crowding a late one
    nurses.next_due[seen] = np.maximum(nurses.next_due[seen] + cfg.target_interval_days,
                                       day + cfg.min_days_between_visits)
    nurses.visits[seen] += 1
    if seen.size:
        model.visit([mentors[i] for i in who.tolist()], seen.tolist())
    return nurses.next_due[rows].min(axis=1).tolist()


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
    for tenure in itertools.count():
        mentor = model.new_mentor(slot, key, subcounty, caseload, origin)
        origin = "recruit"
        model.rounds.start(mentor, tenure)
        if cfg.hazard_per_year == 0:
            return
        yield env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
        model.mentor_leaves(mentor, "attrition")
        if cfg.replacement_days_mean > 0:
            yield env.timeout(replace_rng.exponential(cfg.replacement_days_mean))
