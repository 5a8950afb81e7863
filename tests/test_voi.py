"""Value of information against a two-strategy example with a known answer.

Strategy 0 has net benefit 0; strategy 1 has ``t1 + t2 + noise`` with independent
normal parameters of mean 0 and a chance term the parameters do not explain. Then
EVPPI(t1) = sd(t1) / sqrt(2 pi), EVPPI(t1, t2) = sqrt(var t1 + var t2) / sqrt(2 pi), and a
parameter the net benefit does not depend on is worth nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import cea, voi

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
    everything = cea.evpi(-nb, np.zeros_like(nb), 0.0)  # the raw EVPI, chance included
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
