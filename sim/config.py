"""Scenario configuration: a typed schema, YAML loading and dotted overrides.

A scenario file is plain YAML. It is validated once, here, into frozen pydantic
models, so the model layer can trust every number it reads. Every failure is a
:class:`ConfigError` carrying one line that names the YAML path and the problem;
the CLI prints that line and exits with status 2.

Only a scenario's own layout and plan are required: ``name``, ``start_date``,
``months`` and each subcounty's ``name``, ``setting`` and facilities. Every other
key defaults to the calibrated pilot's value, that of ``configs/pilot.yaml`` with
``configs/params/lari_calibrated.yaml`` (a test keeps them equal), except a subcounty's
amenities, which default to every facility having all of them. Each default is
marked here as from the paper (Hossain et al., GHSP 2021,
doi:10.9745/GHSP-D-20-00421), calibrated to the Lari arm, or an assumption. A block
given in part keeps the defaults of the keys it leaves out, at every depth.

A subcounty's facilities are counts per ownership or a list of named facilities;
a top-level ``facility_list`` (a CSV file such as a KMHFL export) fills in the
list of every subcounty that gives none, and is not kept in the :class:`Config`.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import yaml
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

#: The eight technical areas of the pilot's learning agenda (pilot.md).
AREAS: tuple[str, ...] = (
    "monitoring_data_use",
    "record_keeping_reporting",
    "problem_solving",
    "vaccine_supply_chain",
    "increasing_coverage",
    "cold_chain",
    "administering_vaccines",
    "interpersonal_communication",
)
Ownership = Literal["public", "faith_based", "private"]
OWNERSHIPS: tuple[str, ...] = get_args(Ownership)

Setting = Literal["rural", "urban"]
#: What a facility may lack that a practice needs (see :mod:`sim.rules.amenities`).
Amenity = Literal["running_water", "hand_sanitiser", "electricity", "gas"]
AMENITIES: tuple[str, ...] = get_args(Amenity)
Moderation = Literal["peer", "supervisor"]


class ConfigError(Exception):
    """A scenario that cannot be run; ``str()`` is the one-line message for the user."""


def _plain(value: Any) -> Any:
    """A default as plain data (models dumped), ready to merge a partial mapping into."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        """Merge a partial mapping given for a defaulted block into that block's default.

        A block type can have different defaults in different places (a
        :class:`ByOwnership` of session days or of hazards), so the default comes
        from the field that holds it.
        """
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            given = out.get(name)
            if isinstance(given, dict) and field.default_factory is not None:
                out[name] = _merge(_plain(field.default_factory()), given)
        return out


class ByOwnership(_Block):
    """One non-negative number per facility ownership type."""

    public: float = Field(ge=0, description="Value for public (government) facilities.")
    faith_based: float = Field(ge=0, description="Value for faith-based (FBO) facilities.")
    private: float = Field(ge=0, description="Value for private facilities.")

    def __getitem__(self, ownership: str) -> float:
        return getattr(self, ownership)


class FacilityCounts(ByOwnership):
    """How many facilities of each ownership type (none where not given)."""

    public: int = Field(default=0, ge=0, description="Public (government) facilities.")
    faith_based: int = Field(default=0, ge=0, description="Faith-based (FBO) facilities.")
    private: int = Field(default=0, ge=0, description="Private facilities.")

    @property
    def total(self) -> int:
        return self.public + self.faith_based + self.private


class ListedFacility(_Block):
    """A facility of a subcounty's list: from a ``facility_list`` file or written inline."""

    name: str = Field(min_length=1, description="The facility's name, carried to the outputs.")
    ownership: Ownership = Field(description="Its ownership type.")
    keph_level: str | None = Field(
        default=None, description="Its KEPH level, carried to the outputs; the model does not "
                                  "use it.")


# The two forms of a subcounty's facilities; the tags are left out of error paths.
_COUNTS, _LISTED = "facility counts", "facility list"
_UNION_TAGS = {_COUNTS, _LISTED}


def _facilities_form(value: Any) -> str | None:
    if isinstance(value, dict | FacilityCounts):
        return _COUNTS
    return _LISTED if isinstance(value, list) else None


FacilitiesGiven = Annotated[
    Annotated[FacilityCounts, Tag(_COUNTS)] | Annotated[list[ListedFacility], Tag(_LISTED)],
    Discriminator(_facilities_form, custom_error_type="facilities",
                  custom_error_message="expected counts {public, faith_based, private} "
                                       "or a list of facilities {name, ownership, keph_level}"),
]

#: Lari's agenda order, the default for every subcounty (paper: the mentees' chosen order;
#: "reaching every district" is part of increasing_coverage; problem_solving was not
#: ranked and goes last, an assumption).
LARI_PRIORITIES: tuple[str, ...] = (
    "record_keeping_reporting", "increasing_coverage", "monitoring_data_use",
    "vaccine_supply_chain", "cold_chain", "interpersonal_communication",
    "administering_vaccines", "problem_solving",
)


class Amenities(_Block):
    """Shares of a subcounty's facilities with each amenity (0-1). Each facility's are drawn
    independently, once per replicate (see :mod:`sim.rules.amenities`); a survey item that
    ``needs`` one of them is observed not done where a facility has none."""

    running_water: float = Field(
        default=1.0, ge=0, le=1,
        description="Share with running water, for hand washing (assumption: all, unless the "
                    "county's data say otherwise).")
    hand_sanitiser: float = Field(
        default=1.0, ge=0, le=1,
        description="Share with hand sanitiser, the alternative to water for hand washing "
                    "(assumption: all, unless the county's data say otherwise).")
    electricity: float = Field(
        default=1.0, ge=0, le=1,
        description="Share with electricity, for the vaccine fridge (assumption: all, unless the "
                    "county's data say otherwise).")
    gas: float = Field(
        default=1.0, ge=0, le=1,
        description="Share with gas for the fridge, the alternative to electricity (assumption: "
                    "all, unless the county's data say otherwise).")


