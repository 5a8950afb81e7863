"""WhatsApp group: one per subcounty, peer-moderated or supervisor-moderated.

From ``start_month`` the subcounty's mentees and mentors join a group (up to
``member_cap``; WhatsApp's limit was 256). A mentee is an *active* member with
``active_probability``; mentors, who moderate, always are. Posts arrive as a
Poisson process whose rate is ``posts_per_active_member_per_week`` times the
active members times the moderation effect (a supervisor as moderator damps
participation: pilot.md). Each post covers one area, drawn uniformly, and
reinforces it for the active mentees; active membership also slows decay
(see :mod:`sim.agents.mentee`). The rate is re-evaluated at every membership
change, which keeps the process exactly Poisson with a piecewise-constant rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.config import AREAS

if TYPE_CHECKING:
    from sim.agents.mentee import Mentee
    from sim.model import Model


class WhatsAppGroup:
    """The subcounty's group: membership, activity and the posting process."""

    def __init__(self, model: Model, subcounty: int) -> None:
        cfg = model.config.whatsapp
        self.model = model
        self.subcounty = subcounty
        opens = cfg.enabled and cfg.start_month <= model.config.months
        self.start_day = model.month_starts[cfg.start_month - 1] if opens else None
        self.started = False
        self.mentees: dict[int, Mentee] = {}
        self.active: dict[int, Mentee] = {}
        self.mentors = 0
        self._rate_per_member = (
            cfg.posts_per_active_member_per_week / 7.0 * cfg.moderation_effect[cfg.moderation]
        )
        self._changed = model.env.event()
        self._active_rng = model.streams("whatsapp.active", subcounty)

    @property
    def size(self) -> int:
        return len(self.mentees) + self.mentors

    def _touch(self) -> None:
        if not self._changed.triggered:
            self._changed.succeed()

    def join(self, mentee: Mentee) -> None:
        if not self.started or self.size >= self.model.config.whatsapp.member_cap:
            return
        t = self.model.env.now
        mentee.catch_up(t)
        self.mentees[mentee.id] = mentee
        mentee.in_group = True
        if self._active_rng.random() < self.model.config.whatsapp.active_probability:
            self.active[mentee.id] = mentee
            mentee.active_since = t
            self._touch()

    def leave(self, mentee: Mentee) -> None:
        if self.mentees.pop(mentee.id, None) is None:
            return
        mentee.in_group = False
        if self.active.pop(mentee.id, None) is not None:
            mentee.active_since = None
            self._touch()

    def add_mentor(self) -> None:
        if self.started and self.size < self.model.config.whatsapp.member_cap:
            self.mentors += 1
            self._touch()

    def remove_mentor(self) -> None:
        if self.started and self.mentors > 0:
            self.mentors -= 1
            self._touch()

    def run(self, enrolled: Callable[[], list[Mentee]], mentor_count: Callable[[], int]):
        """SimPy process: open the group, then post until the horizon."""
        env = self.model.env
        if self.start_day is None:
            return
        yield env.timeout(self.start_day)
        self.started = True
        for _ in range(mentor_count()):
            self.add_mentor()
        for mentee in enrolled():
            self.join(mentee)
        post_rng = self.model.streams("whatsapp.posts", self.subcounty)
        area_rng = self.model.streams("whatsapp.area", self.subcounty)
        while True:
            rate = self._rate_per_member * (len(self.active) + self.mentors)
            self._changed = env.event()
            if rate > 0:
                post = env.timeout(post_rng.exponential(1.0 / rate))
                fired = yield post | self._changed
                if post not in fired:
                    continue  # memoryless: redraw at the new rate
            else:
                yield self._changed
                continue
            area = int(area_rng.integers(len(AREAS)))
            t = env.now
            for mentee in self.active.values():
                mentee.reinforce(t, area)
            self.model.record.posts[self.subcounty] += 1
