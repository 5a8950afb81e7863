"""The reference engine: the model written to be read, in SimPy, on the rules.

A process per nurse post, facility, mentor slot and mentor (her rounds), per
WhatsApp group (its posts) and a monthly calendar; each nurse's competency is
decayed directly whenever something needs it. :class:`Model` holds the shared
state and the few state changes the processes share; the rules
(:mod:`sim.rules`) say what each event does. The fast engine
(:mod:`sim.model`) implements the same model and gives the same results.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim import interventions, scenarios
from sim.clock import Clock
from sim.config import AREAS, Config
from sim.engines.interface import NurseRef
from sim.engines.reference import processes
from sim.engines.reference.agents import Facility, Mentor, Nurse, Rates
from sim.engines.reference.groups import Network
from sim.record import FacilityState, MentorRow, MonthRow, Record, SpellRow
from sim.rng import Batched, Streams
from sim.rules import competency, costs, graduation, supply, visits
from sim.scenarios import scaleup


class Model:
    """One replicate of a scenario on the reference engine."""

    def __init__(self, config: Config, seed: int, replicate: int = 0) -> None:
        cfg = config
        self.config = cfg
        self.env = Clock()
        self.streams = Streams(seed, replicate)
        self.record = Record(replicate)
        self.ledger = self.record.ledger
        self.month_starts = cfg.month_starts()
        self.horizon = self.month_starts[-1]
        self.first_weekday = cfg.start_date.weekday()
        self.rates = Rates(cfg.mentee.decay.rate_per_year, cfg.mentee.decay.practice_protection,
                           cfg.mentee.decay.whatsapp_protection)
        self.reinforcement = cfg.whatsapp.reinforcement
        self.weights = [competency.priority_weights([AREAS.index(a) for a in sub.priorities],
                                                    len(AREAS),
                                                    cfg.mentee.learning.priority_weight_decay)
                        for sub in cfg.subcounties]
        self._next_nurse = self._next_mentor = 0
        self._processes: list = []
        self._months: dict = {}  # month -> the event of its start, for interventions
        layout = scenarios.sites(cfg)
        n_subs = len(cfg.subcounties)
        self.joined = [scenarios.phase_of(cfg, s) is None for s in range(n_subs)]
        shelves = {line: [supply.deliveries(params, self.horizon, rng) for rng in
                          self.streams.once(f"supply.{line}", [site.key for site in layout])]
                   for line, params in cfg.supply.items()}
        self.facilities: list[list[Facility]] = [[] for _ in range(n_subs)]
        self.learning: dict[int, Batched] = {}  # visit noise, by facility
        for site in layout:
            f = Facility(self.env, site, {line: s[site.id] for line, s in shelves.items()},
                         self.joined[site.subcounty])
            self.facilities[site.subcounty].append(f)
            self.learning[f.id] = processes.learning_draws(self, f)
            self.process(processes.nurse_post(self, f))
            self.process(processes.economic_shocks(self, f))
        # cumulative vaccine stock-out facility-days per subcounty at each month's start
        self.stockouts = [[sum(f.vaccines.stockout_days_until(t) for f in facs)
                           for t in self.month_starts] for facs in self.facilities]
        self.networks = [Network(self, s) for s in range(n_subs)]
        self.mentors: list[list[Mentor]] = [[] for _ in range(n_subs)]
        self.slots: list[list[tuple]] = [[] for _ in range(n_subs)]
        loads = scenarios.caseloads(cfg, layout) if cfg.mentor.enabled else []
        self._by_id = by_id = [f for facs in self.facilities for f in facs]
        for slot, load in enumerate(loads):
            self.slots[load.subcounty].append(
                (slot, load.key, load.subcounty, [by_id[i] for i in load.sites]))
        self.graduates: list[Nurse] = []  # qualified to mentor, longest qualified first
        self.mentoring_graduates: dict[int, Nurse] = {}  # mentoring from their posts, by post
        for s, joined in enumerate(self.joined):
            if joined:
                self._start_mentors(s)
        self.plan = scaleup.Plan(self) if cfg.scaleup is not None else None
        for s in range(n_subs):
            self.process(self._whatsapp(s))
        if cfg.classroom.enabled:
            self.process(processes.courses(self, cfg.classroom))
        for spec in cfg.interventions:
            self.process(interventions.build(spec).run(self))
        self._calendar = self.process(self._run_calendar())

    def process(self, generator):
        proc = self.env.process(generator)
        self._processes.append(generator)
        return proc

    # --- the interface interventions use (sim.engines.interface.Programme) --------

    def month(self, month: int) -> simpy.Event:
        if month not in self._months:
            self._months[month] = self.env.event()
        return self._months[month]

    def enrolled(self) -> list[NurseRef]:
        return [NurseRef(f.nurse.id, f.id, f.subcounty)
                for facs in self.facilities for f in facs if f.nurse is not None]

    def competency(self, ref: NurseRef) -> np.ndarray:
        nurse = self._enrolled(ref)
        nurse.settle(self.env.now, self.rates)
        return nurse.c.copy()

    def set_competency(self, ref: NurseRef, c: np.ndarray) -> None:
        nurse = self._enrolled(ref)
        nurse.settle(self.env.now, self.rates)
        nurse.c = np.clip(np.asarray(c, float), nurse.baseline, competency.MAX_SCORE)

    def charge(self, who: str, subcounty: int, ksh: float) -> None:
        self.ledger.post(self.env.now, "interventions", who, subcounty, ksh)

    def _enrolled(self, ref: NurseRef) -> Nurse:
        nurse = self._by_id[ref.facility].nurse
        if nurse is None or nurse.id != ref.nurse:
            raise ValueError(f"nurse {ref.nurse} is not enrolled now")
        return nurse

    # --- the state changes processes share ---------------------------------------

    def new_nurse(self, facility: Facility) -> Nurse:
        """A nurse newly in post: her baseline per area and her engagement in groups."""
        b = self.config.mentee.baseline
        rng = self.streams("mentee.baseline", *facility.key)
        mean = np.array([b.mean[a] for a in AREAS])
        baseline = np.clip(mean + b.sd * rng.standard_normal(len(AREAS)), 0.0, competency.MAX_SCORE)
        engagement = self.streams("mentee.engagement", *facility.key).random()
        nurse = facility.holder = Nurse(self._next_nurse, facility, baseline, engagement,
                                        self.env.now)
        self._next_nurse += 1
        return nurse

    def enrol(self, nurse: Nurse) -> None:
        t = self.env.now
        nurse.back_in_post(t, self.rates)
        nurse.enrolled = True
        nurse.spell_start, nurse.visits, nurse.next_due = t, 0, t  # she is due a visit now
        nurse.facility.nurse = nurse
        self.networks[nurse.facility.subcounty].join(nurse)

    def end_spell(self, nurse: Nurse, reason: str | None) -> None:
        t = self.env.now
        f = nurse.facility
        nurse.settle(t, self.rates)
        self.record.spells.append(SpellRow(f.subcounty, f.id, nurse.id, nurse.spell_start, t,
                                           reason, nurse.visits, nurse.baseline.copy(),
                                           nurse.c.copy()))
        f.nurse = None
        nurse.enrolled, nurse.next_due = False, float("inf")
        self.networks[f.subcounty].leave(nurse)

    def visit(self, mentor: Mentor, nurse: Nurse) -> None:
        """A mentoring visit today: hands-on training on her agenda, and its costs."""
        t, f = self.env.now, nurse.facility
        learning = self.config.mentee.learning
        nurse.settle(t, self.rates)
        efforts = [competency.effort(self.learning[f.id].next())
                   for _ in range(learning.areas_per_visit)]
        areas = competency.agenda(nurse.c, self.weights[f.subcounty], learning.areas_per_visit)
        nurse.c = competency.learn(nurse.c, areas, efforts, learning.rate)
        self.record.visits.extend([t], [f.subcounty], [f.id], [nurse.id], [mentor.id])
        for charge in costs.visit(self.config.costs):
            self.ledger.post(t, charge.category, mentor.who, f.subcounty, charge.ksh)

    def new_mentor(self, slot: int, key: tuple[int, ...], subcounty: int,
                   caseload: list[Facility], origin: str) -> Mentor:
        """A mentor takes up a caseload slot after her orientation."""
        m = self.config.mentor
        weekdays = visits.release_weekdays(self.streams("mentor.weekdays", *key),
                                           m.home_session_days_per_week, m.release_days_per_week)
        mentor = Mentor(self._next_mentor, slot, key, subcounty, caseload, weekdays,
                        self.env.now, origin)
        self._next_mentor += 1
        self.mentors[subcounty].append(mentor)
        for f in caseload:
            f.mentor = mentor
        for charge in costs.orientation(self.config.costs):
            self.ledger.post(self.env.now, charge.category, mentor.who, subcounty, charge.ksh)
        self.networks[subcounty].add_mentor(mentor)
        return mentor

    def mentor_leaves(self, mentor: Mentor, reason: str | None) -> None:
        mentor.active = False
        for f in mentor.caseload:
            f.mentor = None
        self.networks[mentor.subcounty].remove_mentor(mentor)
        self.record.mentors.append(MentorRow(mentor.subcounty, mentor.slot, mentor.id,
                                             len(mentor.caseload), mentor.start, self.env.now,
                                             reason, mentor.origin))

    def open_subcounty(self, subcounty: int, graduates: bool = False) -> tuple[int, int]:
        """A scale-up phase brings a subcounty's facilities and mentors in; returns how
        many of its mentors were recruited and how many were graduates."""
        self.joined[subcounty] = True
        for f in self.facilities[subcounty]:
            f.rejoin()
        return self._start_mentors(subcounty, graduates)

    def _start_mentors(self, subcounty: int, graduates: bool = False) -> tuple[int, int]:
        promoted = 0
        for slot, key, s, caseload in self.slots[subcounty]:
            origin = "graduate" if graduates and self._promote_graduate() else "recruit"
            promoted += origin == "graduate"
            self.process(processes.mentor_post(self, slot, key, s, caseload, origin))
        return len(self.slots[subcounty]) - promoted, promoted

    def _promote_graduate(self) -> bool:
        """The longest-qualified graduate still enrolled ends her spell to mentor."""
        while self.graduates:
            nurse = self.graduates.pop(0)
            if nurse.facility.nurse is nurse:
                self.end_spell(nurse, "graduated")
                self.mentoring_graduates[nurse.facility.id] = nurse
                nurse.promoted.succeed()
                return True
        return False

    # --- the calendar -----------------------------------------------------------

    def _whatsapp(self, s: int):
        """The subcounty's groups open at ``whatsapp.start_month``."""
        cfg = self.config.whatsapp
        if not cfg.enabled or cfg.start_month > self.config.months:
            return
        yield self.env.timeout(self.month_starts[cfg.start_month - 1])
        self.networks[s].start([m for m in self.mentors[s] if m.active],
                               [f.nurse for f in self.facilities[s] if f.nurse is not None])

    def _charge_month(self) -> None:
        t, c = self.env.now, self.config.costs
        for s, sub in enumerate(self.config.subcounties):
            if not self.joined[s]:
                continue
            for charge in costs.coordination_month(c):
                self.ledger.post(t, charge.category, f"subcounty:{sub.name}", s, charge.ksh)
            for charge in costs.mentor_month(c):
                for m in self.mentors[s]:
                    if m.active:
                        self.ledger.post(t, charge.category, m.who, s, charge.ksh)
            for charge in costs.member_month(c):
                for nurse in self.networks[s].mentees:
                    self.ledger.post(t, charge.category, nurse.who, s, charge.ksh)

    def _read_month(self, month: int) -> None:
        """The month-end reading (see :class:`sim.record.MonthRow`)."""
        t = self.env.now
        rule = self.config.scaleup.graduation if self.config.scaleup else None
        for nurse in self.mentoring_graduates.values():
            nurse.settle(t, self.rates)
        for s, facs in enumerate(self.facilities):
            enrolled = [f.nurse for f in facs if f.nurse is not None]
            serving = enrolled + [n for n in self.mentoring_graduates.values()
                                  if n.facility.subcounty == s]
            for nurse in enrolled:
                nurse.settle(t, self.rates)
            levels = [competency.checklist(n.c) for n in enrolled]
            above = newly = 0.0
            level_sum = 0.0
            for nurse in serving:
                now, base = competency.checklist(nurse.c), competency.checklist(nurse.baseline)
                above += now.mean() - base.mean()
                newly += bool((now >= competency.PROFICIENT).all()
                              and not (base >= competency.PROFICIENT).all())
                level_sum += now.mean()
            in_post = len(serving)
            if not self.joined[s]:  # nurses of subcounties not yet in: at their baselines
                in_post += len(facs)
                level_sum += sum(competency.checklist(f.holder.baseline).mean() for f in facs)
            if enrolled:
                means = np.mean(levels, axis=0)
                proficient = sum(bool((lv >= competency.PROFICIENT).all()) for lv in levels)
                if rule is not None and month > 0:
                    for nurse, lv in zip(enrolled, levels, strict=True):
                        nurse.readings_at_level = graduation.months_at_level(
                            nurse.readings_at_level, graduation.at_level(lv, rule.threshold))
                        if graduation.qualifies(nurse.readings_at_level, rule.months):
                            self.graduates.append(nurse)
            else:
                means, proficient = np.full(len(AREAS), np.nan), 0
            out = self.stockouts[s]
            self.record.months.append(MonthRow(
                month, s, len(enrolled), proficient, sum(m.active for m in self.mentors[s]),
                len(self.networks[s].groups), self.networks[s].size,
                out[month] - (out[month - 1] if month else 0.0), means, above, int(newly),
                in_post, level_sum))

    def _record_states(self, wave: str) -> None:
        t = self.env.now
        for facs in self.facilities:
            for f in facs:
                n = f.nurse
                if n is not None:
                    n.settle(t, self.rates)
                self.record.states.append(FacilityState(
                    wave, f.id, f.key, None if n is None else n.id,
                    None if n is None else n.c.copy(),
                    {line: shelf.in_stock(t) for line, shelf in f.shelves.items()}))

    def _run_calendar(self):
        env = self.env
        # Phases due at the start open first (then their nurses and mentors take up their
        # posts, at the same instant), so a phase from month 1 is as if it had no phase.
        if self.plan is not None and self.plan.open_due(1):
            yield env.timeout(0)
        self._read_month(0)  # the baseline, once every post is filled
        self._record_states("baseline")
        for month in range(1, self.config.months + 1):
            if month > 1 and self.plan is not None and self.plan.open_due(month):
                yield env.timeout(0)  # before the month's costs: its mentors are in post
            self._charge_month()
            if month in self._months:
                self._months[month].succeed()
            yield env.timeout(self.month_starts[month] - env.now)
            self._read_month(month)
        if self.plan is not None:
            self.plan.close()
        self._record_states("endline")
        for facs in self.facilities:
            for f in facs:
                if f.nurse is not None:
                    self.end_spell(f.nurse, None)
        for mentors in self.mentors:
            for mentor in mentors:
                if mentor.active:
                    self.mentor_leaves(mentor, None)

    def run(self) -> Record:
        self.env.run(until=self._calendar)
        for generator in self._processes:  # frees their frames, and the model they refer to
            generator.close()
        self.record.events = self.env.scheduled
        return self.record


def simulate(config: Config, seed: int, replicate: int = 0) -> Record:
    """Run one replicate on the reference engine."""
    return Model(config, seed, replicate).run()