class Subcounty(_Block):
    """One subcounty: its facilities, setting and the mentees' priority order.

    Subcounty names are unique. ``priorities`` and ``furlough_hazard_per_year`` default to
    Lari's, the calibrated arm, whatever the setting; ``amenities`` default to every facility
    having every amenity (a county's own data, which the pilot cannot give).
    """

    name: str = Field(min_length=1,
                      description="The subcounty's name; a list step of `--set` may use it.")
    setting: Setting = Field(description="Rural or urban: selects `mentor.travel_hours` (paper).")
    facilities: FacilitiesGiven = Field(
        description="Counts per ownership, or a list of facilities; may come from the "
                    "`facility_list` instead. One mentored nurse post each (paper).")
    priorities: list[str] = Field(default_factory=lambda: list(LARI_PRIORITIES),
                                  description="The agenda order: each of the eight areas once, "
                                              "highest priority first (paper; problem_solving "
                                              "last, an assumption).")
    furlough_hazard_per_year: ByOwnership = Field(
        default_factory=lambda: ByOwnership(public=0.0, faith_based=0.134, private=0.134),
        description="Hazard a year of an economic shock that furloughs the facility's nurse, by "
                    "ownership (paper, Lari: 1 of 8 private and faith-based facilities in 12 "
                    "months, -ln(7/8) = 0.134; public ones never).")
    amenities: Amenities = Field(
        default_factory=Amenities,
        description="Shares of its facilities with running water, hand sanitiser, electricity "
                    "and gas; each left out is 1, every facility (assumption). The pilot's Lari "
                    "shares are assumptions from the paper's account (configs/pilot.yaml).")

    @model_validator(mode="after")
    def _check(self) -> Subcounty:
        if self.counts.total < 1:
            raise ValueError("a subcounty needs at least one facility")
        if sorted(self.priorities) != sorted(AREAS):
            raise ValueError(
                "priorities must list each of the eight areas once: " + ", ".join(AREAS)
            )
        return self

    @property
    def counts(self) -> FacilityCounts:
        """Facilities per ownership, in whichever form they were given."""
        if isinstance(self.facilities, FacilityCounts):
            return self.facilities
        return FacilityCounts(**{o: sum(f.ownership == o for f in self.facilities)
                                 for o in OWNERSHIPS})

    def roster(self) -> list[tuple[str, str, str | None]]:
        """``(ownership, name, KEPH level)`` of every facility, ownership by ownership.

        Listed facilities keep their list order within an ownership; counted ones
        are named ``<subcounty> <ownership> <k>`` (``Lari public 3``), with no KEPH level.
        """
        if isinstance(self.facilities, FacilityCounts):
            return [(o, f"{self.name} {o} {k + 1}", None)
                    for o in OWNERSHIPS for k in range(self.facilities[o])]
        return [(f.ownership, f.name, f.keph_level)
                for f in sorted(self.facilities, key=lambda f: OWNERSHIPS.index(f.ownership))]


class Facilities(_Block):
    """Facilities' practice and furlough, by ownership; session days and nurses are whole
    numbers (days 1-5, nurses at least 1)."""

    session_days_per_week: ByOwnership = Field(
        default_factory=lambda: ByOwnership(public=5, faith_based=3, private=2),
        description="Immunization session days a week (assumption).")
    immunizing_nurses: ByOwnership = Field(
        default_factory=lambda: ByOwnership(public=1, faith_based=1, private=1),
        description="Nurses sharing the sessions; a nurse's practice is session days / nurses / "
                    "5 (paper: many facilities have one; assumption).")
    furlough_return_days_mean: float | None = Field(
        default=None, gt=0,
        description="Mean days before a furloughed facility returns; null: never (paper).")

    @model_validator(mode="after")
    def _check(self) -> Facilities:
        for o in OWNERSHIPS:
            days, nurses = self.session_days_per_week[o], self.immunizing_nurses[o]
            if days not in (1, 2, 3, 4, 5):
                raise ValueError(f"session_days_per_week.{o} must be a whole number from 1 to 5")
            if nurses < 1 or not float(nurses).is_integer():
                raise ValueError(f"immunizing_nurses.{o} must be a whole number, at least 1")
        return self


#: calibrated: one shift of assumed per-area means (configs/params/lari_calibrated.yaml)
CALIBRATED_BASELINE_MEAN: dict[str, float] = {
    "monitoring_data_use": 0.9305,
    "record_keeping_reporting": 1.7305,
    "problem_solving": 1.4305,
    "vaccine_supply_chain": 1.1305,
    "increasing_coverage": 1.1305,
    "cold_chain": 2.1305,
    "administering_vaccines": 2.4305,
    "interpersonal_communication": 2.1305,
}


class Baseline(_Block):
    """A new nurse's competency: each area drawn independently, clipped to 0-4."""

    mean: dict[str, float] = Field(
        default_factory=lambda: dict(CALIBRATED_BASELINE_MEAN),
        description="Mean baseline score of each of the eight areas, 0-4 (calibrated: one shift "
                    "of assumed per-area values).")
    sd: float = Field(default=0.4968, ge=0,
                      description="Standard deviation of the baseline score (calibrated).")

    @model_validator(mode="after")
    def _check(self) -> Baseline:
        if sorted(self.mean) != sorted(AREAS):
            raise ValueError("baseline.mean needs exactly the eight areas: " + ", ".join(AREAS))
        for area, m in self.mean.items():
            if not 0 <= m <= 4:
                raise ValueError(f"baseline.mean.{area} must be within the 0-4 scale")
        return self


class Learning(_Block):
    """Learning at a visit (see :func:`sim.rules.competency.learn`)."""

    rate: float = Field(default=0.5882, ge=0, le=5,
                        description="At mean effort a trained area closes 1 - exp(-rate) of its "
                                    "gap to 4 (calibrated).")
    noise_sd: float = Field(default=0.3, ge=0,
                            description="Log-scale sd of a visit's effort, drawn per area with "
                                        "mean 1 (assumption).")
    areas_per_visit: int = Field(default=3, ge=1, le=len(AREAS),
                                 description="Areas trained per visit (assumption).")
    priority_weight_decay: float = Field(
        default=0.85, gt=0, le=1,
        description="Factor by which the agenda weight falls per priority rank (assumption).")


class Decay(_Block):
    """Decay of gains above the baseline; the two protections sum to at most 1."""

    rate_per_year: float = Field(default=0.7136, ge=0,
                                 description="Decay rate of gains above the baseline, a year "
                                             "(calibrated).")
    practice_protection: float = Field(
        default=0.5, ge=0, le=1,
        description="Share of decay prevented on full-practice days (assumption).")
    whatsapp_protection: float = Field(
        default=0.3, ge=0, le=1,
        description="Share of decay prevented while an active WhatsApp member (assumption).")

    @model_validator(mode="after")
    def _check(self) -> Decay:
        if self.practice_protection + self.whatsapp_protection > 1:
            raise ValueError("practice_protection + whatsapp_protection must not exceed 1")
        return self


class Turnover(_Block):
    """Nurses leaving their posts, and the vacancy before a new nurse."""

    hazard_per_year: float = Field(default=0.0826, ge=0,
                                   description="Hazard a year that a nurse leaves her post "
                                               "(calibrated).")
    vacancy_days_mean: float = Field(default=60, ge=0,
                                     description="Mean days a post stays vacant (assumption).")


