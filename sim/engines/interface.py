"""The narrow interfaces both engines implement.

An intervention (:mod:`sim.interventions`) sees the programme only through
:class:`Programme`: the clock, its own random streams, the enrolled nurses and their
competency, and the ledger; a rule written against it runs, with the same results, on
either engine. The processes the engines share (:mod:`sim.engines.processes`) and the
scale-up plan see a little more, :class:`Engine`: the programme's state and the few
state changes each engine makes its own way (a mentee's competency is held plainly by
the reference engine and in arrays by the fast one).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np
    import simpy

    from sim.agents.facility import Facility
    from sim.agents.mentor import Mentor
    from sim.agents.network import Network
    from sim.config import Config
    from sim.costs import Ledger
    from sim.record import Record


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


class Engine(Programme, Protocol):
    """What the processes both engines share (:mod:`sim.engines.processes`) and the
    scale-up plan (:mod:`sim.engines.plan`) read and change: the programme's state and
    the few state changes only an engine knows how to make."""

    record: Record
    ledger: Ledger
    month_starts: list[float]
    facilities: list[list[Facility]]  # per subcounty, in layout order
    by_id: list[Facility]  # the same, by facility id
    mentors: list[list[Mentor]]  # per subcounty, every mentor who took up a post
    networks: list[Network]  # per subcounty
    joined: list[bool]  # per subcounty: in the programme yet
    slots: list[list[Slot]]  # per subcounty: its mentors' caseload slots
    graduates: list[Any]  # mentees qualified to mentor, longest qualified first
    mentoring_graduates: dict[int, Any]  # graduates mentoring from their posts, by facility
    plan: Rollout | None  # the scale-up plan (sim.engines.plan.Plan), if any
    months_waited: dict[int, simpy.Event]  # month -> the event interventions wait for

    def new_mentee(self, facility: Facility) -> Any:
        """A nurse newly in post at ``facility`` (not yet enrolled): her baseline and her
        engagement drawn from the facility's streams; ``.promoted`` fires if she becomes
        a mentor."""

    def enrol(self, mentee: Any) -> None:
        """Enrol her now: she is due a visit and joins her subcounty's groups."""

    def end_spell(self, mentee: Any, reason: str | None) -> None:
        """End her spell now (recorded), settled; she leaves the groups."""

    def train(self, mentee: Any, gain: np.ndarray) -> None:
        """A course's gain in every area now (:func:`sim.rules.competency.course`)."""

    def new_mentor(self, slot: int, key: tuple[int, ...], subcounty: int,
                   caseload: list[Facility], origin: str) -> Mentor:
        """A mentor takes up a caseload slot now, after her orientation."""

    def start_rounds(self, mentor: Mentor, tenure: int) -> None:
        """Her rounds begin (:mod:`sim.rules.visits`)."""

    def stop_rounds(self, mentor: Mentor) -> None:
        """Her rounds end: she has left."""

    def mentor_leaves(self, mentor: Mentor, reason: str | None) -> None:
        """She leaves her slot now (recorded); her caseload waits for a replacement."""

    def read_month(self, month: int) -> None:
        """The month-end reading (:class:`sim.record.MonthRow`), and graduation."""

    def record_states(self, wave: str) -> None:
        """What a survey would find at every facility now (:class:`sim.record.FacilityState`)."""


class Rollout(Protocol):
    """A scale-up plan as the calendar drives it."""

    def open_due(self, month: int) -> bool:
        """Open the phases due at the start of ``month``; whether any opened."""

    def close(self) -> None:
        """At the horizon: record the phases that never started."""


class Slot(NamedTuple):
    """A mentor's caseload slot: a replacement takes the same one."""

    slot: int  # its number, model-wide
    key: tuple[int, ...]  # its random-stream key
    subcounty: int
    caseload: list[Facility]
