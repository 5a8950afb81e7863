"""The reference engine's WhatsApp groups: each posts as a SimPy process.

A group's posts are a Poisson process whose rate (:func:`sim.rules.whatsapp.rate`)
follows its active membership. When the membership changes, the pending post is
dropped and, once every change of that instant is over (a
:class:`~sim.clock.DayEnd` timeout), the next is drawn at the new rate: memoryless,
so still exactly Poisson. Each post covers one area drawn uniformly and reinforces
every active member at once (:func:`sim.rules.competency.post`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.agents import network
from sim.clock import DayEnd
from sim.config import AREAS
from sim.rng import Batched
from sim.rules import competency, whatsapp

if TYPE_CHECKING:
    from sim.agents.network import Member
    from sim.engines.reference.interface import ReferenceEngine
    from sim.engines.reference.mentee import Mentee

_BATCH = 1024  # draws taken at a time from a group's streams


class Group:
    """One chat group: its members and its posts."""

    def __init__(self, net: Network, index: int) -> None:
        model = net.model
        self.network = net
        self.mentees: dict[int, Mentee] = {}  # in the order they joined
        self.active: dict[int, Mentee] = {}
        self.mentors: set[int] = set()
        posts = model.streams("whatsapp.posts", net.key, index)
        areas = model.streams("whatsapp.area", net.key, index)
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
        model = self.network.model
        env = model.env
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
                for mentee in self.active.values():
                    mentee.settle(post, model.rates)
                    mentee.c = competency.post(mentee.c, area, model.reinforcement)
                model.record.posts.extend([post], [self.network.subcounty])
                post = post + 1.0 / self.rate() * self._gaps.next()

    def _change(self) -> None:
        if not self._redraw:
            self._redraw = True
            self._changed.succeed()

    def admit(self, member: Member, mentee: Mentee | None) -> None:
        model = self.network.model
        if mentee is None:
            self.mentors.add(member[1])
            self._change()
            return
        mentee.settle(model.env.now, model.rates)  # decay before joining is unprotected
        self.mentees[mentee.id] = mentee
        if whatsapp.active(mentee.engagement, self.network.active_probability):
            self.active[mentee.id] = mentee
            mentee.active_member = True
            self._change()

    def remove(self, member: Member) -> None:
        """Remove a member (a mentee already settled to now)."""
        kind, mid = member
        if kind == "mentor":
            self.mentors.discard(mid)
        else:
            mentee = self.mentees.pop(mid)
            if self.active.pop(mid, None) is not None:
                mentee.active_member = False
        self._change()


class Network(network.Network):
    """A subcounty's groups (:class:`sim.agents.network.Network`), posting as processes."""

    def __init__(self, model: ReferenceEngine, subcounty: int) -> None:
        super().__init__(model.config.whatsapp, subcounty, model.config.subcounties[subcounty].name)
        self.model = model

    def open_group(self) -> Group:
        return Group(self, len(self.groups))
