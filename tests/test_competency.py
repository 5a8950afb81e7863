"""The fast engine's compiled competency maths (sim.engines.fast.kernels), on arrays of
nurses: bounds, diminishing returns, decay, agenda; and the rules' scoring."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines.fast import kernels as comp
from sim.rules import competency as rules


def test_learning_closes_a_share_of_the_gap_and_stays_on_scale():
    c = np.array([[0.0, 2.0, 3.5, 4.0]])
    out = comp.learn(c, np.array([[0, 1, 2, 3]]), np.full((1, 4), np.exp(-0.5)))[0]
    np.testing.assert_allclose(4 - out, (4 - c[0]) * np.exp(-0.5))
    assert out[3] == 4.0
    gains = out - c[0]
    assert gains[0] > gains[1] > gains[2] > gains[3] == 0  # diminishing returns near 4
    rng = np.random.default_rng(0)
    c = np.zeros((5, 4))
    for _ in range(200):
        areas = np.array([rng.choice(4, 2, replace=False) for _ in range(5)])
        c = comp.learn(c, areas, np.exp(-3.0 * rng.lognormal(0, 2, (5, 2))))
        assert ((c >= 0) & (c <= 4)).all()


def test_learning_touches_only_each_nurses_agenda():
    c = np.full((2, 8), 1.0)
    out = comp.learn(c, np.array([[2, 5], [0, 7]]), np.full((2, 2), 0.7))
    assert set(np.flatnonzero(out[0] != c[0])) == {2, 5}
    assert set(np.flatnonzero(out[1] != c[1])) == {0, 7}
    np.testing.assert_allclose(out[1, [0, 7]], 4 - 3 * 0.7)


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
    weights = rules.priority_weights([2, 0, 1], 3, 0.5)
    np.testing.assert_allclose(weights, [0.5, 0.25, 1.0])
    # equal gaps: the priority order decides; a large enough gap outweighs a higher priority
    rows = comp.agenda(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3.5]]), np.vstack([weights] * 2), 2)
    assert rows.tolist() == [[2, 0], [0, 1]]
    # equal weighted gaps: the lower-numbered area first
    assert comp.agenda(np.zeros((1, 3)), np.ones((1, 3)), 3).tolist() == [[0, 1, 2]]


def test_checklist_levels():
    np.testing.assert_array_equal(
        rules.checklist(np.array([0.0, 0.49, 0.5, 2.5, 3.49, 3.5, 4.0])), [0, 0, 1, 3, 3, 4, 4]
    )
