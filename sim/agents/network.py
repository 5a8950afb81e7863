"""WhatsApp group: one per subcounty, peer-moderated or supervisor-moderated.

From ``start_month`` the subcounty's enrolled mentees and its mentors are members,
up to ``member_cap`` (WhatsApp's limit was 256); anyone beyond the cap waits and
joins, first come first served, when a member leaves. A mentee is an *active*
member when her engagement draw falls below ``active_probability``; mentors,
who moderate, always are. Posts arrive as a Poisson process whose rate is
``posts_per_active_member_per_week`` times the active members times the
moderation effect (a supervisor as moderator damps participation: pilot.md).
Each post covers one area, drawn uniformly, and reinforces it for the active
mentees; active membership also slows decay (see :mod:`sim.agents.mentee`).
The rate is re-evaluated at every membership change, which keeps the process
exactly Poisson with a piecewise-constant rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.config import AREAS
from sim.rng import code

if TYPE_CHECKING:
    from sim.agents.mentee import Mentee
    from sim.agents.mentor import Mentor
    from sim.model import Model

Member = tuple[str, int]  # ("mentee" | "mentor", id)


class WhatsAppGroup:
    """The subcounty's group: membership, activity and the posting process."""

    def __init__(self, model: Model, subcounty: int) -> None:
        cfg = model.config.whatsapp
        self.model = model
        self.subcounty = subcounty
        self.cap = cfg.member_cap
        opens = cfg.enabled and cfg.start_month <= model.config.months
        self.start_day = model.month_starts[cfg.start_month - 1] if opens else None
        self.started = False
        self.mentees: dict[int, Mentee] = {}
        self.active: dict[int, Mentee] = {}
        self.mentors: set[int] = set()
        self._waiting: dict[Member, Mentee | None] = {}  # insertion order is queue order
        self._threshold = cfg.active_probability
        self._rate_per_member = (
            cfg.posts_per_active_member_per_week / 7.0 * cfg.moderation_effect[cfg.moderation]
        )
        self._changed = model.env.event()
        self._key = code(model.config.subcounties[subcounty].name)

    @property
    def size(self) -> int:
        return len(self.mentees) + len(self.mentors)

    def _touch(self) -> None:
        if not self._changed.triggered:
            self._changed.succeed()

    def _admit(self, member: Member, mentee: Mentee | None) -> None:
        if mentee is None:
            self.mentors.add(member[1])
            self._touch()
            return
        t = self.model.env.now
        mentee.catch_up(t)  # decay before joining is unprotected
        self.mentees[mentee.id] = mentee
        if mentee.engagement < self._threshold:
            self.active[mentee.id] = mentee
            mentee.active_since = t
            self._touch()

    def _join(self, member: Member, mentee: Mentee | None) -> None:
        if not self.started:
            return
        if self.size < self.cap:
            self._admit(member, mentee)
        else:
            self._waiting[member] = mentee

    def _leave(self, member: Member) -> None:
        if member in self._waiting:
            del self._waiting[member]
            return
        kind, mid = member
        if kind == "mentor":
            if mid not in self.mentors:
                return
            self.mentors.discard(mid)
        else:
            mentee = self.mentees.pop(mid, None)
            if mentee is None:
                return
            if self.active.pop(mid, None) is not None:
                mentee.active_since = None
        self._touch()
        while self._waiting and self.size < self.cap:
            first = next(iter(self._waiting))
            self._admit(first, self._waiting.pop(first))

    def join(self, mentee: Mentee) -> None:
        self._join(("mentee", mentee.id), mentee)

    def leave(self, mentee: Mentee) -> None:
        self._leave(("mentee", mentee.id))

    def add_mentor(self, mentor: Mentor) -> None:
        self._join(("mentor", mentor.id), None)

    def remove_mentor(self, mentor: Mentor) -> None:
        self._leave(("mentor", mentor.id))

    def run(self, mentees: Callable[[], list[Mentee]], mentors: Callable[[], list[Mentor]]):
        """SimPy process: open the group, then post until the horizon."""
        env = self.model.env
        if self.start_day is None:
            return
        yield env.timeout(self.start_day)
        self.started = True
        for mentor in mentors():
            self.add_mentor(mentor)
        for mentee in mentees():
            self.join(mentee)
        post_rng = self.model.streams("whatsapp.posts", self._key)
        area_rng = self.model.streams("whatsapp.area", self._key)
        while True:
            rate = self._rate_per_member * (len(self.active) + len(self.mentors))
            self._changed = env.event()
            if rate > 0:
                post = env.timeout(post_rng.exponential(1.0 / rate))
                if post not in (yield post | self._changed):
                    continue  # memoryless: redraw at the new rate
            else:
                yield self._changed
                continue
            area = int(area_rng.integers(len(AREAS)))
            t = env.now
            for mentee in self.active.values():
                mentee.reinforce(t, area)
            self.model.record.posts.append((t, self.subcounty))
