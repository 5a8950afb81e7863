"""The virtual survey: statistics against references, who is surveyed, answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from sim import survey
from sim.engines import simulate
from sim.config import ConfigError

from conftest import CONFIGS

TARGETS = CONFIGS / "targets" / "lari.yaml"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_matches_the_exact_binomial_reference(b, c):
    expected = 1.0 if b + c == 0 else binomtest(min(b, c), b + c, 0.5).pvalue
    assert survey.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_mcnemar_matches_statsmodels_on_constructed_pairs():
    mcnemar = pytest.importorskip("statsmodels.stats.contingency_tables").mcnemar
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(5, 40))
        before = rng.random(n) < rng.uniform(0.1, 0.9)
        after = np.where(rng.random(n) < 0.7, before, rng.random(n) < rng.uniform(0.2, 1.0))
        answers = pd.DataFrame({
            "replicate": 0, "item": "x", "facility_id": np.tile(np.arange(n), 2),
            "wave": ["baseline"] * n + ["endline"] * n,
            "correct": np.concatenate([before, after]),
        })
        row = survey.study_table(answers).iloc[0]
        table = [[int((before & after).sum()), int((before & ~after).sum())],
                 [int((~before & after).sum()), int((~before & ~after).sum())]]
        assert row["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9)
        assert row["share_baseline"] == pytest.approx(before.mean())
        assert row["gap_risk_ratio"] == pytest.approx(
            (1 - after.mean()) / (1 - before.mean()) if before.mean() < 1 else math.nan,
            nan_ok=True)


def test_study_table_pairs_only_facilities_seen_at_both_waves():
    answers = pd.DataFrame({
        "replicate": 0, "item": "x",
        "facility_id": [1, 2, 3, 1, 2, 4],
        "wave": ["baseline"] * 3 + ["endline"] * 3,
        "correct": [False, False, True, True, True, True],
    })
    row = survey.study_table(answers).iloc[0]
    assert (row["n_baseline"], row["n_endline"], row["pairs"]) == (3, 3, 2)
    assert row["p_value"] == pytest.approx(0.5)  # two discordant pairs, both gains
    assert row["gap_risk_ratio"] == pytest.approx(0.0)


def test_item_response_is_a_logistic_in_competency():
    c = np.array([0.0, 2.0, 4.0])
    p = survey.item_response(c, 2.0, 1.5)
    assert p[1] == pytest.approx(0.5)
    assert p[0] == pytest.approx(1 - p[2])
    assert np.all(np.diff(p) > 0)


def test_who_is_surveyed(make_config):
    cfg = make_config({"subcounties": [make_config().subcounties[0].model_dump()],
                       "mentee.turnover.hazard_per_year": 0.8,
                       "supply.vaccines.order_up_to_days": 20})  # out of stock 40 % of days
    records = [simulate(cfg, 3, r) for r in range(5)]
    resp = survey.respondents(cfg, records)
    states = pd.DataFrame([(r.replicate, s.wave, s.facility, s.mentee is not None,
                            s.in_stock["vaccines"]) for r in records for s in r.states],
                          columns=["replicate", "wave", "facility_id", "enrolled", "session"])
    per = resp.groupby(["replicate", "wave", "item"]).size().unstack("item")
    expect_know = states.groupby(["replicate", "wave"])["enrolled"].sum()
    expect_skill = (states["enrolled"] & states["session"]).groupby(
        [states["replicate"], states["wave"]]).sum()
    assert (per["fridge_tag"] == expect_know).all()  # knowledge: every enrolled nurse
    assert (per["bcg_daily"] == expect_skill).all()  # observed skills: where a session is held
    assert (per["all_vaccines_available"] == expect_know).all()  # supply: every surveyed facility
    assert (expect_skill < expect_know).any()
    vaccines = resp[resp["item"] == "all_vaccines_available"]["level"]
    assert set(vaccines.unique()) <= {0.0, 1.0}


def test_answers_follow_the_probabilities_and_the_seed(make_config):
    cfg = make_config()
    records = [simulate(cfg, 1, r) for r in range(20)]
    resp = survey.respondents(cfg, records)
    a1, a2 = survey.answer(resp, 5), survey.answer(resp, 5)
    assert a1.equals(a2)
    p = survey.probabilities(resp)
    n = len(p)
    assert abs(a1["correct"].mean() - p.mean()) < 4 * math.sqrt((p * (1 - p)).sum()) / n


def test_targets_file_errors_are_one_line(tmp_path):
    t = survey.load_targets(TARGETS)
    assert t.n("skills", "endline") == 17 and len(t.shares()) == 29
    bad = tmp_path / "t.yaml"
    bad.write_text(TARGETS.read_text().replace("fridge_tag: [0.45, 0.58]", "fridge_tag: [0.45, 1.58]"))
    with pytest.raises(ConfigError, match=r"knowledge.fridge_tag: shares must be within"):
        survey.load_targets(bad)
    bad.write_text(TARGETS.read_text().replace('"9-12"', '"nine"'))
    with pytest.raises(ConfigError, match="cannot read bin 'nine'"):
        survey.load_targets(bad)


def test_visit_bins():
    assert survey.visit_bin("9-12") == (9, 12)
    assert survey.visit_bin(">12") == (13, math.inf)
    assert survey.visit_bin("<9") == (0, 8)
    m = pd.DataFrame({"replicate": [0, 0, 0, 1], "exit_reason": [None, None, "turnover", None],
                      "visits": [10, 13, 2, 12]})
    out = survey.visits_received(m, ["9-12", ">12"])
    assert out.loc[0].tolist() == [0.5, 0.5] and out.loc[1].tolist() == [1.0, 0.0]


def test_targets_take_the_bins_studies_report_and_partial_tables(tmp_path):
    """A county's own data: `<=4` bins, no skills, one wave, monitoring without a survey."""
    path = tmp_path / "county.yaml"
    path.write_text(
        "subcounty: Lari\n"
        "sample_sizes: {knowledge: [18, null], visits_received: 18}\n"
        "visits_received: {'<=4': 0.1, '5-8': 0.2, '9-12': 0.6, '>12': 0.1}\n"
        "knowledge: {fridge_tag: [0.4, null]}\n"
        "dropouts: {left_by_turnover: 2}\n"
        "checklist: {n: 18, sd: 0.5, by_month: {0: 1.6, 3: 2.3}}\n")
    t = survey.load_targets(path)
    assert t.waves() == {"baseline"} and t.n("knowledge", "endline") is None
    assert [survey.visit_bin(b) for b in t.visits_received] == [
        (0, 4), (5, 8), (9, 12), (13, math.inf)]
    assert survey.visit_bin(">=13") == (13, math.inf)
    monitoring = tmp_path / "monitoring.yaml"
    monitoring.write_text("subcounty: Lari\ncheckl: {}\n")
    with pytest.raises(ConfigError, match=r"checkl: unknown key .*did you mean checklist"):
        survey.load_targets(monitoring)
    for text, message in (
        ("sample_sizes: {visits_received: 9}\nvisits_received: {'<=4': 0.5, '4-8': 0.5}",
         "visits_received: the bins overlap"),
        ("visits_received: {'9-12': 1.0}", "sample_sizes.visits_received: needs"),
        ("knowledge: {fridge_tag: [0.4, 0.5]}\nsample_sizes: {knowledge: [20, null]}",
         "sample_sizes.knowledge: needs the endline respondents"),
        ("sample_sizes: {visits_received: 9}\nvisits_received: {'nine': 1.0}",
         "cannot read bin 'nine'"),
        ("dropouts: {}", "no targets"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text("subcounty: Lari\n" + text + "\n")
        with pytest.raises(ConfigError, match=message):
            survey.load_targets(bad)