class Mentee(_Block):
    """The mentored nurses: competency at baseline, learning, decay and turnover."""

    baseline: Baseline = Field(default_factory=Baseline, description="A new nurse's competency.")
    learning: Learning = Field(default_factory=Learning, description="Learning at a visit.")
    decay: Decay = Field(default_factory=Decay, description="Decay of gains.")
    turnover: Turnover = Field(default_factory=Turnover, description="Nurse turnover.")


class Attrition(_Block):
    """Mentors leaving, and the gap before a replacement."""

    hazard_per_year: float = Field(default=0.05, ge=0,
                                   description="Hazard a year that a mentor leaves (assumption).")
    replacement_days_mean: float = Field(
        default=90, ge=0, description="Mean days before a replacement arrives (assumption).")


class TravelHours(_Block):
    """Round trip per visit, by setting (assumption)."""

    rural: float = Field(default=1.5, ge=0, description="Hours in a rural subcounty.")
    urban: float = Field(default=1.0, ge=0, description="Hours in an urban subcounty.")


class Mentor(_Block):
    """Peer mentors: caseloads, release days, visit scheduling and attrition.

    Release and home session days fit in a 5-day week, and ``workday_hours`` holds one
    visit with the longest travel.
    """

    enabled: bool = Field(default=True, description="False: no mentors and no visits (the "
                                                    "classroom course alone).")
    mentees_per_mentor: float = Field(default=4, ge=1,
                                      description="Caseload; sets the number of mentor slots "
                                                  "(paper: 1:4).")
    release_days_per_week: int = Field(default=1, ge=1, le=5,
                                       description="Release weekdays (paper: about a day a week).")
    home_session_days_per_week: int = Field(
        default=2, ge=0, le=4,
        description="Session days at her own facility, on which she is never released "
                    "(assumption).")
    max_visits_per_day: int = Field(default=2, ge=1,
                                    description="Visit cap per release day (assumption).")
    absence_probability: float = Field(default=0.0275, ge=0, lt=1,
                                       description="Chance a release day is lost to her own "
                                                   "facility (calibrated).")
    target_interval_days: float = Field(default=30.4, gt=0,
                                        description="Planned days between visits (paper: at "
                                                    "least monthly).")
    min_days_between_visits: float = Field(default=14, ge=0,
                                           description="Minimum days after a late visit before "
                                                       "the next (assumption).")
    workday_hours: float = Field(default=8, gt=0,
                                 description="Hours in a release day (assumption).")
    visit_hours: float = Field(default=3, gt=0, description="Length of a visit (assumption).")
    travel_hours: TravelHours = Field(default_factory=TravelHours,
                                      description="Round trip per visit, by setting.")
    attrition: Attrition = Field(default_factory=Attrition, description="Mentor attrition.")

    @model_validator(mode="after")
    def _check(self) -> Mentor:
        if self.release_days_per_week + self.home_session_days_per_week > 5:
            raise ValueError(
                "release_days_per_week + home_session_days_per_week must fit in a 5-day week"
            )
        worst = self.visit_hours + max(self.travel_hours.rural, self.travel_hours.urban)
        if worst > self.workday_hours:
            raise ValueError("workday_hours is too short for one visit with its travel")
        return self


class Supply(_Block):
    """One stock line at each facility (see :mod:`sim.rules.supply`)."""

    review_period_days: float = Field(gt=0, description="Days from a delivery to the next order.")
    lead_time_mean_days: float = Field(ge=0,
                                       description="Mean exponential lead time of an order, days.")
    order_up_to_days: float = Field(gt=0, description="Order-up-to level, in days of use.")
    shortfall_probability: float = Field(ge=0, le=1,
                                         description="Chance the store is short for a delivery.")
    shortfall_fill_fraction: float = Field(
        ge=0, le=1, description="Share of the order a short delivery fills.")


def _pilot_supply() -> dict[str, Supply]:
    """The pilot's three stock lines, all assumptions (the paper gives no rates)."""
    def line(up_to: float, short: float, fill: float) -> Supply:
        # monthly collection from the subcounty store, 5 days' mean lead time
        return Supply(review_period_days=30, lead_time_mean_days=5, order_up_to_days=up_to,
                      shortfall_probability=short, shortfall_fill_fraction=fill)

    return {
        "vaccines": line(40, 0.15, 0.5),  # Lari: all vaccines on 94-95 % of survey days
        # materials and cards: long-run availability 20/35 = 57 %, between the Lari survey's
        # two observations of each (materials 70 % then 41 %, cards 20 % then 94 %)
        "materials": line(20, 0.0, 1.0),
        "child_health_cards": line(20, 0.0, 1.0),
    }


class WhatsApp(_Block):
    """The subcounties' WhatsApp groups (see :mod:`sim.rules.whatsapp`)."""

    enabled: bool = Field(default=True, description="Whether the groups exist at all (paper).")
    start_month: int = Field(default=4, ge=1,
                             description="Month the groups open; never if after the horizon "
                                         "(paper: the mentees' group from July 2018).")
    moderation: Moderation = Field(default="peer",
                                   description="Who moderates (paper: mentors, in rotation).")
    active_probability: float = Field(default=0.6, ge=0, le=1,
                                      description="Chance a nurse is an active member "
                                                  "(assumption).")
    posts_per_active_member_per_week: float = Field(
        default=0.5, ge=0, description="Posting rate per active member (assumption).")
    moderation_effect: dict[Moderation, float] = Field(
        default_factory=lambda: {"peer": 1.0, "supervisor": 0.4},
        description="Multiplier on posting, for peer and supervisor moderation, each "
                    "non-negative (assumption; direction: the paper expected supervisors to "
                    "suppress posting).")
    reinforcement: float = Field(default=0.03, ge=0, lt=1,
                                 description="Share of an area's gap closed by one post "
                                             "(assumption).")
    member_cap: int = Field(default=256, ge=2,
                            description="Members (nurses and mentors) a group holds: WhatsApp's "
                                        "limit at the time.")
    split_at_cap: bool = Field(default=True,
                               description="Open a new group when one is full (counties did "
                                           "so); false: a queue for the full group.")

    @model_validator(mode="after")
    def _check(self) -> WhatsApp:
        if set(self.moderation_effect) != {"peer", "supervisor"}:
            raise ValueError("moderation_effect needs values for peer and supervisor")
        if any(v < 0 for v in self.moderation_effect.values()):
            raise ValueError("moderation_effect values must be non-negative")
        return self


