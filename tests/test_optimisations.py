"""Optimised code paths against plain reference paths (the performance issue's guard).

Each optimisation must leave results unchanged up to floating-point rounding:
the test runs the model with the optimised path and with a straightforward
reference implementation on the same seeds and compares every recorded
competency.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections import Counter
from pathlib import Path

import numba
import numpy as np
import pytest

import sim
from sim import competency, supply
from sim import model as model_module
from sim.agents import mentee as mentee_module
from sim.agents import mentor as mentor_module
from sim.agents import network
from sim.clock import Late
from sim.model import Model, simulate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# a month-end reading's counts, compared exactly (its mean scores to a tolerance)
MONTH_COUNTS = ("month", "subcounty", "mentees", "proficient", "mentors", "groups", "members",
                "stockout_days")


def reinforce(mentee, t: float, area: int) -> None:
    """The rule as the README states it, applied eagerly: a post closes a share ``r`` of one
    area's gap to 4, now."""
    mentee.catch_up(t)
    nurses, i = mentee.nurses, mentee.row
    factor = math.exp(-mentee.dyn.decay_per_day * (nurses.x[i] - nurses.x_ref[i]))
    b = nurses.baseline[i, area]
    c = b + nurses.gain[i, area] * factor
    c += mentee.group.table.reinforcement * (competency.MAX_SCORE - c)
    nurses.gain[i, area] = (c - b) / factor


class EagerGroup(network.WhatsAppGroup):
    """Reference: posts drawn one at a time, each reinforcing every active member at once;
    no prefix sums and no compiled code, so the lazy settlement finds nothing to read."""

    def advance(self, t: float) -> None:
        if self._redraw_at is not None and t > self._redraw_at:
            start, self._redraw_at = self._redraw_at, None
            rate = self._rate()
            self._next_post = start + 1.0 / rate * self._gaps.next() if rate > 0 else math.inf
        while self._next_post <= t:
            tp = self._next_post
            area = self._areas.next()
            self._next_post = tp + 1.0 / self._rate() * self._gaps.next()
            for mentee in self.active.values():
                reinforce(mentee, tp, area)
            self.network.model.record.posts.extend([tp], [self.network.subcounty])


def run_both(cfg: sim.Config, seed: int, monkeypatch) -> tuple:
    lazy = Model(cfg, seed).run()
    with monkeypatch.context() as m:
        m.setattr(network, "WhatsAppGroup", EagerGroup)
        eager = Model(cfg, seed).run()
    return lazy, eager


def assert_same_nurses(a, b, atol: float = 0.0) -> None:
    """The same spells and monthly readings, competencies within ``atol`` (0: bit for bit)."""
    for x, y in zip(a.spells, b.spells, strict=True):
        assert x._replace(baseline=None, competency=None) == y._replace(baseline=None, competency=None)
        np.testing.assert_allclose(x.competency, y.competency, rtol=0, atol=atol)
    for x, y in zip(a.months, b.months, strict=True):
        assert [getattr(x, name) for name in MONTH_COUNTS] == [getattr(y, name) for name in MONTH_COUNTS]
        np.testing.assert_allclose(x.mean_score, y.mean_score, rtol=0, atol=atol)


def assert_same(lazy, eager) -> None:
    assert sorted(lazy.posts) == sorted(eager.posts)
    assert list(lazy.visits) == list(eager.visits)
    assert_same_nurses(lazy, eager, atol=1e-11)


@pytest.mark.parametrize("seed", [1, 2])
def test_lazy_whatsapp_posts_match_eager_reinforcement_in_the_pilot(seed, monkeypatch):
    cfg = sim.load(CONFIGS / "pilot.yaml")
    lazy, eager = run_both(cfg, seed, monkeypatch)
    assert len(lazy.posts) > 300  # the groups were busy
    assert_same(lazy, eager)


