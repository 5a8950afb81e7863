"""Parameter uncertainty in projections: each replicate runs with a posterior draw, keyed by
replicate, so intervals widen and common random numbers still pair scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim import calibrate, uncertainty
from sim.cli import main
from sim.config import BASELINE_LEVEL, ConfigError
from sim.engines import simulate

from conftest import CONFIGS

DRAWS = 24


@pytest.fixture(scope="module")
def posterior(tmp_path_factory):
    """A posterior sample around the calibrated Lari values, as `calibrate` writes one:
    learning rate and baseline level spread about as the Lari fit leaves them."""
    gen = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("posterior") / "posterior.csv"
    pd.DataFrame({
        "draw": np.arange(1, DRAWS + 1),
        "log_posterior": -480 - gen.random(DRAWS),
        "mentee.learning.rate": np.exp(np.log(0.59) + 0.3 * gen.standard_normal(DRAWS)),
        BASELINE_LEVEL: 1.63 + 0.15 * gen.standard_normal(DRAWS),
        "mentor.absence_probability": gen.uniform(0.0, 0.15, DRAWS),
    }).to_csv(path, index=False)
    path.write_text("# a test posterior\n" + path.read_text())
    return path


def _with(posterior, overrides=()):
    return sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.posterior={posterior}", *overrides])


def test_replicates_take_every_draw_once_in_a_seeded_order(posterior):
    cfg = _with(posterior)
    first = [uncertainty.draw(cfg, 7, r).index for r in range(DRAWS)]
    assert sorted(first) == list(range(DRAWS))  # each once
    again = [uncertainty.draw(cfg, 7, r).index for r in range(DRAWS, 2 * DRAWS)]
    assert sorted(again) == list(range(DRAWS)) and again != first  # a new order
    assert first != [uncertainty.draw(cfg, 8, r).index for r in range(DRAWS)]
    assert uncertainty.draw(sim.load(CONFIGS / "pilot.yaml"), 7, 0) is None


def test_a_replicate_runs_with_its_draw(posterior):
    cfg = _with(posterior)
    rec = simulate(cfg, 1, 5)
    values = rec.draw.values
    plain = simulate(cfg.with_values(values).model_copy(
        update={"uncertainty": sim.config.Uncertainty()}), 1, 5)
    assert [s[:7] for s in rec.spells] == [s[:7] for s in plain.spells]
    assert list(rec.visits) == list(plain.visits)


def test_two_scenarios_share_each_replicates_draw_and_streams(posterior):
    """Common random numbers hold: with the same posterior and seed, a knob that changes
    nothing gives identical replicates, and every replicate pairs the same draw."""
    on, same = _with(posterior), _with(posterior, ["costs.lunch_per_visit=900"])
    for r in range(3):
        a, b = simulate(on, 2, r), simulate(same, 2, r)
        assert a.draw == b.draw
        assert list(a.visits) == list(b.visits)


def test_results_do_not_depend_on_the_workers(posterior):
    cfg = _with(posterior)
    one, two = sim.run(cfg, reps=4, seed=3, jobs=1), sim.run(cfg, reps=4, seed=3, jobs=2)
    pd.testing.assert_frame_equal(one.mentees, two.mentees)
    pd.testing.assert_frame_equal(one.parameters, two.parameters)


SHIPPED = CONFIGS / "examples" / "pilot_posterior.yaml"


def test_parameter_uncertainty_widens_the_intervals_and_pairing_still_tightens():
    """Acceptance: with the shipped Lari posterior the pilot's 90 % intervals are wider than
    with the point estimate; paired differences between two scenarios (WhatsApp on and off)
    stay tighter than the unpaired spread, because each replicate pairs the same draw and
    streams."""
    reps = 40
    point = sim.run(CONFIGS / "pilot.yaml", reps=reps, seed=0)
    post = sim.run(SHIPPED, reps=reps, seed=0)
    off = sim.run(sim.load(SHIPPED, ["whatsapp.enabled=false"]), reps=reps, seed=0)

    def width(res, key="mean_competency_at_horizon"):
        s = res.summary["overall"][key]
        return s["p95"] - s["p5"]

    assert width(post) > 1.5 * width(point)
    per = lambda res: res.mentees[res.mentees["exit_reason"].isna()].groupby(  # noqa: E731
        "replicate")["final_mean_score"].mean().to_numpy()
    a, b = per(post), per(off)
    paired = np.quantile(a - b, 0.95) - np.quantile(a - b, 0.05)
    unpaired = np.quantile(a - np.roll(b, 1), 0.95) - np.quantile(a - np.roll(b, 1), 0.05)
    assert paired < 0.5 * unpaired
    assert np.mean(a - b) > 0  # WhatsApp helps, draw for draw


def test_outputs_say_what_the_intervals_hold(posterior, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(CONFIGS / "pilot.yaml"), "--out", str(out), "--reps", "3",
                 "--jobs", "1", "--set", f"uncertainty.posterior={posterior}"]) == 0
    assert f"chance and parameters ({DRAWS} posterior draws)" in capsys.readouterr().out
    table = pd.read_parquet(out / "parameters.parquet")
    assert list(table["replicate"]) == [0, 1, 2]
    assert {"draw", "mentee.learning.rate", BASELINE_LEVEL} <= set(table.columns)
    plain = tmp_path / "plain"
    assert main(["run", str(CONFIGS / "pilot.yaml"), "--out", str(plain), "--reps", "2",
                 "--jobs", "1"]) == 0
    assert "holding chance)" in capsys.readouterr().out
    assert not (plain / "parameters.parquet").exists()


def test_a_bad_posterior_is_one_line(posterior, tmp_path):
    with pytest.raises(ConfigError, match=r"uncertainty.posterior: .*missing.csv: file not found"):
        sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.posterior={tmp_path / 'missing.csv'}"])
    bad = tmp_path / "bad.csv"
    bad.write_text("draw,mentee.learning.rat\n1,0.5\n")
    with pytest.raises(ConfigError, match="column 'mentee.learning.rat' is not a numeric key"):
        sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.posterior={bad}"])
    bad.write_text("draw,mentee.learning.rate\n1,x\n")
    with pytest.raises(ConfigError, match="draw 1: a value is not a number"):
        sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.posterior={bad}"])
    bad.write_text("draw,mentee.learning.rate\n1,-0.5\n")
    cfg = sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.posterior={bad}"])
    with pytest.raises(ConfigError, match=r"bad.csv: draw 1: .*mentee.learning.rate"):
        simulate(cfg, 0, 0)


def test_an_experiment_draws_each_parameter_from_one_source(posterior, tmp_path):
    from sim.experiment import load_experiment

    exp = tmp_path / "exp.yaml"
    exp.write_text(f"name: e\nbase: {CONFIGS / 'pilot.yaml'}\nreplications: 2\nseed: 0\ncomparator: a\n"
                   f"scenarios: {{a: {{}}, b: {{whatsapp.enabled: false}}}}\n"
                   "psa: {mentee.learning.rate: {distribution: uniform, low: 0.3, high: 0.6}}\n")
    load_experiment(exp)  # without a posterior, the PSA draws the learning rate
    with pytest.raises(ConfigError, match="psa: mentee.learning.rate is drawn by scenario a"):
        load_experiment(exp, [f"uncertainty.posterior={posterior}"])


SPREAD = [{"parameter": "mentee.turnover.hazard_per_year", "sd": 0.5, "scale": "log"},
          {"parameter": "mentor.absence_probability", "sd": 0.8, "scale": "logit"},
          {"parameter": BASELINE_LEVEL, "sd": 0.2, "scale": "linear"}]


def test_between_setting_draws_follow_their_spread():
    """Each replicate's county value sits around the fitted one with the declared spread on
    its scale: the sample mean and sd of 400 transformed draws within 4 standard errors."""
    cfg = sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.between_settings={SPREAD}"])
    n = 400
    draws = [uncertainty.draw(cfg, 5, r).values for r in range(n)]
    for spread, transform in zip(SPREAD, (np.log, lambda x: np.log(x / (1 - x)),
                                          lambda x: x), strict=True):
        key = spread["parameter"]
        x = transform(np.array([d[key] for d in draws]))
        centre = transform(np.array(cfg.value(key)))
        assert abs(x.mean() - centre) < 4 * spread["sd"] / np.sqrt(n)
        assert abs(x.std(ddof=1) / spread["sd"] - 1) < 4 / np.sqrt(2 * (n - 1))
    # keyed by seed and replicate: another scenario shares them, another seed does not
    other = sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.between_settings={SPREAD}",
                                              "whatsapp.enabled=false"])
    assert uncertainty.draw(other, 5, 3) == uncertainty.draw(cfg, 5, 3)
    assert uncertainty.draw(cfg, 6, 3) != uncertainty.draw(cfg, 5, 3)


def test_a_shift_moves_every_draw_by_the_same_step_on_its_scale():
    """The same replicate's standard normal draw with and without a shift: on each scale the
    two values differ by exactly the shift, so the county's centre moves and its spread
    does not."""
    shifts = [0.3, -0.5, 0.25]
    moved = [{**s, "shift": d} for s, d in zip(SPREAD, shifts, strict=True)]
    cfg = sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.between_settings={SPREAD}"])
    other = sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.between_settings={moved}"])
    for r in range(20):
        a, b = uncertainty.draw(cfg, 5, r).values, uncertainty.draw(other, 5, r).values
        for spread, step, transform in zip(SPREAD, shifts, (np.log, lambda x: np.log(x / (1 - x)),
                                                           lambda x: x), strict=True):
            key = spread["parameter"]
            assert transform(b[key]) - transform(a[key]) == pytest.approx(step, abs=1e-9)


def test_between_setting_spread_on_top_of_a_posterior(posterior):
    cfg = _with(posterior, [f"uncertainty.between_settings={SPREAD[1:2]}"])
    d = uncertainty.draw(cfg, 1, 0)
    assert d.index is not None and "mentee.learning.rate" in d.values
    assert d.values["mentor.absence_probability"] != pd.read_csv(
        posterior, comment="#")["mentor.absence_probability"][d.index]
    assert "chance, parameters (24 posterior draws) and between-setting variation " \
           "(absence_probability)" == uncertainty.holds(cfg)
    res = sim.run(cfg, reps=3, seed=1)
    assert res.parameters["mentor.absence_probability"].nunique() == 3


def test_a_bad_spread_is_one_line():
    for spread, message in (
        ({"parameter": "mentee.turnover.hazard", "sd": 1, "scale": "log"},
         "between_settings.0.parameter: 'mentee.turnover.hazard' is not a numeric key"),
        ({"parameter": "mentee.turnover.hazard_per_year", "sd": -1, "scale": "log"},
         "between_settings.0.sd: Input should be greater than or equal to 0"),
        ({"parameter": "mentor.workday_hours", "sd": 1, "scale": "logit"},
         "between_settings.0.scale: logit needs a value between 0 and 1"),

    ):
        with pytest.raises(ConfigError, match=message):
            sim.load(CONFIGS / "pilot.yaml", [f"uncertainty.between_settings=[{spread}]"])


def test_the_shipped_posterior_and_a_phased_county_with_every_uncertainty():
    """The Lari posterior holds every calibrated parameter and the items; a phased county
    without a survey takes its outer parameters and its settings' spreads."""
    post = sim.config.read_posterior(CONFIGS / "params" / "lari_posterior.csv")
    assert len(post) >= 200
    assert {p.name for p in calibrate.PARAMETERS} <= set(post.columns)
    assert "survey.items.wash_hands_before_vaccination.difficulty" in post.columns
    cfg = sim.load(CONFIGS / "examples" / "county_uncertain.yaml")
    assert cfg.survey is None and cfg.scaleup is not None
    res = sim.run(cfg, reps=3, seed=1)
    spread = {s.parameter for s in cfg.uncertainty.between_settings}
    assert spread <= set(res.parameters.columns)
    assert not any(c.startswith("survey.") for c in res.parameters.columns)
    assert len(res.phases) == 3 * len(cfg.scaleup.phases)
