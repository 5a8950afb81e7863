"""The fast engine's rounds: the mentors' release days kept in one calendar of days.

The rule is :mod:`sim.rules.visits`: on each release day, unless called away, a
mentor visits the nurses of her caseload due by the round's window end, most overdue
first, within her visit cap and hours; each visited nurse is next due one interval on.
Here a mentor does not wake on release days when nobody is due: she sleeps until the
first release day on which someone will be, and a nurse enrolling in her caseload
wakes her early. Mentors' rounds are entered in a calendar of days (:class:`Rounds`),
not a SimPy process each: one event per day runs all of that day's rounds, in compiled
code (:func:`_hold_rounds`). Whether she is called away is drawn for each of her
release days when she takes up the post, from a stream of her own (the slot and her
tenure in it), so skipped days change nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import simpy
from numba import njit

from sim.clock import Late

from sim.engines.fast.bundles import DueArrays, RoundArrays, VisitRule, takes
from sim.rules import visits

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.agents.mentor import Mentor
    from sim.engines.fast.interface import FastModel as Model

class Rounds:
    """The mentors' rounds: a calendar of release days, each with the mentors who wake on it.

    Sleeping through release days relies on a round visiting nobody not due by its
    window's end (:func:`sim.rules.visits.round_visits`; contract).

    A mentor is entered under the first release day on which one of her nurses
    will be due, and after each round under the next. One SimPy event per
    calendar day (a :class:`~sim.clock.Late` timeout) runs that day's rounds, after
    everything else of the day, in the order they were planned, which is the order
    separate timeouts would give them; a day with hundreds of rounds costs one event,
    not hundreds. A nurse
    enrolling in her caseload may wake her earlier: she is entered again under
    the earlier day. The calendar is kept in arrays with a row per caseload slot
    (its mentor's release days, windows, absences, and the day she wakes on), so
    that compiled code holds a day's rounds and enters them again (:func:`_hold_rounds`).
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
        # (inf past them, at least one column), and whether she is absent that day
        most = (int(model.horizon // 7) + 2) * cfg.release_days_per_week + 1
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
        self._caseload_rows = [[f.id for f in facilities] for facilities in caseloads]
        self._planned: dict[float, Late] = {}  # days with their SimPy event scheduled
        # flat views for one slot at a time (days[s, i] is _days[s * width + i]): a memoryview
        # item costs what a list's does, a numpy scalar several times more
        self.width = most
        self.arrays = RoundArrays(rows=self.rows, hours=self.hours, days=self.days, ends=self.ends,
                                  absent=self.absent, count=self.count, following=self.next,
                                  wake=self.wake, wake_day=self.wake_day, entry=self.entry)
        self.rule = VisitRule(cap=cfg.max_visits_per_day, workday=cfg.workday_hours,
                              interval=cfg.target_interval_days,
                              min_gap=cfg.min_days_between_visits)
        self._days, self._count, self._next, self._wake, self._wake_day, self._entry = (
            a.reshape(-1).data for a in (
                self.days, self.count, self.next, self.wake, self.wake_day, self.entry))

    def start(self, mentor: Mentor, tenure: int) -> None:
        """A mentor takes up her caseload: lay out her release days and her first wake."""
        model = self.model
        cfg = model.config.mentor
        days, ends = visits.release_days(mentor.start, model.first_weekday,
                                         mentor.release_weekdays, model.horizon)
        s, n = mentor.slot, len(days)
        absent = model.streams("mentor.absence", *mentor.key, tenure).random(n) < \
            cfg.absence_probability
        self.days[s], self.ends[s], self.absent[s] = math.inf, math.inf, False
        self.days[s, :n], self.ends[s, :n], self.absent[s, :n] = days, ends, absent
        self.count[s] = n
        self.next[s] = 0
        self.mentors[s] = mentor
        self._enter(s, self._earliest_due(s))

    def _earliest_due(self, s: int) -> float:
        """The earliest day a nurse of slot ``s`` is due a visit (inf if none is enrolled)."""
        next_due = self.model.nurses._next_due
        return min([next_due[row] for row in self._caseload_rows[s]], default=math.inf)

    def leave(self, mentor: Mentor) -> None:
        """A mentor leaves her slot: no more rounds until a replacement starts."""
        self.mentors[mentor.slot] = None
        self.wake_day[mentor.slot] = math.inf

    def nudge(self, mentor: Mentor, now: float) -> None:
        """A nurse enrolled in her caseload, due now: wake earlier if she must."""
        s = mentor.slot
        first = _first_due(self.days, self.ends, s, self._next[s], self._count[s], now, now)
        if first < self._wake[s]:
            self._enter(s, self._earliest_due(s))

    def _enter(self, s: int, due: float) -> None:
        """Enter slot ``s``'s mentor under the first release day whose window reaches
        ``due``. Only a visit or an enrolment changes a nurse's due day, and both come
        here; a nurse who leaves may leave the entry early: she wakes to find nobody due."""
        now = self.model.env.now
        i = self._wake[s] = _first_due(self.days, self.ends, s, self._next[s], self._count[s], due, now)
        self.entries += 1
        self._entry[s] = self.entries
        day = self._wake_day[s] = self._days[s * self.width + i]  # inf past her last day: none
        self._plan(day)

    def _plan(self, day: float) -> None:
        """A SimPy event for the day's rounds, unless it has one (or is none: inf)."""
        if day not in self._planned and day != math.inf:
            env = self.model.env
            event = self._planned[day] = Late(env, day - env.now)
            event.callbacks.append(self._hold)

    def dismantle(self) -> None:
        """Cancel the rounds planned (see :meth:`sim.model.Model.dismantle`)."""
        for event in self._planned.values():
            event.callbacks = []
        self._planned = {}

    def _hold(self, event: simpy.Event) -> None:
        """The day's rounds, in the order they were planned (:func:`_hold_rounds`), then
        the days their mentors wake on next."""
        model = self.model
        day = model.env.now
        del self._planned[day]
        slots = np.flatnonzero(self.wake_day == day)
        if len(slots) > 1:
            slots = slots[np.argsort(self.entry[slots])]
        self.held += len(slots)
        seen, who, self.entries = _hold_rounds(slots, float(day), self.entries, *self.arrays,
                                               *model.nurses.due, *self.rule)
        if seen.size:
            model.visit([self.mentors[s] for s in who.tolist()], seen)
        for wake in dict.fromkeys(self.wake_day[slots].tolist()):
            self._plan(wake)


@takes("slots", "day", "entries", RoundArrays, DueArrays, VisitRule)
@njit(cache=True)
def _hold_rounds(slots, day, entries, rows, hours, days, ends, absent, count, following, wake,
                 wake_day, entry, ids, next_due, visits, cap, workday, interval, min_gap):
    """Each slot's round today, in turn, then her next wake: the rule of
    :func:`sim.rules.visits.round_visits` and :func:`~sim.rules.visits.next_due`, compiled
    (the contract checks they agree).

    A mentor who is not absent visits the nurses of her caseload (``rows``, padded
    with a row never due) due by her window's end, most overdue first (ties by the
    nurse's id), as many as the visit ``cap`` and her ``workday`` hours allow, each
    visit taking its ``hours`` with travel. A visited nurse's next visit is due one
    ``interval`` after this one was, but never sooner than ``min_gap`` days from today.
    She then wakes on the first of her release days after today whose window reaches
    the earliest day one of her nurses is due (none, past her last day: inf). Returns
    the nurses visited and their mentors' slots, in order, and the entries' count.
    """
    width = rows.shape[1]
    seen = np.empty(slots.size * width, np.int64)
    who = np.empty(slots.size * width, np.int64)
    due = np.empty(width, np.int64)  # the positions due, in the order they are visited
    m = 0
    for s in slots:
        w = wake[s]
        following[s] = w + 1
        if not absent[s, w]:
            by = day + (ends[s, w] - day)
            k = 0
            for c in range(width):
                d = next_due[rows[s, c]]
                if d <= by:  # insertion: by due day, then id
                    q = k
                    while q > 0:
                        e = next_due[rows[s, due[q - 1]]]
                        if e < d or (e == d and ids[rows[s, due[q - 1]]] < ids[rows[s, c]]):
                            break
                        due[q] = due[q - 1]
                        q -= 1
                    due[q] = c
                    k += 1
            spent, done = 0.0, 0
            for q in range(k):
                c = due[q]
                if done < cap and spent + hours[s, c] <= workday:
                    r = rows[s, c]
                    next_due[r] = max(next_due[r] + interval, day + min_gap)
                    visits[r] += 1
                    seen[m], who[m] = r, s
                    m += 1
                    spent += hours[s, c]
                    done += 1
        earliest = math.inf
        for c in range(width):
            earliest = min(earliest, next_due[rows[s, c]])
        i = wake[s] = _first_due(days, ends, s, w + 1, count[s], earliest, day)
        entries += 1
        entry[s] = entries
        wake_day[s] = days[s, i]
    return seen[:m], who[:m], entries


@njit(cache=True)
def _first_due(days, ends, s, i, n, due, now):
    """Index of slot ``s``'s first release day, from her ``i``-th on and not before now,
    whose window reaches ``due`` (her count ``n`` of days if none)."""
    while i < n and days[s, i] < now:  # days passed asleep
        i += 1
    while i < n and ends[s, i] < due:
        i += 1
    return i
