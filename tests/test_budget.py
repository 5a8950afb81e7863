"""Budget impact and workforce by government fiscal year."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim

from conftest import CONFIGS


def test_fiscal_years_cover_the_programme_whole(make_config):
    cfg = make_config()  # April 2018 to March 2019; Kenya's fiscal year starts in July
    years = cfg.fiscal_years()
    assert [y.label for y in years] == ["2017/18", "2018/19"]
    assert years[0].start == (dt.date(2017, 7, 1) - cfg.start_date).days
    assert years[0].end == years[1].start == (dt.date(2018, 7, 1) - cfg.start_date).days
    assert years[1].end >= cfg.horizon_days
    calendar = make_config({"costs.fiscal_year_start_month": 1, "months": 24}).fiscal_years()
    assert [y.label for y in calendar] == ["2018", "2019", "2020"]
    aligned = make_config({"costs.fiscal_year_start_month": 4, "months": 24}).fiscal_years()
    assert [y.start for y in aligned] == [0.0, 365.0]


@pytest.fixture(scope="module")
def county():
    cfg = sim.load(CONFIGS / "scaleup_machakos_county.yaml")
    return cfg, sim.run(cfg, reps=2, seed=0)


def test_budget_by_fiscal_year_adds_up_to_the_ledger(county):
    cfg, res = county
    b = res.budget
    assert len(b) == 2 * len(cfg.fiscal_years())
    by_rep = b.groupby("replicate")["cost_total"].sum()
    assert np.allclose(by_rep, res.costs.groupby("replicate")["ksh"].sum())
    by_category = b.filter(like="cost_").drop(columns="cost_total").sum(axis=1)
    assert np.allclose(by_category, b["cost_total"])
    assert (b["annual_budget_ksh"] == cfg.scaleup.annual_budget_ksh).all()
    assert b["programme_months"].groupby(b["replicate"]).sum().eq(cfg.months).all()
    # the cap held the last phase back so that no fiscal year's spending passes it
    assert (b["share_of_budget"] <= 1).all() and b["share_of_budget"].max() > 0.5


def test_workforce_accounts_for_every_mentor(county):
    cfg, res = county
    w, mentors, phases = res.workforce, res.mentors, res.phases
    for rep in range(2):
        mine, wf = mentors[mentors["replicate"] == rep], w[w["replicate"] == rep]
        assert wf["mentors_recruited"].sum() == (mine["origin"] == "recruit").sum()
        assert wf["graduates_promoted"].sum() == (mine["origin"] == "graduate").sum() == \
            phases.loc[phases["replicate"] == rep, "graduates_used"].sum()
        assert wf["mentors_left"].sum() == (mine["exit_reason"] == "attrition").sum()
        assert wf["mentor_years"].sum() * 365.25 == pytest.approx(
            (mine["end_day"] - mine["start_day"]).sum())
        assert wf["mentors_in_post"].iloc[-1] == mine["exit_reason"].isna().sum()


def test_release_days_used_stay_within_those_available(make_config):
    # a capacity limit: a mentor visits on her release days only, at most one day a week here
    cfg = make_config({"months": 24, "mentor.absence_probability": 0.0})
    res = sim.run(cfg, reps=2, seed=5)
    w = res.workforce
    assert (w["release_days_used"] <= w["release_days_available"] * 1.03).all()
    # and the expected release days are the weekdays actually released: one a week each
    weeks = res.mentors.assign(d=res.mentors["end_day"] - res.mentors["start_day"])["d"].sum() / 7
    assert w["release_days_available"].sum() == pytest.approx(weeks, rel=1e-9)
    # more nurses per mentor: more hours needed from the same release days
    busy = sim.run(make_config({"months": 24, "mentor.absence_probability": 0.0,
                                "mentor.mentees_per_mentor": 8}), reps=2, seed=5).workforce
    assert busy["workload_pressure"].mean() > 1.6 * w["workload_pressure"].mean()
