"""Scale-up plans: subcounties join the programme in phases, within an annual budget.

A plan lists phases, each with a start month, the subcounties it brings in and,
optionally, their mentor:mentee ratio. Subcounties in no phase are in from day
0. Budget years run twelve months from the start date. When a phase is due,
the planner checks the budget the way a county would: what the programme has
spent this budget year, plus the rest of the year at the projected run-rate
with the phase (each facility's expected visits, airtime and share of a
mentor's airtime, each subcounty's coordination), plus the new mentors'
orientation, must fit the annual cap. If it does not, the phase is checked
again each month, and a new budget year usually lets it start. Phases are taken
in order, so a delayed phase delays those after it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import TYPE_CHECKING

from sim.scenarios.layout import ratio

if TYPE_CHECKING:
    from sim.config import Config
    from sim.model import Model


def annual_cost_per_facility(cfg: Config, mentees_per_mentor: float) -> float:
    """Expected recurring cost of one mentored facility for a year, KSh."""
    c = cfg.costs
    visits = 365.25 / cfg.mentor.target_interval_days
    airtime = 12 * c.mentee_airtime_per_month if cfg.whatsapp.enabled else 0.0
    return (visits * (c.transport_per_visit + c.lunch_per_visit) + airtime
            + 12 * c.mentor_airtime_per_month / mentees_per_mentor)


def annual_run_rate(model: Model, joining: list[int]) -> float:
    """The programme's recurring cost a year if ``joining`` subcounties join now, KSh."""
    cfg = model.config
    total = 0.0
    for s, facilities in enumerate(model.facilities):
        if model.joined[s] or s in joining:
            total += len(facilities) * annual_cost_per_facility(cfg, ratio(cfg, s))
            total += 12 * cfg.costs.coordination_per_subcounty_month
    return total


def projected_year_cost(model: Model, joining: list[int]) -> float:
    """This budget year's cost if ``joining`` subcounties join now: spent so far, the rest
    of the year at the new run-rate, and the new mentors' orientation, KSh."""
    cfg, t = model.config, model.env.now
    starts = model.month_starts
    year = int(next(k for k in range(len(starts) - 1, -1, -1) if starts[k] <= t) // 12)
    year_start = starts[12 * year]
    year_end = starts[min(12 * (year + 1), len(starts) - 1)]
    if year_end <= year_start:
        year_end = year_start + 365.25
    led = model.ledger  # posted as things happen, so its days are in order
    spent = sum(led.ksh[bisect_left(led.day, year_start):bisect_left(led.day, t)])
    rest = max(0.0, year_end - t) / 365.25 * annual_run_rate(model, joining)
    orientation = sum(math.ceil(len(model.facilities[s]) / ratio(cfg, s)) for s in joining)
    return spent + rest + orientation * cfg.costs.orientation_per_mentor


def phases(model: Model):
    """SimPy process: open each phase's subcounties when it is due and affordable."""
    cfg, env = model.config, model.env
    plan = cfg.scaleup
    names = [s.name for s in cfg.subcounties]
    for phase in sorted(plan.phases, key=lambda p: p.start_month):
        if phase.start_month > cfg.months:
            return
        start = model.month_starts[phase.start_month - 1]
        if env.now < start:
            yield env.timeout(start - env.now)
        joining = [names.index(n) for n in phase.subcounties]
        while (plan.annual_budget_ksh is not None
               and projected_year_cost(model, joining) > plan.annual_budget_ksh):
            later = next((d for d in model.month_starts if d > env.now), model.horizon)
            if later >= model.horizon:
                return  # never affordable within the horizon
            yield env.timeout(later - env.now)
        for s in joining:
            model.open_subcounty(s, graduates=phase.mentors == "graduates")
