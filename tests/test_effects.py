"""Effects count every nurse a plan covers, each against her own baseline.

The invariances: the same programme written with or without phases has the same cost and
effect; a subcounty that joins later adds in proportion to its months; every county of a
national rollout that has joined adds a positive effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim import metrics

from conftest import CONFIGS

EFFECTS = metrics.EFFECTS
REPS = 8


def _econ(res, keys=("replicate",)):
    return metrics.economics(res.costs, res.timeseries, 0.03, keys=keys)


def _horizon_points_by_hand(res):
    """Per replicate: the rise of each nurse enrolled at the horizon over her own baseline."""
    m = res.mentees
    open_ = m[m["exit_reason"].isna()]
    return (open_["final_mean_score"] - open_["baseline_mean_score"]).groupby(
        open_["replicate"]).sum()


def test_points_above_baseline_are_each_nurses_rise_over_her_own_baseline(make_config):
    # turnover makes replacement nurses with baselines of their own
    cfg = make_config({"months": 12, "mentee.turnover.hazard_per_year": 1.0})
    res = sim.run(cfg, reps=2, seed=3)
    assert (res.mentees.groupby("replicate")["mentee_id"].nunique() > 45).all()
    ts = res.timeseries
    at_end = ts[ts["month"] == cfg.months].groupby("replicate")["points_above_baseline"].sum()
    assert np.allclose(at_end, _horizon_points_by_hand(res))
    assert (ts.loc[ts["month"] == 0, "points_above_baseline"] == 0).all()
    # against the subcounty's month-0 mean, replacement nurses would be measured wrongly
    assert (ts["newly_proficient"] <= ts["proficient_mentees"]).all()


def test_graduates_mentoring_from_their_posts_still_count(make_config):
    cfg = make_config({
        "months": 24,
        "scaleup": {"graduation": {"threshold": 3, "months": 2},
                    "phases": [{"start_month": 13, "subcounties": ["Machakos"],
                                "mentors": "graduates"}]},
        "subcounties.Machakos.facilities": {"public": 30, "faith_based": 0, "private": 0},
        "mentee.turnover.hazard_per_year": 0.0,
    })
    res = sim.run(cfg, reps=1, seed=1)
    graduated = res.mentees[res.mentees["exit_reason"] == "graduated"]
    assert len(graduated) > 0
    ts = res.timeseries
    at_end = ts[ts["month"] == cfg.months]["points_above_baseline"].sum()
    # graduates keep their posts and skills; enrolled nurses alone would miss them
    assert at_end > _horizon_points_by_hand(res).sum() + 0.5 * len(graduated)


def test_the_pilot_written_as_one_phase_from_month_one_is_the_pilot(make_config):
    plain = sim.run(make_config(), reps=REPS, seed=0)
    phased = sim.run(make_config({"scaleup": {"phases": [
        {"start_month": 1, "subcounties": ["Lari", "Machakos"]}]}}), reps=REPS, seed=0)
    # a phase from month 1 opens before the baseline, so every record is the same
    for table in ("mentees", "mentors", "timeseries", "costs"):
        pd.testing.assert_frame_equal(getattr(plain, table), getattr(phased, table))
    a, b = _econ(plain).mean(), _econ(phased).mean()
    assert b["cost_discounted_ksh"] == pytest.approx(a["cost_discounted_ksh"], rel=1e-12)
    for effect in EFFECTS:
        assert b[effect] == pytest.approx(a[effect], rel=1e-12) and a[effect] > 0, effect
    assert (phased.phases["reason"] == "on time").all()


def test_a_later_phase_adds_in_proportion_to_its_months(make_config):
    def run(changes):
        return _econ(sim.run(make_config({"months": 12, **changes}), reps=REPS, seed=0)).mean()

    lari = dict(make_config().subcounties[0].model_dump())
    alone = run({"subcounties": [lari]})
    late = run({"scaleup": {"phases": [{"start_month": 7, "subcounties": ["Machakos"]}]}})
    both = run({})
    for effect in EFFECTS:
        assert alone[effect] < late[effect] < both[effect], effect
    # Machakos in for 6 of 12 months adds less than half of its full-year points (gains build)
    added_late = late["competency_point_years"] - alone["competency_point_years"]
    added_full = both["competency_point_years"] - alone["competency_point_years"]
    assert 0.05 * added_full < added_late < 0.5 * added_full


@pytest.fixture(scope="module")
def national_two_years():
    cfg = sim.load(CONFIGS / "kenya_national.yaml", ["months=24"])
    return cfg, sim.run(cfg, reps=1, seed=0)


def test_every_county_that_has_joined_adds_a_positive_effect(national_two_years):
    cfg, res = national_two_years
    ts = res.timeseries
    joined = set(ts.loc[ts["active_mentees"] > 0, "subcounty"])
    assert 15 <= len(joined) < len(cfg.subcounties)  # five from the start, ten in year two
    econ = _econ(res, keys=("replicate", "subcounty")).set_index("subcounty")
    for name in joined:
        assert econ.loc[name, "competency_point_years"] > 0, name
        assert econ.loc[name, "proficient_nurse_months"] > 0, name
    for name in set(econ.index) - joined:
        assert (econ.loc[name, list(EFFECTS)] == 0).all(), name
    total = _econ(res).iloc[0]
    assert total["competency_point_years"] == pytest.approx(econ["competency_point_years"].sum())
