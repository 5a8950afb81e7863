"""A subcounty's WhatsApp groups: who is in which, new groups when one is full, the queue.

From ``whatsapp.start_month`` the subcounty's mentors and enrolled mentees are members
of a group of at most ``member_cap`` (WhatsApp's limit was 256). With ``split_at_cap`` a
full group is followed by a new one, as counties did when they scaled up; without it,
whoever finds the group full waits and joins, first come first served, as soon as a
member leaves (:func:`sim.rules.whatsapp.place`). What a group does with its members,
its posts, each engine implements (:meth:`Network.open_group`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sim.rng import code
from sim.rules import whatsapp

if TYPE_CHECKING:
    from sim.agents.mentor import Mentor
    from sim.config import WhatsApp

Member = tuple[str, int]  # ("mentee" | "mentor", id)


class Group(Protocol):
    """What a network asks of one of its groups."""

    mentees: dict[int, Any]  # by id, in the order they joined

    @property
    def size(self) -> int: ...

    def admit(self, member: Member, mentee: Any | None) -> None: ...

    def remove(self, member: Member) -> None: ...


class Network:
    """A subcounty's groups and their membership."""

    def __init__(self, cfg: WhatsApp, subcounty: int, name: str) -> None:
        self.subcounty = subcounty
        self.cap = cfg.member_cap
        self.split = cfg.split_at_cap
        self.active_probability = cfg.active_probability
        self.rate_per_member = whatsapp.rate_per_member(cfg.posts_per_active_member_per_week,
                                                        cfg.moderation_effect[cfg.moderation])
        self.key = code(name)  # random-stream key of the subcounty's groups
        self.started = False
        self.groups: list[Any] = []
        self._where: dict[Member, Any] = {}
        self._waiting: dict[Member, Any | None] = {}  # insertion order is queue order

    def open_group(self) -> Group:
        """A new group, the next of :attr:`groups` (each engine's own kind)."""
        raise NotImplementedError

    @property
    def mentees(self) -> list[Any]:
        """The mentees in any of the subcounty's groups."""
        return [m for g in self.groups for m in g.mentees.values()]

    @property
    def size(self) -> int:
        return sum(g.size for g in self.groups)

    def _place(self, member: Member, mentee: Any | None) -> None:
        k = whatsapp.place([g.size for g in self.groups], self.cap, self.split)
        if k == whatsapp.WAIT:
            self._waiting[member] = mentee
            return
        if k == whatsapp.OPEN_NEW:
            self.groups.append(self.open_group())
        group = self.groups[k]
        group.admit(member, mentee)
        self._where[member] = group

    def _join(self, member: Member, mentee: Any | None) -> None:
        if self.started:
            self._place(member, mentee)

    def _leave(self, member: Member) -> None:
        if member in self._waiting:
            del self._waiting[member]
            return
        group = self._where.pop(member, None)
        if group is None:
            return
        group.remove(member)
        while self._waiting and group.size < self.cap:
            first = next(iter(self._waiting))
            self._place(first, self._waiting.pop(first))

    def join(self, mentee: Any) -> None:
        self._join(("mentee", mentee.id), mentee)

    def leave(self, mentee: Any) -> None:
        self._leave(("mentee", mentee.id))

    def add_mentor(self, mentor: Mentor) -> None:
        self._join(("mentor", mentor.id), None)

    def remove_mentor(self, mentor: Mentor) -> None:
        self._leave(("mentor", mentor.id))

    def start(self, mentors: list[Mentor], mentees: list[Any]) -> None:
        """The groups open: the subcounty's mentors and enrolled mentees join, in order."""
        self.started = True
        for mentor in mentors:
            self.add_mentor(mentor)
        for mentee in mentees:
            self.join(mentee)

    def dismantle(self) -> None:
        """Let go of every group and member (a finished model's cycles)."""
        for group in self.groups:
            group.mentees.clear()
        self.groups, self._where, self._waiting = [], {}, {}