class Costs(_Block):
    """Unit costs in KSh of ``price_year``."""

    ksh_per_usd: float = Field(default=100, gt=0,
                               description="Exchange rate, for the US$ columns only (paper: "
                                           "100 KSh ~ 1 US$).")
    transport_per_visit: float = Field(default=1000, ge=0,
                                       description="Mentor transport per visit (paper, read as "
                                                   "per visit).")
    lunch_per_visit: float = Field(default=500, ge=0, description="Mentor lunch per visit (paper).")
    mentor_airtime_per_month: float = Field(default=500, ge=0,
                                            description="Airtime per mentor in post (paper).")
    mentee_airtime_per_month: float = Field(default=300, ge=0,
                                            description="Airtime per WhatsApp group member "
                                                        "(paper).")
    orientation_per_mentor: float = Field(default=6000, ge=0,
                                          description="2-day orientation of each new mentor, "
                                                      "transport and meals (assumption).")
    coordination_per_subcounty_month: float = Field(
        default=5000, ge=0, description="Subcounty coordinator time (assumption).")
    discount_rate: float = Field(default=0.03, ge=0, le=0.5,
                                 description="Discount rate a year for costs and effects in `cea` "
                                             "(convention; sensitivity 0 and 0.05).")
    price_year: int | None = Field(default=2018, ge=1990, le=2100,
                                   description="Year the unit costs are priced in (the pilot's "
                                               "shillings).")
    fiscal_year_start_month: int = Field(
        default=7, ge=1, le=12,
        description="Calendar month a government fiscal year starts in (Kenya's: July); budget "
                    "years and the scale-up's annual cap follow it.")


class Classroom(_Block):
    """A classroom course for every enrolled nurse (see :func:`sim.engines.processes.courses`).

    Off by default, as in the pilot; every value is an assumption (``docs/model.md``
    gives the sources of the per diem and the check on the total).
    """

    enabled: bool = Field(default=False, description="Run the course.")
    start_month: int = Field(default=1, ge=1, description="Month the first cohort starts.")
    course_days: int = Field(default=5, ge=1, le=30,
                             description="Days per course (a WHO immunization-module course).")
    cohort_size: int = Field(default=20, ge=1,
                             description="Trainees per cohort; one cohort a week.")
    gain: dict[str, float] = Field(
        default_factory=lambda: {
            a: 0.5 if a in ("problem_solving", "interpersonal_communication") else 1.0
            for a in AREAS},
        description="Checklist points gained in each of the eight areas at the course's end, "
                    "0-4.")
    per_diem_per_day: float = Field(default=4200, ge=0,
                                    description="KSh per trainee and day (public-service DSA, "
                                                "job groups F-J).")
    travel_per_trainee: float = Field(default=2000, ge=0,
                                      description="KSh return fare to the district town.")
    venue_per_day: float = Field(default=30000, ge=0,
                                 description="KSh hall and meals per cohort and day.")
    facilitators: int = Field(default=2, ge=0, description="Facilitators per cohort.")
    facilitator_fee_per_day: float = Field(default=6000, ge=0,
                                           description="KSh per facilitator and day.")
    lost_session_cost: float = Field(default=2500, ge=0,
                                     description="KSh per immunization session lost while a "
                                                 "single nurse is away.")

    @model_validator(mode="after")
    def _check(self) -> Classroom:
        if sorted(self.gain) != sorted(AREAS):
            raise ValueError("gain needs exactly the eight areas: " + ", ".join(AREAS))
        if any(not 0 <= g <= 4 for g in self.gain.values()):
            raise ValueError("gain values must be within 0-4 checklist points")
        return self


class Phase(_Block):
    """A scale-up phase: the subcounties that join the programme at its start."""

    start_month: int = Field(ge=1, description="Planned month of the phase's start.")
    subcounties: list[str] = Field(min_length=1,
                                   description="Subcounties joining, by name; each in one phase "
                                               "at most.")
    mentees_per_mentor: float | None = Field(default=None, ge=1,
                                             description="The phase's caseload; null: "
                                                         "`mentor.mentees_per_mentor`.")
    mentors: Literal["recruits", "graduates"] = Field(
        default="recruits",
        description="Who fills its mentor slots: recruits, or graduates first, then recruits.")


class Graduation(_Block):
    """A mentee with every area at ``threshold`` or above for ``months`` month-end readings
    may become a mentor (assumption: the rule of the shipped county scale-ups)."""

    threshold: int = Field(default=3, ge=1, le=4,
                           description="Checklist level every area must reach.")
    months: int = Field(default=3, ge=1,
                        description="Consecutive month-end readings at that level.")


class ScaleUp(_Block):
    """A rollout plan (see :mod:`sim.engines.plan`); subcounties in no phase start at once."""

    phases: list[Phase] = Field(min_length=1, description="The phases, in any order.")
    annual_budget_ksh: float | None = Field(default=None, gt=0,
                                            description="Cap on a fiscal year's spending that "
                                                        "gates phase starts; null: no cap.")
    graduation: Graduation = Field(default_factory=Graduation,
                                   description="When a mentee may become a mentor.")


class SurveyItem(_Block):
    """A survey item: answered from competency in ``area``, or read from a ``supply`` line.

    An area item's discrimination defaults to the survey's; an item whose answers
    barely depend on the mentored skill has a small one.
    """

    kind: Literal["knowledge", "skills"] = Field(
        description="Knowledge is asked of every surveyed nurse; skills are observed where a "
                    "session is held.")
    area: str | None = Field(default=None,
                             description="The area whose competency answers the item.")
    difficulty: float | None = Field(default=None, ge=-10, le=14,
                                     description="Difficulty on the 0-4 competency scale; "
                                                 "needed by an area item (calibrated).")
    discrimination: float | None = Field(default=None, gt=0,
                                         description="Discrimination; null: the survey's "
                                                     "(calibrated).")
    supply: str | None = Field(default=None,
                               description="A stock line to read the item from instead (no "
                                           "area, difficulty or discrimination).")
    needs: Annotated[list[Amenity], Field(min_length=1)] | None = Field(
        default=None,
        description="For an observed skill, amenities any one of which the practice needs "
                    "(hand washing: running_water or hand_sanitiser); a nurse at a facility "
                    "with none of them is observed not doing it, whatever she knows. null: "
                    "none (assumption: which practices need what).")

    @model_validator(mode="after")
    def _check(self) -> SurveyItem:
        if self.supply is None:
            if self.area not in AREAS:
                raise ValueError("area must be one of the eight areas (or give a supply line)")
            if self.difficulty is None:
                raise ValueError("an area item needs a difficulty")
        elif self.area is not None or self.difficulty is not None or self.discrimination:
            raise ValueError("a supply item takes no area, difficulty or discrimination")
        if self.needs is not None and (self.kind != "skills" or self.supply is not None):
            raise ValueError("needs applies to an observed skill read from an area only")
        return self


