"""The pure competency maths: bounds, diminishing returns, decay, agenda, scoring."""

from __future__ import annotations

import numpy as np
import pytest

from sim import competency as comp


def test_learning_closes_a_share_of_the_gap_and_stays_on_scale():
    c = np.array([0.0, 2.0, 3.5, 4.0])
    out = np.array(comp.learn(c, [0, 1, 2, 3], rate=0.5, effort=[1.0] * 4))
    np.testing.assert_allclose(4 - out, (4 - c) * np.exp(-0.5))
    assert out[3] == 4.0
    gains = out - c
    assert gains[0] > gains[1] > gains[2] > gains[3] == 0  # diminishing returns near 4
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = np.array(comp.learn(c, rng.choice(4, 2, replace=False), 3.0, rng.lognormal(0, 2, 2)))
        assert ((c >= 0) & (c <= 4)).all()


def test_learning_touches_only_the_agenda():
    c = np.full(8, 1.0)
    out = np.array(comp.learn(c, [2, 5], 0.3, [1.0, 1.0]))
    assert set(np.flatnonzero(out != c)) == {2, 5}


def test_decay_halves_gains_at_the_half_life_and_never_goes_below_baseline():
    base = np.array([1.0, 2.0, 3.0])
    gained = np.array([2.0, 0.0, 1.0])
    rate = 0.01
    out = comp.decay(base, gained, rate, np.log(2) / rate)
    np.testing.assert_allclose(out, [2.0, 2.0, 3.5])
    long = comp.decay(base, gained, rate, 1e6)
    np.testing.assert_allclose(long, base)
    # one exposure per nurse, as a column: each row decays by its own
    rows = comp.decay(np.vstack([base, base]), np.vstack([gained, gained]), rate,
                      np.array([[0.0], [np.log(2) / rate]]))
    np.testing.assert_allclose(rows, [[3.0, 2.0, 4.0], [2.0, 2.0, 3.5]])


def test_exposure_subtracts_protected_days():
    assert comp.decay_exposure(30, 30, 0, 0.5, 0.3) == pytest.approx(15)
    assert comp.decay_exposure(30, 30, 30, 0.5, 0.5) == pytest.approx(0)
    assert comp.decay_exposure(30, 0, 10, 0.5, 0.3) == pytest.approx(27)


def test_agenda_weighs_gaps_by_priority():
    weights = comp.priority_weights([2, 0, 1], 3, 0.5)
    np.testing.assert_allclose(weights, [0.5, 0.25, 1.0])
    # equal gaps: the priority order decides
    assert list(comp.agenda(np.zeros(3), weights, 2)) == [2, 0]
    # a large enough gap outweighs a higher priority
    assert list(comp.agenda(np.array([0.0, 0.0, 3.5]), weights, 1)) == [0]


def test_checklist_levels():
    np.testing.assert_array_equal(
        comp.checklist(np.array([0.0, 0.49, 0.5, 2.5, 3.49, 3.5, 4.0])), [0, 0, 1, 3, 3, 4, 4]
    )
