"""Scenario configuration: a typed schema, YAML loading and dotted overrides.

A scenario file is plain YAML. It is validated once, here, into frozen pydantic
models, so the model layer can trust every number it reads. Every failure is a
:class:`ConfigError` carrying one line that names the YAML path and the problem;
the CLI prints that line and exits with status 2.

Defaults are the pilot's where the paper gives a number (Hossain et al., GHSP
2021, doi:10.9745/GHSP-D-20-00421); every other default is an assumption and is
marked ``# assumption`` here, in the shipped YAML and in the README.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
OWNERSHIPS: tuple[str, ...] = ("public", "faith_based", "private")

Setting = Literal["rural", "urban"]
Moderation = Literal["peer", "supervisor"]


class ConfigError(Exception):
    """A scenario that cannot be run; ``str()`` is the one-line message for the user."""


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ByOwnership(_Block):
    """One non-negative number per facility ownership type."""

    public: float = Field(ge=0)
    faith_based: float = Field(ge=0)
    private: float = Field(ge=0)

    def __getitem__(self, ownership: str) -> float:
        return getattr(self, ownership)


class FacilityCounts(ByOwnership):
    """How many facilities of each ownership type."""

    public: int = Field(ge=0)
    faith_based: int = Field(ge=0)
    private: int = Field(ge=0)

    @property
    def total(self) -> int:
        return self.public + self.faith_based + self.private


class Subcounty(_Block):
    """One subcounty: its facility mix, setting and the mentees' priority order."""

    name: str = Field(min_length=1)
    setting: Setting
    facilities: FacilityCounts
    priorities: list[str] = Field(description="the eight areas, highest priority first")
    furlough_hazard_per_year: ByOwnership

    @model_validator(mode="after")
    def _check(self) -> Subcounty:
        if self.facilities.total < 1:
            raise ValueError("a subcounty needs at least one facility")
        if sorted(self.priorities) != sorted(AREAS):
            raise ValueError(
                "priorities must list each of the eight areas once: " + ", ".join(AREAS)
            )
        return self


class Facilities(_Block):
    session_days_per_week: ByOwnership  # assumption
    immunizing_nurses: ByOwnership  # assumption
    furlough_return_days_mean: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Facilities:
        for o in OWNERSHIPS:
            days, nurses = self.session_days_per_week[o], self.immunizing_nurses[o]
            if days not in (1, 2, 3, 4, 5):
                raise ValueError(f"session_days_per_week.{o} must be a whole number from 1 to 5")
            if nurses < 1 or not float(nurses).is_integer():
                raise ValueError(f"immunizing_nurses.{o} must be a whole number, at least 1")
        return self


class Baseline(_Block):
    mean: dict[str, float]
    sd: float = Field(ge=0)

    @model_validator(mode="after")
    def _check(self) -> Baseline:
        if sorted(self.mean) != sorted(AREAS):
            raise ValueError("baseline.mean needs exactly the eight areas: " + ", ".join(AREAS))
        for area, m in self.mean.items():
            if not 0 <= m <= 4:
                raise ValueError(f"baseline.mean.{area} must be within the 0-4 scale")
        return self


class Learning(_Block):
    rate: float = Field(ge=0, le=5)  # a trained area closes 1 - exp(-rate) of its gap
    noise_sd: float = Field(ge=0)
    areas_per_visit: int = Field(ge=1, le=len(AREAS))
    priority_weight_decay: float = Field(gt=0, le=1)


class Decay(_Block):
    rate_per_year: float = Field(ge=0)
    practice_protection: float = Field(ge=0, le=1)
    whatsapp_protection: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> Decay:
        if self.practice_protection + self.whatsapp_protection > 1:
            raise ValueError("practice_protection + whatsapp_protection must not exceed 1")
        return self


class Turnover(_Block):
    hazard_per_year: float = Field(ge=0)
    vacancy_days_mean: float = Field(ge=0)


