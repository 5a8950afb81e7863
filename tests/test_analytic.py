"""Analytic checks: each mechanism on its own against what theory says.

Tolerances come from the number of independent units simulated (binomial or
between-replicate standard errors); seeds are fixed so the tests never flake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.engines import simulate
from sim.rules.supply import expected_stockout_share

N_FAC = 40  # facilities in the QUIET programme


def test_turnover_alone_gives_exponential_survival(quiet_config):
    lam, reps = 0.6, 10
    cfg = quiet_config({"mentee.turnover.hazard_per_year": lam, "months": 24})
    res = sim.run(cfg, reps=reps, seed=11)
    first = res.mentees[res.mentees["mentee_id"] < N_FAC]  # the nurses in post on day 0
    assert len(first) == N_FAC * reps  # one spell each: nothing but turnover ends it
    n = len(first)
    for t in (60.0, 180.0, 365.0, 500.0, 700.0):
        p = math.exp(-lam * t / 365.0)
        observed = (first["end_day"] > t).mean()
        se = math.sqrt(p * (1 - p) / n)
        assert abs(observed - p) < 4 * se, (t, observed, p)
    # every exit is a turnover, and posts are refilled: later spells start after a vacancy
    assert set(first["exit_reason"].dropna()) == {"turnover"}
    later = res.mentees[res.mentees["mentee_id"] >= N_FAC]
    assert len(later) > 0 and (later["start_day"] > 0).all()


def test_furlough_hazard_by_ownership(quiet_config):
    h, reps = 0.8, 10
    cfg = quiet_config({
        "subcounties.Test.facilities": {"public": 20, "faith_based": 10, "private": 10},
        "subcounties.Test.furlough_hazard_per_year": {"public": 0.0, "faith_based": h, "private": h},
        "months": 12,
    })
    res = sim.run(cfg, reps=reps, seed=5)
    m = res.mentees
    horizon = cfg.horizon_days
    furloughed = m[m["exit_reason"] == "furlough"]
    assert set(furloughed["facility_id"]) <= set(range(20, 40))  # never a public facility
    p = 1 - math.exp(-h * horizon / 365.0)
    n = 20 * reps
    share = len(furloughed) / n
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_ample_capacity_gives_one_visit_per_interval(quiet_config):
    interval = 30.0
    cfg = quiet_config({
        "mentor.target_interval_days": interval,
        "mentor.max_visits_per_day": 10,
        "mentor.workday_hours": 60,
    })
    horizon = cfg.horizon_days
    for rep in range(3):
        rec = simulate(cfg, seed=3, replicate=rep)
        days = {}
        for day, mentee in zip(rec.visits.column("day"), rec.visits.column("mentee"), strict=True):
            days.setdefault(mentee, []).append(day)
        assert len(days) == N_FAC
        k = math.floor(horizon / interval)
        for mentee, d in days.items():
            assert len(d) in (k, k + 1), (mentee, d)
            gaps = np.diff(d)
            # on the release day nearest each due date: within half a week either way
            assert np.all(np.abs(gaps - interval) <= 7), (mentee, gaps)
            assert abs((d[-1] - d[0]) / (len(d) - 1) - interval) <= 7 / (len(d) - 1)


@pytest.mark.parametrize("absence", [0.0, 0.25])
def test_binding_capacity_gives_release_days_times_visits_per_day(quiet_config, absence):
    caseload, per_day, reps = 20, 2, 4
    cfg = quiet_config({
        "months": 24,
        "mentor.mentees_per_mentor": caseload,
        "mentor.release_days_per_week": 1,
        "mentor.max_visits_per_day": per_day,
        "mentor.workday_hours": 12,  # room for exactly two rural visits
        "mentor.absence_probability": absence,
    })
    res = sim.run(cfg, reps=reps, seed=21)
    years = cfg.horizon_days / 365.25
    observed = res.mentees["visits"].mean() / years
    weeks = 365.25 / 7
    expected = 1 * per_day * weeks * (1 - absence) / caseload
    # Release days present ~ Binomial(weeks, 1 - absence) per mentor-year; plus one release
    # day of calendar alignment per mentor.
    mentor_years = reps * (N_FAC / caseload) * years
    se = per_day * math.sqrt(weeks * absence * (1 - absence) / mentor_years) / caseload
    align = per_day / (caseload * years)
    assert abs(observed - expected) < 4 * se + align, (observed, expected)
    assert expected < 365.25 / cfg.mentor.target_interval_days  # it really binds


def test_travel_time_limits_visits_per_day(quiet_config):
    changes = {"months": 24, "mentor.mentees_per_mentor": 20, "mentor.workday_hours": 8,
               "mentor.visit_hours": 3, "mentor.travel_hours": {"rural": 1.5, "urban": 1.0}}
    rural = sim.run(quiet_config(changes), reps=2, seed=2).mentees["visits"].mean()
    urban_cfg = quiet_config({**changes, "subcounties.Test.setting": "urban"})
    urban = sim.run(urban_cfg, reps=2, seed=2).mentees["visits"].mean()
    # 8 h fit one rural visit (4.5 h) but two urban ones (4 h each)
    assert urban == pytest.approx(2 * rural, rel=0.03)


@pytest.mark.parametrize(
    "supply",
    [
        # no shortfall, stock outlasts the review period: lead times alone cause stock-outs
        {"review_period_days": 30, "lead_time_mean_days": 10, "order_up_to_days": 35,
         "shortfall_probability": 0.0, "shortfall_fill_fraction": 1.0},
        # short deliveries, stock never carried over between cycles
        {"review_period_days": 30, "lead_time_mean_days": 4, "order_up_to_days": 28,
         "shortfall_probability": 0.3, "shortfall_fill_fraction": 0.5},
    ],
)
def test_stockout_share_matches_renewal_reward(quiet_config, supply):
    reps = 10
    cfg = quiet_config({"months": 120, **{f"supply.vaccines.{k}": v for k, v in supply.items()}})
    res = sim.run(cfg, reps=reps, seed=8)
    per_rep = res.timeseries.groupby("replicate")["stockout_facility_days"].sum() / (
        N_FAC * cfg.horizon_days
    )
    expected = expected_stockout_share(cfg.supply["vaccines"])
    se = per_rep.std(ddof=1) / math.sqrt(reps)
    # 4.8 is Student's t quantile at 0.9995 with 9 degrees of freedom
    assert abs(per_rep.mean() - expected) < 4.8 * se, (per_rep.mean(), expected, se)
    assert 0.02 < expected < 0.6  # the settings do produce stock-outs to measure
