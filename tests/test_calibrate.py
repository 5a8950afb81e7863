"""Calibration: the objective, a small fit that must improve, reproducibility, the file."""

from __future__ import annotations

import math

import pytest
import yaml

import sim
from sim import calibrate, survey
from sim.cli import main
from sim.config import ConfigError

from conftest import CONFIGS

TARGETS = survey.load_targets(CONFIGS / "targets" / "lari.yaml")


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
        assert p.from_unit(-1) == pytest.approx(p.lo) and p.from_unit(2) == pytest.approx(p.hi)


def test_apply_shifts_the_baseline_and_sets_values(off_lari):
    cfg = calibrate.apply(off_lari, {"mentee.baseline.level": 2.0, "mentee.learning.rate": 0.5})
    assert calibrate.PARAMETERS[2].get(cfg) == pytest.approx(2.0, abs=1e-9)
    assert cfg.mentee.learning.rate == 0.5
    diffs = {a: cfg.mentee.baseline.mean[a] - off_lari.mentee.baseline.mean[a]
             for a in cfg.mentee.baseline.mean}
    assert max(diffs.values()) - min(diffs.values()) < 1e-9  # one shift for every area


def test_objective_is_a_negative_log_likelihood(off_lari):
    obj = calibrate.Objective(off_lari, TARGETS, reps=4, seed=1)
    values = {p.name: p.get(off_lari) for p in calibrate.PARAMETERS}
    ev = obj(values)
    assert ev.objective == pytest.approx(sum(ev.parts.values()))
    assert set(ev.parts) == set(TARGETS.shares()) | {"visits_received", "enrolled_at_endline",
                                                     "priors"}
    assert all(v >= 0 for v in ev.parts.values())
    assert obj(values).objective == ev.objective  # fixed seed: the same point, the same value


def test_a_small_calibration_lowers_the_objective_and_is_reproducible(off_lari):
    first = calibrate.calibrate(off_lari, TARGETS, reps=4, seed=3, evaluations=24)
    assert first.evaluation.objective < first.initial_objective - 1.0
    again = calibrate.calibrate(off_lari, TARGETS, reps=4, seed=3, evaluations=24)
    assert again.values == first.values
    assert again.evaluation.items == first.evaluation.items


def test_calibration_takes_one_arm_only():
    with pytest.raises(ConfigError, match="calibrate one arm"):
        calibrate.Objective(sim.load(CONFIGS / "pilot.yaml"), TARGETS, reps=2, seed=1)
    with pytest.raises(ConfigError, match="calibrate one arm"):
        calibrate.Objective(sim.load(CONFIGS / "pilot_machakos.yaml"), TARGETS, reps=2, seed=1)


def test_cli_writes_an_includable_parameter_file(tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["calibrate", str(CONFIGS / "pilot_lari.yaml"), "--targets",
                 str(CONFIGS / "targets" / "lari.yaml"), "--out", str(out),
                 "--evaluations", "10", "--reps", "3", "--seed", "2",
                 "--set", "mentee.learning.rate=0.1"]) == 0
    assert "objective (negative log-likelihood)" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"calibrated.yaml", "trace.csv", "parts.csv"}
    doc = yaml.safe_load((out / "calibrated.yaml").read_text())
    assert doc["calibration"]["seed"] == 2 and doc["calibration"]["replicates"] == 3
    assert math.isfinite(doc["calibration"]["objective"])
    scenario = tmp_path / "lari_refit.yaml"
    scenario.write_text(f"include: [{CONFIGS / 'pilot_lari.yaml'}, {out / 'calibrated.yaml'}]\n")
    cfg = sim.load(scenario)
    assert cfg.mentee.learning.rate == doc["mentee"]["learning"]["rate"]
    assert cfg.survey.items["bcg_daily"].difficulty == doc["survey"]["items"]["bcg_daily"]["difficulty"]


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