class Mentee(_Block):
    baseline: Baseline
    learning: Learning
    decay: Decay
    turnover: Turnover


class Attrition(_Block):
    hazard_per_year: float = Field(ge=0)
    replacement_days_mean: float = Field(ge=0)


class TravelHours(_Block):
    rural: float = Field(ge=0)
    urban: float = Field(ge=0)


class Mentor(_Block):
    enabled: bool = True  # false: no mentors and no visits (e.g. classroom training alone)
    mentees_per_mentor: float = Field(ge=1)
    release_days_per_week: int = Field(ge=1, le=5)
    home_session_days_per_week: int = Field(ge=0, le=4)
    max_visits_per_day: int = Field(ge=1)
    absence_probability: float = Field(ge=0, lt=1)
    target_interval_days: float = Field(gt=0)
    min_days_between_visits: float = Field(ge=0)
    workday_hours: float = Field(gt=0)
    visit_hours: float = Field(gt=0)
    travel_hours: TravelHours
    attrition: Attrition

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
    """One stock line at each facility (see :mod:`sim.supply`)."""

    review_period_days: float = Field(gt=0)
    lead_time_mean_days: float = Field(ge=0)
    order_up_to_days: float = Field(gt=0)
    shortfall_probability: float = Field(ge=0, le=1)
    shortfall_fill_fraction: float = Field(ge=0, le=1)


class WhatsApp(_Block):
    enabled: bool
    start_month: int = Field(ge=1)
    moderation: Moderation
    active_probability: float = Field(ge=0, le=1)
    posts_per_active_member_per_week: float = Field(ge=0)
    moderation_effect: dict[Moderation, float]
    reinforcement: float = Field(ge=0, lt=1)
    member_cap: int = Field(ge=2)
    split_at_cap: bool = True  # a full group is followed by a new one (else a queue)

    @model_validator(mode="after")
    def _check(self) -> WhatsApp:
        if set(self.moderation_effect) != {"peer", "supervisor"}:
            raise ValueError("moderation_effect needs values for peer and supervisor")
        if any(v < 0 for v in self.moderation_effect.values()):
            raise ValueError("moderation_effect values must be non-negative")
        return self


class Costs(_Block):
    ksh_per_usd: float = Field(gt=0)
    transport_per_visit: float = Field(ge=0)
    lunch_per_visit: float = Field(ge=0)
    mentor_airtime_per_month: float = Field(ge=0)
    mentee_airtime_per_month: float = Field(ge=0)
    orientation_per_mentor: float = Field(ge=0)  # assumption
    coordination_per_subcounty_month: float = Field(ge=0)  # assumption
    discount_rate: float = Field(default=0.03, ge=0, le=0.5)  # a year, for costs and effects
    price_year: int | None = Field(default=None, ge=1990, le=2100)  # year of the unit costs


class Classroom(_Block):
    """A classroom course for every enrolled nurse (see :mod:`sim.agents.classroom`)."""

    enabled: bool
    start_month: int = Field(ge=1)
    course_days: int = Field(ge=1, le=30)
    cohort_size: int = Field(ge=1)
    gain: dict[str, float]  # checklist points gained per area at the course's end
    per_diem_per_day: float = Field(ge=0)
    travel_per_trainee: float = Field(ge=0)
    venue_per_day: float = Field(ge=0)
    facilitators: int = Field(ge=0)
    facilitator_fee_per_day: float = Field(ge=0)
    lost_session_cost: float = Field(ge=0)

    @model_validator(mode="after")
    def _check(self) -> Classroom:
        if sorted(self.gain) != sorted(AREAS):
            raise ValueError("gain needs exactly the eight areas: " + ", ".join(AREAS))
        if any(not 0 <= g <= 4 for g in self.gain.values()):
            raise ValueError("gain values must be within 0-4 checklist points")
        return self


