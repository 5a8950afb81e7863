"""A refresher course: one classroom day for every enrolled nurse, in a given month.

At the start of ``month`` every nurse enrolled then gains ``gain`` checklist
points in every area (capped at 4, :func:`sim.rules.competency.course`), at
``cost_per_nurse`` (per diem, travel and the trainer's share; an assumption to
set from the county's rates). Afterwards her skills decay as anyone's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.interventions import Intervention, Params
from sim.rules import competency

if TYPE_CHECKING:
    from sim.engines.interface import Programme


class RefresherParams(Params):
    month: int = Field(ge=1, description="programme month at whose start the course is held")
    gain: float = Field(gt=0, le=competency.MAX_SCORE,
                        description="checklist points gained in every area, capped at 4")
    cost_per_nurse: float = Field(ge=0, description="KSh per nurse trained")


class RefresherCourse(Intervention):
    """``type: refresher_course``."""

    Params = RefresherParams

    def run(self, programme: Programme):
        p = self.params
        if p.month > programme.config.months:
            return
        yield programme.month(p.month)
        for nurse in programme.enrolled():
            c = programme.competency(nurse)
            programme.set_competency(nurse, competency.course(c, np.full(len(c), p.gain)))
            programme.charge(f"{self.name}:mentee:{nurse.nurse}", nurse.subcounty,
                             p.cost_per_nurse)