class Survey(_Block):
    """The virtual baseline/endline survey (see :mod:`sim.survey`)."""

    discrimination: float = Field(gt=0, description="The items' typical discrimination, the "
                                                    "prior centre for each item's (calibrated).")
    items: dict[str, SurveyItem] = Field(min_length=1, description="The items, by name.")


#: A posterior's column for one shift of every area's baseline mean: the baseline level,
#: the mean of ``mentee.baseline.mean`` (calibration moves the level, keeping the areas' order).
BASELINE_LEVEL = "mentee.baseline.level"


class Posterior(NamedTuple):
    """A sample of parameter sets: ``values[i, j]`` is draw ``i``'s value of ``columns[j]``,
    a dotted config key (or :data:`BASELINE_LEVEL`)."""

    path: str
    columns: tuple[str, ...]
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def draw(self, i: int) -> dict[str, float]:
        return dict(zip(self.columns, self.values[i].tolist(), strict=True))


#: Columns of a posterior file that describe a draw rather than set a parameter.
POSTERIOR_INFO = ("draw", "log_posterior")


def read_posterior(path: str | Path) -> Posterior:
    """Read a posterior sample: a CSV file (``#`` comment lines may precede the header)
    with a column per parameter and a row per draw. Read once per process and file
    version; problems raise a :class:`ValueError` naming the file."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise ValueError(f"{path}: file not found") from None
    return _read_posterior(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_posterior(path: str, _mtime: int, _size: int) -> Posterior:
    try:
        lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read file: {exc}") from None
    rows = list(csv.reader(lines))
    if len(rows) < 2:
        raise ValueError(f"{path}: needs a header row and at least one draw")
    header = [h.strip() for h in rows[0]]
    keep = [j for j, h in enumerate(header) if h not in POSTERIOR_INFO]
    values = np.empty((len(rows) - 1, len(keep)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(f"{path}: draw {i + 1}: {len(row)} values for {len(header)} columns")
        try:
            values[i] = [float(row[j]) for j in keep]
        except ValueError:
            raise ValueError(f"{path}: draw {i + 1}: a value is not a number") from None
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: every value must be a finite number")
    return Posterior(path, tuple(header[j] for j in keep), values)


class SettingSpread(_Block):
    """How much a parameter differs between settings (counties): a projection for a county
    with no data of its own draws the county's value around the fitted one, once per
    replicate: on the ``scale``'s transform, the fitted value plus ``shift`` plus ``sd``
    times a standard normal draw (log: a rate, times a log-normal factor; logit: a
    probability)."""

    parameter: str = Field(min_length=1,
                           description="The dotted key of a number in the scenario, or "
                                       "`mentee.baseline.level` (every area's baseline shifted "
                                       "alike).")
    sd: float = Field(ge=0, description="Standard deviation between settings, on the scale.")
    scale: Literal["log", "logit", "linear"] = Field(
        description="log for a rate (positive), logit for a probability (0-1), linear for a "
                    "level.")
    shift: float = Field(
        default=0.0,
        description="Where the county's values centre, relative to the fitted setting's, on "
                    "the scale (log 0.3: a rate 35 % higher); 0: centred on the fitted value.")
    source: str = Field(default="assumption",
                        description="Where the spread and shift come from, or `assumption`.")


class Uncertainty(_Block):
    """Parameter uncertainty in a projection (see :mod:`sim.uncertainty`)."""

    posterior: str | None = Field(
        default=None,
        description="A sample of parameter sets, a CSV file written by `mentorsim calibrate` "
                    "(e.g. `configs/params/lari_posterior.csv`), relative to the YAML file "
                    "naming it. Each replicate runs with one draw, chosen by the seed and the "
                    "replicate, so intervals hold parameter uncertainty as well as chance; "
                    "null: every replicate runs with the config's values.")

    between_settings: list[SettingSpread] = Field(
        default_factory=list,
        description="Parameters that differ between counties, each with its spread: every "
                    "replicate draws the county's own value around the fitted (or posterior) "
                    "one. Empty: the county is taken to be like the fitted setting.")

    @field_validator("posterior")
    @classmethod
    def _readable(cls, path: str | None) -> str | None:
        if path is not None:
            read_posterior(path)  # a ValueError names the file and the problem
        return path


class Calibration(_Block):
    """Where calibrated values came from: written by ``mentorsim calibrate``, never read."""

    targets: str = Field(description="The targets file fitted to.")
    seed: int = Field(description="Root seed of the evaluations.")
    date: str = Field(description="Date of the fit.")
    method: str = Field(description="The optimiser.")
    evaluations: int = Field(description="Objective evaluations used.")
    replicates: int = Field(description="Replicates per evaluation.")
    objective: float = Field(description="Final objective (penalised negative log-likelihood).")
    parameters: list[str] = Field(description="The fitted parameters.")
    posterior: str | None = Field(default=None,
                                  description="The posterior sample written beside the file, "
                                              "if one was drawn.")


#: The interventions shipped with mentorsim, by the name a scenario gives as ``type``.
BUILT_IN_INTERVENTIONS = {
    "refresher_course": "sim.interventions.refresher:RefresherCourse",
    "supervisor_visits": "sim.interventions.supervision:SupervisorVisits",
}


def intervention_class(kind: str) -> type:
    """The class an intervention's ``type`` names: a built-in name, ``package.module:Class``
    (importable), or ``path/to/file.py:Class`` (made absolute when the scenario loads)."""
    target = BUILT_IN_INTERVENTIONS.get(kind, kind)
    module, sep, name = target.rpartition(":")
    if not sep or not module or not name.isidentifier():
        guess = difflib.get_close_matches(kind, BUILT_IN_INTERVENTIONS, n=1)
        hint = f"did you mean {guess[0]}? " if guess else ""
        raise ValueError(f"unknown intervention '{kind}' ({hint}built-ins: "
                         f"{', '.join(BUILT_IN_INTERVENTIONS)}; or module:Class, file.py:Class)")
    try:
        if module.endswith(".py"):
            mod = _module_from_file(Path(module))
        else:
            mod = importlib.import_module(module)
    except Exception as exc:  # the user's module: any error is the scenario's
        raise ValueError(f"{module}: cannot import: {type(exc).__name__}: {exc}") from None
    cls = getattr(mod, name, None)
    if not (isinstance(cls, type) and callable(getattr(cls, "run", None))
            and isinstance(getattr(cls, "Params", None), type)):
        raise ValueError(f"{target}: not an intervention class (a subclass of "
                         "sim.interventions.Intervention)")
    return cls


def _module_from_file(path: Path) -> Any:
    """Import a module from its file once per process (workers import it again by path)."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    name = "mentorsim_rules_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


