"""Facility amenities (``sim.rules.amenities``): what each facility has, drawn from its own
stream, and a practice that needs what it lacks observed not done by the virtual survey."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim import config as cfgmod
from sim import survey
from sim.config import AMENITIES
from sim.engines import simulate
from sim.rules import amenities

from conftest import CONFIGS

WASH = "wash_hands_before_vaccination"
FRIDGE = ("arrange_vaccines_in_fridge", "fridge_temperature_chart")
LARI = "subcounties.Lari.amenities"
NONE = dict.fromkeys(AMENITIES, 0.0)
ALL = dict.fromkeys(AMENITIES, 1.0)


def _lari(shares: dict[str, float]) -> sim.Config:
    """The Lari arm of the pilot with its facilities' amenities at ``shares``."""
    return sim.load(CONFIGS / "pilot_lari.yaml", [f"{LARI}={shares}"])


def _study(cfg: sim.Config, reps: int, seed: int) -> pd.DataFrame:
    records = [simulate(cfg, seed, r) for r in range(reps)]
    return survey.study_table(survey.answer(survey.respondents(cfg, records), seed))


# --- the rule ------------------------------------------------------------------------


def test_a_practice_needs_any_one_of_its_alternatives():
    assert amenities.able(None, frozenset())
    assert amenities.able(["running_water", "hand_sanitiser"], {"hand_sanitiser"})
    assert amenities.able(["running_water", "hand_sanitiser"], {"running_water", "gas"})
    assert not amenities.able(["running_water", "hand_sanitiser"], {"electricity", "gas"})


def test_a_facility_has_what_its_draw_falls_below():
    shares = cfgmod.Amenities(running_water=0.4, hand_sanitiser=0.1, electricity=1.0, gas=0.0)
    assert amenities.present(shares, [0.39, 0.1, 0.999, 0.0]) == {"running_water", "electricity"}
    assert not amenities.certain(shares)
    assert amenities.certain(cfgmod.Amenities(gas=0.0))
    for u in ([0.0] * 4, [0.999] * 4):  # shares of 0 and 1 need no draw
        assert amenities.present(cfgmod.Amenities(gas=0.0), u) == set(AMENITIES) - {"gas"}


# --- the draws -----------------------------------------------------------------------


def test_drawn_amenities_match_the_configured_shares():
    """Each amenity is present at its share, independently of the others: over 8 replicates
    of 500 facilities each count is Binomial(4000, share), checked within 4 sd."""
    shares = {"running_water": 0.4, "hand_sanitiser": 0.1, "electricity": 0.8, "gas": 0.75}
    cfg = sim.load(CONFIGS / "pilot_lari.yaml", [
        "months=1", f"{LARI}={shares}", "subcounties.Lari.facilities={public: 500}"])
    drawn = np.array([[a in has for a in AMENITIES]
                      for r in range(8) for has in simulate(cfg, 3, r).amenities])
    n = len(drawn)
    assert n == 4000
    expected = {**{a: shares[a] for a in AMENITIES},
                "water and sanitiser": shares["running_water"] * shares["hand_sanitiser"],
                "power or gas": 1 - (1 - shares["electricity"]) * (1 - shares["gas"])}
    i = {a: k for k, a in enumerate(AMENITIES)}
    got = {**{a: drawn[:, i[a]].sum() for a in AMENITIES},
           "water and sanitiser": (drawn[:, i["running_water"]]
                                   & drawn[:, i["hand_sanitiser"]]).sum(),
           "power or gas": (drawn[:, i["electricity"]] | drawn[:, i["gas"]]).sum()}
    for name, p in expected.items():
        assert abs(got[name] - n * p) < 4 * math.sqrt(n * p * (1 - p)), name


def test_a_higher_share_only_adds_facilities_with_the_amenity():
    """Common random numbers: each facility's draws are its own, whatever the shares."""
    low, high = (_lari({"running_water": w, "gas": 0.3}) for w in (0.3, 0.7))
    for r in range(3):
        a, b = simulate(low, 5, r).amenities, simulate(high, 5, r).amenities
        assert all(("running_water" in x) <= ("running_water" in y) for x, y in zip(a, b, strict=True))
        assert sum("running_water" in x for x in a) < sum("running_water" in y for y in b)
        assert [x - {"running_water"} for x in a] == [y - {"running_water"} for y in b]


