"""Scale-up plans: subcounties join the programme in phases, within an annual budget.

A plan lists phases, each with a start month, the subcounties it brings in and,
optionally, their mentor:mentee ratio. Subcounties in no phase are in from day
0. The annual cap holds for each government fiscal year
(``costs.fiscal_year_start_month``; Kenya's runs July to June). When a phase is
due, the planner checks the budget the way a county would: what the programme
has spent this fiscal year, plus the rest of the year at the projected run-rate
with the phase (each facility's expected visits, airtime and share of a
mentor's airtime, each subcounty's coordination), plus the new mentors'
orientation, must fit the annual cap. If it does not, the phase is checked
again each month, and a new fiscal year usually lets it start. Phases are taken
in order, so a delayed phase delays those after it. The monthly calendar drives
the plan (:class:`Plan`), in either engine: a phase opens at a month's start before
that month's costs are posted, so its first month is charged like any other.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import TYPE_CHECKING

from sim.engines.processes import open_subcounty
from sim.record import PhaseRow
from sim.scenarios.layout import ratio

if TYPE_CHECKING:
    from sim.config import Config
    from sim.engines.interface import Engine as Model


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
    """This fiscal year's cost if ``joining`` subcounties join now: spent so far, the rest
    of the fiscal year at the new run-rate, and the new mentors' orientation, KSh."""
    cfg, t = model.config, model.env.now
    year = next(y for y in cfg.fiscal_years() if y.start <= t < y.end)
    led = model.ledger  # posted as things happen, so its days are in order
    spent = sum(led.ksh[bisect_left(led.day, max(year.start, 0.0)):bisect_left(led.day, t)])
    rest = (year.end - t) / 365.25 * annual_run_rate(model, joining)
    orientation = sum(math.ceil(len(model.facilities[s]) / ratio(cfg, s)) for s in joining)
    return spent + rest + orientation * cfg.costs.orientation_per_mentor


class Plan:
    """A scale-up plan as it unfolds: the calendar asks it at each month's start which
    phases open, and it records what became of each (:class:`PhaseRow`)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        phases = model.config.scaleup.phases
        self._pending = sorted(range(len(phases)), key=lambda k: phases[k].start_month)
        self._capped: set[int] = set()

    def open_due(self, month: int) -> bool:
        """At the start of ``month`` (1-based), open every phase that is due and fits the
        budget, in order of planned start; a phase over the budget is checked again next
        month, and the phases after it wait. Returns whether any opened."""
        model, cfg = self.model, self.model.config
        names = [s.name for s in cfg.subcounties]
        opened = False
        while self._pending:
            k = self._pending[0]
            phase = cfg.scaleup.phases[k]
            if phase.start_month > month:
                break
            joining = [names.index(n) for n in phase.subcounties]
            budget = cfg.scaleup.annual_budget_ksh
            if budget is not None and projected_year_cost(model, joining) > budget:
                self._capped.add(k)
                break
            self._pending.pop(0)
            recruited = graduates = 0
            for s in joining:
                r, g = open_subcounty(model, s, graduates=phase.mentors == "graduates")
                recruited, graduates = recruited + r, graduates + g
            model.record.phases.append(PhaseRow(k + 1, phase.start_month, month,
                                                self._reason(k, month), recruited, graduates))
            opened = True
        return opened

    def close(self) -> None:
        """At the horizon: record the phases that never started."""
        phases = self.model.config.scaleup.phases
        for k in self._pending:
            self.model.record.phases.append(
                PhaseRow(k + 1, phases[k].start_month, None, self._reason(k, None), 0, 0))
        self._pending = []

    def _reason(self, k: int, month: int | None) -> str:
        planned = self.model.config.scaleup.phases[k].start_month
        if planned > self.model.config.months:
            return "beyond horizon"
        if k in self._capped:
            return "budget cap"
        return "on time" if month == planned else "previous phase"
