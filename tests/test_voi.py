"""Value of information against a two-strategy example with a known answer.

Strategy 0 has net benefit 0; strategy 1 has ``t1 + t2 + noise`` with independent
normal parameters of mean 0 and a chance term the parameters do not explain. Then
EVPPI(t1) = sd(t1) / sqrt(2 pi), EVPPI(t1, t2) = sqrt(var t1 + var t2) / sqrt(2 pi), and a
parameter the net benefit does not depend on is worth nothing.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from sim import cea, information, voi
from sim.batch import run_batch
from sim.cli import main
from sim.experiment import load_experiment

from conftest import CONFIGS

N = 1000
SD1, SD2, NOISE = 1.0, 0.5, 2.0


@pytest.fixture(scope="module")
def example():
    rng = np.random.default_rng(7)
    t1, t2, t3 = rng.normal(0, SD1, N), rng.normal(0, SD2, N), rng.normal(0, 1, N)
    nb = np.c_[np.zeros(N), t1 + t2 + rng.normal(0, NOISE, N)]
    return nb, t1, t2, t3


def test_evppi_matches_the_known_answer_within_its_monte_carlo_error(example):
    nb, t1, t2, _ = example
    for x, truth in ((t1, SD1 / math.sqrt(2 * math.pi)),
                     (np.c_[t1, t2], math.hypot(SD1, SD2) / math.sqrt(2 * math.pi))):
        v = voi.evppi(nb, x)
        assert 0 < v.se < 0.1 * truth
        assert abs(v.value - truth) < 3 * v.se, (v, truth)


def test_a_parameter_that_cannot_change_the_decision_is_worth_nearly_nothing(example):
    nb, t1, _, t3 = example
    v = voi.evppi(nb, t3)
    assert v.value < 0.1 * voi.evppi(nb, t1).value
    assert v.value < 3 * v.se + 0.01


def test_evppi_is_never_above_evpi_and_grows_with_the_group(example):
    nb, t1, t2, t3 = example
    everything = float(cea.evpi(-nb, np.zeros_like(nb), [0.0])[0])  # the raw EVPI, chance included
    group = voi.evppi(nb, np.c_[t1, t2])
    assert group.value < everything
    for x in (t1, t2, t3):
        one = voi.evppi(nb, x)
        assert one.value <= everything
        assert one.value <= group.value + 2 * math.hypot(one.se, group.se)


def test_a_dominated_strategy_changes_nothing(example):
    """Adding a strategy that is always worse than the first leaves the value unchanged."""
    nb, t1, _, _ = example
    worse = np.c_[nb, nb[:, 0] - 100.0]
    assert voi.evppi(worse, t1).value == pytest.approx(voi.evppi(nb, t1).value, abs=1e-6)


def test_population_value_discounts_each_year():
    assert voi.population(2.0, 100, 3, 0.03) == pytest.approx(200 * (1 + 1 / 1.03 + 1 / 1.03**2))
    assert voi.population(2.0, 100, 0, 0.03) == 0
    with pytest.raises(ValueError, match="cannot be negative"):
        voi.population(2.0, -1, 3, 0.03)


DECISION = """\
name: voi_decision
base: {base}
replications: 120
seed: 3
comparator: status_quo
scenarios:
  mentoring: {{}}
  status_quo: {{mentor.enabled: false, whatsapp.enabled: false}}
psa:
  mentee.learning.rate: {{distribution: lognormal, median: 0.3, sd_log: 0.8}}
  survey.discrimination: {{distribution: uniform, low: 0.5, high: 2.0}}
"""
WTP = 20_000  # KSh per competency-point-year: mentoring's ICER at the median learning rate


@pytest.fixture(scope="module")
def decision(tmp_path_factory):
    """Mentoring against no programme on the Lari arm, at the willingness to pay where the
    choice turns on the learning rate; the survey's discrimination cannot change it."""
    folder = tmp_path_factory.mktemp("voi")
    (folder / "exp.yaml").write_text(DECISION.format(base=CONFIGS / "pilot_lari.yaml"))
    run_batch(load_experiment(folder / "exp.yaml"), folder / "batch", jobs=2)
    return folder / "batch"


def test_value_of_information_of_a_batch_ranks_what_decides(decision):
    res = information.value_of_information(decision, WTP, sizes=[2, 100])
    ev = res.evppi.set_index("name")
    # the survey's discrimination, alone in the survey's group, cannot change the decision
    learning, null = ev.loc["mentee.learning.rate"], ev.loc[information.INSTRUMENT]
    assert learning["per_decision_ksh"] > 10 * max(null["per_decision_ksh"], 1.0)
    assert null["per_decision_ksh"] < 3 * null["se_ksh"] + 0.05 * learning["per_decision_ksh"]
    assert (ev["per_decision_ksh"] <= res.evpi).all()
    # per nurse and over the population: the cohort's 20 nurses, once
    assert res.cohort == 20
    assert ev["per_nurse_ksh"].to_numpy() == pytest.approx(ev["per_decision_ksh"] / 20)
    assert ev["population_ksh"].to_numpy() == pytest.approx(ev["per_decision_ksh"])
    # an evaluation of 100 facilities (of the mentoring, the first scenario) learns more than
    # one of 2, and no more than perfect information about what it measures; the two sizes'
    # estimates share the net benefits, so their difference is surer than their errors say
    small, large = res.evsi.set_index("facilities").loc[[2, 100], "per_decision_ksh"]
    se = res.evsi.set_index("facilities")["se_ksh"]
    assert 0 < small < large - 0.1 * learning["per_decision_ksh"]
    bound = res.measured()
    assert large <= bound["per_decision_ksh"] + 2 * math.hypot(se[100], bound["se_ksh"])


