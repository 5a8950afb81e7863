"""Scenario validation: shipped configs load; malformed ones fail with one clear line."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from sim import config as cfgmod
from sim.cli import main

from conftest import CONFIGS, write_yaml


@pytest.mark.parametrize("name", ["pilot.yaml", "pilot_lari.yaml", "pilot_machakos.yaml"])
def test_shipped_configs_validate(name):
    cfg = cfgmod.load(CONFIGS / name)
    assert cfg.months == 12 and cfg.start_date.isoformat() == "2018-04-01"
    assert cfg.mentor.mentees_per_mentor == 4


def test_arms_share_the_pilot_parameters():
    both = cfgmod.load(CONFIGS / "pilot.yaml")
    lari = cfgmod.load(CONFIGS / "pilot_lari.yaml")
    assert [s.name for s in lari.subcounties] == ["Lari"]
    assert lari.subcounties[0] == both.subcounties[0]
    assert lari.model_dump(exclude={"name", "subcounties"}) == both.model_dump(
        exclude={"name", "subcounties"}
    )
    assert lari.subcounties[0].facilities.total == 20


def test_overrides_by_index_and_by_name():
    cfg = cfgmod.load(CONFIGS / "pilot.yaml", [
        "mentor.mentees_per_mentor=6",
        "subcounties.Lari.facilities.private=2",
        "subcounties.1.setting=rural",
        "whatsapp.enabled=false",
    ])
    assert cfg.mentor.mentees_per_mentor == 6
    assert cfg.subcounties[0].facilities.private == 2
    assert cfg.subcounties[1].setting == "rural"
    assert cfg.whatsapp.enabled is False


def test_month_starts_follow_the_calendar():
    cfg = cfgmod.load(CONFIGS / "pilot.yaml")
    starts = cfg.month_starts()
    assert starts[:3] == [0.0, 30.0, 61.0]  # April has 30 days, May 31
    assert cfg.horizon_days == 365.0


def _mutations():
    """(id, change to the raw pilot mapping, words the error line must contain)."""

    def set_(key, value):
        return lambda d: cfgmod.set_dotted(d, key, value)

    def drop(*path):
        def f(d):
            node = d
            for p in path[:-1]:
                node = node[p]
            del node[path[-1]]
        return f

    return [
        ("typo-top", lambda d: d.update(mentr=d["mentor"]), ["mentr", "unknown key"]),
        ("typo-nested", set_("mentor.mentes_per_mentor", 4), ["mentor.mentes_per_mentor", "unknown key"]),
        ("wrong-type", set_("months", "twelve"), ["months", "integer"]),
        ("negative-rate", set_("mentee.turnover.hazard_per_year", -0.1), ["mentee.turnover.hazard_per_year", "greater than or equal to 0"]),
        ("probability", set_("whatsapp.active_probability", 1.5), ["whatsapp.active_probability", "less than or equal to 1"]),
        ("ratio-zero", set_("mentor.mentees_per_mentor", 0), ["mentor.mentees_per_mentor", "greater than or equal to 1"]),
        ("ratio-below-one", set_("mentor.mentees_per_mentor", 0.5), ["mentor.mentees_per_mentor"]),
        ("zero-facilities", set_("subcounties.Lari.facilities", {"public": 0, "faith_based": 0, "private": 0}), ["subcounties.0", "at least one facility"]),
        ("missing-key", drop("subcounties", 0, "setting"), ["subcounties.0.setting", "missing"]),
        ("priorities", set_("subcounties.Lari.priorities", ["cold_chain"] * 8), ["subcounties.0", "priorities"]),
        ("bad-choice", set_("whatsapp.moderation", "boss"), ["whatsapp.moderation", "peer"]),
        ("week-overfull", set_("mentor.release_days_per_week", 4), ["mentor", "5-day week"]),
        ("bad-date", set_("start_date", "2018-13-01"), ["start_date"]),
        ("protections", set_("mentee.decay.whatsapp_protection", 0.8), ["mentee.decay", "must not exceed 1"]),
        ("baseline-area", set_("mentee.baseline.mean.cold_chian", 2.0), ["mentee.baseline", "eight areas"]),
        ("amenity-share", set_("subcounties.Lari.amenities.running_water", 1.5), ["subcounties.0.amenities.running_water", "less than or equal to 1"]),
        ("amenity-typo", set_("subcounties.Lari.amenities.running_wter", 0.5), ["subcounties.0.amenities.running_wter", "unknown key", "did you mean running_water?"]),
        ("needs-unknown", set_("survey.items.wash_hands_before_vaccination.needs", ["soap"]), ["survey.items.wash_hands_before_vaccination.needs.0", "'running_water'"]),
        ("needs-empty", set_("survey.items.wash_hands_before_vaccination.needs", []), ["survey.items.wash_hands_before_vaccination.needs", "at least 1 item"]),
        ("needs-knowledge", set_("survey.items.fridge_tag.needs", ["electricity"]), ["survey.items.fridge_tag", "needs applies to an observed skill"]),
    ]


@pytest.mark.parametrize("case", _mutations(), ids=lambda c: c[0])
def test_malformed_config_one_line_exit_2_nothing_written(case, pilot_raw, tmp_path, capsys):
    _, mutate, words = case
    data = copy.deepcopy(pilot_raw)
    mutate(data)
    path = write_yaml(tmp_path / "bad.yaml", data)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"mentorsim: error: {path}: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: x\nmonths: 12\n  oops: 1\n", ["line 3", "YAML syntax error"]),
        ("- just\n- a list\n", ["expected a mapping"]),
        ("include: nowhere.yaml\nname: x\n", ["include: nowhere.yaml", "file not found"]),
    ],
)
def test_unreadable_files(text, words, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err


def test_missing_file_and_bad_override(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: file not found" in capsys.readouterr().err
    assert main(["validate", str(CONFIGS / "pilot.yaml"), "--set", "mentor.visits=3"]) == 2
    assert "mentor.visits: unknown key" in capsys.readouterr().err
    assert main(["validate", str(CONFIGS / "pilot.yaml"), "--set", "subcounties.Nairobi.setting=urban"]) == 2
    assert "no list item 'Nairobi'" in capsys.readouterr().err


def test_cli_process_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = cfgmod.read_raw(CONFIGS / "pilot.yaml")
    data["mentor"]["mentees_per_mentor"] = 0
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "mentor.mentees_per_mentor" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "start, expected",
    [("2018-01-31", [0, 28, 59, 89]), ("2019-12-15", [0, 31, 62, 91]), ("2020-01-31", [0, 29, 60, 90])],
)
def test_month_boundaries_at_month_ends(make_config, start, expected):
    cfg = make_config({"start_date": start, "months": 3})
    assert cfg.month_starts() == expected