def test_lazy_whatsapp_matches_eager_with_split_groups_and_stock_outs(monkeypatch):
    # a county over two years: several groups per subcounty, scale-up phases, and
    # frequent stock-outs so settlements cross many shelf flips
    cfg = sim.load(CONFIGS / "scaleup_machakos_county.yaml", [
        "months=24", "whatsapp.member_cap=20", "supply.vaccines.shortfall_probability=0.5",
        "supply.vaccines.lead_time_mean_days=15"])
    lazy, eager = run_both(cfg, 3, monkeypatch)
    assert max(m.groups for m in lazy.months) >= 2
    assert_same(lazy, eager)


def test_lazy_whatsapp_matches_eager_when_epochs_restart_early(monkeypatch):
    # strong posts, many of them: (1 - r) ** -n passes the restart threshold within a month
    cfg = sim.load(CONFIGS / "pilot.yaml", [
        "whatsapp.reinforcement=0.9", "whatsapp.posts_per_active_member_per_week=40",
        "mentee.decay.rate_per_year=20"])
    restarts = []
    start = network.WhatsAppGroup._start_epoch
    monkeypatch.setattr(network.WhatsAppGroup, "_start_epoch",
                        lambda self, t: (restarts.append(t), start(self, t)))
    lazy, eager = run_both(cfg, 4, monkeypatch)
    month_ends = set(Model(cfg, 4).month_starts)
    assert any(t not in month_ends for t in restarts)
    assert_same(lazy, eager)


def test_lazy_whatsapp_matches_eager_when_folded_gains_are_refolded(monkeypatch):
    # no mentors, fast decay, two years: exposure since the last fold grows large enough
    # that the gains are refolded
    cfg = sim.load(CONFIGS / "pilot.yaml", [
        "mentor.enabled=false", "mentee.decay.rate_per_year=20", "months=24"])
    assert not cfg.classroom.enabled
    model = Model(cfg, 5)
    lazy = model.run()
    # without visits or courses, only a refold moves a nurse's reference exposure
    assert (model.nurses.x_ref > 0).any()
    with monkeypatch.context() as m:
        m.setattr(network, "WhatsAppGroup", EagerGroup)
        eager = Model(cfg, 5).run()
    assert_same(lazy, eager)


@pytest.mark.parametrize("turnover", [0.5, 0.0])  # 0: nurses wait on events that never fire
def test_a_finished_replicate_is_freed_without_the_cyclic_collector(make_config, turnover):
    # Model.dismantle breaks the model's cycles so a batch worker never holds two large
    # models or pays a full collection between replicates. Busy: turnover, furloughs that
    # end, mentor attrition, graduates promoted to mentors, split groups.
    cfg = make_config({
        "months": 24, "mentee.turnover.hazard_per_year": turnover,
        "mentor.attrition.hazard_per_year": 0.6, "facilities.furlough_return_days_mean": 60,
        "whatsapp.member_cap": 8,
        "scaleup": {"graduation": {"threshold": 3, "months": 3},
                    "phases": [{"start_month": 13, "subcounties": ["Machakos"],
                                "mentors": "graduates"}]},
    })
    simulate(cfg, seed=7)  # loads the compiled code first: loading leaves cycles of its own
    gc.collect()
    gc.disable()
    try:
        model = Model(cfg, seed=7)
        record = model.run()
        model.dismantle()
        refs = weakref.ref(model), weakref.ref(model.env)
        del model
        alive = [ref() is not None for ref in refs]
        left = gc.collect()
    finally:
        gc.enable()
    assert any(s.reason == "graduated" for s in record.spells)
    assert alive == [False, False]
    assert left == 0


def test_a_days_visits_trained_together_equal_them_trained_one_at_a_time(monkeypatch):
    # the reference: each visit trained alone, in the order the rounds made them
    cfg = sim.load(CONFIGS / "scaleup_machakos_county.yaml", ["months=24"])
    together = Model(cfg, 6).run()
    batches = []
    train = model_module.visit_all

    def one_at_a_time(nurses, rows, weights, noise, t):
        batches.append(len(rows))
        for i in range(len(rows)):
            train(nurses, rows[i:i + 1], weights[i:i + 1], noise[i:i + 1], t)

    monkeypatch.setattr(model_module, "visit_all", one_at_a_time)
    alone = Model(cfg, 6).run()
    assert max(batches) > 5  # days with many visits
    assert list(together.visits) == list(alone.visits)
    assert_same_nurses(together, alone)