class InterventionSpec(_Block):
    """A programme rule added by name (see :mod:`sim.interventions`); its other keys are
    the rule's parameters, checked by the rule's own ``Params``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(min_length=1, description="a built-in name (refresher_course, "
                      "supervisor_visits), package.module:Class, or file.py:Class relative "
                      "to the scenario file")

    @model_validator(mode="after")
    def _check(self) -> InterventionSpec:
        cls = intervention_class(self.type)
        try:
            cls.Params.model_validate(self.params)
        except ValidationError as err:
            raise ValueError(format_error(self.name, err, cls.Params)) from None
        return self

    @property
    def name(self) -> str:
        """The built-in's name, or the class's: names its costs and random streams."""
        return self.type if self.type in BUILT_IN_INTERVENTIONS else self.type.rpartition(":")[2]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class FiscalYear(NamedTuple):
    """A government fiscal year, as days from the programme's start (``start`` may be
    negative and ``end`` past the horizon: the whole year)."""

    label: str  # e.g. "2018/19", or "2018" for a calendar fiscal year
    start: float
    end: float


class Config(_Block):
    """A whole scenario: calendar, places, agents, processes and unit costs."""

    name: str = Field(min_length=1, description="The scenario's label.")
    start_date: dt.date = Field(description="Day 0, the first day of mentoring (paper: "
                                            "2018-04-01).")
    months: int = Field(ge=1, le=600, description="Horizon in calendar months (paper: 12).")
    subcounties: list[Subcounty] = Field(min_length=1, description="The subcounties, with "
                                                                   "unique names.")
    facilities: Facilities = Field(default_factory=Facilities,
                                   description="Facilities' practice and furlough return.")
    mentee: Mentee = Field(default_factory=Mentee, description="The mentored nurses.")
    mentor: Mentor = Field(default_factory=Mentor, description="The peer mentors.")
    supply: dict[str, Supply] = Field(
        default_factory=_pilot_supply,
        description="Stock lines by name: a plain identifier each, with a `vaccines` line. A line "
                    "given merges with the pilot's line of that name (vaccines, materials, "
                    "child_health_cards, always there); a new line gives every key. All values "
                    "are assumptions (the paper reports stock-outs but no rates).")
    whatsapp: WhatsApp = Field(default_factory=WhatsApp, description="The WhatsApp groups.")
    costs: Costs = Field(default_factory=Costs, description="Unit costs, KSh.")
    classroom: Classroom = Field(default_factory=Classroom,
                                 description="The classroom comparator.")
    scaleup: ScaleUp | None = Field(default=None,
                                    description="A phased rollout; null: every subcounty from "
                                                "day 0.")
    survey: Survey | None = Field(default=None,
                                  description="The virtual survey: needed by `calibrate`, "
                                              "`report-validation` and `power` only.")
    calibration: Calibration | None = Field(default=None,
                                            description="Where calibrated values came from.")
    uncertainty: Uncertainty = Field(default_factory=Uncertainty,
                                     description="Parameter uncertainty: a posterior to draw "
                                                 "each replicate's parameters from.")
    interventions: list[InterventionSpec] = Field(
        default_factory=list,
        description="Programme rules added by name: a built-in (refresher_course, "
                    "supervisor_visits) or a class of your own, each with its parameters.")

    @model_validator(mode="after")
    def _check(self) -> Config:
        names = [s.name for s in self.subcounties]
        if len(set(names)) != len(names):
            raise ValueError("subcounty names must be unique")
        if "vaccines" not in self.supply:
            raise ValueError("supply needs a 'vaccines' line: vaccine stock-outs stop sessions")
        for line in self.supply:
            if not line.isidentifier():
                raise ValueError(f"supply line name '{line}' must be a plain identifier")
        phased = [n for p in (self.scaleup.phases if self.scaleup else []) for n in p.subcounties]
        unknown = set(phased) - set(names)
        if unknown:
            raise ValueError(f"scaleup: no subcounty named {sorted(unknown)[0]}")
        if len(set(phased)) != len(phased):
            raise ValueError("scaleup: a subcounty can join in one phase only")
        for name, item in (self.survey.items if self.survey else {}).items():
            if item.supply is not None and item.supply not in self.supply:
                raise ValueError(f"survey item {name}: no supply line '{item.supply}'")
        if self.uncertainty.posterior is not None:
            posterior = read_posterior(self.uncertainty.posterior)
            for column in posterior.columns:
                if column.startswith("survey.") and self.survey is None:
                    continue  # the survey's parameters, for a scenario that runs none
                if column != BASELINE_LEVEL and not isinstance(self.value(column), float):
                    raise ValueError(f"uncertainty.posterior: {posterior.path}: column "
                                     f"'{column}' is not a numeric key of the scenario")
        for i, spread in enumerate(self.uncertainty.between_settings):
            where = f"uncertainty.between_settings.{i}"
            value = self.value(spread.parameter)
            if not isinstance(value, float):
                raise ValueError(f"{where}.parameter: '{spread.parameter}' is not a numeric key "
                                 "of the scenario")
            if spread.scale == "log" and value <= 0:
                raise ValueError(f"{where}.scale: log needs a positive value "
                                 f"({spread.parameter} is {value})")
            if spread.scale == "logit" and not 0 < value < 1:
                raise ValueError(f"{where}.scale: logit needs a value between 0 and 1 "
                                 f"({spread.parameter} is {value})")
        return self

    def value(self, key: str) -> Any:
        """The value at a dotted key (``mentee.learning.rate``,
        ``survey.items.bcg_daily.difficulty``; :data:`BASELINE_LEVEL`), or None if there
        is none. A whole number where a number is expected reads as a float."""
        if key == BASELINE_LEVEL:
            return float(np.mean(list(self.mentee.baseline.mean.values())))
        node: Any = self
        for part in key.split("."):
            if isinstance(node, BaseModel):
                node = getattr(node, part, None) if part in type(node).model_fields else None
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                return None
        return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else node

    def with_values(self, values: Mapping[str, float]) -> Config:
        """The config with parameters set by dotted key; :data:`BASELINE_LEVEL` shifts every
        area's baseline mean by one amount (clipped to the 0-4 scale)."""
        data = self.to_dict()
        for key, value in values.items():
            if key == BASELINE_LEVEL:
                shift = value - self.value(BASELINE_LEVEL)
                data["mentee"]["baseline"]["mean"] = {
                    a: min(max(m + shift, 0.0), 4.0) for a, m in self.mentee.baseline.mean.items()}
            else:
                set_dotted(data, key, float(value))
        return from_dict(data, self.name)

    def month_starts(self) -> list[float]:
        """Day offsets of the programme's month boundaries, ``months + 1`` values from 0.

        A programme month runs from the start date's day of the month to the same day
        of the next calendar month (or that month's last day, if shorter).
        """
        day = self.start_date.day
        out = []
        for k in range(self.months + 1):
            y, m = divmod(self.start_date.month - 1 + k, 12)
            y, m = self.start_date.year + y, m + 1
            boundary = dt.date(y, m, min(day, calendar.monthrange(y, m)[1]))
            out.append(float((boundary - self.start_date).days))
        return out

    def fiscal_years(self) -> list[FiscalYear]:
        """The fiscal years the programme's days fall in, in order, each whole
        (``costs.fiscal_year_start_month`` starts them)."""
        first = self.costs.fiscal_year_start_month
        year = self.start_date.year - (self.start_date.month < first)
        horizon, out = self.horizon_days, []
        while True:
            begin = dt.date(year, first, 1)
            start, end = ((d - self.start_date).days for d in (begin, dt.date(year + 1, first, 1)))
            label = str(year) if first == 1 else f"{year}/{(year + 1) % 100:02d}"
            out.append(FiscalYear(label, float(start), float(end)))
            if end >= horizon:
                return out
            year += 1

    @property
    def horizon_days(self) -> float:
        return self.month_starts()[-1]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --- facility lists ------------------------------------------------------------------


