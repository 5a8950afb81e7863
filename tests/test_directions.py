"""Direction checks: changing one knob moves outcomes the way the mechanism says.

Each comparison uses the same seed, so both arms share every unrelated random
draw (common random numbers) and the paired difference is measured precisely.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim

REPS = 8


@pytest.fixture
def make_config(make_config):
    """The pilot with learning slowed below the calibrated rate, so that competency stays
    clear of the 0-4 scale's ceiling and every mechanism's effect remains visible."""
    return lambda changes=None: make_config({"mentee.learning.rate": 0.3, **(changes or {})})


def _per_rep(res: sim.Results) -> dict[str, np.ndarray]:
    m = res.mentees
    at_end = m[m["exit_reason"].isna()]
    return {
        "visits": m.groupby("replicate")["visits"].sum().to_numpy()
        / m.groupby("replicate")["mentee_id"].nunique().to_numpy(),
        "competency": at_end.groupby("replicate")["final_mean_score"].mean().to_numpy(),
        "cost": res.costs.groupby("replicate")["ksh"].sum().to_numpy(),
    }


def _clearly_greater(a: np.ndarray, b: np.ndarray) -> bool:
    """Paired difference a - b positive by more than four standard errors."""
    d = a - b
    return d.mean() > 4 * d.std(ddof=1) / math.sqrt(len(d))


def test_fewer_mentees_per_mentor_more_visits_competency_and_cost(make_config):
    arms = [_per_rep(sim.run(make_config({"mentor.mentees_per_mentor": r}), reps=REPS, seed=4))
            for r in (4, 10, 20)]
    for small, large in zip(arms, arms[1:], strict=False):
        assert _clearly_greater(small["visits"], large["visits"])
        assert _clearly_greater(small["competency"], large["competency"])
        assert _clearly_greater(small["cost"], large["cost"])


def test_stockouts_lower_practice_driven_competency(make_config):
    plenty = {"supply.vaccines.order_up_to_days": 400, "supply.vaccines.shortfall_probability": 0.0}
    scarce = {"supply.vaccines.order_up_to_days": 8, "supply.vaccines.lead_time_mean_days": 10}
    good = _per_rep(sim.run(make_config(plenty), reps=REPS, seed=6))
    bad = _per_rep(sim.run(make_config(scarce), reps=REPS, seed=6))
    assert _clearly_greater(good["competency"], bad["competency"])
    # The effect runs through practice alone: without it, stock-outs change nothing at all,
    # because supply draws come from their own streams.
    no_practice = {"mentee.decay.practice_protection": 0.0}
    a = sim.run(make_config({**plenty, **no_practice}), reps=2, seed=6).mentees
    b = sim.run(make_config({**scarce, **no_practice}), reps=2, seed=6).mentees
    assert a.equals(b)


def test_switching_whatsapp_off_lowers_retention(make_config):
    on = _per_rep(sim.run(make_config(), reps=REPS, seed=9))
    off = _per_rep(sim.run(make_config({"whatsapp.enabled": False}), reps=REPS, seed=9))
    assert _clearly_greater(on["competency"], off["competency"])
    # visits do not depend on the group; only what the nurses keep does
    np.testing.assert_allclose(on["visits"], off["visits"])


def test_supervisor_moderation_means_fewer_posts_and_less_retention(make_config):
    peer = _per_rep(sim.run(make_config(), reps=REPS, seed=12))
    sup = _per_rep(sim.run(make_config({"whatsapp.moderation": "supervisor"}), reps=REPS, seed=12))
    assert _clearly_greater(peer["competency"], sup["competency"])


def test_mentor_attrition_without_quick_replacement_costs_visits(make_config):
    stable = _per_rep(sim.run(make_config(), reps=REPS, seed=13))
    leaky = _per_rep(sim.run(make_config({
        "mentor.attrition.hazard_per_year": 1.5,
        "mentor.attrition.replacement_days_mean": 120,
    }), reps=REPS, seed=13))
    assert _clearly_greater(stable["visits"], leaky["visits"])


def test_sharing_sessions_among_more_nurses_means_less_practice(make_config):
    one = _per_rep(sim.run(make_config(), reps=REPS, seed=14))
    two = _per_rep(sim.run(make_config({"facilities.immunizing_nurses.public": 2}), reps=REPS, seed=14))
    assert _clearly_greater(one["competency"], two["competency"])
