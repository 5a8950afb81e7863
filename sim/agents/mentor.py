"""Mentor: a peer MCH nurse released to visit the facilities of her caseload slot."""

from __future__ import annotations

from typing import Any


class Mentor:
    """One mentor in a caseload slot; a replacement takes the same slot."""

    __slots__ = ("id", "who", "slot", "key", "start", "origin", "subcounty", "caseload",
                 "release_weekdays", "active")

    def __init__(self, mid: int, slot: int, key: tuple[int, ...], subcounty: int,
                 caseload: list[Any], release_weekdays: tuple[int, ...], start: float,
                 origin: str) -> None:
        self.id = mid
        self.who = f"mentor:{mid}"  # as the cost ledger names her
        self.slot = slot
        self.key = key  # random-stream key of the slot
        self.start = start
        self.origin = origin  # "recruit", or "graduate" of the programme
        self.subcounty = subcounty
        self.caseload = caseload  # the facilities (sim.agents.facility.Facility) of her slot
        self.release_weekdays = release_weekdays  # 0 = Monday (sim.rules.visits)
        self.active = True
