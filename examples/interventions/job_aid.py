"""An intervention written outside mentorsim: laminated job aids for one technical area.

In ``month`` every enrolled nurse receives a job aid (a wall chart of the steps) for
``area``; it closes ``share`` of her gap to 4 in that area at once, and costs
``cost_per_facility`` to print and deliver (assumptions: set them from the county's
quotes). A scenario names it by its file, relative to the scenario::

    interventions:
      - type: ../../examples/interventions/job_aid.py:JobAid
        month: 3
        area: cold_chain
        share: 0.3
        cost_per_facility: 400
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.config import AREAS
from sim.interventions import Intervention, Params
from sim.rules import competency


class JobAidParams(Params):
    month: int = Field(ge=1, description="programme month at whose start the aids arrive")
    area: str = Field(description="the technical area the aid covers")
    share: float = Field(gt=0, le=1, description="share of her gap to 4 in that area it closes")
    cost_per_facility: float = Field(ge=0, description="KSh to print and deliver one aid")

    @field_validator("area")
    @classmethod
    def _known(cls, area: str) -> str:
        if area not in AREAS:
            raise ValueError(f"'{area}' is not one of {', '.join(AREAS)}")
        return area


class JobAid(Intervention):
    Params = JobAidParams

    def run(self, programme):
        p = self.params
        if p.month > programme.config.months:
            return
        yield programme.month(p.month)
        a = AREAS.index(p.area)
        for nurse in programme.enrolled():
            c = programme.competency(nurse)
            c[a] = competency.MAX_SCORE - (1 - p.share) * (competency.MAX_SCORE - c[a])
            programme.set_competency(nurse, c)
            programme.charge(f"{self.name}:facility:{nurse.facility}", nurse.subcounty,
                             p.cost_per_facility)
