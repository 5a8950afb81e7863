"""The reference engine: the model written to be read, in SimPy, on the rules.

A process per nurse post, facility, mentor slot and mentor (her rounds), per WhatsApp
group (its posts) and a monthly calendar; each mentee's competency is decayed directly
whenever something needs it. :class:`Model` holds the programme's state and makes the
state changes the shared processes (:mod:`sim.engines.processes`) ask of an engine;
the rules (:mod:`sim.rules`) say what each event does. It is the one to change
first: the fast engine (:mod:`sim.engines.fast`) implements the same model and must
give the same results (``tests/test_engines.py``).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from sim import scenarios
from sim.agents.facility import Facility
from sim.agents.mentor import Mentor
from sim.clock import Clock
from sim.config import AREAS, Config
from sim.engines import processes
from sim.engines.common import Common
from sim.engines.interface import NurseRef, Slot
from sim.engines.reference.groups import Network
from sim.engines.reference.mentee import Mentee, Rates
from sim.engines.reference.rounds import learning_draws, rounds
from sim.record import FacilityState, MonthRow, Record, SpellRow
from sim.rng import Batched, Streams
from sim.rules import competency, costs, graduation, supply


class Model(Common):
    """One replicate of a scenario on the reference engine."""

    def __init__(self, config: Config, seed: int, replicate: int = 0) -> None:
        cfg = self.config = config
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
        self._next_mentee = self._next_mentor = 0
        self._generators: list[Generator] = []
        self.months_waited: dict[int, simpy.Event] = {}
        layout = scenarios.sites(cfg)
        n_subs = len(cfg.subcounties)
        self.joined = [scenarios.phase_of(cfg, s) is None for s in range(n_subs)]
        streams = self.streams.once({f"supply.{line}": [site.key for site in layout]
                                     for line in cfg.supply})
        shelves = {line: [supply.deliveries(params, self.horizon, rng)
                          for rng in streams[f"supply.{line}"]]
                   for line, params in cfg.supply.items()}
        has = self.draw_amenities(layout)
        self.facilities: list[list[Facility]] = [[] for _ in range(n_subs)]
        self.holders: dict[int, Mentee] = {}  # the nurse in each post, by facility
        self.learning: dict[int, Batched] = {}  # visit noise, by facility
        for site in layout:
            f = Facility(self.env, site, {line: s[site.id] for line, s in shelves.items()},
                         has[site.id], self.joined[site.subcounty])
            self.facilities[site.subcounty].append(f)
            self.learning[f.id] = learning_draws(self, f)
            self.process(processes.nurse_post(self, f))
            self.process(processes.economic_shocks(self, f))
        # cumulative vaccine stock-out facility-days per subcounty at each month's start
        self.stockouts = [[sum(f.vaccines.stockout_days_until(t) for f in facs)
                           for t in self.month_starts] for facs in self.facilities]
        self.networks = [Network(self, s) for s in range(n_subs)]
        self.mentors: list[list[Mentor]] = [[] for _ in range(n_subs)]
        self.slots: list[list[Slot]] = [[] for _ in range(n_subs)]
        self.by_id = by_id = [f for facs in self.facilities for f in facs]
        loads = scenarios.caseloads(cfg, layout) if cfg.mentor.enabled else []
        for slot, load in enumerate(loads):
            self.slots[load.subcounty].append(
                Slot(slot, load.key, load.subcounty, [by_id[i] for i in load.sites]))
        self.graduates: list[Mentee] = []
        self.mentoring_graduates: dict[int, Mentee] = {}
        self._calendar = self.start_programme()

    def process(self, generator: Generator) -> simpy.Process:
        self._generators.append(generator)
        return self.env.process(generator)

    # --- the interface interventions use (sim.engines.interface.Programme) ----------

    def competency(self, ref: NurseRef) -> np.ndarray:
        mentee = self.enrolled_mentee(ref)
        mentee.settle(self.env.now, self.rates)
        return mentee.c.copy()

    def set_competency(self, ref: NurseRef, c: np.ndarray) -> None:
        mentee = self.enrolled_mentee(ref)
        mentee.settle(self.env.now, self.rates)
        mentee.c = np.clip(np.asarray(c, float), mentee.baseline, competency.MAX_SCORE)

    # --- the state changes the shared processes ask for (sim.engines.interface.Engine)

    def new_mentee(self, facility: Facility) -> Mentee:
        b = self.config.mentee.baseline
        rng = self.streams("mentee.baseline", *facility.key)
        mean = np.array([b.mean[a] for a in AREAS])
        baseline = competency.baseline(mean, b.sd, rng.standard_normal(len(AREAS)))
        engagement = self.streams("mentee.engagement", *facility.key).random()
        mentee = Mentee(self._next_mentee, facility, baseline, engagement, self.env.now,
                        self.env.event())
        self.holders[facility.id] = mentee
        self._next_mentee += 1
        return mentee

    def enrol(self, mentee: Mentee) -> None:
        t = self.env.now
        mentee.back_in_post(t, self.rates)
        mentee.spell_start, mentee.visits, mentee.next_due = t, 0, t  # she is due a visit now
        mentee.facility.mentee = mentee
        self.networks[mentee.facility.subcounty].join(mentee)

    def end_spell(self, mentee: Mentee, reason: str | None) -> None:
        t, f = self.env.now, mentee.facility
        mentee.settle(t, self.rates)
        self.record.spells.append(SpellRow(f.subcounty, f.id, mentee.id, mentee.spell_start, t,
                                           reason, mentee.visits, mentee.baseline.copy(),
                                           mentee.c.copy()))
        f.mentee = None
        mentee.next_due = float("inf")
        self.networks[f.subcounty].leave(mentee)

    def train(self, mentee: Mentee, gain: np.ndarray) -> None:
        mentee.settle(self.env.now, self.rates)
        mentee.c = competency.course(mentee.c, gain)

    def visit(self, mentor: Mentor, mentee: Mentee) -> None:
        """A mentoring visit now: training on her agenda (:func:`sim.rules.competency.learn`)
        and the visit's costs (:func:`sim.rules.costs.visit`)."""
        t, f = self.env.now, mentee.facility
        learning = self.config.mentee.learning
        mentee.settle(t, self.rates)
        efforts = [competency.effort(self.learning[f.id].next())
                   for _ in range(learning.areas_per_visit)]
        areas = competency.agenda(mentee.c, self.weights[f.subcounty], learning.areas_per_visit)
        mentee.c = competency.learn(mentee.c, areas, efforts, learning.rate)
        self.record.visits.extend([t], [f.subcounty], [f.id], [mentee.id], [mentor.id])
        for charge in costs.visit(self.config.costs):
            self.ledger.post(t, charge.category, mentor.who, f.subcounty, charge.ksh)

    def start_rounds(self, mentor: Mentor, tenure: int) -> None:
        self.process(rounds(self, mentor, tenure))

    def stop_rounds(self, mentor: Mentor) -> None:
        pass  # her rounds process ends on the first release day she is no longer active

    def read_month(self, month: int) -> None:
        """The month-end reading (:class:`sim.record.MonthRow`) and graduation
        (:mod:`sim.rules.graduation`)."""
        t = self.env.now
        rule = self.config.scaleup.graduation if self.config.scaleup else None
        for mentee in self.mentoring_graduates.values():
            mentee.settle(t, self.rates)
        for s, facs in enumerate(self.facilities):
            enrolled = [f.mentee for f in facs if f.mentee is not None]
            for mentee in enrolled:
                mentee.settle(t, self.rates)
            serving = enrolled + [m for m in self.mentoring_graduates.values()
                                  if m.facility.subcounty == s]
            above = newly = level_sum = 0.0
            proficient_in_post = 0
            for mentee in serving:
                now, base = competency.checklist(mentee.c), competency.checklist(mentee.baseline)
                above += now.mean() - base.mean()
                newly += bool((now >= competency.PROFICIENT).all()
                              and not (base >= competency.PROFICIENT).all())
                level_sum += now.mean()
                proficient_in_post += bool((now >= competency.PROFICIENT).all())
            in_post = len(serving)
            if not self.joined[s]:  # nurses of subcounties not yet in: at their baselines
                in_post += len(facs)
                for f in facs:
                    base = competency.checklist(self.holders[f.id].baseline)
                    level_sum += base.mean()
                    proficient_in_post += bool((base >= competency.PROFICIENT).all())
            levels = [competency.checklist(m.c) for m in enrolled]
            if enrolled:
                means = np.mean(levels, axis=0)
                proficient = sum(bool((lv >= competency.PROFICIENT).all()) for lv in levels)
                if rule is not None and month > 0:
                    for mentee, lv in zip(enrolled, levels, strict=True):
                        mentee.proficient_months = int(graduation.months_at_level(
                            mentee.proficient_months, graduation.at_level(lv, rule.threshold)))
                        if graduation.qualifies(mentee.proficient_months, rule.months):
                            self.graduates.append(mentee)
            else:
                means, proficient = np.full(len(AREAS), np.nan), 0
            out = self.stockouts[s]
            self.record.months.append(MonthRow(
                month, s, len(enrolled), proficient, sum(m.active for m in self.mentors[s]),
                len(self.networks[s].groups), self.networks[s].size,
                out[month] - (out[month - 1] if month else 0.0), means, above, int(newly),
                in_post, level_sum, proficient_in_post))

    def record_states(self, wave: str) -> None:
        t = self.env.now
        for facs in self.facilities:
            for f in facs:
                m = f.mentee
                if m is not None:
                    m.settle(t, self.rates)
                self.record.states.append(FacilityState(
                    wave, f.id, f.key, None if m is None else m.id,
                    None if m is None else m.c.copy(),
                    {line: shelf.in_stock(t) for line, shelf in f.stocks.items()}))

    def run(self) -> Record:
        self.env.run(until=self._calendar)
        for generator in self._generators:  # frees their frames, and the model they refer to
            generator.close()
        self.record.events = self.env.scheduled
        return self.record


def simulate(config: Config, seed: int, replicate: int = 0) -> Record:
    """Run one replicate on the reference engine."""
    return Model(config, seed, replicate).run()