class Phase(_Block):
    """A scale-up phase: the subcounties that join the programme at its start."""

    start_month: int = Field(ge=1)
    subcounties: list[str] = Field(min_length=1)
    mentees_per_mentor: float | None = Field(default=None, ge=1)  # default: mentor's
    mentors: Literal["recruits", "graduates"] = "recruits"  # graduates first, then recruits


class Graduation(_Block):
    """A mentee with every area at ``threshold`` or above for ``months`` month-end readings
    may become a mentor."""

    threshold: int = Field(ge=1, le=4)
    months: int = Field(ge=1)


class ScaleUp(_Block):
    """A rollout plan (see :mod:`sim.scenarios.scaleup`); subcounties in no phase start at once."""

    phases: list[Phase] = Field(min_length=1)
    annual_budget_ksh: float | None = Field(default=None, gt=0)
    graduation: Graduation | None = None

    @model_validator(mode="after")
    def _check(self) -> ScaleUp:
        if self.graduation is None and any(p.mentors == "graduates" for p in self.phases):
            raise ValueError("a phase takes graduates: give the graduation rule")
        return self


class SurveyItem(_Block):
    """A survey item: answered from competency in ``area``, or read from a ``supply`` line.

    An area item's discrimination defaults to the survey's; an item whose answers
    barely depend on the mentored skill has a small one.
    """

    kind: Literal["knowledge", "skills"]
    area: str | None = None
    difficulty: float | None = Field(default=None, ge=-10, le=14)
    discrimination: float | None = Field(default=None, gt=0)
    supply: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SurveyItem:
        if self.supply is None:
            if self.area not in AREAS:
                raise ValueError("area must be one of the eight areas (or give a supply line)")
            if self.difficulty is None:
                raise ValueError("an area item needs a difficulty")
        elif self.area is not None or self.difficulty is not None or self.discrimination:
            raise ValueError("a supply item takes no area, difficulty or discrimination")
        return self


class Survey(_Block):
    """The virtual baseline/endline survey (see :mod:`sim.survey`)."""

    discrimination: float = Field(gt=0)
    items: dict[str, SurveyItem] = Field(min_length=1)


class Calibration(_Block):
    """Where calibrated values came from: written by ``mentorsim calibrate``, never read."""

    targets: str
    seed: int
    date: str
    method: str
    evaluations: int
    replicates: int
    objective: float
    parameters: list[str]


class Config(_Block):
    """A whole scenario: calendar, places, agents, processes and unit costs."""

    name: str = Field(min_length=1)
    start_date: dt.date
    months: int = Field(ge=1, le=600)
    subcounties: list[Subcounty] = Field(min_length=1)
    facilities: Facilities
    mentee: Mentee
    mentor: Mentor
    supply: dict[str, Supply]
    whatsapp: WhatsApp
    costs: Costs
    classroom: Classroom | None = None
    scaleup: ScaleUp | None = None
    survey: Survey | None = None
    calibration: Calibration | None = None

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
        return self

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

    @property
    def horizon_days(self) -> float:
        return self.month_starts()[-1]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --- loading -----------------------------------------------------------------------


#: How an error ranks for the one line shown: an unknown key first (a misspelt key also
#: shows as the missing key it was meant to be), then a bad value, a missing key last.
_RANK = {"extra_forbidden": 0, "missing": 2}


def format_error(source: str, err: ValidationError, model: type[BaseModel]) -> str:
    """The one line for a failed validation of ``model``: the most telling error, with a
    count of the others."""
    errors = err.errors()
    first = min(errors, key=lambda e: _RANK.get(e["type"], 1))
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
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
            raise ConfigError(f"{path}: include: {name}: file not found")
        merged = _merge(merged, read_raw(inc, (*seen, path.resolve())))
    return _merge(merged, data)


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
    """Validate a plain mapping into a :class:`Config`."""
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
    return from_dict(data, str(path))
