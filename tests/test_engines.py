"""Equivalence is the contract: the fast engine gives what the reference engine gives.

On whole runs of the pilot, a busy pilot, a county with split groups and stock-outs,
a phased scale-up with graduation, and a classroom course with interventions: integers
identical (visits, spells, exits, mentors, posts, costs, the facilities' amenities) and
continuous values within 1e-9. A day's rounds may come in another order in the two
engines, so the logs are compared as sets of rows.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import sim
from conftest import CONFIGS
from sim.cli import main
from sim.engines import simulate
from sim.engines.fast import contract
from sim.record import Record
from sim.rules import competency

TOL = 1e-9

CHURN = ["months=24", "mentee.turnover.hazard_per_year=0.5",
         "mentor.attrition.hazard_per_year=0.6", "facilities.furlough_return_days_mean=60"]
SPLIT = ["months=24", "whatsapp.member_cap=20", "supply.vaccines.shortfall_probability=0.5",
         "supply.vaccines.lead_time_mean_days=15", "mentee.turnover.hazard_per_year=0.5"]
BUSY = ["months=18", "whatsapp.member_cap=12", "whatsapp.posts_per_active_member_per_week=20",
        "whatsapp.reinforcement=0.5", "classroom.enabled=true", "classroom.start_month=4",
        "interventions=[{type: refresher_course, month: 9, gain: 0.4, cost_per_nurse: 3000},"
        " {type: supervisor_visits, start_month: 2, every_months: 3}]"]
RUNS = {
    "pilot": ("pilot.yaml", [], 7),
    "busy pilot": ("pilot.yaml", CHURN, 7),
    "county, split groups and stock-outs": ("scaleup_machakos_county.yaml", SPLIT, 9),
    "phased scale-up with graduation": ("scaleup_machakos_county.yaml", [], 3),
    "courses, interventions, busy groups": ("pilot.yaml", BUSY, 11),
}


def _close(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return a.shape == b.shape and bool(np.all((np.abs(a - b) <= TOL)
                                                  | (np.isnan(a) & np.isnan(b))))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOL or (math.isnan(a) and math.isnan(b))
    return a == b


def differences(fast: Record, reference: Record) -> list[str]:
    """Where two records of one (config, seed, replicate) differ, a line each."""
    out = []

    def rows(name, xs, ys):
        xs, ys = list(xs), list(ys)
        if len(xs) != len(ys):
            out.append(f"{name}: {len(xs)} rows on the fast engine, {len(ys)} on the reference")
            return
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            fields = x._fields if hasattr(x, "_fields") else range(len(x))
            for f in fields:
                u, v = (getattr(x, f), getattr(y, f)) if isinstance(f, str) else (x[f], y[f])
                if not _close(u, v):
                    out.append(f"{name}[{i}].{f}: fast {u!r}, reference {v!r}")
                    return

    def ledger(rec):
        led = rec.ledger
        return sorted(zip(led.day, led.category, led.who, led.subcounty, led.ksh, strict=True))

    rows("spells", sorted(fast.spells, key=lambda s: (s.mentee, s.start)),
         sorted(reference.spells, key=lambda s: (s.mentee, s.start)))
    rows("months", fast.months, reference.months)
    rows("mentors", sorted(fast.mentors, key=lambda m: m.mentor),
         sorted(reference.mentors, key=lambda m: m.mentor))
    rows("phases", fast.phases, reference.phases)
    rows("visits", sorted(fast.visits), sorted(reference.visits))
    rows("posts", sorted(fast.posts), sorted(reference.posts))
    rows("ledger", ledger(fast), ledger(reference))
    rows("states", [(s.wave, s.facility, s.mentee, s.competency, s.in_stock) for s in fast.states],
         [(s.wave, s.facility, s.mentee, s.competency, s.in_stock) for s in reference.states])
    rows("amenities", [(f, sorted(a)) for f, a in enumerate(fast.amenities)],
         [(f, sorted(a)) for f, a in enumerate(reference.amenities)])
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_the_fast_engine_gives_what_the_reference_engine_gives(name):
    file, overrides, seed = RUNS[name]
    cfg = sim.load(CONFIGS / file, overrides)
    fast, reference = (simulate(cfg, seed, 0, engine) for engine in ("fast", "reference"))
    assert len(fast.visits) > 300 and len(fast.posts) > 300  # each run is busy enough
    if name.startswith("phased"):
        assert sum(p.graduates_used for p in fast.phases) > 0
    if name.startswith("county"):
        assert max(m.groups for m in fast.months) >= 2
        assert sum(m.stockout_days for m in fast.months) > 500
    if name.startswith("courses"):
        assert {"course_venue", "interventions"} <= set(fast.ledger.category)
    if name.endswith("pilot"):  # Lari's facilities lack some amenities, each its own
        assert 1 < len(set(fast.amenities)) and len(fast.amenities) == 40
    assert_equivalent(fast, reference)


def assert_equivalent(fast: Record, reference: Record) -> None:
    """The records agree; if not, the message says where, and which fast paths rely on a
    property the rules no longer have (:mod:`sim.engines.fast.contract`)."""
    found = differences(fast, reference)
    assert not found, "\n".join(["the engines disagree:", *found[:10],
                                 *(contract.broken() or ["every fast path's reliance holds"])])


def test_the_fast_engine_relies_only_on_what_the_rules_do():
    assert contract.broken() == []


def test_a_changed_rule_runs_on_the_reference_engine_and_names_the_fast_path(monkeypatch):
    # a modeller tries linear decay: each day unprotected takes a fixed amount off the gains
    def linear(c, floor, rate_per_day, exposure_days):
        return floor + np.maximum(c - floor - 4 * rate_per_day * exposure_days, 0.0)

    cfg = sim.load(CONFIGS / "pilot.yaml")
    fast = simulate(cfg, 7, 0, "fast")
    monkeypatch.setattr(competency, "decay", linear)
    reference = simulate(cfg, 7, 0, "reference")  # the changed model runs
    assert sorted(fast.visits) == sorted(reference.visits)  # decay moves no event
    with pytest.raises(AssertionError) as failed:
        assert_equivalent(fast, reference)
    message = str(failed.value)
    assert "sim.rules.competency.decay is no longer exponential" in message
    assert "sim/engines/fast/nurses.py:Nurses" in message


@pytest.mark.parametrize("file", ["pilot.yaml", "scaleup_machakos_county.yaml"])
def test_mentorsim_run_on_the_reference_engine_writes_the_same_mentees(tmp_path, file):
    for engine in ("fast", "reference"):
        assert main(["run", str(CONFIGS / file), "--out", str(tmp_path / engine), "--reps", "2",
                     "--jobs", "1", "--engine", engine]) == 0
    fast, reference = (pd.read_parquet(tmp_path / e / "mentees.parquet")
                       for e in ("fast", "reference"))
    floats = [c for c in fast.columns if fast[c].dtype.kind == "f"]
    pd.testing.assert_frame_equal(fast.drop(columns=floats), reference.drop(columns=floats))
    np.testing.assert_allclose(fast[floats], reference[floats], rtol=0, atol=TOL)
    summary = json.loads((tmp_path / "reference" / "summary.json").read_text())
    assert summary["engine"] == "reference"
