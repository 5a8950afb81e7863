"""The programme layout: sites and caseloads, with property tests."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sim import scenarios
from sim.rules.visits import WORKDAYS
from sim.rules.visits import release_weekdays as draw_weekdays
from sim.config import AREAS
from sim.rng import Streams

from conftest import _pilot_raw, build

PILOT = _pilot_raw()


def test_pilot_layout(make_config):
    cfg = make_config()
    layout = scenarios.sites(cfg)
    assert len(layout) == 40
    lari = [s for s in layout if s.subcounty == 0]
    assert [s.ownership for s in lari].count("private") == 4
    assert {s.setting for s in lari} == {"rural"}
    slots = scenarios.caseloads(cfg, layout)
    assert len(slots) == 10 and all(len(c.sites) == 4 for c in slots)
    # stream keys name the place, not the position: Machakos keeps its keys without Lari
    machakos = make_config({"subcounties": [cfg.subcounties[1].model_dump()]})
    assert [s.key for s in scenarios.sites(machakos)] == [s.key for s in layout[20:]]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=4), st.floats(1, 30))
def test_caseloads_cover_every_site_once_and_respect_the_ratio(sizes, ratio):
    subs = [{"name": f"S{i}", "setting": "rural", "priorities": list(AREAS),
             "facilities": {"public": n, "faith_based": 0, "private": 0},
             "furlough_hazard_per_year": {"public": 0, "faith_based": 0, "private": 0}}
            for i, n in enumerate(sizes)]
    cfg = build(PILOT, {"subcounties": subs, "mentor.mentees_per_mentor": ratio})
    layout = scenarios.sites(cfg)
    slots = scenarios.caseloads(cfg, layout)
    ids = sorted(i for c in slots for i in c.sites)
    assert ids == list(range(len(layout)))
    assert len({c.key for c in slots}) == len(slots)
    for s, n in enumerate(sizes):
        loads = [len(c.sites) for c in slots if c.subcounty == s]
        assert len(loads) == math.ceil(n / ratio)
        assert max(loads) - min(loads) <= 1
        assert max(loads) <= math.ceil(ratio)
        assert all(layout[i].subcounty == s for c in slots if c.subcounty == s for i in c.sites)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4), st.integers(1, 5), st.integers(0, 10_000))
def test_release_days_avoid_her_own_session_days(home, release, seed):
    if home + release > WORKDAYS:
        return
    rng = Streams(seed, 0)("mentor.weekdays", 0)
    state = rng.bit_generator.state
    days = draw_weekdays(rng, home, release)
    rng.bit_generator.state = state
    home_days = set(rng.choice(WORKDAYS, size=home, replace=False).tolist())
    assert len(days) == release == len(set(days))
    assert not home_days & set(days)
    assert all(0 <= d < WORKDAYS for d in days)
