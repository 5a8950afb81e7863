"""The reference engine's WhatsApp groups: membership, the waiting list, and posting.

Each group posts as a SimPy process (:meth:`Group.posting`): a Poisson process whose
rate (:func:`sim.rules.whatsapp.rate`) changes with its active membership. When the
membership changes, the pending post is dropped and, once every change of that
instant is over, the next one is drawn at the new rate (memoryless, so still
exactly Poisson). Each post reinforces every active member
(:func:`sim.rules.competency.post`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.clock import DayEnd
from sim.config import AREAS
from sim.rng import Batched, code
from sim.rules import competency, whatsapp

if TYPE_CHECKING:
    from sim.engines.reference.agents import Mentor, Nurse
    from sim.engines.reference.model import Model

Member = tuple[str, int]  # ("mentee" | "mentor", id)
_BATCH = 1024  # draws taken at a time from a group's streams


class Group:
    """One chat group: its members and its posts."""

    def __init__(self, network: Network, index: int) -> None:
        model = network.model
        self.network = network
        self.index = index
        self.mentees: dict[int, Nurse] = {}  # in the order they joined
        self.active: dict[int, Nurse] = {}
        self.mentors: set[int] = set()
        posts = model.streams("whatsapp.posts", network.key, index)
        areas = model.streams("whatsapp.area", network.key, index)
        self._gaps = Batched(posts.standard_exponential, _BATCH)
        self._areas = Batched(lambda size: areas.integers(len(AREAS), size=size), _BATCH)
        self._changed = model.env.event()
        self._redraw = True  # a new group: its first post is drawn once this instant is over
        model.process(self.posting())

    @property
    def size(self) -> int:
        return len(self.mentees) + len(self.mentors)

    def rate(self) -> float:
        return whatsapp.rate(self.network.rate_per_member, len(self.active), len(self.mentors))

    def posting(self):
        """SimPy process: the group's posts, redrawn at each change of its membership."""
        env, model = self.network.model.env, self.network.model
        while True:
            yield DayEnd(env, 0)  # the instant's membership changes are over
            start, self._redraw = env.now, False
            self._changed = env.event()
            rate = self.rate()
            if rate == 0:
                yield self._changed
                continue
            post = start + 1.0 / rate * self._gaps.next()
            while True:
                yield env.timeout(post - env.now) | self._changed
                if self._redraw:
                    break
                area = self._areas.next()
                for nurse in self.active.values():
                    nurse.settle(post, model.rates)
                    nurse.c = competency.post(nurse.c, area, model.reinforcement)
                model.record.posts.extend([post], [self.network.subcounty])
                post = post + 1.0 / self.rate() * self._gaps.next()

    def _change(self) -> None:
        if not self._redraw:
            self._redraw = True
            self._changed.succeed()

    def admit(self, member: Member, nurse: Nurse | None) -> None:
        model = self.network.model
        if nurse is None:
            self.mentors.add(member[1])
            self._change()
            return
        nurse.settle(model.env.now, model.rates)  # decay before joining is unprotected
        self.mentees[nurse.id] = nurse
        if whatsapp.active(nurse.engagement, self.network.active_probability):
            self.active[nurse.id] = nurse
            nurse.active_member = True
            self._change()

    def remove(self, member: Member) -> None:
        """Remove a member (a mentee already settled to now)."""
        kind, mid = member
        if kind == "mentor":
            self.mentors.discard(mid)
        else:
            nurse = self.mentees.pop(mid)
            if self.active.pop(mid, None) is not None:
                nurse.active_member = False
        self._change()


class Network:
    """A subcounty's groups: who is in which, new groups when one is full, the waiting list."""

    def __init__(self, model: Model, subcounty: int) -> None:
        cfg = model.config.whatsapp
        self.model = model
        self.subcounty = subcounty
        self.cap = cfg.member_cap
        self.split = cfg.split_at_cap
        self.active_probability = cfg.active_probability
        self.rate_per_member = whatsapp.rate_per_member(cfg.posts_per_active_member_per_week,
                                                        cfg.moderation_effect[cfg.moderation])
        self.key = code(model.config.subcounties[subcounty].name)
        self.started = False
        self.groups: list[Group] = []
        self._where: dict[Member, Group] = {}
        self._waiting: dict[Member, Nurse | None] = {}  # insertion order is queue order

    @property
    def mentees(self) -> list[Nurse]:
        """The mentees in any of the subcounty's groups."""
        return [m for g in self.groups for m in g.mentees.values()]

    @property
    def size(self) -> int:
        return sum(g.size for g in self.groups)

    def _place(self, member: Member, nurse: Nurse | None) -> None:
        k = whatsapp.place([g.size for g in self.groups], self.cap, self.split)
        if k == whatsapp.WAIT:
            self._waiting[member] = nurse
            return
        if k == whatsapp.OPEN_NEW:
            self.groups.append(Group(self, len(self.groups)))
        group = self.groups[k]
        group.admit(member, nurse)
        self._where[member] = group

    def _join(self, member: Member, nurse: Nurse | None) -> None:
        if self.started:
            self._place(member, nurse)

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

    def join(self, nurse: Nurse) -> None:
        self._join(("mentee", nurse.id), nurse)

    def leave(self, nurse: Nurse) -> None:
        self._leave(("mentee", nurse.id))

    def add_mentor(self, mentor: Mentor) -> None:
        self._join(("mentor", mentor.id), None)

    def remove_mentor(self, mentor: Mentor) -> None:
        self._leave(("mentor", mentor.id))

    def start(self, mentors: list[Mentor], nurses: list[Nurse]) -> None:
        """The groups open: the subcounty's mentors and enrolled nurses join."""
        self.started = True
        for mentor in mentors:
            self.add_mentor(mentor)
        for nurse in nurses:
            self.join(nurse)
