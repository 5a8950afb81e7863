"""The narrow interface both engines offer to programme rules added from YAML.

An intervention (:mod:`sim.interventions`) sees the programme only through
:class:`Programme`: the clock, its own random streams, the enrolled nurses and
their competency, and the ledger. Both engines implement it, so a rule written
against it runs, and gives the same results, on either.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np
    import simpy

    from sim.config import Config


class NurseRef(NamedTuple):
    """An enrolled nurse, as an intervention names her."""

    nurse: int  # her id (``mentee_id`` in the tables)
    facility: int  # her post's facility id
    subcounty: int  # the subcounty's index in the config


class Programme(Protocol):
    """What an intervention may read and change, in either engine."""

    config: Config
    env: simpy.Environment  # for timing: ``yield programme.env.timeout(days)``

    def streams(self, process: str, *entity: int) -> np.random.Generator:
        """The random stream of ``process`` for ``entity``: name the process after the
        intervention, so its draws change no other stream."""

    def month(self, month: int) -> simpy.Event:
        """An event at the start of programme month ``month`` (1-based), once the calendar
        has read the month before, opened the phases due and charged the month; it never
        fires for a month past the horizon."""

    def enrolled(self) -> list[NurseRef]:
        """The nurses enrolled now, facility by facility."""

    def competency(self, nurse: NurseRef) -> np.ndarray:
        """Her competency per area now (decay settled to now)."""

    def set_competency(self, nurse: NurseRef, c: np.ndarray) -> None:
        """Set her competency per area now, in [baseline, 4]: it decays from there."""

    def charge(self, who: str, subcounty: int, ksh: float) -> None:
        """Post a cost of the intervention to the ledger (category ``interventions``)."""

    def process(self, generator: Generator) -> simpy.Process:
        """Start a SimPy process."""