def visit_round(model, mentor, day: float, end: float) -> None:
    """The rule as the README states it, for one mentor: the nurses of her caseload due by
    her window's ``end``, most overdue first (ties by id), as many as the visit cap and
    her working hours allow; each visited nurse is next due one interval after this
    visit was, but never sooner than the minimum gap."""
    cfg, nurses = model.config.mentor, model.nurses
    hours = model.rounds.hours[mentor.slot].tolist()
    due = sorted((nurses.next_due[f.id], nurses.id[f.id], f.id, h)
                 for f, h in zip(mentor.caseload, hours, strict=False)
                 if nurses.next_due[f.id] <= end)
    spent, visits = 0.0, []
    for _, _, row, h in due:
        if len(visits) < cfg.max_visits_per_day and spent + h <= cfg.workday_hours:
            nurses.next_due[row] = max(nurses.next_due[row] + cfg.target_interval_days,
                                       day + cfg.min_days_between_visits)
            nurses.visits[row] += 1
            visits.append(row)
            spent += h
    if visits:
        model.visit([mentor] * len(visits), visits)


class EveryReleaseDay(mentor_module.Rounds):
    """Reference: each mentor is a SimPy process that wakes on every one of her release
    days and visits whoever is due (:func:`visit_round`); no calendar, no sleeping past
    days with nobody due, no compiled code."""

    def start(self, mentor, tenure: int) -> None:
        super().start(mentor, tenure)
        s = mentor.slot
        n = self.count[s]
        days, ends = self.days[s, :n].tolist(), self.ends[s, :n].tolist()
        self.model.process(self._every_day(mentor, days, ends, self.absent[s, :n].tolist()))

    def _enter(self, slot: int, due: float) -> None:
        pass  # no calendar (nudges find her awake already)

    def _every_day(self, mentor, days, ends, absent):
        env, model = self.model.env, self.model
        for day, end, away in zip(days, ends, absent, strict=True):
            yield Late(env, day - env.now)
            if not mentor.active:
                return
            self.held += 1
            if not away:
                visit_round(model, mentor, day, end)


# Churn of every kind: nurses enrolling mid-way wake their mentor early, mentors leave and
# are replaced, facilities are furloughed and come back.
CHURN = {"months": 24, "mentee.turnover.hazard_per_year": 0.5,
         "mentor.attrition.hazard_per_year": 0.6, "facilities.furlough_return_days_mean": 60}
# Visits due every 10 days, so several nurses are due at once, and mentors often absent.
# Visits take 4 (urban) or 4.5 (rural) hours with travel: 8.5 hours fit two urban visits
# but one rural one; 12.5 hours fit three urban ones, so the cap of two binds.
CAPS = {"months": 24, "mentor.max_visits_per_day": 2, "mentor.target_interval_days": 10,
        "mentor.min_days_between_visits": 5, "mentor.absence_probability": 0.3,
        "mentee.turnover.hazard_per_year": 0.5, "mentor.attrition.hazard_per_year": 0.5}


@pytest.mark.parametrize("overrides", [
    CHURN, {**CAPS, "mentor.workday_hours": 8.5}, {**CAPS, "mentor.workday_hours": 12.5}],
    ids=["churn", "hours bind", "cap binds"])
