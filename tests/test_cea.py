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
    assert t.loc["B", "icer"] == pytest.approx(50)
    assert t.loc["D", "icer"] == pytest.approx(100)
    assert math.isnan(t.loc["C", "icer"]) and math.isnan(t.loc["A", "icer"])


def test_equal_cost_less_effect_is_dominated():
    t = cea.icer_table(["x", "y"], [100, 100], [1, 2]).set_index("strategy")
    assert t.loc["x", "status"] == "dominated" and t.loc["y", "status"] == "reference"


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
    assert cea.evpi(costs, effects, 50) == pytest.approx(37.5)
    # At WTP 1000 strategy 1 wins on average (E = 1900): EVPI = E[max] - 1900 = (0 - -100) / 4 = 25
    assert cea.evpi(costs, effects, 1000) == pytest.approx(25.0)
    # no uncertainty, no value of information
    assert cea.evpi(costs[:1], effects[:1], 50) == 0