def test_amenities_change_nothing_but_the_amenities(pilot_raw):
    """They are drawn from a stream of their own: every visit, post, reading, spell, mentor,
    ledger row and survey state is the same with the pilot's Lari shares as with every
    amenity everywhere, which is also what a subcounty that states none has."""
    pilot = sim.load(CONFIGS / "pilot.yaml")
    everything = sim.load(CONFIGS / "pilot.yaml", [f"{LARI}={ALL}"])
    unstated = {**pilot_raw, "subcounties": [{k: v for k, v in sub.items() if k != "amenities"}
                                             for sub in pilot_raw["subcounties"]]}
    assert cfgmod.from_dict(unstated, "pilot") == everything
    a, b = simulate(pilot, 7, 1), simulate(everything, 7, 1)
    assert a.amenities != b.amenities and b.amenities == [frozenset(AMENITIES)] * 40
    assert list(a.visits) == list(b.visits) and sorted(a.posts) == sorted(b.posts)
    for x, y in ((a.spells, b.spells), (a.months, b.months), (a.states, b.states)):
        assert len(x) == len(y)
        for u, v in zip(x, y, strict=True):
            assert repr(u) == repr(v)
    assert a.mentors == b.mentors and a.ledger.ksh == b.ledger.ksh and a.events == b.events


# --- the survey ----------------------------------------------------------------------


def test_with_every_amenity_the_survey_is_as_without_needs():
    """All present, the survey answers exactly as if no item needed anything; the rows of a
    practice the facility cannot do are answered wrong, and only those change."""
    everything = _lari(ALL)
    data = everything.to_dict()
    for item in data["survey"]["items"].values():
        item["needs"] = None
    no_needs = cfgmod.from_dict(data)
    records = [simulate(everything, 2, r) for r in range(10)]
    resp = survey.respondents(everything, records)
    assert resp["able"].all()
    pd.testing.assert_frame_equal(survey.answer(resp, 2),
                                  survey.answer(survey.respondents(no_needs, records), 2))

    pilot = _lari({"running_water": 0.4, "hand_sanitiser": 0.1, "electricity": 0.8, "gas": 0.75})
    records = [simulate(pilot, 2, r) for r in range(10)]
    resp = survey.respondents(pilot, records)
    unable = ~resp["able"]
    assert set(resp.loc[unable, "item"]) == {WASH, *FRIDGE}
    answered, as_if_able = (survey.answer(r, 2)["correct"]
                            for r in (resp, resp.assign(able=True)))
    assert not answered[unable].any() and as_if_able[unable].any()
    assert answered[~unable].equals(as_if_able[~unable])  # one stream, the same draws


def test_without_water_or_sanitiser_no_handwashing_gain_with_water_a_gain():
    """A Lari-like subcounty whose facilities have neither water nor sanitiser shows no nurse
    washing her hands at either survey, so no gain; with water it shows the gain that
    mentoring in administering vaccines brings, beyond 3 standard errors over 60 replicates.
    The fridge practices follow power or gas the same way."""
    reps = 60
    dry = _study(_lari({**ALL, "running_water": 0.0, "hand_sanitiser": 0.0}), reps, 4)
    wet = _study(_lari({**ALL, "hand_sanitiser": 0.0}), reps, 4)
    wash = dry[dry["item"] == WASH]
    assert len(wash) == reps and (wash[["n_baseline", "n_endline"]] >= 5).all().all()  # observed
    assert (wash["share_baseline"] == 0).all() and (wash["share_endline"] == 0).all()
    assert (wash["p_value"] == 1).all()
    gain = (wet[wet["item"] == WASH]["share_endline"]
            - wet[wet["item"] == WASH]["share_baseline"])
    assert gain.mean() > 3 * gain.std() / math.sqrt(reps)
    unpowered = _study(_lari({**ALL, "electricity": 0.0, "gas": 0.0}), 5, 4)
    for item in FRIDGE:
        fridge = unpowered[unpowered["item"] == item]
        assert (fridge[["share_baseline", "share_endline"]] == 0).all().all()
    assert (unpowered[unpowered["item"] == WASH]["share_endline"] > 0).any()


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_facility_draws_the_same_amenities_on_either_engine(engine):
    cfg = _lari({"running_water": 0.5, "hand_sanitiser": 0.5, "electricity": 0.5, "gas": 0.5})
    drawn = simulate(cfg, 9, 2, engine).amenities
    assert drawn == simulate(cfg, 9, 2, "fast").amenities and len(set(drawn)) > 4