class FacilityColumns(_Block):
    """The list's column headers (matched ignoring case and surrounding spaces): KMHFL's."""

    subcounty: str = Field(default="Sub County", min_length=1,
                           description="Header of the sub county column.")
    owner_type: str = Field(default="Owner type", min_length=1,
                            description="Header of the owner type column.")
    name: str = Field(default="Name", min_length=1,
                      description="Header of the facility name column.")
    keph_level: str | None = Field(default="Keph level", min_length=1,
                                   description="Header of the KEPH level column; null: the list "
                                               "has none.")


#: The Kenya Master Health Facility List's owner types, and the ownership each counts as.
KMHFL_OWNERS: dict[str, Ownership] = {
    "Ministry of Health": "public",
    "Faith Based Organization": "faith_based",
    "Private Practice": "private",
    # assumption: like private practices, they are outside the public payroll and funding
    "Non-Governmental Organizations": "private",
}


class FacilityList(_Block):
    """A CSV file of facilities, a row each, assigned to subcounties by their sub county.

    ``owners`` adds to (or overrides) :data:`KMHFL_OWNERS`; owner types are matched
    ignoring case and surrounding spaces, and so are sub county names.
    """

    path: str = Field(min_length=1,
                      description="The CSV file (UTF-8; `#` comment lines and blank lines may "
                                  "precede the header), relative to the YAML file naming it.")
    columns: FacilityColumns = Field(default_factory=FacilityColumns,
                                     description="The headers of the columns read.")
    owners: dict[str, Ownership] = Field(
        default_factory=lambda: dict(KMHFL_OWNERS),
        description="Ownership of each owner type; entries add to or override the default "
                    "mapping (Non-Governmental Organizations as private: an assumption).")


def _key(text: str) -> str:
    return text.strip().casefold()


def read_facility_list(spec: FacilityList, where: str) -> list[tuple[int, str, dict[str, Any]]]:
    """``(line, sub county, facility)`` for each row of the list, in file order.

    Blank lines and ``#`` comment lines may precede the header. A row's line is its
    line in the file, counting those; ``where`` starts every error message.
    """
    path = Path(spec.path)
    if not path.is_file():
        raise ConfigError(f"{where}: file not found (looked for {path.resolve()})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read file: {exc}") from None
    lines = text.splitlines(keepends=True)
    skip = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")),
                len(lines))
    reader = csv.reader(lines[skip:])
    try:
        titles = next(reader)
    except StopIteration:
        raise ConfigError(f"{where}: no header row") from None
    except csv.Error as exc:
        raise ConfigError(f"{where}: line {skip + reader.line_num}: {exc}") from None
    cols = spec.columns
    wanted = {"subcounty": cols.subcounty, "owner_type": cols.owner_type, "name": cols.name}
    if cols.keph_level is not None:
        wanted["keph_level"] = cols.keph_level
    header = [_key(t) for t in titles]
    at = {}
    for field, title in wanted.items():
        if _key(title) not in header:
            raise ConfigError(f"{where}: no column '{title}' (the header has: "
                              f"{', '.join(t.strip() for t in titles if t.strip())}); set "
                              f"facility_list.columns.{field}"
                              + (" (null if the list has none)" if field == "keph_level" else ""))
        at[field] = header.index(_key(title))
    owners = {_key(k): v for k, v in spec.owners.items()}
    rows: list[tuple[int, str, dict[str, Any]]] = []
    line = skip + reader.line_num  # the last line read
    try:
        for row in reader:
            first, line = line + 1, skip + reader.line_num  # a quoted cell may span lines
            if not any(cell.strip() for cell in row):
                continue
            cell = {f: (row[i].strip() if i < len(row) else "") for f, i in at.items()}
            for field in ("subcounty", "name", "owner_type"):
                if not cell[field]:
                    raise ConfigError(f"{where}: line {first}: {wanted[field]} is empty")
            ownership = owners.get(_key(cell["owner_type"]))
            if ownership is None:
                raise ConfigError(f"{where}: line {first}: {wanted['owner_type']} "
                                  f"'{cell['owner_type']}' is not mapped to an ownership (known: "
                                  f"{', '.join(spec.owners)}); add it to facility_list.owners")
            rows.append((first, cell["subcounty"], {
                "name": cell["name"], "ownership": ownership,
                "keph_level": cell.get("keph_level") or None}))
    except csv.Error as exc:
        raise ConfigError(f"{where}: line {line + 1}: {exc}") from None
    return rows


