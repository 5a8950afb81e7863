"""The reference engine's agents: facilities, nurses and mentors hold state; the
processes (:mod:`~sim.engines.reference.processes`) change it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules import competency

if TYPE_CHECKING:
    import simpy

    from sim.rules.supply import Shelf
    from sim.scenarios import Site


class Facility:
    """A health facility with one MCH nurse post, its shelves and its place in the programme."""

    def __init__(self, env: simpy.Environment, site: Site, shelves: dict[str, Shelf],
                 in_programme: bool) -> None:
        self.id = site.id
        self.key = site.key  # random-stream key
        self.subcounty = site.subcounty
        self.ownership = site.ownership
        self.setting = site.setting
        self.nurses = site.nurses
        self.sessions_per_week = site.sessions_per_week
        self.practice_intensity = competency.practice_intensity(site.sessions_per_week, site.nurses)
        self.shelves = shelves  # one per supply line
        self.vaccines = shelves["vaccines"]  # a vaccine stock-out stops sessions
        self.holder: Nurse | None = None  # the nurse in the post
        self.nurse: Nurse | None = None  # the nurse enrolled in the programme, if any
        self.mentor: Mentor | None = None  # the mentor whose caseload it is in, if any
        self.in_programme = in_programme  # False until a scale-up phase brings it in
        self.env = env
        self.left = env.event()  # fires when a shock takes the facility out
        self.returned = env.event()  # fires when it comes back

    def leave(self) -> None:
        self.in_programme = False
        self.returned = self.env.event()
        self.left.succeed()

    def rejoin(self) -> None:
        self.in_programme = True
        self.left = self.env.event()
        self.returned.succeed()


class Nurse:
    """The nurse in a facility's post: her competency, settled up to ``settled``.

    Her competency ``c`` is kept as it was at ``settled``; :meth:`settle` applies the
    decay owed since (:func:`sim.rules.competency.decay`) whenever something needs it
    or changes it: a visit, a post, a course, a reading, the end of a spell.
    """

    def __init__(self, nid: int, facility: Facility, baseline: np.ndarray, engagement: float,
                 now: float) -> None:
        self.id = nid
        self.who = f"mentee:{nid}"  # as the cost ledger names her
        self.facility = facility
        self.baseline = baseline
        self.c = baseline.copy()
        self.engagement = engagement  # uniform draw: active in her group if below a probability
        self.settled = now
        self.stockout_mark = 0.0  # her facility's stock-out days (from day 0) at ``settled``
        self.enrolled = False
        self.active_member = False  # follows her WhatsApp group
        self.spell_start = now
        self.visits = 0  # in her current (or last) spell
        self.next_due = float("inf")  # her next visit, while enrolled
        self.readings_at_level = 0  # consecutive month-end readings at the graduation level
        self.promoted = facility.env.event()  # fires if she graduates into a mentor

    def settle(self, t: float, rates: Rates) -> None:
        """Apply the decay of her skills from ``settled`` to ``t`` while she works in her
        post: practice (sessions held while vaccines are in stock) and active group
        membership protect a share of it."""
        elapsed = t - self.settled
        if elapsed <= 0:
            return
        out = self.facility.vaccines.stockout_days_until(t)
        practice = (elapsed - (out - self.stockout_mark)) * self.facility.practice_intensity
        active = elapsed if self.active_member else 0.0
        x = competency.exposure(elapsed, practice, active, rates.practice_protection,
                                rates.whatsapp_protection)
        self.c = competency.decay(self.c, self.baseline, rates.decay_per_day, x)
        self.settled, self.stockout_mark = t, out

    def back_in_post(self, t: float, rates: Rates) -> None:
        """Enrolled (again): the time since she was last settled, away from the programme
        or before it reached her facility, decayed her skills with nothing to slow it."""
        self.c = competency.decay(self.c, self.baseline, rates.decay_per_day, t - self.settled)
        self.settled = t
        self.stockout_mark = self.facility.vaccines.stockout_days_until(t)


class Rates:
    """Decay parameters in per-day units, read once from ``mentee.decay``."""

    def __init__(self, rate_per_year: float, practice_protection: float,
                 whatsapp_protection: float) -> None:
        self.decay_per_day = rate_per_year / 365.0
        self.practice_protection = practice_protection
        self.whatsapp_protection = whatsapp_protection


class Mentor:
    """One mentor in a caseload slot; a replacement takes the same slot."""

    def __init__(self, mid: int, slot: int, key: tuple[int, ...], subcounty: int,
                 caseload: list[Facility], weekdays: tuple[int, ...], start: float,
                 origin: str) -> None:
        self.id = mid
        self.who = f"mentor:{mid}"
        self.slot = slot
        self.key = key  # random-stream key of the slot
        self.subcounty = subcounty
        self.caseload = caseload
        self.release_weekdays = weekdays
        self.start = start
        self.origin = origin  # "recruit", or "graduate" of the programme
        self.active = True
