"""The reference engine's mentee: a nurse in a facility's post, her competency held plainly.

Her competency ``c`` is kept as it was when she was last settled; :meth:`Mentee.settle`
applies the decay owed since (:func:`sim.rules.competency.decay`, with the exposure of
:func:`sim.rules.competency.exposure`) whenever something needs it or changes it: a
visit, a post, a course, a reading, the end of a spell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules import competency

if TYPE_CHECKING:
    import simpy

    from sim.agents.facility import Facility


class Rates:
    """Decay parameters in per-day units, read once from ``mentee.decay``."""

    def __init__(self, rate_per_year: float, practice_protection: float,
                 whatsapp_protection: float) -> None:
        self.decay_per_day = rate_per_year / 365.0
        self.practice_protection = practice_protection
        self.whatsapp_protection = whatsapp_protection


class Mentee:
    """The nurse in a facility's post; she may have several spells (e.g. after a furlough)."""

    def __init__(self, nid: int, facility: Facility, baseline: np.ndarray, engagement: float,
                 now: float, promoted: simpy.Event) -> None:
        self.id = nid
        self.who = f"mentee:{nid}"  # as the cost ledger names her
        self.facility = facility
        self.baseline = baseline
        self.c = baseline.copy()
        self.engagement = engagement  # uniform draw: active in her group if below a probability
        self.settled = now
        self.stockout_mark = 0.0  # her facility's stock-out days (from day 0) when settled
        self.active_member = False  # follows her WhatsApp group
        self.spell_start = now
        self.visits = 0  # in her current (or last) spell
        self.next_due = float("inf")  # her next visit, while enrolled
        self.proficient_months = 0  # consecutive month-end readings at the graduation level
        self.promoted = promoted  # fires if she graduates into a mentor

    def settle(self, t: float, rates: Rates) -> None:
        """Apply the decay of her skills from when she was last settled to ``t``, while she
        works in her post: practice (sessions held while vaccines are in stock) and active
        group membership protect a share of it."""
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
        """Enrolled (again): the time since she was last settled, away from the programme or
        before it reached her facility, decayed her skills with nothing to slow it."""
        self.c = competency.decay(self.c, self.baseline, rates.decay_per_day, t - self.settled)
        self.settled = t
        self.stockout_mark = self.facility.vaccines.stockout_days_until(t)
