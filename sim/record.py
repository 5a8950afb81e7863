"""What one replicate records: typed rows read by name, and logs kept column by column.

The model appends rows as things happen; :mod:`sim.metrics` and :mod:`sim.survey`
turn a :class:`Record` into tables. Days count from the scenario's start date
(day 0); subcounties, facilities, nurses and mentors are numbered as the model
numbers them (a subcounty in config order, a facility by its row in the layout).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.costs import Ledger, append

if TYPE_CHECKING:
    from sim.uncertainty import Draw


class SpellRow(NamedTuple):
    """One mentee spell: a nurse enrolled at a facility from ``start`` to ``end``."""

    subcounty: int
    facility: int
    mentee: int  # the nurse's id (she may have several spells, e.g. after a furlough)
    start: float  # day she was enrolled
    end: float  # day the spell ended
    reason: str | None  # "turnover", "furlough", "graduated"; None: open at the horizon
    visits: int  # mentors' visits in the spell
    baseline: np.ndarray  # her baseline competency per area, continuous in [0, 4]
    competency: np.ndarray  # her competency per area at the spell's end, in [0, 4]


class MonthRow(NamedTuple):
    """The month-end reading of one subcounty (month 0: the baseline, on day 0).

    Levels are on the 0-4 checklist scale. The effect columns count every nurse
    serving a programme post (enrolled mentees, and graduates mentoring from
    their own posts) against her own baseline; the nurses in post add those of
    subcounties not yet in the programme, at their baselines.
    """

    month: int
    subcounty: int
    mentees: int  # enrolled
    proficient: int  # enrolled with every area at level 3 or above
    mentors: int  # in post
    groups: int  # WhatsApp groups
    members: int  # their members, mentees and mentors
    stockout_days: float  # facility-days out of vaccines in the month (0 at month 0)
    mean_score: np.ndarray  # enrolled nurses' mean level per area (NaN: none enrolled)
    points_above_baseline: float  # sum over serving nurses of mean level less baseline's
    newly_proficient: int  # serving nurses proficient now and not at baseline
    nurses_in_post: int  # at the subcounty's facilities, serving or not yet in the programme
    level_sum_in_post: float  # the sum of their mean levels
    proficient_in_post: int  # those of them with every area at level 3 or above


class MentorRow(NamedTuple):
    """One mentor spell: a mentor in a caseload slot from ``start`` to ``end``."""

    subcounty: int
    slot: int  # the caseload slot; a replacement takes the same one
    mentor: int  # the mentor's id
    caseload: int  # facilities in the slot
    start: float  # day she took up the post (after orientation)
    end: float  # day she left
    reason: str | None  # "attrition"; None: in post at the horizon
    origin: str  # "recruit", or "graduate" of the programme


class PhaseRow(NamedTuple):
    """What became of one scale-up phase."""

    phase: int  # 1, 2, ... in config order
    planned_month: int
    start_month: int | None  # None: not started within the horizon
    reason: str  # on time, budget cap, previous phase (an earlier one held back), beyond horizon
    mentors_recruited: int
    graduates_used: int


@dataclass(frozen=True)
class FacilityState:
    """What a survey team would find at a facility: its nurse, her skills, its shelves."""

    wave: str  # "baseline" (day 0) or "endline" (the horizon)
    facility: int
    key: tuple[int, ...]
    mentee: int | None  # the enrolled nurse, if any
    competency: np.ndarray | None
    in_stock: dict[str, bool]


class Events:
    """A log of numeric rows kept column by column in compact arrays, read by column name.

    A national run logs hundreds of thousands of visits and posts; as tuples of
    Python numbers each would be several objects to allocate and collect.
    Iterating gives the rows as tuples, in :attr:`names` order (to compare logs whole).
    """

    __slots__ = ("names", "_columns")

    def __init__(self, **columns: str) -> None:
        self.names = tuple(columns)
        self._columns = tuple(array(code) for code in columns.values())  # array typecodes

    def extend(self, *columns: Sequence | np.ndarray) -> None:
        """Append many rows, given column by column (a column's numbers are copied as
        bytes, without a Python object each)."""
        for column, values in zip(self._columns, columns, strict=True):
            append(column, values)

    def column(self, name: str) -> array:
        return self._columns[self.names.index(name)]

    def __len__(self) -> int:
        return len(self._columns[0])

    def __iter__(self) -> Iterator[tuple]:
        return zip(*self._columns, strict=True)


@dataclass
class Record:
    """What one replicate recorded; :mod:`sim.metrics` turns it into tables."""

    replicate: int
    ledger: Ledger = field(default_factory=Ledger)
    spells: list[SpellRow] = field(default_factory=list)
    # a row per visit: the day, the nurse's subcounty, post (facility) and id, and the mentor
    visits: Events = field(default_factory=lambda: Events(
        day="d", subcounty="l", facility="l", mentee="l", mentor="l"))
    months: list[MonthRow] = field(default_factory=list)  # a row per (month, subcounty)
    mentors: list[MentorRow] = field(default_factory=list)
    phases: list[PhaseRow] = field(default_factory=list)
    posts: Events = field(default_factory=lambda: Events(day="d", subcounty="l"))  # WhatsApp
    # a row per facility on the day-0 baseline and at the horizon (endline), for surveys
    states: list[FacilityState] = field(default_factory=list)
    # the amenities each facility has (names of sim.config.AMENITIES), by facility id
    amenities: list[frozenset[str]] = field(default_factory=list)
    draw: Draw | None = None  # the parameter set it ran with, if drawn from a posterior
    events: int = 0  # events SimPy scheduled (for benchmarks)
    rounds: int = 0  # mentors' rounds held, by the model's own calendar (for benchmarks)
