"""Nurse turnover and replacement: who is a replacement, the turnover table, and the visits
the nurses at the horizon received, against theory and the record's own counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim import metrics
from sim.engines import simulate
from sim.report import TOP_SUBCOUNTIES, _turnover_shown

from conftest import CONFIGS, build

#: turnover, furloughs that come back, over two years: every kind of spell
CHURN = {"months": 24, "mentee.turnover.hazard_per_year": 0.5,
         "facilities.furlough_return_days_mean": 60}


def _tables(cfg, reps: int, seed: int):
    records = [simulate(cfg, seed, r) for r in range(reps)]
    spells = metrics.mentees(cfg, records)
    ledger = metrics.costs(cfg, records)
    return (records, spells, metrics.turnover(cfg, records, spells),
            metrics.timeseries(cfg, records, ledger))


@pytest.fixture(scope="module")
def churn(pilot_raw):
    cfg = build(pilot_raw, CHURN)
    return (cfg, *_tables(cfg, reps=6, seed=3))


def test_a_replacement_is_any_nurse_but_her_posts_first(churn):
    cfg, _, spells, _, _ = churn
    # a nurse is one or the other, and joined in one month, on all her spells
    per_nurse = spells.groupby(["replicate", "mentee_id"])
    assert (per_nurse["replacement"].nunique() == 1).all()
    assert (per_nurse["joined_month"].nunique() == 1).all()
    starts = np.asarray(cfg.month_starts())
    joined = per_nurse["start_day"].min()
    month = per_nurse["joined_month"].first()
    assert ((starts[month - 1] <= joined) & (joined < starts[month])).all()
    # each post's first nurse is its only original, and her successors follow her, each
    # joining after the one before her last left the post
    nurses = (per_nurse.agg(facility=("facility_id", "first"), joined=("start_day", "min"),
                            left=("end_day", "max"), replacement=("replacement", "first"))
              .reset_index().sort_values(["replicate", "facility", "joined"]))
    for _, post in nurses.groupby(["replicate", "facility"]):
        assert list(post["replacement"]) == [False] + [True] * (len(post) - 1)
        assert (post["joined"].to_numpy()[1:] >= post["left"].to_numpy()[:-1]).all()
    assert nurses["replacement"].sum() > 30
    # a furloughed nurse who comes back keeps what she was: a post's first nurse, back, is
    # still its original
    back = per_nurse.size()
    back = back[back > 1].index
    assert len(back) > 5
    assert (~nurses.set_index(["replicate", "mentee_id"]).loc[back, "replacement"]).sum() > 5


def test_the_turnover_table_accounts_for_every_nurse_and_post(churn):
    cfg, records, spells, table, ts = churn
    names = [s.name for s in cfg.subcounties]
    assert list(table.columns) == metrics.TURNOVER_COLUMNS
    assert list(table["subcounty"]) == names * 6
    assert list(table["replicate"]) == sorted(list(range(6)) * len(names))
    key = ["replicate", "subcounty"]
    t = table.set_index(key)
    # every post is in from day 0, so each has one original
    assert (t["originals"] == t["posts"]).all()
    nurses = spells.drop_duplicates(["replicate", "mentee_id"])
    ever = nurses.groupby(key).size()
    assert ((t["originals"] + t["replacements"]) == ever).all()
    assert (t["furlough_returns"] == spells.groupby(key).size() - ever).all()
    assert t["furlough_returns"].sum() > 5
    for reason in ("turnover", "furlough", "graduated"):
        left = spells[spells["exit_reason"] == reason].groupby(key).size()
        assert (t[f"left_{reason}"] == left.reindex(t.index, fill_value=0)).all()
    # a post left by turnover is filled again or still vacant at the horizon (no graduates
    # here, so no graduate's post is filled)
    assert (t["graduates_replaced"] == 0).all()
    assert (t["left_turnover"] == t["replacements"] + t["vacancies_at_horizon"]).all()
    assert t["vacancies_at_horizon"].sum() > 0
    # the nurses at the horizon, originals and replacements, are the month-end reading's
    last = ts[ts["month"] == cfg.months].set_index(key)["active_mentees"]
    assert ((t["originals_at_horizon"] + t["replacements_at_horizon"]) == last).all()
    for g in metrics.GROUPS:
        binned = t[[f"{g}_visits_{b}" for b in metrics.VISIT_BINS]].sum(axis=1)
        assert (binned == t[f"{g}_at_horizon"]).all()
    # ... and the endline's facilities: a post is empty there if vacant after a turnover,
    # or furloughed (its last nurse's spell ended so)
    last_spell = spells.sort_values("start_day").drop_duplicates(
        ["replicate", "facility_id"], keep="last")
    for rec in records:
        empty = sum(s.mentee is None for s in rec.states if s.wave == "endline")
        mine = last_spell[last_spell["replicate"] == rec.replicate]
        assert empty == (t.loc[rec.replicate, "vacancies_at_horizon"].sum()
                         + (mine["exit_reason"] == "furlough").sum())


def test_visits_received_count_the_programmes_last_twelve_months(churn, make_config):
    cfg, records, spells, table, _ = churn
    assert (table["visits_window_months"] == 12).all()
    at_end = spells[spells["exit_reason"].isna()]
    since = cfg.month_starts()[cfg.months - 12]
    for rec in records:
        log = pd.DataFrame({"day": np.asarray(rec.visits.column("day")),
                            "mentee": np.asarray(rec.visits.column("mentee"))})
        recent = log[log["day"] >= since].groupby("mentee").size()
        mine = at_end[at_end["replicate"] == rec.replicate]
        for g, flag in zip(metrics.GROUPS, (False, True), strict=True):
            who = mine.loc[mine["replacement"] == flag, "mentee_id"]
            got = recent.reindex(who, fill_value=0)
            row = table[(table["replicate"] == rec.replicate)]
            n = row[f"{g}_at_horizon"].sum()
            assert n == len(who)
            if n:
                total = (row[f"{g}_visits_mean"] * row[f"{g}_at_horizon"]).sum()
                assert total == pytest.approx(got.sum())
    # a programme of a year or less counts its whole length: the spells' own visits
    short = make_config({"mentee.turnover.hazard_per_year": 0.5})
    _, s, t, _ = _tables(short, reps=4, seed=2)
    assert (t["visits_window_months"] == 12).all()
    nurses_at_end = s[s["exit_reason"].isna()]
    for g, flag in zip(metrics.GROUPS, (False, True), strict=True):
        mine = nurses_at_end[nurses_at_end["replacement"] == flag]
        got = t[f"{g}_visits_mean"].fillna(0) * t[f"{g}_at_horizon"]
        assert got.sum() == pytest.approx(mine["visits"].sum())
        edges = [(0, 4), (5, 8), (9, 12), (13, math.inf)]
        for b, (lo, hi) in zip(metrics.VISIT_BINS, edges, strict=True):
            assert t[f"{g}_visits_{b}"].sum() == mine["visits"].between(lo, hi).sum()


def test_no_turnover_no_replacements(make_config):
    # furloughs that come back are no replacements either
    cfg = make_config({"mentee.turnover.hazard_per_year": 0.0,
                       "facilities.furlough_return_days_mean": 30, "months": 24})
    records, spells, t, _ = _tables(cfg, reps=4, seed=1)
    assert not spells["replacement"].any() and (spells["joined_month"] == 1).all()
    for col in ("left_turnover", "replacements", "graduates_replaced", "vacancies_at_horizon",
                "replacements_at_horizon"):
        assert (t[col] == 0).all(), col
    assert t["furlough_returns"].sum() > 0
    assert t["replacements_months_mean"].isna().all() and t["replacements_visits_mean"].isna().all()
    assert (t["originals_at_horizon"] > 0).all()
    summary = metrics.summary(cfg, spells, metrics.costs(cfg, records))
    assert summary["overall"]["replacements"]["mean"] == 0
    assert summary["overall"]["visits_per_replacement_nurse"]["mean"] is None


def test_turnover_and_vacancies_follow_their_hazards(quiet_config):
    """A post alternates between a nurse in it (she leaves at hazard h) and a vacancy (filled
    at rate 1/v): turnover events are Poisson in the enrolled time, and at the horizon t a
    post that started filled is vacant with probability h/(h+1/v) (1 - exp(-(h+1/v) t))."""
    h, v, reps = 0.5 / 365, 60.0, 40
    cfg = quiet_config({"mentee.turnover.hazard_per_year": 0.5,
                        "mentee.turnover.vacancy_days_mean": v})
    _, spells, t, _ = _tables(cfg, reps=reps, seed=4)
    years = (spells["end_day"] - spells["start_day"]).sum() / 365
    left = t["left_turnover"].sum()
    assert abs(left - 0.5 * years) < 3.5 * math.sqrt(0.5 * years)
    p = h / (h + 1 / v) * (1 - math.exp(-(h + 1 / v) * cfg.horizon_days))
    expected, posts = p * 40 * reps, 40 * reps
    sd = math.sqrt(posts * p * (1 - p))
    assert abs(t["vacancies_at_horizon"].sum() - expected) < 3.5 * sd
    assert (t["left_turnover"] == t["replacements"] + t["vacancies_at_horizon"]).all()


def test_replacements_get_fewer_visits_on_a_high_turnover_pilot(make_config):
    cfg = make_config({"mentee.turnover.hazard_per_year": 0.5})
    res = sim.run(cfg, reps=10, seed=0)
    s = metrics.turnover_summary(res.turnover).set_index("subcounty")
    assert list(s.index) == ["Lari", "Machakos", metrics.ALL_SUBCOUNTIES]
    for sub in s.index:
        row = s.loc[sub]
        assert row["replacements"] > 2
        assert row["replacements_visits_mean"] < row["originals_visits_mean"] - 4
        assert row["replacements_months_mean"] < 8 < row["originals_months_mean"]
        assert row["replacements_share_9_12"] < row["originals_share_9_12"] - 0.4
        shares = row[[f"replacements_share_{b}" for b in metrics.VISIT_BINS]]
        assert shares.sum() == pytest.approx(1)
    every = s.loc[metrics.ALL_SUBCOUNTIES]
    assert every["replacements"] == pytest.approx(s.loc[["Lari", "Machakos"], "replacements"].sum())
    overall = res.summary["overall"]
    assert overall["replacements"]["mean"] == pytest.approx(every["replacements"])
    # over the whole programme too, though the originals who left early had few as well
    assert (overall["visits_per_replacement_nurse"]["mean"]
            < 0.7 * overall["visits_per_original_nurse"]["mean"])
    for sub in ("Lari", "Machakos"):
        assert res.summary["by_subcounty"][sub]["replacements"]["mean"] == pytest.approx(
            s.loc[sub, "replacements"])
    # more turnover, more replacements (common random numbers)
    calm = sim.run(make_config({"mentee.turnover.hazard_per_year": 0.1}), reps=10, seed=0)
    assert calm.turnover["replacements"].sum() < res.turnover["replacements"].sum() / 2


def test_a_phased_county_joins_its_originals_when_their_phase_starts():
    cfg = sim.load(CONFIGS / "scaleup_machakos_county.yaml")
    res = sim.run(cfg, reps=2, seed=0)
    m, phases, t = res.mentees, res.phases, res.turnover
    for ph in phases.itertuples():
        subs = ph.subcounties.split(", ")
        originals = m[(m["replicate"] == ph.replicate) & m["subcounty"].isin(subs)
                      & ~m["replacement"]]
        assert set(originals["joined_month"]) == {ph.start_month}
    # graduates mentor from their posts until they leave them; their successors are
    # replacements, so turnover and graduation together fill the posts
    assert t["left_graduated"].sum() > 20 and t["graduates_replaced"].sum() > 0
    assert ((t["left_turnover"] + t["graduates_replaced"])
            == (t["replacements"] + t["vacancies_at_horizon"])).all()
    assert (t["originals"] == t["posts"]).all()  # every phase started within 39 months


def test_the_turnover_table_at_national_size():
    cfg = sim.load(CONFIGS / "kenya_national.yaml", ["months=24"])
    records = [simulate(cfg, 0, 0)]
    spells = metrics.mentees(cfg, records)
    t = metrics.turnover(cfg, records, spells)
    names = [s.name for s in cfg.subcounties]
    assert len(names) == 47 and list(t["subcounty"]) == names and (t["replicate"] == 0).all()
    assert list(t["posts"]) == [s.counts.total for s in cfg.subcounties]
    started = t["originals"] > 0
    assert 5 <= started.sum() < 47  # the first phase is in; later ones start after month 24
    assert (t.loc[started, "originals"] == t.loc[started, "posts"]).all()
    idle = t.loc[~started, ["left_turnover", "replacements", "originals_at_horizon"]]
    assert (idle == 0).all().all()
    assert ((t["left_turnover"] + t["graduates_replaced"])
            == (t["replacements"] + t["vacancies_at_horizon"])).all()
    assert t["replacements"].sum() > 100 and t["left_graduated"].sum() > 100
    assert (t["replacements_visits_mean"].dropna() >= 0).all()
    summary = metrics.turnover_summary(t.assign(scenario="national"))
    assert len(summary) == 48 and summary["subcounty"].iloc[-1] == metrics.ALL_SUBCOUNTIES
    assert summary["posts"].iloc[-1] == sum(s.counts.total for s in cfg.subcounties)
    # the report's page keeps all of them together and the five with the most turnover
    moves, visits = _turnover_shown(summary)
    assert len(moves) == len(visits) == 1 + TOP_SUBCOUNTIES
    assert moves["subcounty"].iloc[0] == metrics.ALL_SUBCOUNTIES
