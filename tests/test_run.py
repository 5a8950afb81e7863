"""End to end: `mentorsim run` on the shipped pilot, its files, and the Python API."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sim
from sim import config as cfgmod
from sim.cli import main
from sim.config import AMENITIES, AREAS
from sim.costs import CATEGORIES

from conftest import CONFIGS


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "pilot"
    assert main(["run", str(CONFIGS / "pilot.yaml"), "--reps", "20", "--seed", "1",
                 "--out", str(out), "--plot"]) == 0
    return out


def test_outputs_and_columns(pilot_run):
    names = {p.name for p in pilot_run.iterdir()}
    assert names == {"mentees.parquet", "mentors.parquet", "timeseries.parquet", "costs.parquet",
                     "phases.parquet", "budget.parquet", "workforce.parquet",
                     "turnover.parquet", "summary.json", "config.resolved.yaml", "competency.png"}
    phases = pd.read_parquet(pilot_run / "phases.parquet")
    assert len(phases) == 0 and "start_month" in phases.columns  # the pilot has no phases
    m = pd.read_parquet(pilot_run / "mentees.parquet")
    assert list(m.columns[:14]) == ["replicate", "subcounty", "facility_id", "facility_name",
                                    "keph_level", "mentee_id", "replacement", "joined_month",
                                    "start_day", "end_day", "exit_reason", "visits",
                                    "baseline_mean_score", "final_mean_score"]
    assert [c.removeprefix("score_") for c in m.columns[14:22]] == list(AREAS)
    assert [c.removeprefix("has_") for c in m.columns[22:]] == list(AMENITIES)
    has = m.groupby("subcounty")[[f"has_{a}" for a in AMENITIES]]
    assert has.all().loc["Machakos"].all()  # the pilot's Machakos facilities have everything
    assert not has.all().loc["Lari"].any()  # and Lari's lack some of each
    by_facility = m.groupby(["replicate", "facility_id"])[[f"has_{a}" for a in AMENITIES]]
    assert (by_facility.nunique() == 1).all().all()  # a facility's, whichever its nurse
    assert set(m.loc[m["facility_id"] == 0, "facility_name"]) == {"Lari public 1"}
    assert m["keph_level"].isna().all()  # counted facilities have no KEPH level
    assert set(m["subcounty"]) == {"Lari", "Machakos"}
    assert set(m["exit_reason"].dropna()) <= {"turnover", "furlough"}
    assert m["exit_reason"].isna().any()
    scores = m[[f"score_{a}" for a in AREAS]].to_numpy()
    assert ((scores >= 0) & (scores <= 4) & (scores == scores.round())).all()

    ts = pd.read_parquet(pilot_run / "timeseries.parquet")
    assert len(ts) == 20 * 2 * 13  # month 0 is the baseline reading
    assert (ts[ts["month"] == 0][["visits", "cost_total", "stockout_facility_days"]] == 0).all().all()
    for col in ["month", "month_start", "month_end", "mean_score", "active_mentees",
                "active_mentors", "whatsapp_members", "whatsapp_posts", "visits",
                "stockout_facility_days", "cost_total", *[f"cost_{c}" for c in CATEGORIES],
                *[f"score_{a}" for a in AREAS]]:
        assert col in ts.columns, col

    costs = pd.read_parquet(pilot_run / "costs.parquet")
    assert {"replicate", "day", "category", "who", "ksh"} <= set(costs.columns)
    assert set(costs["category"]) == {"transport", "lunch", "mentor_airtime", "mentee_airtime",
                                      "orientation", "coordination"}  # no classroom course here
    assert set(costs["category"]) <= set(CATEGORIES)
    # the ledger, the monthly table and the visits agree
    assert costs["ksh"].sum() == pytest.approx(ts["cost_total"].sum())
    assert ts["visits"].sum() == m["visits"].sum()
    assert (costs["category"] == "transport").sum() == m["visits"].sum()

    mentors = pd.read_parquet(pilot_run / "mentors.parquet")
    assert mentors["visits"].sum() == m["visits"].sum()
    assert set(mentors["exit_reason"].dropna()) <= {"attrition"}
    assert (mentors.groupby("replicate").size() >= 10).all()

    doc = json.loads((pilot_run / "summary.json").read_text())
    assert doc["config"] == "pilot" and doc["seed"] == 1 and doc["reps"] == 20
    assert doc["version"] == sim.__version__
    for key in ["mean_competency_at_horizon", "share_all_areas_3_or_above", "visits_per_mentee",
                "total_cost_ksh", "total_cost_usd", "cost_per_mentee_ksh", "replacements",
                "visits_per_original_nurse", "visits_per_replacement_nurse"]:
        s = doc["outcomes"]["overall"][key]
        assert s["p5"] <= s["mean"] <= s["p95"], key
    assert set(doc["outcomes"]["by_subcounty"]) == {"Lari", "Machakos"}

    resolved = cfgmod.load(pilot_run / "config.resolved.yaml")
    assert resolved == cfgmod.load(CONFIGS / "pilot.yaml")
    assert (pilot_run / "competency.png").read_bytes()[:4] == b"\x89PNG"


def test_lari_arm_matches_the_pilot_shape(pilot_run):
    """Lari: most mentees get 9-12 visits, and the competency curve rises."""
    m = pd.read_parquet(pilot_run / "mentees.parquet")
    lari = m[(m["subcounty"] == "Lari") & m["exit_reason"].isna()]
    share_9_12 = lari["visits"].between(9, 12).mean()
    assert share_9_12 > 0.8  # the study: 95 %
    ts = pd.read_parquet(pilot_run / "timeseries.parquet")
    curve = ts[ts["subcounty"] == "Lari"].groupby("month")["mean_score"].mean()
    assert curve.is_monotonic_increasing
    assert curve.iloc[-1] - curve.iloc[0] > 0.5


def test_refuses_non_empty_directory_unless_forced(pilot_run, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    args = ["run", str(CONFIGS / "pilot_lari.yaml"), "--out", str(out)]
    assert main(args) == 2
    assert "directory is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main([*args, "--force"]) == 0
    # our files are replaced; anything else in the folder is left alone
    first = (out / "summary.json").read_text()
    assert main([*args, "--force", "--seed", "9"]) == 0
    assert (out / "summary.json").read_text() != first
    assert (out / "keep.txt").read_text() == "x"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    for args in (["run", str(CONFIGS / "pilot.yaml")],  # no --out
                 ["run", str(CONFIGS / "pilot.yaml"), "--out", str(tmp_path / "o"), "--reps", "0"],
                 ["run", str(CONFIGS / "pilot.yaml"), "--out", str(tmp_path / "o"), "--reps", "x"],
                 ["frobnicate"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mentorsim: error: "), err
    assert not (tmp_path / "o").exists()


def test_python_api_and_plot(tmp_path):
    res = sim.run(CONFIGS / "pilot_machakos.yaml", reps=3, seed=2)
    assert isinstance(res, sim.Results)
    assert set(res.mentees["subcounty"]) == {"Machakos"}
    assert res.timeseries["replicate"].nunique() == 3
    fig = res.plot_competency(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["all nurses in post"]
    by = res.plot_competency(by="subcounty")
    assert [line.get_label() for line in by.axes[0].get_lines()] == ["Machakos"]
    out = res.write(tmp_path / "api")
    assert (out / "mentees.parquet").exists()
    with pytest.raises(sim.ConfigError, match="reps"):
        sim.run(res.config, reps=0)
