"""Facility: where a mentee works, and the economic shocks that furlough her.

A private or faith-based facility under financial strain may furlough its
immunizing nurse and leave the programme (6 of the pilot's 40 did). Each
facility runs a shock process with an exponential waiting time whose hazard
depends on ownership; after a shock the facility is out of the programme,
optionally coming back after an exponential pause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

    from sim.agents.mentee import Mentee
    from sim.agents.mentor import Mentor
    from sim.model import Model
    from sim.scenarios import Site
    from sim.supply import Stock


class Facility:
    """A health facility with one MCH nurse post in the programme."""

    __slots__ = ("id", "key", "subcounty", "ownership", "setting", "nurses", "sessions_per_week",
                 "stocks", "vaccines", "practice_intensity", "mentee", "mentor",
                 "in_programme", "_env", "left", "returned")

    def __init__(self, env: simpy.Environment, site: Site, stocks: dict[str, Stock],
                 in_programme: bool = True) -> None:
        self.id = site.id
        self.key = site.key  # random-stream key: stable when other facilities are added
        self.subcounty = site.subcounty
        self.ownership = site.ownership
        self.setting = site.setting
        self.nurses = site.nurses
        self.sessions_per_week = site.sessions_per_week
        self.stocks = stocks  # one per supply line
        self.vaccines = stocks["vaccines"]  # a vaccine stock-out stops sessions
        # The immunizing nurses share the sessions; a nurse running a session every weekday
        # is in full practice.
        self.practice_intensity = min(1.0, site.sessions_per_week / site.nurses / 5.0)
        self.mentee: Mentee | None = None  # the enrolled mentee, if any
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


def economic_shocks(model: Model, facility: Facility):
    """SimPy process: furlough shocks at a hazard set by the facility's ownership."""
    sub = model.config.subcounties[facility.subcounty]
    hazard = sub.furlough_hazard_per_year[facility.ownership]
    if hazard == 0:
        return
    pause_mean = model.config.facilities.furlough_return_days_mean
    shock = model.streams("facility.furlough", *facility.key)
    pause = model.streams("facility.furlough_return", *facility.key)
    if not facility.in_programme:  # a shock can hit only once the facility has joined
        yield facility.returned
    while True:
        yield model.env.timeout(shock.exponential(365.0 / hazard))
        facility.leave()
        if pause_mean is None:
            return
        yield model.env.timeout(pause.exponential(pause_mean))
        facility.rejoin()
