"""Calibration: the objective, the mode, the posterior (recovery, resumption, reproducibility),
what the targets inform, and the files it writes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim import calibrate, evaluation, survey
from sim.cli import main
from sim.config import BASELINE_LEVEL, ConfigError

from conftest import CONFIGS

TARGETS_FILE = CONFIGS / "targets" / "lari.yaml"
TARGETS = survey.load_targets(TARGETS_FILE)


@pytest.fixture(scope="module")
def lari():
    return sim.load(CONFIGS / "pilot_lari.yaml")


@pytest.fixture(scope="module")
def off_lari():
    """The Lari arm with its fitted values pushed well away from the optimum."""
    return sim.load(CONFIGS / "pilot_lari.yaml", ["mentee.learning.rate=0.08",
                                                   "mentee.decay.rate_per_year=3.0",
                                                   "survey.discrimination=0.6"])


def test_parameter_transforms_round_trip():
    for p in calibrate.PARAMETERS:
        for x in (p.lo, (p.lo + p.hi) / 2, p.hi):
            assert p.from_unit(p.to_unit(x)) == pytest.approx(x)
            assert p.from_z(p.to_z(x)) == pytest.approx(x)
        assert p.from_unit(-1) == pytest.approx(p.lo) and p.from_unit(2) == pytest.approx(p.hi)


def test_with_values_shifts_the_baseline_and_sets_values(off_lari):
    cfg = off_lari.with_values({BASELINE_LEVEL: 2.0, "mentee.learning.rate": 0.5,
                                "survey.items.bcg_daily.difficulty": 1.25})
    assert cfg.value(BASELINE_LEVEL) == pytest.approx(2.0, abs=1e-9)
    assert cfg.mentee.learning.rate == 0.5
    assert cfg.survey.items["bcg_daily"].difficulty == 1.25
    diffs = {a: cfg.mentee.baseline.mean[a] - off_lari.mentee.baseline.mean[a]
             for a in cfg.mentee.baseline.mean}
    assert max(diffs.values()) - min(diffs.values()) < 1e-9  # one shift for every area


def test_objective_is_minus_a_log_posterior(off_lari):
    obj = calibrate.Objective(off_lari, TARGETS, reps=4, seed=1)
    values = {p.name: p.get(off_lari) for p in calibrate.PARAMETERS}
    ev = obj(values)
    assert ev.objective == pytest.approx(sum(ev.parts.values()))
    assert set(ev.parts) == set(TARGETS.shares()) | {
        "visits_received", "enrolled_at_endline", "facilities_dropped", "priors"}
    assert all(v >= 0 for v in ev.parts.values())
    assert obj(values).objective == ev.objective  # fixed seed: the same point, the same value


def test_a_small_mode_search_lowers_the_objective_and_is_reproducible(off_lari):
    first = calibrate.calibrate(off_lari, TARGETS, reps=4, seed=3, evaluations=24)
    assert first.mode.evaluation.objective < first.mode.initial_objective - 1.0
    assert first.chain is None
    again = calibrate.calibrate(off_lari, TARGETS, reps=4, seed=3, evaluations=24)
    assert again.values == first.values
    assert again.mode.evaluation.items == first.mode.evaluation.items


def test_calibration_takes_one_arm_only():
    with pytest.raises(ConfigError, match="calibrate one arm"):
        calibrate.Objective(sim.load(CONFIGS / "pilot.yaml"), TARGETS, reps=2, seed=1)
    with pytest.raises(ConfigError, match="calibrate one arm"):
        calibrate.Objective(sim.load(CONFIGS / "pilot_machakos.yaml"), TARGETS, reps=2, seed=1)


# --- what the targets inform -------------------------------------------------------------


def _baseline_only(tmp_path):
    data = yaml.safe_load(TARGETS_FILE.read_text())
    doc = {"subcounty": "Lari",
           "sample_sizes": {"knowledge": [20, None], "skills": [20, None]},
           "knowledge": {k: [v[0], None] for k, v in data["knowledge"].items()},
           "skills": {k: [v[0], None] for k, v in data["skills"].items()}}
    path = tmp_path / "baseline.yaml"
    path.write_text(yaml.safe_dump(doc))
    return survey.load_targets(path)


def test_the_targets_choose_the_parameters(tmp_path):
    names = lambda ps: {p.name for p in ps}  # noqa: E731
    assert names(calibrate.fitted_parameters(TARGETS, True)) == {p.name for p in
                                                                   calibrate.PARAMETERS}
    baseline = _baseline_only(tmp_path)
    assert not calibrate.fits_items(baseline, "auto") and calibrate.fits_items(TARGETS, "auto")
    assert names(calibrate.fitted_parameters(baseline, False)) == {BASELINE_LEVEL,
                                                                    "mentee.baseline.sd"}
    visits = survey.Targets.model_validate({
        "subcounty": "Lari", "sample_sizes": {"visits_received": 19},
        "visits_received": {"<=4": 0.05, "5-8": 0.1, "9-12": 0.8, ">12": 0.05}})
    assert names(calibrate.fitted_parameters(visits, False)) == {
        "mentee.turnover.hazard_per_year", "mentor.absence_probability"}
    with pytest.raises(ConfigError, match="--fit: mentee.learning is not"):
        calibrate.fitted_parameters(TARGETS, True, ["mentee.learning"])


def test_a_baseline_only_calibration_changes_only_the_baseline(lari, tmp_path):
    baseline = _baseline_only(tmp_path)
    shifted = lari.with_values({BASELINE_LEVEL: 1.2})
    fit = calibrate.calibrate(shifted, baseline, reps=4, seed=2, evaluations=30, walkers=4,
                              steps=4)
    assert [p.name for p in fit.parameters] == [BASELINE_LEVEL, "mentee.baseline.sd"]
    before, after = shifted.to_dict(), fit.config.to_dict()
    assert after["mentee"]["baseline"] != before["mentee"]["baseline"]
    for doc in (before, after):
        del doc["mentee"]["baseline"]
    assert after == before  # learning, decay, turnover, absence and every item kept
    # the Lari baseline (level 1.63) pulls the level up from 1.2
    assert fit.values[BASELINE_LEVEL] > 1.3
    assert set(fit.draws().columns) == {"draw", "log_posterior", BASELINE_LEVEL,
                                        "mentee.baseline.sd"}


# --- the posterior ----------------------------------------------------------------------


def test_the_posterior_recovers_known_values(lari):
    """A study simulated from chosen values; the 90 % credible intervals cover them.

    Two parameters, a small budget: benchmarks/recovery.py runs the whole check over
    several seeds. The truth's study is seed 11; the fit's common random numbers use seed 5.
    """
    truth = {"mentee.learning.rate": 0.9, BASELINE_LEVEL: 1.4}
    study = evaluation.simulated_study(lari.with_values(truth), TARGETS, seed=11)
    fit = calibrate.calibrate(lari, study, reps=2, seed=5, evaluations=20, walkers=6, steps=24,
                              items="keep", only=list(truth))
    summary = fit.summary().set_index("parameter")
    for name, value in truth.items():
        assert summary.loc[name, "p5"] <= value <= summary.loc[name, "p95"], summary
    # and the data moved them: the intervals are narrower than the priors' 90 %
    for p in fit.parameters:
        width = p.to_z(summary.loc[p.name, "p95"]) - p.to_z(summary.loc[p.name, "p5"])
        assert width < 2 * 1.645 * p.prior_sd


def test_an_interrupted_posterior_resumes_to_the_same_chain(lari, tmp_path):
    kw = dict(reps=2, seed=4, evaluations=3, walkers=6, items="keep",
              only=["mentee.learning.rate", BASELINE_LEVEL])
    whole = calibrate.calibrate(lari, TARGETS, steps=6, **kw)
    first = calibrate.calibrate(lari, TARGETS, steps=3, checkpoint=tmp_path / "c.npz", **kw)
    assert first.chain.steps == 4
    resumed = calibrate.calibrate(lari, TARGETS, steps=6, checkpoint=tmp_path / "c.npz", **kw)
    np.testing.assert_array_equal(resumed.chain.z, whole.chain.z)
    np.testing.assert_array_equal(resumed.chain.log_posterior, whole.chain.log_posterior)
    with pytest.raises(ConfigError, match="other settings"):
        calibrate.calibrate(lari, TARGETS, steps=6, checkpoint=tmp_path / "c.npz",
                            **{**kw, "seed": 5})


def test_the_posterior_does_not_depend_on_the_workers(lari):
    kw = dict(reps=2, seed=4, evaluations=3, walkers=6, steps=3, items="keep",
              only=["mentee.learning.rate", BASELINE_LEVEL])
    one = calibrate.calibrate(lari, TARGETS, jobs=1, **kw)
    two = calibrate.calibrate(lari, TARGETS, jobs=2, **kw)
    np.testing.assert_array_equal(one.chain.z, two.chain.z)


def test_cli_writes_an_includable_parameter_file_and_a_posterior(tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["calibrate", str(CONFIGS / "pilot_lari.yaml"), "--targets", str(TARGETS_FILE),
                 "--out", str(out), "--evaluations", "4", "--reps", "2", "--seed", "2",
                 "--fit", "mentee.learning.rate,mentee.baseline.level", "--walkers", "4",
                 "--steps", "3", "--check-reps", "10", "--jobs", "1",
                 "--set", "mentee.learning.rate=0.1"]) == 0
    printed = capsys.readouterr().out
    assert "objective (minus the log posterior)" in printed and "posterior predictive" in printed
    assert {p.name for p in out.iterdir()} == {
        "calibrated.yaml", "trace.csv", "parts.csv", "posterior_summary.csv", "posterior.csv",
        "predictive.csv", "predictive.png", "pairs.png", "chain.png", "chain.npz"}
    doc = yaml.safe_load((out / "calibrated.yaml").read_text())
    assert doc["calibration"]["seed"] == 2 and doc["calibration"]["replicates"] == 2
    assert doc["calibration"]["posterior"] == "posterior.csv"
    assert math.isfinite(doc["calibration"]["objective"])
    scenario = tmp_path / "lari_refit.yaml"
    scenario.write_text(f"include: [{CONFIGS / 'pilot_lari.yaml'}, {out / 'calibrated.yaml'}]\n"
                        "uncertainty: {posterior: fit/posterior.csv}\n")
    cfg = sim.load(scenario)
    assert cfg.mentee.learning.rate == doc["mentee"]["learning"]["rate"]
    assert cfg.survey.items["bcg_daily"].difficulty == doc["survey"]["items"]["bcg_daily"]["difficulty"]
    draws = pd.read_csv(out / "posterior.csv", comment="#")
    assert len(draws) >= 1 and "survey.items.bcg_daily.difficulty" in draws.columns
    check = pd.read_csv(out / "predictive.csv")
    assert len(check) == 2 * 29 + 2 + 2


def test_cli_resume_needs_a_calibration_in_progress(tmp_path, capsys):
    assert main(["calibrate", str(CONFIGS / "pilot_lari.yaml"), "--targets", str(TARGETS_FILE),
                 "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "holds no calibration to resume" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_shipped_parameters_are_fitted_and_shared_by_both_arms():
    """Machakos runs with the values fitted to Lari: no Machakos outcome is used."""
    params = yaml.safe_load((CONFIGS / "params" / "lari_calibrated.yaml").read_text())
    assert params["calibration"]["targets"] == "Lari arm"
    lari, machakos = sim.load(CONFIGS / "pilot_lari.yaml"), sim.load(CONFIGS / "pilot_machakos.yaml")
    for cfg in (lari, machakos):
        assert cfg.mentee.learning.rate == params["mentee"]["learning"]["rate"]
        assert cfg.mentee.decay.rate_per_year == params["mentee"]["decay"]["rate_per_year"]
        assert cfg.mentee.baseline.mean == params["mentee"]["baseline"]["mean"]
        assert cfg.survey.discrimination == params["survey"]["discrimination"]
        for item, spec in params["survey"]["items"].items():
            assert cfg.survey.items[item].difficulty == spec["difficulty"]
    assert lari.survey == machakos.survey and lari.mentee == machakos.mentee
    assert machakos.subcounties[0].setting == "urban"