def test_voi_cli_writes_its_tables_and_figures(decision, capsys):
    assert main(["voi", str(decision), "--wtp", str(WTP), "--nurses", "400", "--years", "5",
                 "--survey", "10,40", "--survey-cost", "100000,2000"]) == 0
    printed = capsys.readouterr().out
    assert "population: 400 nurses a year for 5 year(s), discounted at 3%" in printed
    folder = decision / "voi"
    assert {p.name for p in folder.iterdir()} == {"evppi.csv", "information.png", "evsi.csv",
                                                  "sampling.png"}
    evsi = pd.read_csv(folder / "evsi.csv")
    assert evsi["survey_cost_ksh"].tolist() == [100_000 + 2 * 10 * 2000, 100_000 + 2 * 40 * 2000]
    assert (evsi["net_benefit_of_sampling_ksh"]
            == evsi["population_ksh"] - evsi["survey_cost_ksh"]).all()
    # the report shows what voi wrote: the information-rank chart and the survey's value
    page = decision.parent / "report.html"
    assert main(["report", str(decision), "--html", str(page)]) == 0
    text = re.sub(r"data:image/png;base64,[^']*", "", page.read_text())
    assert "information-rank chart" in text and "id='sampling'" in text
    assert "NaN" not in text and ">nan<" not in text


def test_too_few_replications_for_value_of_information_is_one_line(tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text(DECISION.format(base=CONFIGS / "pilot_lari.yaml")
                                       .replace("replications: 120", "replications: 5")
                                       .replace("mentoring: {}", "mentoring: {months: 3}"))
    run_batch(load_experiment(tmp_path / "exp.yaml"), tmp_path / "batch", jobs=1)
    assert main(["voi", str(tmp_path / "batch"), "--wtp", "1000"]) == 2
    assert "5 replications; value of information needs at least 20" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--wtp", "-5"], "--wtp: a willingness to pay cannot be negative"),
    (["--wtp", "1000", "--survey", "10,x"], "--survey: expected numbers"),
    (["--wtp", "1000", "--survey-cost", "5"], "--survey-cost: expected 2 numbers"),
    (["--wtp", "1000", "--nurses", "0"], "--nurses: must be above 0"),
])
def test_voi_bad_options_are_one_line(decision, capsys, args, message):
    assert main(["voi", str(decision), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_many_unrelated_parameters_and_few_draws_are_worth_nearly_nothing(example):
    """Forty parameters the net benefit does not depend on, and 150 draws: a smooth with
    more coefficients than draws must not fit the chance variation."""
    nb, t1, _, _ = example
    noise = np.random.default_rng(8).normal(size=(N, 40))
    few = slice(0, 150)
    v = voi.evppi(nb[few], noise[few])
    assert v.value < 0.1 * voi.evppi(nb[few], t1[few]).value + 3 * v.se


def test_a_group_is_worth_its_member_that_no_leading_direction_of_the_group_holds():
    """Twenty parameters, nineteen of them in four clusters that each follow a common factor
    and the twentieth on its own, the net benefit depending only on the twentieth: the group's
    regression must find it although the four clusters are the group's leading principal
    components (the draws would support four)."""
    rng = np.random.default_rng(11)
    n = 200
    x = np.column_stack([*(rng.normal(size=n)[:, None] + 0.3 * rng.normal(size=(n, m))
                           for m in (5, 5, 5, 4)), rng.normal(size=n)])
    nb = np.c_[np.zeros(n), x[:, -1] + rng.normal(0, 1, n)]
    group, one = voi.evppi(nb, x), voi.evppi(nb, x[:, -1])
    assert group.value >= one.value - 3 * math.hypot(group.se, one.se)
    assert abs(group.value - 1 / math.sqrt(2 * math.pi)) < 3 * group.se
    assert group.value <= voi._value(nb)


@pytest.mark.parametrize("draws, k, seed", [(30, 12, 5), (24, 58, 9)])
def test_a_group_of_many_parameters_over_few_draws_keeps_the_member_that_decides(draws, k, seed):
    """A few dozen draws of many parameters, one of which decides: the group is worth about
    what that one is, not nothing; with the net benefits shuffled across the draws, so that
    no parameter decides, it is worth nearly nothing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(draws, k))
    nb = np.c_[np.zeros(draws), 3 * x[:, 0] + rng.normal(0, 1, draws)]
    group, one = voi.evppi(nb, x), voi.evppi(nb, x[:, 0])
    assert one.value > 0.5 * 3 / math.sqrt(2 * math.pi)
    assert group.value >= one.value - 3 * math.hypot(group.se, one.se)
    assert group.value <= voi._value(nb)
    chance = voi.evppi(nb[rng.permutation(draws)], x)
    assert chance.value < 0.1 * one.value + 3 * chance.se
