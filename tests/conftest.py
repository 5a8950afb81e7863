"""Shared fixtures: scenario builders on top of the shipped pilot config."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim import config as cfgmod

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _pilot_raw() -> dict[str, Any]:
    return cfgmod.read_raw(CONFIGS / "pilot.yaml")


def build(base: dict[str, Any], changes: dict[str, Any]) -> cfgmod.Config:
    data = copy.deepcopy(base)
    for key, value in changes.items():
        cfgmod.set_dotted(data, key, copy.deepcopy(value))
    return cfgmod.from_dict(data, "test")


@pytest.fixture(scope="session")
def pilot_raw() -> dict[str, Any]:
    return _pilot_raw()


@pytest.fixture
def make_config(pilot_raw):
    """``make_config({"dotted.key": value, ...})``: the pilot with changes."""

    def make(changes: dict[str, Any] | None = None) -> cfgmod.Config:
        return build(pilot_raw, changes or {})

    return make


#: A quiet single-subcounty programme: public facilities only, no attrition of any kind,
#: mentors never absent. Tests switch on the one mechanism they check.
QUIET = {
    "subcounties": [
        {
            "name": "Test",
            "setting": "rural",
            "facilities": {"public": 40, "faith_based": 0, "private": 0},
            "priorities": list(cfgmod.AREAS),
            "furlough_hazard_per_year": {"public": 0.0, "faith_based": 0.0, "private": 0.0},
        }
    ],
    "mentee.turnover.hazard_per_year": 0.0,
    "mentor.attrition.hazard_per_year": 0.0,
    "mentor.absence_probability": 0.0,
}


@pytest.fixture
def quiet_config(pilot_raw):
    """``quiet_config({...})``: the QUIET programme with further changes."""

    def make(changes: dict[str, Any] | None = None) -> cfgmod.Config:
        return build(pilot_raw, {**QUIET, **(changes or {})})

    return make


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def children(pid: int) -> list[int]:
    """Linux: the process ids whose parent is ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    """Linux: whether ``pid`` is running (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
