"""The programme layout: sites and caseloads, with property tests."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sim import scenarios
from sim.agents.mentor import WORKDAYS, draw_weekdays
from sim.rng import Streams


def test_pilot_layout(make_config):
    cfg = make_config()
    layout = scenarios.sites(cfg)
    assert len(layout) == 40
    lari = [s for s in layout if s.subcounty == 0]
    assert [s.ownership for s in lari].count("private") == 4
    assert {s.setting for s in lari} == {"rural"}
    slots = scenarios.caseloads(layout, 4)
    assert len(slots) == 10 and all(len(ids) == 4 for _, ids in slots)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=4), st.floats(1, 30))
def test_caseloads_cover_every_site_once_and_respect_the_ratio(sizes, ratio):
    layout = [scenarios.Site(i, s, "public", "rural", 5, 1)
              for i, s in enumerate(s for s, n in enumerate(sizes) for _ in range(n))]
    slots = scenarios.caseloads(layout, ratio)
    ids = sorted(i for _, members in slots for i in members)
    assert ids == list(range(len(layout)))
    for s, n in enumerate(sizes):
        loads = [len(m) for sub, m in slots if sub == s]
        assert len(loads) == math.ceil(n / ratio)
        assert max(loads) - min(loads) <= 1
        assert max(loads) <= math.ceil(ratio)
        assert all(layout[i].subcounty == s for sub, m in slots if sub == s for i in m)


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
