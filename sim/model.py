"""The SimPy model: builds the agents from a config and runs one replicate.

:class:`Model` owns the environment, the random streams, the cost ledger and the
recorder, and offers the few state changes the processes share (enrol a nurse,
end a spell, make a visit, replace a mentor). The processes themselves live
with their agents in :mod:`sim.agents`; a monthly calendar process charges
monthly costs and reads competency at each month's end. A replicate is a pure
function of (config, seed, replicate).
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import numpy as np
import simpy
from simpy.events import Condition

from sim import competency, interventions, scenarios
from sim.scenarios import scaleup
from sim.agents.classroom import courses
from sim.agents.facility import Facility, economic_shocks
from sim.agents.mentee import Dynamics, Mentee, Nurses, competencies, nurse_post, settle, visit_all
from sim.agents.mentor import Mentor, Rounds, draw_weekdays, mentor_post
from sim.agents.network import Network, PostSums
from sim.clock import Clock, DayEnd
from sim.config import AREAS, Config
from sim.engines.interface import NurseRef
from sim.record import FacilityState, MentorRow, MonthRow, Record, SpellRow
from sim.rng import BatchedRows, Streams
from sim.supply import draw_stocks

N_AREAS = len(AREAS)
_FACILITY_STREAMS = ("mentee.baseline", "mentee.engagement", "mentee.learning", "mentee.turnover",
                     "mentee.vacancy")
_SHOCK_STREAMS = ("facility.furlough", "facility.furlough_return")
_SLOT_STREAMS = ("mentor.weekdays", "mentor.attrition", "mentor.replacement")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    A model holds hundreds of thousands of long-lived objects (agents, streams,
    schedules) and makes few new reference cycles while it runs; the collector
    would rescan them all every few thousand allocations, which at national
    scale cost a third of the run. Reference counting still frees almost
    everything (and :meth:`Model.dismantle` the model itself).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Model:
    """One replicate of a scenario."""

    def __init__(self, config: Config, seed: int, replicate: int = 0) -> None:
        self.config = config
        self.env = Clock()
        self.streams = Streams(seed, replicate)
        self.record = Record(replicate)
        self.ledger = self.record.ledger
        self.month_starts = config.month_starts()
        self.horizon = self.month_starts[-1]
        self.dynamics = Dynamics.from_config(config)
        self._graduation = config.scaleup.graduation if config.scaleup else None
        self._first_weekday = config.start_date.weekday()
        self._baseline_mean = np.array([config.mentee.baseline.mean[a] for a in AREAS])
        self._next_mentee = 0
        self._next_mentor = 0
        self._weights = np.array([  # agenda priority weight per area, a row per subcounty
            competency.priority_weights(
                [AREAS.index(a) for a in sub.priorities],
                N_AREAS,
                config.mentee.learning.priority_weight_decay,
            )
            for sub in config.subcounties
        ])
        self.facilities: list[list[Facility]] = []  # per subcounty
        self.mentors: list[list[Mentor]] = [[] for _ in config.subcounties]
        # every process started, with its generator, for dismantle()
        self._processes: list[tuple[simpy.Process, Generator]] = []
        self._months: dict[int, simpy.Event] = {}  # the starts interventions wait for
        self._day_end: DayEnd | None = None  # the event that trains the day's visits
        # visits made today, not yet trained: who visited which post
        self._today_mentors: list[Mentor] = []
        self._today_rows: list[Sequence[int]] = []
        with _gc_paused():
            self._build()

    # --- construction -------------------------------------------------------------

    def _build(self) -> None:
        cfg, env = self.config, self.env
        layout = scenarios.sites(cfg)
        loads = scenarios.caseloads(cfg, layout) if cfg.mentor.enabled else []
        # Seed the per-facility and per-slot streams in bulk (the same streams as one by one).
        for process in _FACILITY_STREAMS:
            self.streams.prepare(process, [site.key for site in layout])
        shocked = [site.key for site in layout  # only these draw furlough shocks
                   if cfg.subcounties[site.subcounty].furlough_hazard_per_year[site.ownership] > 0]
        for process in _SHOCK_STREAMS:
            self.streams.prepare(process, shocked)
        for process in _SLOT_STREAMS:
            self.streams.prepare(process, [load.key for load in loads])
        self.streams.prepare("mentor.absence", [(*load.key, 0) for load in loads])
        self.facilities = [[] for _ in cfg.subcounties]
        self.joined = [scenarios.phase_of(cfg, s) is None for s in range(len(cfg.subcounties))]
        by_id: list[Facility] = []
        stocks = {line: draw_stocks(params, self.horizon,
                                    self.streams.once(f"supply.{line}", [s.key for s in layout]))
                  for line, params in cfg.supply.items()}
        for i, site in enumerate(layout):
            fac = Facility(env, site, {line: s[i] for line, s in stocks.items()},
                           in_programme=self.joined[site.subcounty])
            self.process(nurse_post(self, fac))
            self.process(economic_shocks(self, fac))
            self.facilities[site.subcounty].append(fac)
            by_id.append(fac)
        self.groups = [Network(self, s, facs) for s, facs in enumerate(self.facilities)]
        self.post_sums = PostSums(max(len(net.slopes) for net in self.groups),
                                  cfg.whatsapp.reinforcement)
        self.nurses = Nurses(by_id, self.dynamics, self.post_sums, stocks["vaccines"])
        self.rounds = Rounds(self, [[by_id[i] for i in load.sites] for load in loads])
        sd = cfg.mentee.learning.noise_sd
        self._learning = BatchedRows(len(by_id), lambda row: partial(  # visit noise per facility
            self.streams("mentee.learning", *by_id[row].key).normal, -0.5 * sd * sd, sd))
        # cumulative vaccine stock-out facility-days per subcounty at each month's reading
        out = stocks["vaccines"].stockout_days_at(self.month_starts)  # a row per facility
        self._stockouts = [
            np.sum(out[[f.id for f in facs]], axis=0).tolist()
            if facs else [0.0] * len(self.month_starts) for facs in self.facilities
        ]
        self._slots: list[list] = [[] for _ in cfg.subcounties]  # mentor slots per subcounty
        self.graduates: list[Mentee] = []  # eligible to become mentors, longest waiting first
        # graduates who mentor from their own posts, by post row, until they leave the post
        self.mentoring_graduates: dict[int, Mentee] = {}
        for slot, load in enumerate(loads):
            self._slots[load.subcounty].append(
                (slot, load.key, load.subcounty, [by_id[i] for i in load.sites]))
        for s, joined in enumerate(self.joined):
            if joined:
                self._start_mentors(s)
        self.plan = scaleup.Plan(self) if cfg.scaleup is not None else None
        for s, group in enumerate(self.groups):
            self.process(
                group.run(
                    lambda s=s: [f.mentee for f in self.facilities[s] if f.mentee is not None],
                    lambda s=s: [m for m in self.mentors[s] if m.active],
                )
            )
        if cfg.classroom.enabled:
            self.process(courses(self, cfg.classroom))
        for spec in cfg.interventions:
            self.process(interventions.build(spec).run(self))
        self._calendar = self.process(self._run_calendar())

    def process(self, generator: Generator) -> simpy.Process:
        """Start a SimPy process of this model."""
        proc = self.env.process(generator)
        self._processes.append((proc, generator))
        return proc

    # --- the interface interventions use (sim.engines.interface.Programme) ----------

    def month(self, month: int) -> simpy.Event:
        if month not in self._months:
            self._months[month] = self.env.event()
        return self._months[month]

    def enrolled(self) -> list[NurseRef]:
        return [NurseRef(f.mentee.id, f.id, f.subcounty)
                for facs in self.facilities for f in facs if f.mentee is not None]

    def competency(self, ref: NurseRef) -> np.ndarray:
        mentee = self._enrolled(ref)
        mentee.catch_up(self.env.now)
        return mentee.c

    def set_competency(self, ref: NurseRef, c: np.ndarray) -> None:
        mentee = self._enrolled(ref)
        mentee.catch_up(self.env.now)
        mentee.set(np.clip(np.asarray(c, float), mentee.baseline, competency.MAX_SCORE))

    def charge(self, who: str, subcounty: int, ksh: float) -> None:
        self.ledger.post(self.env.now, "interventions", who, subcounty, ksh)

    def _enrolled(self, ref: NurseRef) -> Mentee:
        mentee = self.nurses.facilities[ref.facility].mentee
        if mentee is None or mentee.id != ref.nurse:
            raise ValueError(f"nurse {ref.nurse} is not enrolled now")
        return mentee

    # --- shared state changes -----------------------------------------------------

    def _start_mentors(self, subcounty: int, graduates: bool = False) -> tuple[int, int]:
        """Fill a subcounty's mentor slots; returns how many were recruits and graduates."""
        promoted = 0
        for slot in self._slots[subcounty]:
            origin = "graduate" if graduates and self._promote_graduate() else "recruit"
            promoted += origin == "graduate"
            self.process(mentor_post(self, *slot, origin))
        return len(self._slots[subcounty]) - promoted, promoted

    def _promote_graduate(self) -> bool:
        """Take the longest-waiting graduate still enrolled: her mentee spell ends."""
        while self.graduates:
            mentee = self.graduates.pop(0)
            if mentee.facility.mentee is mentee:
                self.end_spell(mentee, "graduated")
                self.mentoring_graduates[mentee.row] = mentee
                mentee.promoted.succeed()
                return True
        return False

    def open_subcounty(self, subcounty: int, graduates: bool = False) -> tuple[int, int]:
        """A scale-up phase brings a subcounty's facilities and mentors in; returns how
        many of its mentors were recruited and how many were graduates."""
        self.joined[subcounty] = True
        for f in self.facilities[subcounty]:
            f.rejoin()
        return self._start_mentors(subcounty, graduates)

    def new_mentee(self, facility: Facility) -> Mentee:
        """A nurse newly in post: a baseline per area and her engagement in groups."""
        b = self.config.mentee.baseline
        rng = self.streams("mentee.baseline", *facility.key)
        # normal(mean, sd) is mean + sd * z in numpy too, without its checks of the arguments
        baseline = np.clip(self._baseline_mean + b.sd * rng.standard_normal(N_AREAS), 0.0,
                           competency.MAX_SCORE)
        engagement = self.streams("mentee.engagement", *facility.key).random()
        mentee = Mentee(self._next_mentee, facility, self.nurses, baseline, engagement, self.env.now)
        mentee.promoted = self.env.event()
        self._next_mentee += 1
        return mentee

    def enrol(self, mentee: Mentee) -> None:
        f = mentee.facility
        mentee.start_spell(self.env.now)
        f.mentee = mentee
        self.groups[f.subcounty].join(mentee)
        if f.mentor is not None:
            self.rounds.nudge(f.mentor, self.env.now)  # she is due now

    def end_spell(self, mentee: Mentee, reason: str | None) -> None:
        t = self.env.now
        mentee.catch_up(t)
        f = mentee.facility
        self.record.spells.append(SpellRow(
            f.subcounty, f.id, mentee.id, mentee.spell_start, t, reason, mentee.spell_visits,
            np.array(mentee.baseline), mentee.c))
        f.mentee = None
        mentee.end_spell()
        self.groups[f.subcounty].leave(mentee)

    def visit(self, mentors: list[Mentor], rows: Sequence[int]) -> None:
        """Mentors visit the nurses of these posts today (a mentor and a post row each),
        their next visits already planned by the rounds. The training is given with the
        day's other visits after every round of the day (:meth:`_visit_day`): nothing
        else happens in between, and visits to different nurses do not depend on each
        other's order."""
        if not self._today_rows:
            self._day_end = DayEnd(self.env, 0.0)
            self._day_end.callbacks.append(self._visit_day)
        self._today_mentors.extend(mentors)
        self._today_rows.append(rows)

    def _visit_day(self, event: simpy.Event) -> None:
        """The day's visits: train them together, then log them and their transport and
        lunch (amounts of zero are not recorded)."""
        cfg = self.config
        mentors, self._today_mentors = self._today_mentors, []
        rows = np.concatenate(self._today_rows).astype(np.intp, copy=False)
        self._today_rows = []
        day, n = self.env.now, len(rows)
        nurses = self.nurses
        subs = nurses.subcounty[rows]
        noise = self._learning.take(rows, cfg.mentee.learning.areas_per_visit)
        visit_all(nurses, rows, self._weights[subs], noise, day)
        self.record.visits.extend(np.full(n, day), subs, rows, nurses.id[rows],
                                  [mentor.id for mentor in mentors])
        costs = [(c, ksh) for c, ksh in (("transport", cfg.costs.transport_per_visit),
                                         ("lunch", cfg.costs.lunch_per_visit)) if ksh]
        if costs:  # a row per visit and cost, a visit's costs in turn
            k = len(costs)
            self.ledger.extend(
                day=np.full(n * k, day),
                category=[c for c, _ in costs] * n,
                who=[mentor.who for mentor in mentors for _ in range(k)],
                subcounty=np.repeat(subs, k),
                ksh=np.tile([ksh for _, ksh in costs], n),
            )

    def new_mentor(
        self, slot: int, key: tuple[int, ...], subcounty: int, caseload: list[Facility],
        origin: str = "recruit",
    ) -> Mentor:
        """A mentor takes up a caseload slot after her orientation."""
        m = self.config.mentor
        weekdays = draw_weekdays(
            self.streams("mentor.weekdays", *key), m.home_session_days_per_week, m.release_days_per_week
        )
        mentor = Mentor(self._next_mentor, slot, key, subcounty, caseload, weekdays,
                        self._first_weekday, self.env.now, origin)
        self._next_mentor += 1
        self.mentors[subcounty].append(mentor)
        for f in caseload:
            f.mentor = mentor
        self.ledger.post(
            self.env.now, "orientation", mentor.who, subcounty,
            self.config.costs.orientation_per_mentor,
        )
        self.groups[subcounty].add_mentor(mentor)
        return mentor

    def mentor_leaves(self, mentor: Mentor, reason: str | None) -> None:
        mentor.active = False
        self.rounds.leave(mentor)
        for f in mentor.caseload:
            f.mentor = None
        self.groups[mentor.subcounty].remove_mentor(mentor)
        self.record.mentors.append(MentorRow(mentor.subcounty, mentor.slot, mentor.id,
                                             len(mentor.caseload), mentor.start, self.env.now,
                                             reason, mentor.origin))

    # --- calendar -----------------------------------------------------------------

    def _charge_month(self) -> None:
        t, c = self.env.now, self.config.costs
        for s, sub in enumerate(self.config.subcounties):
            if not self.joined[s]:
                continue
            self.ledger.post(t, "coordination", f"subcounty:{sub.name}", s, c.coordination_per_subcounty_month)
            self.ledger.post_each(t, "mentor_airtime", [m.who for m in self.mentors[s] if m.active], s,
                                  c.mentor_airtime_per_month)
            self.ledger.post_each(t, "mentee_airtime", [m.who for m in self.groups[s].mentees], s,
                                  c.mentee_airtime_per_month)

    def _read_month(self, month: int) -> None:
        """The month-end reading: enrolled nurses' levels, the programme's effect, and the
        level of every nurse in post at the scenario's facilities.

        The effect counts every nurse serving a programme post against her own baseline:
        enrolled nurses and graduates mentoring from their own posts (who still practise
        there). A vacant, furloughed or not yet joined post adds nothing. The nurses in
        post add, to those serving, the nurses of subcounties not yet in the programme, at
        their baselines: a curve over them has no composition effect when a phase starts.
        """
        t = self.env.now
        n_subs = len(self.facilities)
        by_subcounty = [[f.mentee for f in facs if f.mentee is not None] for facs in self.facilities]
        everyone = [m for enrolled in by_subcounty for m in enrolled]
        serving = np.array([m.row for m in everyone] + list(self.mentoring_graduates), np.intp)
        # nurses of subcounties not yet in the programme: still at their baselines
        waiting = np.array([f.id for s, facs in enumerate(self.facilities) if not self.joined[s]
                            for f in facs], np.intp)
        if len(serving):  # settled together: one compiled pass, not one per subcounty
            settle(self.nurses, serving, t)
        levels = competency.checklist(competencies(self.nurses, serving))
        base = competency.checklist(self.nurses.baseline[serving])
        read = levels[:len(everyone)]
        subs, others = self.nurses.subcounty[serving], self.nurses.subcounty[waiting]

        def by_subcounty_sum(where: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
            return np.bincount(where, values, minlength=n_subs)

        level = levels.mean(axis=1)
        above = by_subcounty_sum(subs, level - base.mean(axis=1))
        newly = by_subcounty_sum(subs, ((levels >= competency.PROFICIENT).all(axis=1)
                                        & ~(base >= competency.PROFICIENT).all(axis=1)).astype(float))
        in_post = by_subcounty_sum(subs) + by_subcounty_sum(others)
        level_sum = by_subcounty_sum(subs, level) + by_subcounty_sum(
            others, competency.checklist(self.nurses.baseline[waiting]).mean(axis=1))
        end = 0
        for s, enrolled in enumerate(by_subcounty):
            if enrolled:
                levels = read[end:end + len(enrolled)]
                end += len(enrolled)
                means = levels.mean(axis=0)
                proficient = int((levels >= competency.PROFICIENT).all(axis=1).sum())
                if self._graduation is not None and month > 0:
                    self._check_graduation(enrolled, levels)
            else:
                means, proficient = np.full(N_AREAS, np.nan), 0
            out = self._stockouts[s]
            mentors = sum(m.active for m in self.mentors[s])
            group = self.groups[s]
            group.new_epoch(t)
            self.record.months.append(MonthRow(
                month, s, len(enrolled), proficient, mentors, len(group.groups), group.size,
                out[month] - (out[month - 1] if month else 0.0), means, float(above[s]),
                int(newly[s]), int(in_post[s]), float(level_sum[s])))

    def _check_graduation(self, mentees: list[Mentee], levels: np.ndarray) -> None:
        rule = self._graduation
        ready = (levels >= rule.threshold).all(axis=1).tolist()
        for mentee, ok in zip(mentees, ready, strict=True):
            mentee.proficient_months = mentee.proficient_months + 1 if ok else 0
            if mentee.proficient_months == rule.months:
                self.graduates.append(mentee)

    def _record_states(self, wave: str) -> None:
        t = self.env.now
        enrolled = [f.id for facs in self.facilities for f in facs if f.mentee is not None]
        settle(self.nurses, np.array(enrolled, np.intp), t)
        for facs in self.facilities:
            for f in facs:
                m = f.mentee
                self.record.states.append(FacilityState(
                    wave, f.id, f.key, None if m is None else m.id,
                    None if m is None else m.c,
                    {line: s.in_stock(t) for line, s in f.stocks.items()},
                ))

    def _run_calendar(self):
        # Phases due at the start open first (then their nurses and mentors take up their
        # posts, at the same instant), so a phase from month 1 is as if it had no phase.
        if self.plan is not None and self.plan.open_due(1):
            yield self.env.timeout(0)
        self._read_month(0)  # the baseline, once every post is filled
        self._record_states("baseline")
        for month in range(1, self.config.months + 1):
            if month > 1 and self.plan is not None and self.plan.open_due(month):
                yield self.env.timeout(0)  # before the month's costs: its mentors are in post
            self._charge_month()
            if month in self._months:
                self._months[month].succeed()
            yield self.env.timeout(self.month_starts[month] - self.env.now)
            self._read_month(month)
        if self.plan is not None:
            self.plan.close()
        self._record_states("endline")
        for facs in self.facilities:
            for f in facs:
                if f.mentee is not None:
                    self.end_spell(f.mentee, None)
        for mentors in self.mentors:
            for mentor in mentors:
                if mentor.active:
                    self.mentor_leaves(mentor, None)

    def run(self) -> Record:
        """Run to the horizon and return the record."""
        with _gc_paused():
            self.env.run(until=self._calendar)
        for net in self.groups:
            for group in net.groups:
                group.log_posts()  # the last epoch's
        self.record.events = self.env.scheduled
        self.record.rounds = self.rounds.held
        return self.record

    def dismantle(self) -> None:
        """Break the model's reference cycles, so that reference counting alone frees it.

        A model is a web of cycles: facilities and their nurses and mentors point
        at each other, groups at their members, and every waiting process at the
        event whose callbacks point back at it. Left to the cyclic collector,
        freeing a national model means traversing its 800,000 objects (0.7 s,
        a tenth of a replication). The record stays valid; the model cannot run on.

        SimPy's queue still holds the events due after the horizon. Every process's
        generator is closed and what it waits on stops resuming it; a condition it
        waits on (``a | b``) is triggered, so that it lets go of its events when
        processed. The planned rounds and the day's training are cancelled, and the
        clock runs the queue empty: every event then lets go of its callbacks, and
        the model and the clock are freed by reference counting.
        """
        for proc, generator in self._processes:
            generator.close()  # frees its frame (and the model it refers to)
            target = proc.target
            if target is not None:  # what it waits on no longer resumes it
                target.callbacks = [c for c in target.callbacks
                                    if getattr(c, "__self__", None) is not proc]
                if isinstance(target, Condition) and not target.triggered:
                    target.succeed()  # lets go of the events it waits on as it is processed
        self._processes.clear()
        self.rounds.dismantle()
        if self._day_end is not None:
            self._day_end.callbacks = []
        self.env.run()
        for facs in self.facilities:
            for f in facs:
                f.mentee = f.mentor = None
        for net in self.groups:
            net.dismantle()
        self.rounds = self._day_end = None
        self.post_sums.groups.clear()
        self.nurses.facilities = []
        self._learning = None
        self.facilities, self.mentors, self.graduates, self.groups = [], [], [], []
        self.mentoring_graduates = {}
        self._slots, self._calendar, self.plan = [], None, None


def simulate(config: Config, seed: int, replicate: int = 0) -> Record:
    """Run one replicate: a pure function of (config, seed, replicate)."""
    with _gc_paused():  # the model's objects go before the collector ever sees them
        model = Model(config, seed, replicate)
        record = model.run()
        model.dismantle()
    return record
