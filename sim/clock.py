"""The model's clock: SimPy's environment with timeouts that come last at their instant.

SimPy processes its queue in order of (time, priority, the order events were
scheduled), and its own events have priority URGENT (0) or NORMAL (1). A
:class:`Late` timeout has a later priority, so it comes after every other event
of its instant however early it was scheduled: a mentor plans her rounds weeks
ahead, yet they follow everything else of the day (a month's reading, a phase
opening, nurses enrolling). :class:`Clock` honours that priority and counts the
events it schedules. Only :meth:`simpy.Environment.schedule` and subclassing
:class:`simpy.Timeout` are relied on, both public in SimPy 4.
"""

from __future__ import annotations

import simpy
from simpy.events import NORMAL, EventPriority

LATE = EventPriority(2)  # the mentors' rounds of a day (the rounds of either engine)
DAY_END = EventPriority(3)  # after the rounds: the day's visits trained together (Model.visit)


class Late(simpy.Timeout):
    """A timeout processed after every URGENT and NORMAL event of its instant."""

    priority = LATE


class DayEnd(Late):
    """A timeout processed after every other event of its instant, :class:`Late` ones too."""

    priority = DAY_END


class Clock(simpy.Environment):
    """A SimPy environment that schedules :class:`Late` timeouts at their own priority and
    counts the events it schedules (:attr:`scheduled`)."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.scheduled = 0

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL,
                 delay: float = 0) -> None:
        self.scheduled += 1
        if isinstance(event, Late):  # Timeout.__init__ asks for NORMAL
            priority = event.priority
        super().schedule(event, priority, delay)
