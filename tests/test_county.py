"""A county written from scratch: defaults, facility lists, ``mentorsim init``."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import sim
from sim import batch
from sim import config as cfgmod
from sim.cli import main
from sim.experiment import load_experiment
from sim.scenarios import sites

from conftest import CONFIGS, ROOT

EXAMPLES = CONFIGS / "examples"

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


#: the defaults configs/pilot.yaml leaves out (the pilot had mentors, and no interventions)
UNSTATED = {"mentor.enabled", "interventions", "uncertainty.between_settings"}


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
    # Machakos gives its own agenda and hazards; a subcounty's default to Lari's. Amenities are
    # a county's own data: Lari's are the pilot's, a subcounty's default is every facility
    # having every amenity (Machakos's, as stated).
    stated = {k: v for k, v in _flat(raw).items()
              if not k.startswith(("survey.", "calibration.", "subcounties.1.",
                                   "subcounties.0.amenities."))}
    assert {k: defaults.get(k, "missing") for k in stated} == stated
    unstated = {k for k, v in defaults.items() if k not in stated and v is not None}
    assert unstated - {k for k in unstated
                       if k.startswith(("subcounties.1.", "subcounties.0.amenities."))} == UNSTATED
    assert [defaults[f"subcounties.1.priorities.{k}"] for k in range(8)] == list(
        cfgmod.LARI_PRIORITIES)
    assert defaults["subcounties.1.furlough_hazard_per_year.private"] == 0.134
    for s in (0, 1):
        assert {a: defaults[f"subcounties.{s}.amenities.{a}"] for a in cfgmod.AMENITIES} == {
            a: raw["subcounties"][1]["amenities"][a] for a in cfgmod.AMENITIES} == dict.fromkeys(
            cfgmod.AMENITIES, 1.0)
    assert all(raw["subcounties"][0]["amenities"][a] < 1 for a in cfgmod.AMENITIES)


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


def test_the_readme_county_validates(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A county in ten minutes"):]
    example = section[section.index("```yaml\n") + 8:section.index("```\n")]
    cfg = cfgmod.from_dict(yaml.safe_load(example), "README")
    assert [s.counts.total for s in cfg.subcounties] == [20, 20]
    assert cfg.mentor.mentees_per_mentor == 6 and cfg.costs.transport_per_visit == 1000


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


# --- facility lists ---------------------------------------------------------------


def _without_names(layout: list) -> list:
    return [dataclasses.replace(site, name="", keph_level=None) for site in layout]


def test_facility_list_example_has_the_layout_of_its_counts():
    listed = cfgmod.load(EXAMPLES / "county_from_list.yaml")
    assert [s.counts.total for s in listed.subcounties] == [20, 22, 19]
    data = listed.to_dict()
    for sub, given in zip(data["subcounties"], listed.subcounties, strict=True):
        sub["facilities"] = given.counts.model_dump()
    counted = cfgmod.from_dict(data)
    assert _without_names(sites(listed)) == _without_names(sites(counted))
    names = pd.read_csv(EXAMPLES / "facilities_synthetic.csv", comment="#")
    assert sorted(s.name for s in sites(listed)) == sorted(names["Name"])
    # the example is the starter county of `mentorsim init`, its facilities from the list
    starter = cfgmod.load(ROOT / "sim" / "starter" / "county.yaml", [f"name={listed.name}"])
    assert counted == starter


def _pilot_list(tmp_path: Path, pilot_raw: dict) -> Path:
    """The pilot's facility counts as a KMHFL-style list, rows in no particular order."""
    owner = {"public": "Ministry of Health", "faith_based": "Faith Based Organization",
             "private": "Private Practice"}
    rows = [(f"{sub['name']} {o} facility {k}", owner[o], sub["name"].upper(), "Level 2")
            for sub in pilot_raw["subcounties"] for o in owner
            for k in range(sub["facilities"][o])]
    rows = rows[1::2] + rows[::2]
    table = pd.DataFrame(rows, columns=["Name", "Owner type", "Sub County", "Keph level"])
    path = tmp_path / "pilot_facilities.csv"
    table.to_csv(path, index=False)
    return path


