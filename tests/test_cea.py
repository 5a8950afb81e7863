"""Cost-effectiveness maths against worked examples computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import cea


def test_discounting_by_hand():
    assert cea.discount_factor(0, 0.03) == 1.0
    assert cea.discount_factor(365.25, 0.03) == pytest.approx(1 / 1.03)
    assert cea.discount_factor(2 * 365.25, 0.05) == pytest.approx(1 / 1.05**2)
    assert cea.discount_factor(365.25 / 2, 0.03) == pytest.approx(1 / math.sqrt(1.03))
    # 1,000 a year for three years, paid at each year's start, at 3 %: 1000 (1 + 1/1.03 + 1/1.03^2)
    pv = (1000 * cea.discount_factor(np.array([0, 365.25, 730.5]), 0.03)).sum()
    assert pv == pytest.approx(1000 + 970.8738 + 942.5959, abs=1e-3)
    with pytest.raises(ValueError):
        cea.discount_factor(1, -1.5)


def test_icer_table_with_dominated_and_extendedly_dominated_options():
    # A (0, 0); B (100, 2): ICER vs A 50; C (300, 3): ICER vs B 200; D (350, 4.5): ICER vs C 33.3,
    # so C is extendedly dominated, and D's ICER is against B: 250 / 2.5 = 100.
    # E (400, 4) costs more than D and achieves less: dominated.
    t = cea.icer_table(["E", "C", "A", "D", "B"], [400, 300, 0, 350, 100], [4, 3, 0, 4.5, 2])
    t = t.set_index("strategy")
    assert list(t.index) == ["A", "B", "C", "D", "E"]  # sorted by cost
    assert t["status"].to_dict() == {"A": "reference", "B": "frontier",
                                     "C": "extendedly dominated", "D": "frontier",
                                     "E": "dominated"}
    # each against the frontier strategy before it in cost order
    assert t["compared_with"].to_dict() == {"A": "", "B": "A", "C": "B", "D": "B", "E": "D"}
    np.testing.assert_allclose(t["d_cost"], [np.nan, 100, 200, 250, 50])
    np.testing.assert_allclose(t["d_effect"], [np.nan, 2, 1, 2.5, -0.5])
    np.testing.assert_allclose(t["icer"], [np.nan, 50, np.nan, 100, np.nan])


def test_equal_cost_less_effect_is_dominated_and_a_tie_keeps_the_first():
    t = cea.icer_table(["x", "y"], [100, 100], [1, 2]).set_index("strategy")
    assert t.loc["x", "status"] == "dominated" and t.loc["y", "status"] == "reference"
    assert (t.loc["x", "d_cost"], t.loc["x", "d_effect"]) == (0, -1)
    t = cea.icer_table(["p", "q", "r"], [0, 50, 50], [0, 1, 1]).set_index("strategy")
    assert t["status"].to_dict() == {"p": "reference", "q": "frontier", "r": "dominated"}
    assert t.loc["q", "icer"] == 50 and t.loc["r", "compared_with"] == "q"


def test_net_benefit_ceac_and_evpi_by_hand():
    # Two strategies, four equally likely draws (rows): costs and effects.
    costs = np.array([[0, 100], [0, 100], [0, 100], [0, 100]])
    effects = np.array([[0, 1], [0, 3], [0, 0], [0, 4]])
    # At WTP 50 the NMB of strategy 1 is 50 * e - 100: -50, 50, -100, 100 (strategy 0: 0).
    np.testing.assert_allclose(cea.net_monetary_benefit(costs, effects, 50)[:, 1],
                               [-50, 50, -100, 100])
    curve = cea.ceac(costs, effects, [0, 50, 1000])
    np.testing.assert_allclose(curve, [[1, 0], [0.5, 0.5], [0.25, 0.75]])
    # EVPI at 50: E[max(0, NMB1)] = (0 + 50 + 0 + 100) / 4 = 37.5; max(E[NMB]) = max(0, 0) = 0.
    # At WTP 1000 strategy 1 wins on average (E = 1900): EVPI = E[max] - 1900 = (0 - -100) / 4 = 25
    np.testing.assert_allclose(cea.evpi(costs, effects, [50, 1000]), [37.5, 25.0])
    # no uncertainty, no value of information
    assert cea.evpi(costs[:1], effects[:1], [50])[0] == 0


def test_ceaf_and_expected_loss_by_hand():
    # Three strategies at no cost, so at WTP 1 the net benefit is the effect. Strategy 1 wins
    # three draws of four by 1; strategy 2 loses those by 1 and wins the fourth by 8.
    costs = np.zeros((4, 3))
    effects = np.array([[0, 1, -1], [0, 1, -1], [0, 1, -1], [0, -10, 8]], float)
    np.testing.assert_allclose(cea.ceac(costs, effects, [1]), [[0, 0.75, 0.25]])
    # Expected net benefits 0, -1.75, 1.25: the decision is strategy 2, although it is
    # cost-effective in only a quarter of the draws.
    optimal, probability = cea.ceaf(costs, effects, [0, 1, 2])
    assert list(optimal) == [0, 2, 2]  # at WTP 0 every strategy ties: the first
    np.testing.assert_allclose(probability, [1, 0.25, 0.25])
    # E[max NMB] = (1 + 1 + 1 + 8) / 4 = 2.75; the losses are 2.75 - E[NMB_j], doubling at WTP 2.
    loss = cea.expected_loss(costs, effects, [0, 1, 2])
    np.testing.assert_allclose(loss, [[0, 0, 0], [2.75, 4.5, 1.5], [5.5, 9, 3]])
    np.testing.assert_allclose(cea.evpi(costs, effects, [0, 1, 2]), [0, 1.5, 3])


def test_ceaf_expected_loss_and_evpi_agree_on_a_random_analysis():
    rng = np.random.default_rng(7)
    costs = rng.normal([100, 150, 180, 260], [10, 40, 20, 60], size=(300, 4))
    effects = rng.normal([1.0, 1.8, 2.0, 2.6], [0.2, 0.6, 0.3, 0.9], size=(300, 4))
    wtps = np.linspace(0, 400, 41)
    curve = cea.ceac(costs, effects, wtps)
    optimal, probability = cea.ceaf(costs, effects, wtps)
    loss = cea.expected_loss(costs, effects, wtps)
    value = cea.evpi(costs, effects, wtps)
    rows = np.arange(len(wtps))
    np.testing.assert_allclose(curve.sum(axis=1), 1)
    assert (value >= 0).all() and value.max() > 0
    np.testing.assert_array_equal(optimal, loss.argmin(axis=1))  # the decision minimises the loss
    np.testing.assert_allclose(value, loss[rows, optimal])  # and its loss is the EVPI
    assert (probability <= curve.max(axis=1)).all()
    np.testing.assert_array_equal(probability, curve[rows, optimal])
    assert len(set(optimal)) > 1  # the decision changes over this range