def _with_listed_facilities(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The scenario with the list's facilities given to every subcounty that gives none.

    The ``facility_list`` block is consumed: the config keeps the facilities, so it
    runs again without the file (``config.resolved.yaml``, batch scenarios).
    """
    data = dict(data)
    try:
        spec = FacilityList.model_validate(data.pop("facility_list"))
    except ValidationError as err:
        raise ConfigError(format_error(source, err, FacilityList, "facility_list")) from None
    subs = data.get("subcounties")
    if not isinstance(subs, list) or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str) for s in subs):
        return data  # the schema names what is wrong with the subcounties
    where, column = f"{source}: facility_list: {spec.path}", spec.columns.subcounty
    index = {_key(s["name"]): i for i, s in enumerate(subs)}
    listed: dict[int, list[dict[str, Any]]] = {}
    for line, name, facility in read_facility_list(spec, where):
        i = index.get(_key(name))
        if i is None:
            raise ConfigError(f"{where}: line {line}: {column} '{name}' is not one of the "
                              f"subcounties ({', '.join(s['name'] for s in subs)})")
        if "facilities" in subs[i]:
            raise ConfigError(f"{where}: line {line}: {column} '{name}': that subcounty gives "
                              "its facilities in the YAML; give them there or in the list")
        listed.setdefault(i, []).append(facility)
    data["subcounties"] = subs = [dict(s) for s in subs]
    for i, sub in enumerate(subs):
        if "facilities" not in sub:
            if i not in listed:
                raise ConfigError(f"{source}: subcounties.{i}.facilities: none given, and "
                                  f"{spec.path} has no rows for '{sub['name']}'")
            sub["facilities"] = listed[i]
    return data


# --- loading -----------------------------------------------------------------------


#: How an error ranks for the one line shown: an unknown key first (a misspelt key also
#: shows as the missing key it was meant to be), then a bad value, a missing key last.
_RANK = {"extra_forbidden": 0, "missing": 2}


def format_error(source: str, err: ValidationError, model: type[BaseModel],
                 within: str = "") -> str:
    """The one line for a failed validation of ``model`` (found under ``within``, if
    given): the most telling error, with its YAML path and a count of the others."""
    errors = err.errors()
    first = min(errors, key=lambda e: _RANK.get(e["type"], 1))
    parts = [within] if within else []
    parts += [str(p) for p in first["loc"] if p not in _UNION_TAGS]
    loc = ".".join(parts) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    explained = 1
    if first["type"] == "extra_forbidden":
        parent, key = first["loc"][:-1], str(first["loc"][-1])
        missing = [str(e["loc"][-1]) for e in errors
                   if e["type"] == "missing" and e["loc"][:-1] == parent]
        guess = difflib.get_close_matches(key, missing, n=1)
        explained += bool(guess)  # the key it was meant to be is not missing as well
        guess = guess or difflib.get_close_matches(key, _keys_at(model, parent), n=1)
        msg = "unknown key (check the spelling" + (f"; did you mean {guess[0]}?)" if guess else ")")
    elif first["type"] == "missing":
        msg = "required key is missing"
    more = err.error_count() - explained
    tail = f" (+{more} more)" if more else ""
    return f"{source}: {loc}: {msg}{tail}"


def _keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the schema takes at ``loc``, where that is a model (else none)."""
    node: Any = model
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif get_origin(node) in (list, dict):  # the part is an index or a key
            node = get_args(node)[-1]
        else:
            return []
        options = [a for a in get_args(node) if a is not type(None)]
        if get_origin(node) in (Union, UnionType) and len(options) == 1:  # X | None
            node = options[0]
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> dt.date | dt.datetime:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:  # a date-shaped value that is no date, such as 2018-02-30
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value} is not a date: {exc}", node.start_mark) from None


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that an impossible date is a YAML error with its line."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``line N: problem`` (``line N: YAML syntax error: problem`` for bad syntax)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}: " if mark is not None else ""
    kind = "" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error: "
    return f"{where}{kind}{getattr(exc, 'problem', None) or 'not valid YAML'}"


def _read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a YAML file")
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read file: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping of keys to values")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge mappings; ``over`` wins, and lists are replaced, not appended."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario; files named under ``include`` are read first and overridden."""
    data = _read_yaml(path)
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"{path}: include: expected a file name or a list of file names")
    merged: dict[str, Any] = {}
    for name in includes:
        inc = (path.parent / name).resolve()
        if inc in seen or inc == path.resolve():
            raise ConfigError(f"{path}: include: {name} includes itself")
        if not inc.is_file():
            raise ConfigError(f"{path}: include: {name}: file not found (looked for {inc})")
        merged = _merge(merged, read_raw(inc, (*seen, path.resolve())))
    # files named in a scenario are relative to the file that names them, wherever that
    # file is included from
    listing = data.get("facility_list")
    if isinstance(listing, dict) and isinstance(listing.get("path"), str):
        data["facility_list"] = {**listing, "path": str(path.parent / listing["path"])}
    uncertain = data.get("uncertainty")
    if isinstance(uncertain, dict) and isinstance(uncertain.get("posterior"), str):
        data["uncertainty"] = {**uncertain,
                               "posterior": str((path.parent / uncertain["posterior"]).resolve())}
    return _merge(merged, data)


def get_dotted(data: dict[str, Any], key: str) -> Any:
    """The value at ``a.b.c`` in nested dicts, read as :func:`set_dotted` sets it (None if
    there is none)."""
    node: Any = data
    for part in key.split("."):
        if isinstance(node, list):
            match = [item for item in node if isinstance(item, dict) and item.get("name") == part]
            node = (node[int(part)] if part.isdigit() and int(part) < len(node) else
                    match[0] if match else None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts; a list step is an index or an item's ``name``."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            match = [j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part]
            if part.isdigit() and int(part) < len(node):
                idx = int(part)
            elif match:
                idx = match[0]
            else:
                raise ConfigError(f"--set {key}: no list item '{part}'")
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key}: '{'.'.join(parts[:i])}' is not a mapping")


def parse_overrides(items: list[str]) -> list[tuple[str, Any]]:
    """Turn ``key=value`` strings into (key, YAML-typed value) pairs."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item}: expected dotted.key=value")
        try:
            value = yaml.load(raw, Loader=_Loader) if raw else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item}: value is not valid YAML: "
                              f"{getattr(exc, 'problem', None) or exc}") from None
        out.append((key.strip(), value))
    return out


def from_dict(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a plain mapping into a :class:`Config`, reading its ``facility_list`` if any."""
    if "facility_list" in data:
        data = _with_listed_facilities(data, source)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_error(source, err, Config)) from None


def load(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate a scenario YAML file."""
    path = Path(path)
    data = read_raw(path)
    for key, value in parse_overrides(overrides or []):
        set_dotted(data, key, value)
    return from_dict(_rules_beside(data, path.parent), str(path))


def _rules_beside(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Interventions given as ``file.py:Class`` with their files' paths made absolute
    (relative to the scenario's folder), so the config runs from anywhere."""
    items = data.get("interventions")
    if not isinstance(items, list):
        return data
    out = []
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        module, sep, name = kind.rpartition(":") if isinstance(kind, str) else ("", "", "")
        if sep and module.endswith(".py") and not Path(module).is_absolute():
            item = {**item, "type": f"{(folder / module).resolve()}:{name}"}
        out.append(item)
    return {**data, "interventions": out}
