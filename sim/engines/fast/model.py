"""The fast engine: the model's rules on arrays, calendars, lazy settlement and kernels.

:class:`Model` builds the agents from a config and runs one replicate: it owns the
clock, the random streams, the ledger and the record, and makes the state changes
the shared processes ask of an engine (:class:`sim.engines.interface.Engine`): a
new nurse, an enrolment, a spell's end, a mentor's post and rounds, the day's
visits, the month's reading. Its mentees are rows of arrays (:mod:`.nurses`), its
mentors' rounds one calendar (:mod:`.rounds`), its groups' posts lazily drawn sums
(:mod:`.groups`). It gives the reference engine's results
(:mod:`sim.engines.reference`); what it relies on to do so is listed in
:mod:`.contract`. A replicate is a pure function of (config, seed, replicate).
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import numpy as np
import simpy
from simpy.events import Condition

from sim import scenarios
from sim.agents.facility import Facility
from sim.agents.mentor import Mentor
from sim.clock import Clock, DayEnd
from sim.config import AREAS, Config
from sim.engines import processes
from sim.engines.common import Common
from sim.engines.fast.groups import Network, PostSums
from sim.engines.fast.nurses import Dynamics, Mentee, Nurses, competencies, settle, visit_all
from sim.engines.fast.rounds import Rounds
from sim.engines.fast.shelves import draw_stocks
from sim.engines.interface import NurseRef, Slot
from sim.record import FacilityState, MonthRow, Record, SpellRow
from sim.rng import BatchedRows, Streams
from sim.rules import competency, costs, graduation

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


class Model(Common):
    """One replicate of a scenario on the fast engine."""

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
        self._visit_charges = costs.visit(config.costs)  # what every visit costs
        self._areas_per_visit = config.mentee.learning.areas_per_visit
        self.first_weekday = config.start_date.weekday()
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
        self.months_waited: dict[int, simpy.Event] = {}  # month starts interventions wait for
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
        sites = [site.key for site in layout]
        shocked = [site.key for site in layout  # only these draw furlough shocks
                   if cfg.subcounties[site.subcounty].furlough_hazard_per_year[site.ownership] > 0]
        slots = [load.key for load in loads]
        self.streams.prepare({**dict.fromkeys(_FACILITY_STREAMS, sites),
                              **dict.fromkeys(_SHOCK_STREAMS, shocked),
                              **dict.fromkeys(_SLOT_STREAMS, slots),
                              "mentor.absence": [(*key, 0) for key in slots]})
        self.facilities = [[] for _ in cfg.subcounties]
        self.joined = [scenarios.phase_of(cfg, s) is None for s in range(len(cfg.subcounties))]
        self.by_id = by_id = []  # the facilities by id
        supply = self.streams.once({f"supply.{line}": sites for line in cfg.supply})
        stocks = {line: draw_stocks(params, self.horizon, supply[f"supply.{line}"])
                  for line, params in cfg.supply.items()}
        has = self.draw_amenities(layout)
        for i, site in enumerate(layout):
            fac = Facility(env, site, {line: s[i] for line, s in stocks.items()}, has[i],
                           in_programme=self.joined[site.subcounty])
            self.process(processes.nurse_post(self, fac))
            self.process(processes.economic_shocks(self, fac))
            self.facilities[site.subcounty].append(fac)
            by_id.append(fac)
        self.networks = [Network(self, s, facs) for s, facs in enumerate(self.facilities)]
        self.post_sums = PostSums(max(len(net.slopes) for net in self.networks),
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
        self.slots: list[list[Slot]] = [[] for _ in cfg.subcounties]
        self.graduates: list[Mentee] = []  # eligible to become mentors, longest waiting first
        # graduates who mentor from their own posts, by post row, until they leave the post
        self.mentoring_graduates: dict[int, Mentee] = {}
        for slot, load in enumerate(loads):
            self.slots[load.subcounty].append(
                Slot(slot, load.key, load.subcounty, [by_id[i] for i in load.sites]))
        self._calendar = self.start_programme()

    def process(self, generator: Generator) -> simpy.Process:
        """Start a SimPy process of this model."""
        proc = self.env.process(generator)
        self._processes.append((proc, generator))
        return proc

    # --- the interface interventions use (sim.engines.interface.Programme) ----------

    def competency(self, ref: NurseRef) -> np.ndarray:
        mentee = self.enrolled_mentee(ref)
        mentee.catch_up(self.env.now)
        return mentee.c

    def set_competency(self, ref: NurseRef, c: np.ndarray) -> None:
        mentee = self.enrolled_mentee(ref)
        mentee.catch_up(self.env.now)
        mentee.set(np.clip(np.asarray(c, float), mentee.baseline, competency.MAX_SCORE))

    # --- the state changes the shared processes ask for (sim.engines.interface.Engine)

    def new_mentee(self, facility: Facility) -> Mentee:
        """A nurse newly in post: a baseline per area and her engagement in groups."""
        b = self.config.mentee.baseline
        rng = self.streams("mentee.baseline", *facility.key)
        baseline = competency.baseline(self._baseline_mean, b.sd, rng.standard_normal(N_AREAS))
        engagement = self.streams("mentee.engagement", *facility.key).random()
        mentee = Mentee(self._next_mentee, facility, self.nurses, baseline, engagement, self.env.now)
        mentee.promoted = self.env.event()
        self._next_mentee += 1
        return mentee

    def enrol(self, mentee: Mentee) -> None:
        f = mentee.facility
        mentee.start_spell(self.env.now)
        f.mentee = mentee
        self.networks[f.subcounty].join(mentee)
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
        self.networks[f.subcounty].leave(mentee)

    def train(self, mentee: Mentee, gain: np.ndarray) -> None:
        mentee.train(self.env.now, gain)

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
        mentors, self._today_mentors = self._today_mentors, []
        today, self._today_rows = self._today_rows, []
        rows = (today[0] if len(today) == 1 else np.concatenate(today)).astype(np.intp,
                                                                                copy=False)
        day, n = self.env.now, len(rows)
        nurses = self.nurses
        subs = nurses.subcounty[rows]
        noise = self._learning.take(rows, self._areas_per_visit)
        visit_all(nurses, rows, self._weights[subs], noise, day)
        ids = [mentor.id for mentor in mentors]
        subcounties = subs.tolist()
        self.record.visits.extend([day] * n, subcounties, rows.tolist(),
                                  nurses.id[rows].tolist(), ids)
        charges = self._visit_charges
        if charges:  # a row per visit and cost, a visit's costs in turn
            k = len(charges)
            self.ledger.extend(
                day=[day] * (n * k),
                category=[c.category for c in charges] * n,
                who=[mentor.who for mentor in mentors for _ in range(k)],
                subcounty=[s for s in subcounties for _ in range(k)],
                ksh=[c.ksh for c in charges] * n,
            )

    def start_rounds(self, mentor: Mentor, tenure: int) -> None:
        self.rounds.start(mentor, tenure)

    def stop_rounds(self, mentor: Mentor) -> None:
        self.rounds.leave(mentor)

    # --- readings -----------------------------------------------------------------

    def read_month(self, month: int) -> None:
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
        proficient_now = (levels >= competency.PROFICIENT).all(axis=1)
        above = by_subcounty_sum(subs, level - base.mean(axis=1))
        newly = by_subcounty_sum(subs, (proficient_now
                                        & ~(base >= competency.PROFICIENT).all(axis=1)).astype(float))
        in_post = by_subcounty_sum(subs) + by_subcounty_sum(others)
        at_baseline = competency.checklist(self.nurses.baseline[waiting])
        level_sum = by_subcounty_sum(subs, level) + by_subcounty_sum(others,
                                                                     at_baseline.mean(axis=1))
        proficient_in_post = by_subcounty_sum(subs, proficient_now.astype(float)) + \
            by_subcounty_sum(others, (at_baseline >= competency.PROFICIENT).all(axis=1)
                             .astype(float))
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
            group = self.networks[s]
            group.new_epoch(t)
            self.record.months.append(MonthRow(
                month, s, len(enrolled), proficient, mentors, len(group.groups), group.size,
                out[month] - (out[month - 1] if month else 0.0), means, float(above[s]),
                int(newly[s]), int(in_post[s]), float(level_sum[s]), int(proficient_in_post[s])))

    def _check_graduation(self, mentees: list[Mentee], levels: np.ndarray) -> None:
        rule = self._graduation
        months = graduation.months_at_level([m.proficient_months for m in mentees],
                                            graduation.at_level(levels, rule.threshold))
        qualified = graduation.qualifies(months, rule.months).tolist()
        for mentee, n, ok in zip(mentees, months.tolist(), qualified, strict=True):
            mentee.proficient_months = n
            if ok:
                self.graduates.append(mentee)

    def record_states(self, wave: str) -> None:
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

    def run(self) -> Record:
        """Run to the horizon and return the record."""
        with _gc_paused():
            self.env.run(until=self._calendar)
        for net in self.networks:
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
        for net in self.networks:
            net.dismantle()
        self.rounds = self._day_end = None
        self.post_sums.groups.clear()
        self.nurses.facilities = []
        self._learning = None
        self.facilities, self.mentors, self.graduates, self.networks = [], [], [], []
        self.by_id = []
        self.mentoring_graduates = {}
        self.slots, self._calendar, self.plan = [], None, None


def simulate(config: Config, seed: int, replicate: int = 0) -> Record:
    """Run one replicate: a pure function of (config, seed, replicate)."""
    with _gc_paused():  # the model's objects go before the collector ever sees them
        model = Model(config, seed, replicate)
        record = model.run()
        model.dismantle()
    return record