def test_a_list_with_the_pilots_counts_runs_the_pilot(tmp_path, pilot_raw):
    data = copy.deepcopy(pilot_raw)
    for sub in data["subcounties"]:
        del sub["facilities"]
    data["facility_list"] = {"path": str(_pilot_list(tmp_path, pilot_raw))}
    listed = cfgmod.from_dict(data)
    counted = cfgmod.from_dict(pilot_raw)
    a, b = sim.run(listed, reps=2, seed=5), sim.run(counted, reps=2, seed=5)
    names = ["facility_name", "keph_level"]
    pd.testing.assert_frame_equal(a.mentees.drop(columns=names), b.mentees.drop(columns=names))
    for table in ("mentors", "costs", "timeseries"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    by_id = {s.id: s for s in sites(listed)}
    assert (a.mentees["facility_name"] == [by_id[f].name for f in a.mentees["facility_id"]]).all()
    assert set(a.mentees["keph_level"]) == {"Level 2"}
    lari = a.mentees[a.mentees["subcounty"] == "Lari"]
    assert lari["facility_name"].str.startswith("Lari public").sum() == (
        lari["facility_id"] < 12).sum()


def test_the_resolved_config_runs_without_the_list(tmp_path):
    cfg = cfgmod.load(EXAMPLES / "county_from_list.yaml")
    again = cfgmod.from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg
    listed = {f.name: f for f in again.subcounties[0].facilities}
    assert listed["Milima Town Sub-County Hospital"].keph_level == "Level 4"


def _county_with_list(tmp_path: Path, text: str, listing: str = "{path: f.csv}") -> Path:
    (tmp_path / "f.csv").write_text(text)
    path = tmp_path / "county.yaml"
    path.write_text(f"""\
name: t
start_date: 2025-01-01
months: 2
facility_list: {listing}
subcounties:
  - {{name: Hillside, setting: rural}}
  - {{name: Riverside, setting: urban, facilities: {{public: 2}}}}
""")
    return path


HEADER = "Code,Name,Owner type,Sub County,Keph level\n"
GOOD = "1,Kilima Dispensary,Ministry of Health,Hillside,Level 2\n"


@pytest.mark.parametrize("rows, words", [
    ("2,Baraka Clinic,Armed Forces,Hillside,Level 2\n",
     ["line 4: Owner type 'Armed Forces' is not mapped", "add it to facility_list.owners"]),
    ("2,Baraka Clinic,Private Practice,,Level 2\n", ["line 4: Sub County is empty"]),
    ("\n2,,Private Practice,Hillside,Level 2\n", ["line 5: Name is empty"]),
    ('2,"Baraka\nClinic",Private Practice,Hillside,\n3,Ziwa,Private Practice,Lakeside,\n',
     ["line 6: Sub County 'Lakeside' is not one of the subcounties (Hillside, Riverside)"]),
    ("2,Ziwa,Private Practice,Riverside,\n",
     ["line 4: Sub County 'Riverside': that subcounty gives its facilities in the YAML"]),
])
def test_a_bad_row_is_one_line_with_its_line_number(rows, words, tmp_path, capsys):
    # line 1 a comment, 2 the header (its titles in another case), 3 a good row
    path = _county_with_list(tmp_path, "# SYNTHETIC\n" + HEADER.upper() + GOOD + rows)
    line = _report(["validate", str(path)], capsys)
    assert line.startswith(f"mentorsim: error: {path}: facility_list: {tmp_path / 'f.csv'}: ")
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize("text, listing, words", [
    ("Name,Owner type,Keph level\n", "{path: f.csv}",
     ["no column 'Sub County' (the header has: Name, Owner type, Keph level)",
      "facility_list.columns.subcounty"]),
    (HEADER + GOOD, "{path: nowhere.csv}", ["nowhere.csv: file not found (looked for /"]),
    (HEADER + GOOD, "{path: f.csv, owners: {Armed Forces: army}}",
     ["facility_list.owners.Armed Forces: Input should be 'public'"]),
    (HEADER + GOOD, "{path: f.csv, colums: {}}", ["facility_list.colums: unknown key"]),
    (HEADER, "{path: f.csv}", ["subcounties.0.facilities: none given", "no rows for 'Hillside'"]),
])
def test_unusable_lists_are_one_line(text, listing, words, tmp_path, capsys):
    line = _report(["validate", str(_county_with_list(tmp_path, text, listing))], capsys)
    for word in words:
        assert word in line, (word, line)


def test_columns_and_owner_types_can_be_renamed(tmp_path):
    text = ("Facility,Ownership,Subcounty\n"
            "Kambi Dispensary,armed forces,hillside\n"
            "Ziwa Clinic, Private Practice ,Hillside\n")
    listing = ("{path: f.csv, columns: {name: Facility, owner_type: Ownership, "
               "subcounty: Subcounty, keph_level: null}, owners: {Armed Forces: public}}")
    cfg = cfgmod.load(_county_with_list(tmp_path, text, listing))
    hillside = cfg.subcounties[0]
    assert hillside.counts.model_dump() == {"public": 1, "faith_based": 0, "private": 1}
    assert hillside.roster() == [("public", "Kambi Dispensary", None),
                                 ("private", "Ziwa Clinic", None)]


def test_counted_facilities_are_named(make_config):
    names = [s.name for s in sites(make_config())]
    assert names[:2] == ["Lari public 1", "Lari public 2"]
    assert names[12] == "Lari faith_based 1" and names[-1] == "Machakos private 3"


# --- mentorsim init ---------------------------------------------------------------


def test_init_writes_a_county_and_an_experiment_that_run(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["init", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["county.yaml", "experiment.yaml"]
    assert "wrote county.yaml, experiment.yaml" in capsys.readouterr().out
    county = out / "county.yaml"
    assert "include" not in cfgmod.read_raw(county)
    assert main(["validate", str(county)]) == 0
    shown = capsys.readouterr().out
    assert "3 subcounties, 61 facilities, 36 months" in shown and "phase 2, month 25" in shown
    assert main(["run", str(county), "--out", str(tmp_path / "run"), "--set", "months=2"]) == 0
    assert (tmp_path / "run" / "mentees.parquet").is_file()
    exp = load_experiment(out / "experiment.yaml", ["months=2"])
    assert [s.config.mentor.mentees_per_mentor for s in exp.scenarios] == [4, 6]
    tables = batch.run_tasks(exp, exp.comparator, [0])
    assert len(tables["mentees"]) > 0


def test_init_refuses_a_non_empty_directory(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    line = _report(["init", str(tmp_path)], capsys)
    assert "directory is not empty (use --force to overwrite)" in line
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "county.yaml", "experiment.yaml", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"
