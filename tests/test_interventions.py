"""Interventions added from YAML: each changes the outcome it should and nothing else.

An intervention draws no random number of the model's and changes no event's
timing, so with it the same replicate makes the same visits, posts, spells and
exits; only competency from its month on, and its own costs, differ.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import CONFIGS, ROOT, write_yaml
from sim.config import ConfigError
from sim.engines import simulate

JOB_AID = ROOT / "examples" / "interventions" / "job_aid.py"


def _run(overrides: list[str], engine: str = "fast"):
    return simulate(sim.load(CONFIGS / "pilot.yaml", overrides), 5, 0, engine)


def _same_events(a, b) -> None:
    assert list(a.visits) == list(b.visits)
    assert sorted(a.posts) == sorted(b.posts)
    assert [(s.mentee, s.start, s.end, s.reason, s.visits) for s in a.spells] == \
        [(s.mentee, s.start, s.end, s.reason, s.visits) for s in b.spells]
    assert [(m.mentor, m.start, m.end) for m in a.mentors] == \
        [(m.mentor, m.start, m.end) for m in b.mentors]


def _costs(rec, interventions: bool) -> list[tuple]:
    led = rec.ledger
    return [row for row in zip(led.day, led.category, led.who, led.ksh, strict=True)
            if (row[1] == "interventions") == interventions]


def _mean_levels(rec) -> np.ndarray:
    """Mean checklist level of the enrolled nurses at each month's reading."""
    return np.array([np.nanmean(np.vstack([m.mean_score for m in rec.months if m.month == k]))
                     for k in range(13)])


def _enrolled_at(rec, day: float) -> int:
    return sum(s.start <= day < s.end for s in rec.spells)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_refresher_course_lifts_competency_from_its_month_and_costs_its_price(engine):
    base = _run([], engine)
    course = _run(["interventions=[{type: refresher_course, month: 6, gain: 0.5, "
                   "cost_per_nurse: 3500}]"], engine)
    _same_events(base, course)
    assert _costs(course, False) == _costs(base, False)
    day = sim.load(CONFIGS / "pilot.yaml").month_starts()[5]
    charged = _costs(course, True)
    assert {row[0] for row in charged} == {day}
    assert sum(row[3] for row in charged) == 3500 * _enrolled_at(base, day)
    before, after = _mean_levels(base), _mean_levels(course)
    np.testing.assert_array_equal(before[:6], after[:6])  # readings up to month 5's end
    assert (after[6:] >= before[6:]).all() and after[6] > before[6] + 0.05


def test_supervisor_visits_every_quarter_help_and_cost_per_visit():
    base = _run([])
    supervised = _run(["interventions=[{type: supervisor_visits, every_months: 3, "
                       "cost_per_visit: 1500}]"])
    _same_events(base, supervised)
    assert _costs(supervised, False) == _costs(base, False)
    starts = sim.load(CONFIGS / "pilot.yaml").month_starts()
    charged = _costs(supervised, True)
    rounds = [starts[m - 1] for m in (1, 4, 7, 10)]
    assert sorted({row[0] for row in charged}) == rounds
    assert len(charged) == sum(_enrolled_at(base, d) for d in rounds)
    before, after = _mean_levels(base), _mean_levels(supervised)
    assert before[0] == after[0] and (after[1:] >= before[1:] - 1e-12).all()
    assert after[1:].mean() > before[1:].mean() + 0.02


def _area_means(rec, month: int) -> np.ndarray:
    return np.vstack([m.mean_score for m in rec.months if m.month == month])


@pytest.mark.parametrize("mentoring", [True, False])
def test_a_rule_written_outside_the_package_runs_from_yaml_and_lifts_its_area(mentoring):
    overrides = [] if mentoring else ["mentor.enabled=false"]
    cfg = sim.load(CONFIGS / "examples" / "pilot_with_job_aids.yaml", overrides)
    (spec,) = cfg.interventions
    assert spec.type == f"{JOB_AID.resolve()}:JobAid" and spec.name == "JobAid"
    base = simulate(sim.load(CONFIGS / "pilot.yaml", overrides), 5, 0)
    aided = simulate(cfg, 5, 0)
    _same_events(base, aided)
    assert _costs(aided, False) == _costs(base, False)
    assert sum(row[3] for row in _costs(aided, True)) == \
        400 * _enrolled_at(base, cfg.month_starts()[2])
    area = sim.config.AREAS.index("cold_chain")
    for month in range(3):  # the readings before the aids arrive at the start of month 3
        np.testing.assert_array_equal(_area_means(base, month), _area_means(aided, month))
    # the aid closes part of every nurse's cold-chain gap (visits then turn to other areas)
    assert _area_means(aided, 3).mean() > _area_means(base, 3).mean()
    if not mentoring:
        assert (_area_means(aided, 3)[:, area] > _area_means(base, 3)[:, area]).all()  # no visit adapts its agenda: decay and posts act area by area
        others = [a for a in range(len(sim.config.AREAS)) if a != area]
        for month in range(13):
            np.testing.assert_array_equal(_area_means(base, month)[:, others],
                                          _area_means(aided, month)[:, others])


@pytest.mark.parametrize(("item", "message"), [
    ("{type: refresher_course, month: 0, gain: 0.5, cost_per_nurse: 1}",
     "interventions.0: refresher_course: month: Input should be greater than or equal to 1"),
    ("{type: refresher_course, mnth: 3, gain: 0.5, cost_per_nurse: 1}",
     "interventions.0: refresher_course: mnth: unknown key (check the spelling; did you mean month?)"),
    ("{type: refresher_cours}", "unknown intervention 'refresher_cours' (did you mean refresher_course?"),
    ("{type: missing.py:Rule}", "missing.py: cannot import: FileNotFoundError"),
    ("{type: 'sim.config:Config'}", "sim.config:Config: not an intervention class"),
])
def test_a_bad_intervention_is_named_when_the_scenario_loads(tmp_path, item, message):
    path = write_yaml(tmp_path / "s.yaml", {"include": str(CONFIGS / "pilot.yaml")})
    with pytest.raises(ConfigError, match=None) as err:
        sim.load(path, [f"interventions=[{item}]"])
    assert message in str(err.value)
