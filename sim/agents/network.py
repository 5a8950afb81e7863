"""WhatsApp groups: a subcounty's chat groups, peer-moderated or supervisor-moderated.

From ``start_month`` the subcounty's mentors and enrolled mentees are members of a
group of at most ``member_cap`` (WhatsApp's limit was 256). With
``split_at_cap`` a full group is followed by a new one, as counties did when
they scaled up; without it, whoever finds the group full waits and joins, first
come first served, as soon as a member leaves. A mentee is an *active* member
when her engagement draw falls below ``active_probability``; mentors, who
moderate, always are. Each group posts as a Poisson process whose rate is
``posts_per_active_member_per_week`` times its active members times the
moderation effect (a supervisor as moderator damps participation: pilot.md).
Each post covers one area, drawn uniformly, and reinforces it for the group's
active mentees; active membership also slows decay (see
:mod:`sim.agents.mentee`). A group's rate is re-evaluated at every change of
its membership, which keeps its process exactly Poisson with a
piecewise-constant rate.
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
    """One chat group: its members and its posting process."""

    def __init__(self, network: Network, index: int) -> None:
        self.network = network
        self.index = index
        self.mentees: dict[int, Mentee] = {}
        self.active: dict[int, Mentee] = {}
        self.mentors: set[int] = set()
        self._changed = network.model.env.event()

    @property
    def size(self) -> int:
        return len(self.mentees) + len(self.mentors)

    def _touch(self) -> None:
        if not self._changed.triggered:
            self._changed.succeed()

    def admit(self, member: Member, mentee: Mentee | None) -> None:
        if mentee is None:
            self.mentors.add(member[1])
            self._touch()
            return
        t = self.network.model.env.now
        mentee.catch_up(t)  # decay before joining is unprotected
        self.mentees[mentee.id] = mentee
        if mentee.engagement < self.network.threshold:
            self.active[mentee.id] = mentee
            mentee.active_since = t
            self._touch()

    def remove(self, member: Member) -> None:
        kind, mid = member
        if kind == "mentor":
            self.mentors.discard(mid)
        else:
            mentee = self.mentees.pop(mid)
            if self.active.pop(mid, None) is not None:
                mentee.active_since = None
        self._touch()

    def run(self):
        """SimPy process: post until the horizon."""
        net = self.network
        env = net.model.env
        post_rng = net.model.streams("whatsapp.posts", net.key, self.index)
        area_rng = net.model.streams("whatsapp.area", net.key, self.index)
        while True:
            rate = net.rate_per_member * (len(self.active) + len(self.mentors))
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
            net.model.record.posts.append((t, net.subcounty))


class Network:
    """A subcounty's groups: who is in which, new groups when one is full, the queue if not."""

    def __init__(self, model: Model, subcounty: int) -> None:
        cfg = model.config.whatsapp
        self.model = model
        self.subcounty = subcounty
        self.cap = cfg.member_cap
        self.split = cfg.split_at_cap
        self.threshold = cfg.active_probability
        self.rate_per_member = (
            cfg.posts_per_active_member_per_week / 7.0 * cfg.moderation_effect[cfg.moderation]
        )
        opens = cfg.enabled and cfg.start_month <= model.config.months
        self.start_day = model.month_starts[cfg.start_month - 1] if opens else None
        self.started = False
        self.groups: list[WhatsAppGroup] = []
        self.key = code(model.config.subcounties[subcounty].name)
        self._where: dict[Member, WhatsAppGroup] = {}
        self._waiting: dict[Member, Mentee | None] = {}  # insertion order is queue order

    @property
    def mentees(self) -> list[int]:
        """Ids of the mentees in any of the subcounty's groups."""
        return [mid for g in self.groups for mid in g.mentees]

    @property
    def size(self) -> int:
        return sum(g.size for g in self.groups)

    def _open(self) -> WhatsAppGroup:
        group = WhatsAppGroup(self, len(self.groups))
        self.groups.append(group)
        self.model.env.process(group.run())
        return group

    def _place(self, member: Member, mentee: Mentee | None) -> None:
        group = next((g for g in self.groups if g.size < self.cap), None)
        if group is None and (self.split or not self.groups):
            group = self._open()
        if group is None:
            self._waiting[member] = mentee
            return
        group.admit(member, mentee)
        self._where[member] = group

    def _join(self, member: Member, mentee: Mentee | None) -> None:
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

    def join(self, mentee: Mentee) -> None:
        self._join(("mentee", mentee.id), mentee)

    def leave(self, mentee: Mentee) -> None:
        self._leave(("mentee", mentee.id))

    def add_mentor(self, mentor: Mentor) -> None:
        self._join(("mentor", mentor.id), None)

    def remove_mentor(self, mentor: Mentor) -> None:
        self._leave(("mentor", mentor.id))

    def run(self, mentees: Callable[[], list[Mentee]], mentors: Callable[[], list[Mentor]]):
        """SimPy process: open the groups at the start month; they post from then on."""
        if self.start_day is None:
            return
        yield self.model.env.timeout(self.start_day)
        self.started = True
        for mentor in mentors():
            self.add_mentor(mentor)
        for mentee in mentees():
            self.join(mentee)
