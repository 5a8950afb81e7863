"""Deterministic cost check: fixed visits, no attrition, costs computed by hand."""

from __future__ import annotations

import pytest

import sim
from sim.costs import Ledger


def test_ledger_skips_zero_amounts_and_totals():
    led = Ledger()
    led.post(0.0, "transport", "mentor:0", 0, 1000.0)
    led.post(0.0, "lunch", "mentor:0", 0, 0.0)
    led.post(3.0, "lunch", "mentor:0", 0, 500.0)
    assert led.category == ["transport", "lunch"]
    assert sum(led.ksh) == 1500.0
    led.post_each(30.0, "mentee_airtime", ["mentee:1", "mentee:2"], 1, 200.0)
    led.post_each(30.0, "mentor_airtime", ["mentor:0"], 0, 0.0)
    assert led.who[2:] == ["mentee:1", "mentee:2"] and list(led.subcounty[2:]) == [1, 1]
    assert sum(led.ksh) == 1900.0 and len(led.day) == 4


def test_total_cost_by_hand_to_the_shilling(quiet_config):
    # One mentor with four public facilities for three calendar months from Monday
    # 2 April 2018 (91 days). Visits are due every 28 days from day 0; the mentor's one
    # release weekday is the nearest to each due date, so each mentee gets exactly four
    # visits (days 0-4, 28-32, 56-60, 84-88, or three days earlier when she is released on
    # a Friday). The WhatsApp group opens in month 2.
    cfg = quiet_config({
        "start_date": "2018-04-02",
        "months": 3,
        "subcounties.Test.facilities": {"public": 4, "faith_based": 0, "private": 0},
        "mentor.mentees_per_mentor": 4,
        "mentor.release_days_per_week": 1,
        "mentor.max_visits_per_day": 4,
        "mentor.workday_hours": 24,
        "mentor.target_interval_days": 28,
        "mentor.min_days_between_visits": 14,
        "whatsapp.start_month": 2,
        "costs": {
            "ksh_per_usd": 100,
            "transport_per_visit": 1000,
            "lunch_per_visit": 500,
            "mentor_airtime_per_month": 500,
            "mentee_airtime_per_month": 300,
            "orientation_per_mentor": 6000,
            "coordination_per_subcounty_month": 5000,
        },
    })
    visits = 4 * 4
    by_hand = {
        "transport": visits * 1000,  # 16,000
        "lunch": visits * 500,  # 8,000
        "mentor_airtime": 3 * 1 * 500,  # 3 months x 1 mentor: 1,500
        "mentee_airtime": 2 * 4 * 300,  # months 2-3 x 4 mentees in the group: 2,400
        "orientation": 1 * 6000,  # one mentor: 6,000
        "coordination": 3 * 5000,  # 3 months x 1 subcounty: 15,000
    }
    for seed in (0, 1, 2, 3):  # the release weekday is random; the cost is not
        res = sim.run(cfg, reps=2, seed=seed)
        assert (res.mentees["visits"] == 4).all()
        got = res.costs.groupby(["replicate", "category"])["ksh"].sum().unstack()
        for category, ksh in by_hand.items():
            assert (got[category] == ksh).all(), category
        assert (got.sum(axis=1) == 48_900).all()
        overall = res.summary["overall"]
        assert overall["total_cost_ksh"]["mean"] == 48_900
        assert overall["total_cost_usd"]["mean"] == 489
        assert overall["cost_per_mentee_ksh"]["mean"] == 48_900 / 4
        assert res.timeseries.groupby("replicate")["cost_total"].sum().eq(48_900).all()


def test_discounted_cost_and_effects_by_hand(quiet_config):
    from sim import cea, metrics

    cfg = quiet_config({"start_date": "2018-04-02", "months": 3,
                        "subcounties.Test.facilities": {"public": 4, "faith_based": 0, "private": 0},
                        "mentor.mentees_per_mentor": 4, "mentor.max_visits_per_day": 4,
                        "mentor.workday_hours": 24, "mentor.target_interval_days": 28})
    res = sim.run(cfg, reps=1, seed=0)
    econ = metrics.economics(res.costs, res.timeseries, 0.05).iloc[0]
    by_hand = sum(k * (1.05 ** (-d / 365.25)) for k, d in zip(res.costs["ksh"], res.costs["day"],
                                                               strict=True))
    assert econ["cost_discounted_ksh"] == pytest.approx(by_hand)
    assert metrics.economics(res.costs, res.timeseries, 0.0).iloc[0]["cost_discounted_ksh"] == \
        pytest.approx(res.costs["ksh"].sum())
    ts = res.timeseries.set_index("month")
    # months of 30, 31 and 30 days (April-June 2018), each reading discounted from its middle
    lengths, mids = [30, 31, 30], [15, 45.5, 76]
    points = sum((ts.loc[m, "mean_score"] - ts.loc[0, "mean_score"]) * ts.loc[m, "active_mentees"]
                 * n / 365.25 * cea.discount_factor(mid, 0.05)
                 for m, n, mid in zip((1, 2, 3), lengths, mids, strict=True))
    assert econ["competency_point_years"] == pytest.approx(points)
    assert econ["competency_point_years"] > 0
    assert econ["proficient_nurses_at_end"] == pytest.approx(
        ts.loc[3, "proficient_mentees"] * cea.discount_factor(91, 0.05))
