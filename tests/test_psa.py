"""Probabilistic sensitivity analysis: draws, their distributions, and the cea command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import batch
from sim.cli import main
from sim.experiment import Beta, LogNormal, Normal, Triangular, Uniform, load_experiment

from conftest import CONFIGS


def _psa_file(tmp_path, psa: str, reps: int = 4) -> str:
    path = tmp_path / "psa.yaml"
    path.write_text(f"""
name: psa
base: {CONFIGS / 'pilot.yaml'}
replications: {reps}
seed: 5
comparator: classroom
scenarios:
  mentoring: {{months: 6}}
  classroom: {{months: 6, classroom.enabled: true, mentor.enabled: false, whatsapp.enabled: false}}
psa:
{psa}
""")
    return str(path)


@pytest.mark.parametrize("dist, mean, var", [
    (Uniform(distribution="uniform", low=2, high=6), 4, 16 / 12),
    (Triangular(distribution="triangular", low=0, mode=1, high=5), 2, (25 + 1 - 5) / 18),
    (Normal(distribution="normal", mean=3, sd=0.5), 3, 0.25),
    (LogNormal(distribution="lognormal", median=2, sd_log=0.3), 2 * math.exp(0.045),
     4 * (math.exp(0.09) - 1) * math.exp(0.09)),
    (Beta(distribution="beta", alpha=3, beta=7), 0.3, 21 / (100 * 11)),
])
def test_distributions_have_their_theoretical_mean(dist, mean, var):
    rng = np.random.default_rng(1)
    n = 4000
    x = np.array([dist.sample(rng) for _ in range(n)])
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)


def test_draws_are_shared_by_strategies_and_differ_between_replicates(tmp_path):
    exp = load_experiment(_psa_file(tmp_path, """
  mentee.learning.rate: {distribution: lognormal, median: 0.5, sd_log: 0.3}
  classroom.per_diem_per_day: {distribution: uniform, low: 2000, high: 6000}
"""))
    a, b = exp.config_for("mentoring", 2), exp.config_for("classroom", 2)
    assert a.mentee.learning.rate == b.mentee.learning.rate
    assert a.classroom.per_diem_per_day == b.classroom.per_diem_per_day
    assert exp.config_for("mentoring", 3).mentee.learning.rate != a.mentee.learning.rate
    assert exp.draws(2) == exp.draws(2)
    assert 2000 <= b.classroom.per_diem_per_day <= 6000


@pytest.mark.parametrize("psa, words", [
    ("  mentee.learning.speed: {distribution: uniform, low: 0, high: 1}", ["psa", "mentee.learning.speed", "unknown key"]),
    ("  mentee.learning.rate: {distribution: normal, mean: 0.1, sd: 1.0}", ["psa", "mentee.learning.rate"]),
    ("  mentee.learning.rate: {distribution: gaussian, mean: 0.1, sd: 1.0}", ["psa.mentee.learning.rate"]),
])
def test_bad_psa_is_a_one_line_error(tmp_path, capsys, psa, words):
    assert main(["batch", _psa_file(tmp_path, psa, reps=30), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err


def test_cea_command(tmp_path, capsys):
    path = _psa_file(tmp_path, """
  classroom.per_diem_per_day: {distribution: uniform, low: 2000, high: 6000}
""", reps=6)
    out = tmp_path / "o"
    assert main(["batch", path, "--out", str(out), "--jobs", "1"]) == 0
    assert main(["cea", str(out), "--wtp", "0,50000,1000000", "--discount", "0.05"]) == 0
    printed = capsys.readouterr().out
    assert "discount 5% a year" in printed
    icer = pd.read_csv(out / "cea" / "icer.csv")
    assert set(icer["strategy"]) == {"mentoring", "classroom"}
    assert set(icer["status"]) <= {"reference", "frontier", "dominated"}
    curves = pd.read_csv(out / "cea" / "curves.csv")
    np.testing.assert_allclose(curves.groupby("wtp_ksh")["probability_cost_effective"].sum(), 1)
    decision = pd.read_csv(out / "cea" / "decision.csv")
    assert list(decision["wtp_ksh"]) == [0, 50000, 1000000] and (decision["evpi_ksh"] >= 0).all()
    assert {p.name for p in (out / "cea").iterdir()} == {
        "icer.csv", "curves.csv", "decision.csv", "ce_plane.png", "ceac.png", "expected_loss.png"}
    outcomes = batch.read(out, "outcomes")
    assert {"cost_discounted_ksh", "competency_point_years", "proficient_nurse_months"} <= set(
        outcomes.columns)
    assert main(["cea", str(out), "--wtp", "nonsense"]) == 2
    assert "--wtp" in capsys.readouterr().err
    # cea/ is the command's own: run again, it holds this run's files and no others
    (out / "cea" / "ceac_old_name.png").write_bytes(b"")
    assert main(["cea", str(out), "--wtp", "0,50000"]) == 0
    assert {p.name for p in (out / "cea").iterdir()} == {
        "icer.csv", "curves.csv", "decision.csv", "ce_plane.png", "ceac.png", "expected_loss.png"}
    assert list(pd.read_csv(out / "cea" / "decision.csv")["wtp_ksh"]) == [0, 50000]
    assert not [p for p in out.iterdir() if p.name.startswith(".mentorsim")]


def test_tornado_swing_of_a_pure_cost_parameter_by_hand(tmp_path):
    from sim import sensitivity

    exp = load_experiment(_psa_file(tmp_path, """
  classroom.per_diem_per_day: {distribution: uniform, low: 2000, high: 6000}
  mentee.learning.rate: {distribution: lognormal, median: 0.5, sd_log: 0.3}
""", reps=2))
    table = sensitivity.tornado(exp, "mentoring", wtp=20000, reps=2, rate=0.0)
    row = table.set_index("parameter").loc["classroom.per_diem_per_day"]
    assert (row["low"], row["high"]) == pytest.approx((2200, 5800))
    # The per diem changes nothing but the classroom's cost: 40 trainees x 5 days on day 0,
    # undiscounted, so mentoring's net benefit over the classroom moves by exactly this much.
    assert row["nmb_at_high"] - row["nmb_at_low"] == pytest.approx((5800 - 2200) * 5 * 40)
    assert table["swing"].is_monotonic_decreasing
    median = {"classroom.per_diem_per_day": 4000.0, "mentee.learning.rate": 0.5}
    assert row["base_nmb"] == pytest.approx(
        sensitivity.incremental_nmb(exp, "mentoring", median, 20000, 2, "competency_point_years", 0.0))


def test_tornado_cli(tmp_path, capsys):
    path = _psa_file(tmp_path, """
  costs.transport_per_visit: {distribution: triangular, low: 700, mode: 1000, high: 1500}
""", reps=2)
    assert main(["tornado", path, "--strategy", "mentoring", "--wtp", "10000", "--reps", "2",
                 "--out", str(tmp_path / "t")]) == 0
    assert {p.name for p in (tmp_path / "t").iterdir()} == {"tornado.csv", "tornado.png"}
    assert main(["tornado", path, "--strategy", "classroom", "--wtp", "1", "--out",
                 str(tmp_path / "u")]) == 2
    assert "no strategy 'classroom'" in capsys.readouterr().err
