"""The fast engine's own machinery: its rarely taken paths against the reference engine,
its compiled code against the same code interpreted, and freeing a finished model.

Whole-run equivalence with the reference engine on the usual scenarios is in
``tests/test_engines.py``; here each run is chosen to drive one path of the fast
engine that those runs seldom take, and checks that it was taken.
"""

from __future__ import annotations

import gc
import weakref

import numba
import numpy as np
import pytest

import sim
from conftest import CONFIGS
from sim.engines import simulate
from sim.engines.fast import groups, kernels, nurses, rounds, shelves
from sim.engines.fast.model import Model
from test_engines import differences

# a month-end reading's counts, compared exactly (its mean scores to a tolerance)
MONTH_COUNTS = ("month", "subcounty", "mentees", "proficient", "mentors", "groups", "members",
                "stockout_days")


def test_epochs_restarted_early_give_the_reference_engines_results(monkeypatch):
    # strong posts, many of them: (1 - r) ** -n passes the restart threshold within a month
    cfg = sim.load(CONFIGS / "pilot.yaml", [
        "whatsapp.reinforcement=0.9", "whatsapp.posts_per_active_member_per_week=40",
        "mentee.decay.rate_per_year=20"])
    restarts = []
    start = groups.WhatsAppGroup._start_epoch
    monkeypatch.setattr(groups.WhatsAppGroup, "_start_epoch",
                        lambda self, t: (restarts.append(t), start(self, t)))
    fast = simulate(cfg, 4, 0, "fast")
    assert any(t not in set(cfg.month_starts()) for t in restarts)
    found = differences(fast, simulate(cfg, 4, 0, "reference"))
    assert not found, "\n".join(found[:10])


def test_refolded_gains_give_the_reference_engines_results():
    # no mentors, fast decay, two years: exposure since the last fold grows large enough
    # that the gains are refolded
    cfg = sim.load(CONFIGS / "pilot.yaml", [
        "mentor.enabled=false", "mentee.decay.rate_per_year=20", "months=24"])
    model = Model(cfg, 5)
    fast = model.run()
    assert (model.nurses.x_ref > 0).any()  # without visits or courses, only a refold does that
    found = differences(fast, simulate(cfg, 5, 0, "reference"))
    assert not found, "\n".join(found[:10])


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


# the compiled functions, by module: each is run as plain Python by the test below
COMPILED = {
    groups: ["_draw_posts", "_write_post"],
    nurses: ["_settle_rows", "_read_posts", "_train"],
    rounds: ["_hold_rounds", "_first_due"],
    kernels: ["agenda", "learn", "decay_exposure"],
    shelves: ["_last", "stockout_days", "stocked_until", "flips", "in_stock", "_stockout_days_at"],
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
    for x, y in zip(compiled.spells, python.spells, strict=True):
        assert x._replace(baseline=None, competency=None) == y._replace(baseline=None, competency=None)
        np.testing.assert_array_equal(x.competency, y.competency)
    for x, y in zip(compiled.months, python.months, strict=True):
        assert [getattr(x, n) for n in MONTH_COUNTS] == [getattr(y, n) for n in MONTH_COUNTS]
        np.testing.assert_array_equal(x.mean_score, y.mean_score)
