"""The classroom comparator: hand-computed costs, lost sessions, gain and decay."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.engines.fast.model import Model

COURSE = {
    "classroom.enabled": True,
    "classroom.start_month": 1,
    "classroom.course_days": 5,
    "classroom.cohort_size": 3,
    "classroom.per_diem_per_day": 4000,
    "classroom.travel_per_trainee": 2000,
    "classroom.venue_per_day": 30000,
    "classroom.facilitators": 2,
    "classroom.facilitator_fee_per_day": 6000,
    "classroom.lost_session_cost": 2500,
}
SMALL = {
    "start_date": "2018-04-02",
    "months": 3,
    "subcounties.Test.facilities": {"public": 3, "faith_based": 2, "private": 0},
    "facilities.session_days_per_week": {"public": 5, "faith_based": 3, "private": 2},
    "facilities.immunizing_nurses": {"public": 1, "faith_based": 2, "private": 1},
    "whatsapp.enabled": False,
    "costs.coordination_per_subcounty_month": 5000,
}


def test_classroom_costs_by_hand(quiet_config):
    cfg = quiet_config({**SMALL, **COURSE, "mentor.enabled": False})
    # 5 nurses in 2 cohorts (3 + 2), each 5 days:
    by_hand = {
        "course_per_diem": 5 * 4000 * 5,  # 100,000
        "course_travel": 5 * 2000,  # 10,000
        "course_venue": 2 * 5 * 30000,  # 300,000: two cohorts
        "course_facilitators": 2 * 2 * 6000 * 5,  # 120,000
        # only the 3 public facilities have a single immunizing nurse; each holds 5 sessions a
        # week, so a 5-day course closes 5 sessions: 3 x 5 x 2,500
        "lost_sessions": 3 * 5 * 2500,  # 37,500
        "coordination": 3 * 5000,  # 15,000
    }
    res = sim.run(cfg, reps=2, seed=1)
    got = res.costs.groupby(["replicate", "category"])["ksh"].sum().unstack()
    assert set(got.columns) == set(by_hand)
    for category, ksh in by_hand.items():
        assert (got[category] == ksh).all(), category
    assert (got.sum(axis=1) == 582_500).all()
    assert (res.mentees["visits"] == 0).all()
    assert res.mentors.empty


def test_mentoring_costs_by_hand_on_the_same_facilities(quiet_config):
    cfg = quiet_config({**SMALL, "mentor.mentees_per_mentor": 5, "mentor.max_visits_per_day": 5,
                        "mentor.workday_hours": 40, "mentor.target_interval_days": 28,
                        "costs.orientation_per_mentor": 6000})
    res = sim.run(cfg, reps=2, seed=1)
    # one mentor, five mentees visited on days 0-4, 28-32, 56-60 and 84-88: 20 visits
    assert (res.mentees["visits"] == 4).all()
    by_hand = 20 * (1000 + 500) + 3 * 500 + 6000 + 3 * 5000  # 52,500
    assert (res.costs.groupby("replicate")["ksh"].sum() == by_hand).all()


def test_course_gain_is_immediate_then_decays_without_follow_up(quiet_config):
    cfg = quiet_config({**COURSE, "mentor.enabled": False, "whatsapp.enabled": False,
                        "months": 12, "classroom.cohort_size": 40})
    model = Model(cfg, seed=3)
    rec = model.run()
    base = np.array([s.competency for s in rec.states if s.wave == "baseline"])
    end = np.array([s.competency for s in rec.states if s.wave == "endline"])
    gain = np.array([cfg.classroom.gain[a] for a in sim.config.AREAS])
    after = np.minimum(base + gain, 4.0)
    # at the end gains have decayed from just after the course, but not below the baseline
    assert (end <= after + 1e-12).all() and (end >= base - 1e-12).all()
    assert (end < after - 1e-3).any()
    ts = sim.run(cfg, reps=1, seed=3).timeseries.groupby("month")["mean_score"].mean()
    assert ts.loc[1] > ts.loc[0] + 0.5  # the course lands in month 1
    assert ts.iloc[-1] < ts.loc[1]  # and fades with no follow-up


def test_two_nurse_facilities_lose_no_sessions(quiet_config):
    cfg = quiet_config({**SMALL, **COURSE, "mentor.enabled": False,
                        "facilities.immunizing_nurses": {"public": 2, "faith_based": 2,
                                                         "private": 2}})
    res = sim.run(cfg, reps=1, seed=1)
    assert "lost_sessions" not in set(res.costs["category"])


@pytest.mark.parametrize("month", [1, 13])
def test_course_outside_the_horizon_never_runs(quiet_config, month):
    cfg = quiet_config({**COURSE, "mentor.enabled": False, "classroom.start_month": month})
    costs = sim.run(cfg, reps=1, seed=1).costs
    assert ("course_venue" in set(costs["category"])) == (month == 1)
