"""The programme's layout: its facilities and the mentors' caseloads.

Pure functions of the config, so the network a scenario describes can be
inspected and tested without running the simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.config import OWNERSHIPS, Config


@dataclass(frozen=True)
class Site:
    """A facility in the programme, as the scenario describes it."""

    id: int
    subcounty: int
    ownership: str
    setting: str
    sessions_per_week: int
    nurses: int


def sites(config: Config) -> list[Site]:
    """Every facility, numbered subcounty by subcounty, ownership by ownership."""
    out: list[Site] = []
    fac = config.facilities
    for s, sub in enumerate(config.subcounties):
        for ownership in OWNERSHIPS:
            for _ in range(sub.facilities[ownership]):
                out.append(Site(len(out), s, ownership, sub.setting,
                                int(fac.session_days_per_week[ownership]),
                                int(fac.immunizing_nurses[ownership])))
    return out


def caseloads(layout: list[Site], mentees_per_mentor: float) -> list[tuple[int, list[int]]]:
    """Mentor slots as (subcounty, site ids): ``ceil(n / ratio)`` mentors per subcounty.

    Sites are dealt round-robin, so caseloads differ by at most one and mix
    ownership types the way a coordinator assigning by list would.
    """
    slots: list[tuple[int, list[int]]] = []
    for s in sorted({site.subcounty for site in layout}):
        ids = [site.id for site in layout if site.subcounty == s]
        n = math.ceil(len(ids) / mentees_per_mentor)
        slots.extend((s, ids[k::n]) for k in range(n))
    return slots
