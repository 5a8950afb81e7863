"""The rules (sim.rules) against theory: each is a plain function of one nurse, caseload,
shelf or group, so each property is checked directly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rules import competency, graduation, visits, whatsapp
from sim.rules.supply import deliveries, expected_stockout_share

RNG = np.random.default_rng(20261202)


def test_decay_is_a_semigroup_that_never_goes_below_the_baseline():
    floor = RNG.uniform(0, 2, 8)
    c = floor + RNG.uniform(0, 2, 8)
    k = 2.0 / 365
    twice = competency.decay(competency.decay(c, floor, k, 40.0), floor, k, 60.0)
    np.testing.assert_allclose(twice, competency.decay(c, floor, k, 100.0), rtol=1e-14)
    half_life = math.log(2) / k
    np.testing.assert_allclose(competency.decay(c, floor, k, half_life) - floor, (c - floor) / 2,
                               rtol=1e-12)
    assert (competency.decay(c, floor, k, 1e6) >= floor).all()


def test_exposure_removes_the_protected_shares():
    assert competency.exposure(10.0, 6.0, 10.0, 0.5, 0.3) == pytest.approx(10 - 3 - 3)
    assert competency.exposure(10.0, 0.0, 0.0, 0.5, 0.3) == 10.0


def test_learning_closes_the_gap_with_diminishing_returns_and_stays_in_range():
    c = np.array([0.0, 1.0, 2.0, 3.0, 3.9, 4.0, 0.5, 2.5])
    out = competency.learn(c, [0, 3, 4], [1.0, 1.0, 1.0], 0.7)
    kept = math.exp(-0.7)
    np.testing.assert_allclose(out[[0, 3, 4]], 4 - (4 - c[[0, 3, 4]]) * kept)
    assert (out[[1, 2, 5, 6, 7]] == c[[1, 2, 5, 6, 7]]).all()
    gains = out - c
    assert gains[0] > gains[3] > gains[4]  # less to learn near proficiency
    assert (out <= 4).all() and (out >= c).all()


def test_effort_is_lognormal_with_mean_one():
    sd = 0.4
    draws = RNG.normal(-sd * sd / 2, sd, 200_000)
    mean = np.mean([competency.effort(z) for z in draws])
    # standard error of the mean: sqrt(exp(sd^2) - 1) / sqrt(n) ~ 0.0009
    assert mean == pytest.approx(1.0, abs=0.004)


def test_the_agenda_takes_the_largest_weighted_gaps_ties_to_the_lower_area():
    c = np.array([4.0, 1.0, 1.0, 3.0, 2.0, 4.0, 0.0, 3.5])
    w = np.ones(8)
    assert competency.agenda(c, w, 3) == [6, 1, 2]
    w[6] = 0.2  # area 6 is low priority: weighted need 0.8, less than area 4's 2
    assert competency.agenda(c, w, 3) == [1, 2, 4]


def test_a_post_closes_a_share_of_one_areas_gap():
    c = np.full(8, 2.0)
    out = competency.post(c, 5, 0.25)
    assert out[5] == 2.5 and (np.delete(out, 5) == 2.0).all() and (c == 2.0).all()


def test_a_course_adds_its_gain_capped_at_four():
    out = competency.course(np.array([3.8, 1.0]), np.array([0.5, 0.5]))
    assert out.tolist() == [4.0, 1.5]


def test_checklist_rounds_to_the_nearest_level():
    assert competency.checklist(np.array([0.49, 0.5, 2.51, 3.49, 4.0])).tolist() == [0, 1, 3, 3, 4]


def test_release_days_fall_on_her_weekdays_with_windows_halfway_to_the_next():
    plan = visits.release_days(start=3.2, first_weekday=2, weekdays=(0, 3), horizon=60.0)
    weekdays = [(2 + int(d)) % 7 for d in plan.days]
    assert set(weekdays) == {0, 3} and plan.days[0] >= 4 and plan.days[-1] < 60
    np.testing.assert_array_equal(plan.window_ends[:-1], (plan.days[:-1] + plan.days[1:]) / 2)


def test_release_weekdays_avoid_her_own_session_days():
    rng = np.random.default_rng(1)
    for _ in range(50):
        days = visits.release_weekdays(rng, home_days=2, release_days=2)
        assert len(set(days)) == 2 and all(0 <= d < visits.WORKDAYS for d in days)


def test_a_round_visits_the_most_overdue_first_within_cap_and_hours():
    due = [visits.Due(10.0, 3, 4.5), visits.Due(5.0, 7, 4.5), visits.Due(5.0, 2, 3.0),
           visits.Due(40.0, 1, 1.0), visits.Due(math.inf, 0, 1.0)]
    assert visits.round_visits(due, 20.0, cap=5, workday_hours=8.0) == [2, 1]  # hours bind
    assert visits.round_visits(due, 20.0, cap=1, workday_hours=99.0) == [2]  # the cap binds
    # a visit that does not fit is skipped; a shorter one after it still fits
    assert visits.round_visits(due, 50.0, cap=5, workday_hours=8.5) == [2, 1, 3]


def test_next_due_keeps_the_interval_and_the_minimum_gap():
    assert visits.next_due(30.0, 31.0, 30.4, 14.0) == pytest.approx(60.4)
    assert visits.next_due(30.0, 55.0, 30.4, 14.0) == 69.0  # a late visit: the gap holds


def test_group_placement_fills_then_splits_or_queues():
    assert whatsapp.place([], 3, split_at_cap=False) == whatsapp.OPEN_NEW
    assert whatsapp.place([3, 2], 3, split_at_cap=False) == 1
    assert whatsapp.place([3, 3], 3, split_at_cap=True) == whatsapp.OPEN_NEW
    assert whatsapp.place([3, 3], 3, split_at_cap=False) == whatsapp.WAIT
    assert whatsapp.rate(0.1, active_mentees=4, mentors=1) == pytest.approx(0.5)


def test_graduation_needs_the_required_run_of_readings():
    months = 0
    qualified = []
    for levels in ([3] * 8, [3] * 8, [2] + [3] * 7, [4] * 8, [3] * 8, [3] * 8, [3] * 8):
        months = graduation.months_at_level(months, graduation.at_level(np.array(levels), 3))
        qualified.append(graduation.qualifies(months, 3))
    assert qualified == [False, False, False, False, False, True, False]


def test_stockouts_match_the_renewal_reward_share(make_config):
    # without shortfalls no stock is carried over, so the long-run share is exact
    params = make_config().supply["vaccines"].model_copy(update={"shortfall_probability": 0.0})
    horizon = 20_000.0
    shelves = [deliveries(params, horizon, np.random.default_rng(s)) for s in range(40)]
    shares = [s.stockout_days_until(horizon) / horizon for s in shelves]
    expected = expected_stockout_share(params)
    # 40 independent shelves of ~20,000 days: the mean share's sd is well under 0.002
    assert np.mean(shares) == pytest.approx(expected, abs=0.006)
    for shelf in shelves[:5]:  # stock-out days grow by at most the time elapsed
        grid = np.linspace(0, horizon, 500)
        out = np.array([shelf.stockout_days_until(t) for t in grid])
        assert (np.diff(out) >= 0).all() and (np.diff(out) <= np.diff(grid) + 1e-9).all()
