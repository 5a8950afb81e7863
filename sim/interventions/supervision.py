"""Supportive supervision: a subcounty supervisor visits every enrolled nurse periodically.

From ``start_month``, every ``every_months`` months, at the month's start, each
enrolled nurse is visited by a supervisor who works on her agenda like a mentor
(:func:`sim.rules.competency.agenda`, the subcounty's priorities) with learning
rate ``rate`` and an effort of 1 (no random draw), at ``cost_per_visit`` (the
supervisor's transport and allowance; an assumption to set from the county's rates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from sim.config import AREAS
from sim.interventions import Intervention, Params
from sim.rules import competency

if TYPE_CHECKING:
    from sim.engines.interface import Programme


class SupervisionParams(Params):
    start_month: int = Field(default=1, ge=1, description="programme month of the first round")
    every_months: int = Field(default=3, ge=1, description="months between rounds (3: quarterly)")
    areas_per_visit: int = Field(default=2, ge=1, le=len(AREAS),
                                 description="agenda areas worked on at a visit")
    rate: float = Field(default=0.5, gt=0, description="learning rate of a supervisor's visit")
    cost_per_visit: float = Field(default=1500, ge=0, description="KSh per visit")


class SupervisorVisits(Intervention):
    """``type: supervisor_visits``."""

    Params = SupervisionParams

    def run(self, programme: Programme):
        p, cfg = self.params, programme.config
        weights = [competency.priority_weights([AREAS.index(a) for a in sub.priorities],
                                               len(AREAS),
                                               cfg.mentee.learning.priority_weight_decay)
                   for sub in cfg.subcounties]
        for month in range(p.start_month, cfg.months + 1, p.every_months):
            yield programme.month(month)
            for nurse in programme.enrolled():
                c = programme.competency(nurse)
                areas = competency.agenda(c, weights[nurse.subcounty], p.areas_per_visit)
                programme.set_competency(
                    nurse, competency.learn(c, areas, [1.0] * len(areas), p.rate))
                programme.charge(f"{self.name}:mentee:{nurse.nurse}", nurse.subcounty,
                                 p.cost_per_visit)
