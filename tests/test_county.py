"""A county written from scratch: every key but its layout and plan has a default."""

from __future__ import annotations

import json
from typing import Any

import sim
from sim import config as cfgmod
from sim.cli import main

from conftest import CONFIGS

MINIMAL = """\
name: two_subcounties
start_date: 2025-01-01
months: 4
subcounties:
  - {name: Hillside, setting: rural, facilities: {public: 6, faith_based: 2, private: 1}}
  - {name: Riverside, setting: urban, facilities: {public: 5, private: 2}}
scaleup:
  phases: [{start_month: 3, subcounties: [Riverside]}]
"""


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of nested mappings and lists, by its dotted path."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    out = {}
    for key, value in items:
        path = f"{prefix}{key}"
        if isinstance(value, dict | list) and value:
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


#: the one default configs/pilot.yaml leaves out (the pilot had mentors)
UNSTATED = {"mentor.enabled"}


def _report(argv: list[str], capsys) -> str:
    """The one error line of a failing command."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    return lines[0]


# --- defaults ---------------------------------------------------------------------


def test_schema_defaults_are_the_calibrated_pilot(pilot_raw):
    """The schema's defaults equal configs/pilot.yaml with params/lari_calibrated.yaml."""
    raw = _json(pilot_raw)
    layout = [{k: sub[k] for k in ("name", "setting", "facilities")} for sub in raw["subcounties"]]
    defaults = _flat(cfgmod.Config(name="pilot", start_date="2018-04-01", months=12,
                                   subcounties=layout).to_dict())
    # Machakos gives its own agenda and hazards; a subcounty's default to Lari's
    stated = {k: v for k, v in _flat(raw).items()
              if not k.startswith(("survey.", "calibration.", "subcounties.1."))}
    assert {k: defaults.get(k, "missing") for k in stated} == stated
    unstated = {k for k, v in defaults.items() if k not in stated and v is not None}
    assert unstated - {k for k in unstated if k.startswith("subcounties.1.")} == UNSTATED
    assert [defaults[f"subcounties.1.priorities.{k}"] for k in range(8)] == list(
        cfgmod.LARI_PRIORITIES)
    assert defaults["subcounties.1.furlough_hazard_per_year.private"] == 0.134


def test_pilot_file_gives_the_same_config(pilot_raw):
    """Every value of configs/pilot.yaml (with its include) is the config's, and nothing else."""
    raw = _flat(_json(pilot_raw))
    got = _flat(cfgmod.load(CONFIGS / "pilot.yaml").to_dict())
    assert {k: got.get(k, "missing") for k in raw} == raw
    assert {k for k, v in got.items() if k not in raw and v is not None} == UNSTATED


def test_minimal_county_validates_and_runs(tmp_path, capsys):
    path = tmp_path / "county.yaml"
    path.write_text(MINIMAL)
    assert main(["validate", str(path)]) == 0
    assert "2 subcounties, 16 facilities, 4 months" in capsys.readouterr().out
    res = sim.run(path, reps=1, seed=3)
    assert set(res.mentees["subcounty"]) == {"Hillside", "Riverside"}
    starts = res.mentors.groupby("subcounty")["start_day"].min()
    assert starts["Hillside"] == 0 and starts["Riverside"] == res.config.month_starts()[2]
    assert res.costs["ksh"].sum() > 0 and res.timeseries["visits"].sum() > 0


def test_partial_blocks_keep_the_other_defaults(tmp_path):
    path = tmp_path / "county.yaml"
    path.write_text(MINIMAL + """\
mentor: {mentees_per_mentor: 6, travel_hours: {urban: 0.5}}
costs: {transport_per_visit: 1200}
supply: {vaccines: {shortfall_probability: 0.3}}
mentee: {baseline: {mean: {cold_chain: 3.0}}}
facilities: {session_days_per_week: {private: 1}}
""")
    cfg = cfgmod.load(path, ["subcounties.Hillside.furlough_hazard_per_year.private=0.5",
                             "whatsapp.moderation_effect.supervisor=0.2"])
    d = cfgmod.Config(name="x", start_date="2025-01-01", months=1,
                      subcounties=[{"name": "x", "setting": "rural",
                                    "facilities": {"public": 1}}]).to_dict()
    d["mentor"].update(mentees_per_mentor=6, travel_hours={"rural": 1.5, "urban": 0.5})
    d["costs"]["transport_per_visit"] = 1200
    d["supply"]["vaccines"]["shortfall_probability"] = 0.3
    d["mentee"]["baseline"]["mean"]["cold_chain"] = 3.0
    d["facilities"]["session_days_per_week"]["private"] = 1
    d["whatsapp"]["moderation_effect"]["supervisor"] = 0.2
    got = cfg.to_dict()
    for key in ("mentor", "costs", "supply", "mentee", "facilities", "whatsapp", "classroom"):
        assert got[key] == d[key], key
    assert set(got["supply"]) == {"vaccines", "materials", "child_health_cards"}
    assert cfg.subcounties[0].furlough_hazard_per_year.model_dump() == {
        "public": 0.0, "faith_based": 0.134, "private": 0.5}


def test_include_error_names_the_resolved_path(tmp_path, capsys):
    (tmp_path / "configs").mkdir()
    path = tmp_path / "configs" / "county.yaml"
    path.write_text("include: pilot.yaml\n" + MINIMAL)
    line = _report(["validate", str(path)], capsys)
    assert line.endswith(f"{path}: include: pilot.yaml: file not found "
                         f"(looked for {(tmp_path / 'configs' / 'pilot.yaml').resolve()})")
