"""Figures hold up at county and national size: small multiples, readable money and dates."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

import sim
from sim import compare, plots


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


def test_cost_effectiveness_figures_stay_readable_with_twelve_strategies():
    # a sweep's twelve strategies in 60 draws, dearer one after the other; every second one
    # achieves far less, so several are never cost-effective
    rng = np.random.default_rng(4)
    names = [f"mentees_per_mentor={k},target_interval_days={30 + k}" for k in range(12)]
    cost = pd.DataFrame(rng.normal(np.linspace(1e6, 3e6, 12), 1e5, (60, 12)), columns=names)
    effect = pd.DataFrame(rng.normal(np.linspace(40, 90, 12) - 20 * (np.arange(12) % 2), 4,
                                     (60, 12)), columns=names)
    curves, decision = compare.by_wtp(cost, effect, np.arange(0, 100_001, 2000), 100)
    unit = ("competency-point-year", "competency-point-years")
    plane = plots.ce_plane_figure(cost.sub(cost[names[0]], axis=0),
                                  effect.sub(effect[names[0]], axis=0), names[0], unit,
                                  50_000, 100)
    panels = [ax for ax in plane.axes if ax.get_visible()]
    assert len(panels) == 11 and all(ax.get_legend() is None for ax in panels)
    assert all("\n" in ax.get_title() for ax in panels)  # long names broken at their commas
    assert "50,000 KSh (US$ 500)" in plane.get_suptitle()
    for fig in (plots.ceac_figure(curves, decision, unit, 100),
                plots.expected_loss_figure(curves, decision, unit, 100)):
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        never = [s for s in names if curves.loc[curves["strategy"] == s,
                                                "probability_cost_effective"].max() <= 0.05
                 and s not in set(decision["optimal"])]
        assert never and f"{len(never)} others, never above 5%" in labels
        assert len(labels) == 2 + len(names) - len(never)  # the frontier and the others once
        assert "KSh thousands per competency-point-year" in ax.get_xlabel()
        assert any("US$" in other.get_xlabel() for other in ax.child_axes)
