"""Facility: a health facility with one MCH nurse post, its shelves and its place in the
programme."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.rules import competency

if TYPE_CHECKING:
    import simpy

    from sim.agents.mentor import Mentor
    from sim.scenarios import Site


class Facility:
    """A facility and its post. ``stocks`` hold one shelf per supply line (anything with
    ``stockout_days_until(t)`` and ``in_stock(t)``); a vaccine stock-out stops sessions.
    ``amenities`` are the amenities it has (:mod:`sim.rules.amenities`)."""

    __slots__ = ("id", "key", "subcounty", "ownership", "setting", "nurses", "sessions_per_week",
                 "stocks", "vaccines", "amenities", "practice_intensity", "mentee", "mentor",
                 "in_programme", "_env", "left", "returned")

    def __init__(self, env: simpy.Environment, site: Site, stocks: dict[str, Any],
                 amenities: frozenset[str], in_programme: bool = True) -> None:
        self.id = site.id
        self.key = site.key  # random-stream key: stable when other facilities are added
        self.subcounty = site.subcounty
        self.ownership = site.ownership
        self.setting = site.setting
        self.nurses = site.nurses
        self.sessions_per_week = site.sessions_per_week
        self.stocks = stocks  # one per supply line
        self.vaccines = stocks["vaccines"]
        self.amenities = amenities  # drawn once per replicate
        self.practice_intensity = competency.practice_intensity(site.sessions_per_week,
                                                                site.nurses)
        self.mentee: Any = None  # the enrolled mentee (either engine's), if any
        self.mentor: Mentor | None = None  # the mentor whose caseload it is in, if any
        self.in_programme = in_programme  # False until a scale-up phase brings it in
        self._env = env
        self.left = env.event()  # fires when a shock takes the facility out
        self.returned = env.event()  # fires when it comes back

    def leave(self) -> None:
        self.in_programme = False
        self.returned = self._env.event()
        self.left.succeed()

    def rejoin(self) -> None:
        self.in_programme = True
        self.left = self._env.event()
        self.returned.succeed()
