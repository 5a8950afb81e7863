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
_AHEAD = 16  # release days looked at as an array for a mentor's next wake (then a search)


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
                 "release_weekdays", "_first_weekday", "active")

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

    def next_release_day(self, t: float) -> float:
        """The first release day at or after ``t``."""
        day = math.ceil(t)
        for k in range(7):
            if (self._first_weekday + day + k) % 7 in self.release_weekdays:
                return float(day + k)
        raise AssertionError("a mentor has at least one release weekday")

    def plan(self, horizon: float, absent: np.random.Generator,
             p_absent: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Her release days from now to the horizon, each one's window end (the day plus
        half the gap to the following release day: who is due by then is visited), and
        whether she is absent that day."""
        first = self.next_release_day(self.start)
        offsets = sorted((w - self._first_weekday - int(first)) % 7 for w in self.release_weekdays)
        weeks = int((horizon - first) // 7) + 2
        days = (first + 7 * np.arange(weeks)[:, None] + np.asarray(offsets)[None, :]).ravel()
        n = int(np.searchsorted(days, horizon))  # days[n] is the first at or after the horizon
        return days[:n], days[:n] + np.diff(days[: n + 1]) / 2, absent.random(n) < p_absent


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
    the earlier day. The calendar is kept in arrays with a row per caseload slot
    (its mentor's release days, windows, absences, and the day she wakes on), so
    that a day's rounds are found, held and entered again as array operations.
    """

    def __init__(self, model: Model, caseloads: list[list[Facility]]) -> None:
        self.model = model
        cfg = model.config.mentor
        slots = len(caseloads)
        self.held = 0  # rounds held (absent days included), for benchmarks
        # per slot, its posts' rows and the hours a visit to each takes with travel, padded
        # to one length with the Nurses row that is never due
        width = max(map(len, caseloads), default=0)
        self.rows = np.full((slots, width), len(model.nurses.next_due) - 1, np.intp)
        self.hours = np.zeros((slots, width))
        for slot, facilities in enumerate(caseloads):
            self.rows[slot, :len(facilities)] = [f.id for f in facilities]
            self.hours[slot, :len(facilities)] = [cfg.visit_hours + getattr(cfg.travel_hours, f.setting)
                                                  for f in facilities]
        # per slot, its mentor's release days before the horizon and each one's window end
        # (inf past them, and _AHEAD more columns of inf), and whether she is absent that day
        most = (int(model.horizon // 7) + 2) * cfg.release_days_per_week + _AHEAD
        self.days = np.full((slots, most), math.inf)
        self.ends = np.full((slots, most), math.inf)
        self.absent = np.zeros((slots, most), bool)
        self.count = np.zeros(slots, np.intp)  # her release days
        self.next = np.zeros(slots, np.intp)  # her first release day not yet past
        self.wake = np.zeros(slots, np.intp)  # the release day she wakes on (count: none)
        self.wake_day = np.full(slots, math.inf)  # that day (inf: none, or nobody in post)
        self.entry = np.zeros(slots, np.int64)  # when she was entered: a day's rounds go in this order
        self.entries = 0
        self.mentors: list[Mentor | None] = [None] * slots
        self._planned: set[float] = set()  # days with their SimPy event scheduled
        # flat views for one slot at a time (days[s, i] is _days[s * width + i]): a memoryview
        # item costs what a list's does, a numpy scalar several times more
        self.width = most
        self._days, self._ends, self._absent, self._count, self._next, self._wake, \
            self._wake_day, self._entry = (a.reshape(-1).data for a in (
                self.days, self.ends, self.absent, self.count, self.next, self.wake, self.wake_day,
                self.entry))

    def start(self, mentor: Mentor, tenure: int) -> None:
        """A mentor takes up her caseload: lay out her release days and her first wake."""
        model = self.model
        cfg = model.config.mentor
        days, ends, absent = mentor.plan(model.horizon, model.streams("mentor.absence", *mentor.key, tenure),
                                         cfg.absence_probability)
        s, n = mentor.slot, len(days)
        self.days[s], self.ends[s], self.absent[s] = math.inf, math.inf, False
        self.days[s, :n], self.ends[s, :n], self.absent[s, :n] = days, ends, absent
        self.count[s] = n
        self.next[s] = 0
        self.mentors[s] = mentor
        mentor.hours = self.hours[s, :len(mentor.caseload)].tolist()
        self._enter(s, earliest_due(model, mentor))

    def leave(self, mentor: Mentor) -> None:
        """A mentor leaves her slot: no more rounds until a replacement starts."""
        self.mentors[mentor.slot] = None
        self.wake_day[mentor.slot] = math.inf

    def nudge(self, mentor: Mentor, now: float) -> None:
        """A nurse enrolled in her caseload, due now: wake earlier if she must."""
        s = mentor.slot
        if self._first_due(s, now, now) < self._wake[s]:
            self._enter(s, earliest_due(self.model, mentor))

    def _first_due(self, s: int, due: float, now: float) -> int:
        """Index of slot ``s``'s first release day, from now on, whose window reaches ``due``
        (her count of days if none)."""
        row = s * self.width
        i, n = row + self._next[s], row + self._count[s]
        if i < n and self._days[i] < now:  # days passed asleep
            i = bisect_left(self._days, now, i, n)
        return bisect_left(self._ends, due, i, n) - row

    def _enter(self, s: int, due: float) -> None:
        """Enter slot ``s``'s mentor under the first release day whose window reaches
        ``due``. Only a visit or an enrolment changes a nurse's due day, and both come
        here; a nurse who leaves may leave the entry early: she wakes to find nobody due."""
        i = self._wake[s] = self._first_due(s, due, self.model.env.now)
        self.entries += 1
        self._entry[s] = self.entries
        day = self._wake_day[s] = self._days[s * self.width + i]  # inf past her last day: none
        self._plan(day)

    def _enter_all(self, slots: np.ndarray, dues: np.ndarray) -> None:
        """:meth:`_enter` for the mentors of many slots after their rounds today, in order.
        Her next wake is mostly among her next few release days, looked for as an array;
        for the rest, a search of all her days."""
        start = self.next[slots]
        ahead = self.ends[slots[:, None], start[:, None] + np.arange(_AHEAD)] >= dues[:, None]
        wake = start + ahead.argmax(axis=1)
        now = self.model.env.now
        for j in np.flatnonzero(~ahead.any(axis=1)).tolist():
            wake[j] = self._first_due(slots.item(j), dues.item(j), now)
        self.wake[slots] = wake
        self.entry[slots] = np.arange(self.entries + 1, self.entries + 1 + len(slots))
        self.entries += len(slots)
        days = self.wake_day[slots] = self.days[slots, wake]
        for day in dict.fromkeys(days.tolist()):
            self._plan(day)

    def _plan(self, day: float) -> None:
        """A SimPy event for the day's rounds, unless it has one (or is none: inf)."""
        if day not in self._planned and day != math.inf:
            self._planned.add(day)
            env = self.model.env
            late_timeout(env, day - env.now).callbacks.append(self._hold)

    def _hold(self, event: simpy.Event) -> None:
        """The day's rounds, in the order they were planned: one at a time for a few
        mentors (a pilot's day), else together (:func:`visit_rounds`). A mentor's round
        and her next entry involve nobody else's, so doing every round before every
        entry changes nothing."""
        model = self.model
        day = model.env.now
        self._planned.discard(day)
        slots = np.flatnonzero(self.wake_day == day)
        if len(slots) > 1:
            slots = slots[np.argsort(self.entry[slots])]
        self.held += len(slots)
        if len(slots) < _FEW:
            for s in slots.tolist():
                mentor, wake = self.mentors[s], self._wake[s]
                self._next[s] = wake + 1
                i = s * self.width + wake
                due = (earliest_due(model, mentor) if self._absent[i]
                       else visit_round(model, mentor, day, window=self._ends[i] - day))
                self._enter(s, due)
        else:
            self.next[slots] = self.wake[slots] + 1
            self._enter_all(slots, visit_rounds(model, slots, day))


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
        if len(visits) < cfg.max_visits_per_day and hours + need <= cfg.workday_hours:
            f.mentee.plan_visit(day, cfg.target_interval_days, cfg.min_days_between_visits)
            visits.append(f.id)
            hours += need
        if next_due[f.id] < later:
            later = next_due[f.id]
    if visits:
        model.visit([mentor] * len(visits), visits)
    return later


def visit_rounds(model: Model, slots: np.ndarray, day: float) -> np.ndarray:
    """:func:`visit_round` for the mentors of many slots at once (each once), as array
    operations over their caseloads; absent mentors visit nobody. The same rule,
    order and arithmetic: the due nurses sorted by due day and id, then the hours and
    visit cap applied position by position. Returns each one's earliest due day after it."""
    cfg = model.config.mentor
    nurses, rounds = model.nurses, model.rounds
    wake = rounds.wake[slots]
    by = day + (rounds.ends[slots, wake] - day)
    here = ~rounds.absent[slots, wake]
    rows = rounds.rows[slots]
    due = nurses.next_due[rows]
    wanted = (due <= by[:, None]) & here[:, None]
    order = np.lexsort((nurses.id[rows], np.where(wanted, due, math.inf)), axis=1)
    wanted = np.take_along_axis(wanted, order, 1)
    need = np.take_along_axis(rounds.hours[slots], order, 1)
    hours = np.zeros(len(slots))
    done = np.zeros(len(slots), np.int64)
    visit = np.zeros_like(wanted)
    for k in range(rows.shape[1]):
        fits = (done < cfg.max_visits_per_day) & (hours + need[:, k] <= cfg.workday_hours)
        ok = visit[:, k] = wanted[:, k] & fits
        hours = np.where(ok, hours + need[:, k], hours)
        done += ok
    who, k = np.nonzero(visit)
    seen = rows[who, order[who, k]]
    # Mentee.plan_visit's rule: one visit per interval, never crowding a late one
    nurses.next_due[seen] = np.maximum(nurses.next_due[seen] + cfg.target_interval_days,
                                       day + cfg.min_days_between_visits)
    nurses.visits[seen] += 1
    if seen.size:
        model.visit([rounds.mentors[s] for s in slots[who].tolist()], seen.tolist())
    return nurses.next_due[rows].min(axis=1)


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