def test_the_rounds_calendar_equals_mentors_waking_every_release_day(overrides, monkeypatch,
                                                                     make_config):
    cfg = make_config(overrides)
    calendar = Model(cfg, 8).run()
    monkeypatch.setattr(model_module, "Rounds", EveryReleaseDay)
    every_day = Model(cfg, 8).run()
    if overrides is CHURN:  # the calendar skips days with nobody due
        assert every_day.rounds > 1.2 * calendar.rounds
    else:  # mentors' days are full: the cap or the hours stop them
        per_day = Counter(zip(calendar.visits.column("day"), calendar.visits.column("mentor"),
                              strict=True))
        assert max(per_day.values()) == 2
    assert len(calendar.visits) > 500
    # rounds of one day may come in another order; nothing else may differ
    assert sorted(calendar.visits) == sorted(every_day.visits)
    assert_same_nurses(calendar, every_day)


def test_nurses_settled_together_equal_them_settled_one_at_a_time(monkeypatch):
    # the reference: each nurse of a day's visits or a month's reading settled on her own,
    # in turn. Split groups, frequent stock-outs (settlements across shelf flips), churn
    cfg = sim.load(CONFIGS / "scaleup_machakos_county.yaml", [
        "months=24", "whatsapp.member_cap=20", "supply.vaccines.shortfall_probability=0.5",
        "supply.vaccines.lead_time_mean_days=15", "mentee.turnover.hazard_per_year=0.5"])
    together = Model(cfg, 9).run()
    sizes = []
    settle = mentee_module.settle

    def one_by_one(nurses, rows, t):
        sizes.append(len(rows))
        for row in rows.tolist():
            settle(nurses, np.array([row]), t)

    monkeypatch.setattr(mentee_module, "settle", one_by_one)
    monkeypatch.setattr(model_module, "settle", one_by_one)
    alone = Model(cfg, 9).run()
    assert max(sizes) > 20 and len(alone.posts) > 1000  # month-end readings, busy groups
    assert list(together.visits) == list(alone.visits)
    assert list(together.posts) == list(alone.posts)
    assert_same_nurses(together, alone)


# the compiled functions, by module: each is run as plain Python by the reference below
COMPILED = {
    network: ["_draw_posts", "_write_post"],
    mentee_module: ["_settle_rows", "_read_posts", "_train"],
    mentor_module: ["_hold_rounds", "_first_due"],
    competency: ["agenda", "learn", "decay_exposure"],
    supply: ["_last", "stockout_days", "stocked_until", "flips", "in_stock", "_stockout_days_at"],
}


BUSY = ["months=18", "whatsapp.member_cap=12", "whatsapp.posts_per_active_member_per_week=20",
        "whatsapp.reinforcement=0.5", "supply.vaccines.shortfall_probability=0.5",
        "supply.vaccines.lead_time_mean_days=15", "mentee.turnover.hazard_per_year=0.5"]
REFOLDS = ["mentor.enabled=false", "mentee.decay.rate_per_year=20", "months=24"]


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT: nothing is compiled")
@pytest.mark.parametrize(("overrides", "seed"), [(BUSY, 11), (REFOLDS, 5)])
def test_compiled_code_gives_what_the_same_code_gives_as_python(overrides, seed, monkeypatch):
    # numba compiles the per-event arithmetic; the same functions run by the interpreter
    # must give the same results bit for bit (no fused multiply-adds, no reordering, the
    # same exp). Busy groups that split, stock-outs across readings and churn; then decay
    # without visits, so that gains are refolded.
    cfg = sim.load(CONFIGS / "pilot.yaml", overrides)
    model = Model(cfg, seed)
    compiled = model.run()
    with monkeypatch.context() as m:
        for module, names in COMPILED.items():
            for name in names:
                m.setattr(module, name, getattr(module, name).py_func)
        python = Model(cfg, seed).run()
    if overrides is BUSY:
        assert len(compiled.posts) > 2000 and max(m.groups for m in compiled.months) >= 2
        assert sum(m.stockout_days for m in compiled.months) > 1000  # facility-days out of vaccines
    else:  # without visits or courses, only a refold moves a nurse's reference exposure
        assert (model.nurses.x_ref > 0).any()
    assert list(compiled.posts) == list(python.posts)
    assert list(compiled.visits) == list(python.visits)
    assert_same_nurses(compiled, python)
