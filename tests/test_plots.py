"""Figures hold up at county and national size: small multiples, readable money and dates."""

from __future__ import annotations

import matplotlib.dates as mdates
import pytest

import sim
from sim import plots


@pytest.fixture(scope="module")
def many(pilot_raw):
    from conftest import build

    lari = build(pilot_raw, {}).subcounties[0].model_dump()
    names = [f"S{k:02d}" for k in range(12)]
    cfg = build(pilot_raw, {
        "months": 6,
        "subcounties": [dict(lari, name=n, facilities={"public": 3, "faith_based": 0,
                                                         "private": 0}) for n in names],
        "scaleup": {"annual_budget_ksh": 2_000_000,
                    "phases": [{"start_month": 3, "subcounties": names[6:]}]},
    })
    return cfg, sim.run(cfg, reps=2, seed=0)


def test_more_than_eight_groups_become_small_multiples(many):
    cfg, res = many
    fig = res.plot_competency(by="subcounty")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == len(cfg.subcounties)
    assert all(ax.get_legend() is None for ax in shown)
    assert all(ax.get_title() for ax in shown) and fig.get_suptitle()
    by_phase = res.plot_competency(by="phase")
    labels = [line.get_label() for line in by_phase.axes[0].get_lines() if
              not line.get_label().startswith("_")]
    assert labels == ["from the start", "phase 1"]


def test_the_default_curve_has_no_dip_when_a_phase_starts(many):
    _, res = many
    level = plots._level_in_post(res.timeseries.assign(group="all"), ["group", "replicate"])
    by_month = level.loc["all"].groupby(level="month_end").mean()
    assert (by_month.diff().dropna() > -0.02).all()  # nurses joining at baseline: no plunge
    enrolled = res.timeseries.groupby("month")[["active_mentees"]].sum()
    assert enrolled.loc[3, "active_mentees"] > enrolled.loc[2, "active_mentees"]


def test_money_is_spelled_out_and_dates_written_once(many):
    cfg, res = many
    fig = plots.budget_figure(res.budget)
    ax = fig.axes[0]
    assert "KSh" in ax.get_ylabel() and ax.yaxis.get_offset_text().get_text() == ""
    assert fig.axes[0].get_title()
    curve = res.plot_competency()
    assert isinstance(curve.axes[0].xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    for figure in (plots.timeline_figure(res.phases), plots.workforce_figure(res.workforce)):
        assert figure.axes[0].get_title() or figure.get_suptitle()
    with pytest.raises(ValueError, match="by"):
        res.plot_competency(by="county")
