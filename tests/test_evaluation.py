"""Validation against the Lari arm, the simulated study tables, and survey power."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import sim
from sim import evaluation, survey
from sim.cli import main

from conftest import CONFIGS

TARGETS_FILE = CONFIGS / "targets" / "lari.yaml"
TARGETS = survey.load_targets(TARGETS_FILE)


@pytest.fixture(scope="module")
def lari_validation():
    return evaluation.validate(sim.load(CONFIGS / "pilot_lari.yaml"), TARGETS, reps=200, seed=0)


def test_calibrated_lari_reproduces_at_least_90_percent_of_targets(lari_validation):
    v = lari_validation
    assert len(v) == 2 * 29 + 2 + 2  # items x waves, visit bins, drop-outs
    assert v["inside"].mean() >= 0.90, v[~v["inside"]][["target", "wave", "observed",
                                                         "simulated_p5", "simulated_p95"]]


def test_validation_intervals_are_ordered(lari_validation):
    v = lari_validation
    assert (v["simulated_p5"] <= v["simulated_mean"] + 1e-12).all()
    assert (v["simulated_mean"] <= v["simulated_p95"] + 1e-12).all()


def test_the_both_arm_config_is_validated_on_its_lari_half(lari_validation):
    both = evaluation.validate(sim.load(CONFIGS / "pilot.yaml"), TARGETS, reps=200, seed=0)
    pd.testing.assert_frame_equal(both, lari_validation)


def test_report_validation_cli(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["report-validation", str(CONFIGS / "pilot_lari.yaml"), "--targets",
                 str(TARGETS_FILE), "--out", str(out), "--reps", "30"]) == 0
    printed = capsys.readouterr().out
    assert "inside the simulated 90 % prediction interval" in printed
    assert {p.name for p in out.iterdir()} == {"validation.csv", "study_table.csv", "validation.png"}
    study = pd.read_csv(out / "study_table.csv")
    assert {"item", "share_baseline_mean", "p_value_p95", "gap_risk_ratio_mean",
            "share_significant"} <= set(study.columns)
    assert len(study) == 29


def test_target_keys_name_every_validated_row(lari_validation):
    assert evaluation.target_keys(TARGETS) == set(zip(lari_validation["target"],
                                                      lari_validation["wave"], strict=True))
    partial = survey.Targets.model_validate({
        "subcounty": "Lari", "sample_sizes": {"knowledge": [20, None], "visits_received": 19},
        "knowledge": {"fridge_tag": [0.45, None]}, "visits_received": {"<=4": 0.1, "5-8": 0.2},
        "dropouts": {"left_by_turnover": 2},
        "checklist": {"n": 18, "sd": 0.5, "by_month": {0: 1.6, 6: 2.9}}})
    table = evaluation.validate(sim.load(CONFIGS / "pilot_lari.yaml"), partial, reps=3)
    assert evaluation.target_keys(partial) == set(zip(table["target"], table["wave"],
                                                      strict=True))
    assert len(evaluation.target_keys(partial)) == len(table) == 6


def test_report_validation_counts_held_out_targets_apart(tmp_path, capsys):
    doc = yaml.safe_load(TARGETS_FILE.read_text())
    for kind, item in (("knowledge", "fridge_tag"), ("skills", "bcg_daily")):
        doc[kind][item][1] = None
    fitted = tmp_path / "fitted.yaml"
    fitted.write_text(yaml.safe_dump(doc))
    out = tmp_path / "val"
    assert main(["report-validation", str(CONFIGS / "pilot_lari.yaml"), "--targets",
                 str(TARGETS_FILE), "--fitted-to", str(fitted), "--out", str(out),
                 "--reps", "30"]) == 0
    table = pd.read_csv(out / "validation.csv")
    held = table[table["held_out"]]
    assert set(zip(held["target"], held["wave"], strict=True)) == {
        ("fridge_tag", "endline"), ("bcg_daily", "endline")}
    k = int(held["inside"].sum())
    assert f"held out: {k} of 2 ({k / 2:.0%}), fitted: " in capsys.readouterr().out


def test_scale_to_keeps_the_mix_and_the_total():
    cfg = sim.load(CONFIGS / "pilot.yaml")
    for n in (7, 20, 40, 80, 133):
        scaled = evaluation.scale_to(cfg, n)
        assert sum(s.facilities.total for s in scaled.subcounties) == n
    big = evaluation.scale_to(cfg, 80)
    assert [s.facilities.public for s in big.subcounties] == [24, 30]


def test_power_grows_with_survey_size_for_a_real_gain(tmp_path, capsys):
    cfg = sim.load(CONFIGS / "pilot_lari.yaml")
    table = evaluation.power(cfg, [10, 60], reps=40, seed=1).set_index("item")
    strong = table.loc["dropout_rate_calculation"]  # 5 % -> 74 % in Lari
    assert strong["n=60"] > strong["n=10"]
    assert strong["n=60"] > 0.9
    assert table.loc["correct_diluent", "n=60"] < 0.2  # at the ceiling from the start
    assert main(["power", str(CONFIGS / "pilot_lari.yaml"), "--n", "10,20", "--reps", "5",
                 "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "power.csv").exists()
    assert main(["power", str(CONFIGS / "pilot_lari.yaml"), "--n", "ten", "--out",
                 str(tmp_path / "q")]) == 2
    assert "--n: expected whole numbers" in capsys.readouterr().err
