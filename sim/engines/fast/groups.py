"""The fast engine's WhatsApp groups: posts drawn lazily into shared prefix sums.

The rules are those of :mod:`sim.rules.whatsapp` and :func:`sim.rules.competency.post`:
a group posts as a Poisson process whose rate follows its active membership, each
post covering one area drawn uniformly and closing a share of every active member's
gap in it. Here posts are not SimPy events: a group draws them when someone needs its
state, and members read their effect from per-slope prefix sums in closed form
(:class:`WhatsAppGroup`), which relies on decay being exponential in exposure and on a
post's effect being a fixed share of the gap (:mod:`sim.engines.fast.contract`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.agents import network
from sim.agents.network import Member
from sim.config import AREAS
from sim.engines.fast.bundles import GroupState, PostTable, takes
from sim.engines.fast.nurses import settle
from sim.rng import Batched
from sim.rules import whatsapp

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.engines.fast.interface import FastModel as Model
    from sim.engines.fast.nurses import Mentee
N_AREAS = len(AREAS)
_RESTART_KEEP = 1e-150  # (1 - r) ** n below this restarts the epoch early
_BATCH = 1024  # posts' draws taken at a time: a busy group posts hundreds a month


class PostSums:
    """Every group's posts per area and prefix sums, in arrays shared by the whole model.

    Per group (a model-wide row), per slope slot of its network and per area, the
    epoch's prefix sums of ``(1 - r)^-j exp(k s (t_j - origin))`` (see
    :class:`WhatsAppGroup`), and per area the posts' times. Kept in numpy arrays for
    compiled code: posts are drawn into them by :func:`_draw_posts`, and members
    read them in :func:`sim.engines.fast.nurses.settle`; the rare post that restarts an
    epoch or outgrows them is checked through flat memoryviews (``n``, ``v``, ``w``)
    before it is written (:func:`_write_post`). Rows and posts per area grow by doubling.
    """

    def __init__(self, slots: int, reinforcement: float) -> None:
        self.slots = slots  # slope slots per group: the most slopes any network has
        self.reinforcement = reinforcement
        self.keep = np.ones(1)  # (1 - r) ** i, as far as any group's posts per area go
        self.groups: list[WhatsAppGroup] = []  # by row
        self.serial = 0  # numbers each post and epoch start model-wide: see `version`
        self.sums = np.zeros((0, slots, N_AREAS, 16))
        self.times = np.zeros((0, N_AREAS, 16))  # each post's time per area (inf: none yet)
        self.counts = np.zeros((0, N_AREAS), np.int64)  # posts per area this epoch
        self.origin = np.zeros(0)  # each group's epoch start
        self.epoch = np.zeros(0, np.int64)
        # the serial of the group's last post or epoch start: a member who read at this
        # version has nothing new to read
        self.version = np.zeros(0, np.int64)
        self.extend_keep()
        self._resize(8, 16)

    def _name_arrays(self) -> None:
        """The arrays, named, for the kernels: again whenever one is replaced."""
        self.group_state = GroupState(group_version=self.version, origin=self.origin,
                                      group_epoch=self.epoch)
        self.post_table = PostTable(counts=self.counts, times=self.times, sums=self.sums,
                                    keep=self.keep)

    def _resize(self, rows: int, posts: int) -> None:
        n, _, _, p = self.sums.shape
        sums = np.zeros((rows, self.slots, N_AREAS, posts))
        sums[:n, :, :, :p] = self.sums
        self.sums = sums
        times = np.full((rows, N_AREAS, posts), math.inf)
        times[:n, :, :p] = self.times
        self.times = times
        for name in ("counts", "origin", "epoch", "version"):
            old = getattr(self, name)
            new = np.zeros((rows, *old.shape[1:]), old.dtype)
            new[:n] = old
            setattr(self, name, new)
        # flat views for one item at a time: counts[g, a] is n[g * N_AREAS + a]
        self.n = self.counts.reshape(-1).data
        self.v = self.version.data
        self.capacity = posts  # posts per area an epoch can hold before the sums grow
        self._name_arrays()

    def add(self, group: WhatsAppGroup) -> int:
        """A row for a new group."""
        if len(self.groups) == len(self.counts):
            self._resize(2 * len(self.groups), self.capacity)
        self.groups.append(group)
        return len(self.groups) - 1

    def grow(self) -> None:
        self._resize(len(self.counts), 2 * self.capacity)

    def extend_keep(self) -> None:
        """Twice as many powers ``(1 - r) ** i``, each the previous one times ``1 - r``."""
        old = self.keep.tolist()
        new = old + [0.0] * max(len(old), 64)
        step = 1.0 - self.reinforcement
        for i in range(len(old), len(new)):
            new[i] = new[i - 1] * step
        self.keep = np.array(new)
        self.w = self.keep.data  # one item at a time
        self._name_arrays()

    def bump(self, g: int) -> None:
        self.serial += 1
        self.v[g] = self.serial


_DRAWN, _OUT_OF_GAPS, _OUT_OF_AREAS, _SLOW = range(4)


@takes("t", "next_post", "mean_gap", "gaps", "gi", "areas", "ai", "g", "origin", "ks", PostTable,
       "serial")
@njit(cache=True)
def _draw_posts(t, next_post, mean_gap, gaps, gi, areas, ai, g, origin, ks, counts, times, sums,
                keep, serial):
    """A group's posts up to ``t``, compiled: :meth:`WhatsAppGroup._post`'s arithmetic, in
    its order, with ``math.exp`` (the C library's, as Python's), so the sums are the same
    bit for bit. Returns why it stopped (every post drawn, a batch of draws used up, or a
    post that needs :meth:`WhatsAppGroup._post` to restart the epoch or grow the arrays;
    its draws are taken and it is returned), then the next post's time, both batches'
    positions, the serial, and that post's time and area."""
    cap = times.shape[2]
    while next_post <= t:
        if gi >= gaps.size:
            return _OUT_OF_GAPS, next_post, gi, ai, serial, 0.0, 0
        if ai >= areas.size:
            return _OUT_OF_AREAS, next_post, gi, ai, serial, 0.0, 0
        tp = next_post
        area = areas[ai]
        next_post = tp + mean_gap * gaps[gi]
        gi += 1
        ai += 1
        n = counts[g, area] + 1
        if keep[n - 1] < _RESTART_KEEP or n >= keep.size or n >= cap:
            return _SLOW, next_post, gi, ai, serial, tp, area
        _write_post(g, area, tp, origin, ks, counts, times, sums, keep)
        serial += 1
    return _DRAWN, next_post, gi, ai, serial, 0.0, 0


@takes("g", "area", "t", "origin", "ks", PostTable)
@njit(cache=True)
def _write_post(g, area, t, origin, ks, counts, times, sums, keep):
    """Group ``g``'s next post on ``area``, at ``t``: its time, and the next term of each
    slope's prefix sum, ``(1 - r)^-n exp(k s (t - origin))``."""
    n = counts[g, area] = counts[g, area] + 1
    scale = 1.0 / keep[n]  # (1 - r) ** -n
    times[g, area, n - 1] = t
    dt = t - origin
    for slot in range(ks.size):
        sums[g, slot, area, n] = sums[g, slot, area, n - 1] + scale * math.exp(ks[slot] * dt)


class WhatsAppGroup:
    """One chat group: its members, its posts, and what the posts owe each member.

    Posts change nothing but the active members' competency, so they are not
    SimPy events: the group draws them lazily, up to whatever time someone
    needs it (a membership change or a member's catch-up), with the same draws
    in the same order as a posting process would make. A post on area ``a``
    closes a share ``r`` of every active member's gap in ``a``; her gains are
    kept folded at a reference exposure (see :class:`~sim.engines.fast.nurses.Mentee`),
    under which a post at exposure ``x_j`` adds ``r (4 - b_a) exp(k (x_j - x_ref))``
    after shrinking the folded gain by ``1 - r``. Between stock-out flips a
    member's exposure grows linearly in time, at one of a few slopes, so for
    each slope the group keeps per-area prefix sums of
    ``(1 - r)^-n exp(k s (t_j - epoch))``: settling a member costs a few
    operations per area, however many posts she read. Prefix sums restart each
    month (an *epoch*), once the monthly reading has settled every member, so
    they stay well inside floating-point range.
    """

    def __init__(self, network: Network, index: int) -> None:
        self.network = network
        self.index = index
        self.mentees: dict[int, Mentee] = {}
        self.active: dict[int, Mentee] = {}
        self.mentors: set[int] = set()
        model = network.model
        self.table = model.post_sums
        self.row = self.table.add(self)
        posts = model.streams("whatsapp.posts", network.key, index)
        areas = model.streams("whatsapp.area", network.key, index)
        self._gaps = Batched(posts.standard_exponential, _BATCH)
        self._areas = Batched(lambda size: areas.integers(N_AREAS, size=size), _BATCH)
        self._next_post = math.inf
        self._redraw_at: float | None = model.env.now  # a pending rate change
        self.epoch = 0
        self._start_epoch(model.env.now)

    @property
    def size(self) -> int:
        return len(self.mentees) + len(self.mentors)

    @property
    def version(self) -> int:
        """Changes at each post and epoch start: a member who read at this version has
        nothing new to read."""
        return self.table.v[self.row]

    def counts(self) -> np.ndarray:
        """Posts per area this epoch."""
        return self.table.counts[self.row]

    def _start_epoch(self, t: float) -> None:
        if self.epoch:
            self.log_posts()
        self.epoch += 1
        self.origin = t
        table, g = self.table, self.row
        table.counts[g] = 0
        table.times[g] = math.inf
        table.origin[g] = t
        table.epoch[g] = self.epoch
        table.bump(g)

    def log_posts(self) -> None:
        """Log this epoch's posts in the record, in time order. Done once, when the epoch
        ends (or the run), not as each post is drawn, which cost a tenth of a post."""
        net, table = self.network, self.table
        counts = self.counts().tolist()
        times = np.sort(np.concatenate([table.times[self.row, a, :n] for a, n in enumerate(counts)]))
        net.model.record.posts.extend(times, np.full(len(times), net.subcounty))

    def new_epoch(self, t: float) -> None:
        """Restart the prefix sums at ``t``, every active member having been settled to
        ``t`` (by the monthly reading)."""
        self.advance(t)
        self._start_epoch(t)

    def _restart(self, t: float) -> None:
        """Settle every active member to ``t`` and restart the prefix sums there."""
        rows = [mentee.row for mentee in self.active.values()]
        if rows:
            settle(self.network.model.nurses, np.array(rows), t)
        self._start_epoch(t)

    def advance(self, t: float) -> None:
        """Draw the posts up to ``t``; a rate change is drawn once its instant is over,
        as a posting process woken by the change would do."""
        if self._redraw_at is not None and t > self._redraw_at:
            start, self._redraw_at = self._redraw_at, None
            # memoryless: a pending post is redrawn at the new rate
            rate = self._rate()
            self._next_post = start + 1.0 / rate * self._gaps.next() if rate > 0 else math.inf
        if self._next_post <= t:
            mean_gap = 1.0 / self._rate()  # the rate holds while posts are drawn
            table, g, gaps, areas = self.table, self.row, self._gaps, self._areas
            while True:
                serial = table.serial
                stop, self._next_post, gaps.i, areas.i, table.serial, tp, area = _draw_posts(
                    float(t), self._next_post, mean_gap, gaps.batch, gaps.i, areas.batch, areas.i,
                    g, float(self.origin), self.network.ks, *table.post_table, table.serial)
                if table.serial != serial:
                    table.v[g] = table.serial
                if stop == _DRAWN:
                    return
                if stop == _OUT_OF_GAPS:
                    gaps.refill()
                elif stop == _OUT_OF_AREAS:
                    areas.refill()
                else:  # the post's sums must restart or grow first
                    self._post(tp, area)

    def _rate(self) -> float:
        return whatsapp.rate(self.network.rate_per_member, len(self.active), len(self.mentors))

    def _post(self, t: float, area: int) -> None:
        """One post, restarting the epoch or growing the arrays first if it must."""
        table, g = self.table, self.row
        i = g * N_AREAS + area
        if table.w[table.n[i]] < _RESTART_KEEP:  # many posts in one epoch: restart it
            self._restart(t)
        n = table.n[i] + 1
        if n == len(table.keep):
            table.extend_keep()
        if n == table.capacity:
            table.grow()
        table.bump(g)
        _write_post(g, area, float(t), float(self.origin), self.network.ks, *table.post_table)

    def _changed(self) -> None:
        self._redraw_at = self.network.model.env.now
        self._next_post = math.inf

    def admit(self, member: Member, mentee: Mentee | None) -> None:
        t = self.network.model.env.now
        self.advance(t)
        if mentee is None:
            self.mentors.add(member[1])
            self._changed()
            return
        mentee.catch_up(t)  # decay before joining is unprotected
        self.mentees[mentee.id] = mentee
        if whatsapp.active(mentee.engagement, self.network.active_probability):
            self.active[mentee.id] = mentee
            mentee.join_group(self)
            self._changed()

    def remove(self, member: Member) -> None:
        """Remove a member, already settled to now."""
        self.advance(self.network.model.env.now)
        kind, mid = member
        if kind == "mentor":
            self.mentors.discard(mid)
        else:
            mentee = self.mentees.pop(mid)
            if self.active.pop(mid, None) is not None:
                mentee.leave_group()
        self._changed()


class Network(network.Network):
    """A subcounty's groups (:class:`sim.agents.network.Network`), with the exposure slopes
    its members' settlements use."""

    def __init__(self, model: Model, subcounty: int, facilities: list[Facility]) -> None:
        super().__init__(model.config.whatsapp, subcounty, model.config.subcounties[subcounty].name)
        self.model = model
        self.k = model.dynamics.decay_per_day
        # members' exposure slopes (their slots in the group's sums), from the facilities
        dyn = model.dynamics
        self.slopes = sorted({s for f in facilities for s in dyn.slopes(f.practice_intensity)})
        self.ks = np.array([self.k * s for s in self.slopes])  # k times each slope

    def open_group(self) -> WhatsAppGroup:
        return WhatsAppGroup(self, len(self.groups))

    def new_epoch(self, t: float) -> None:
        """Restart every group's prefix sums at ``t`` (the monthly reading settled every
        active member)."""
        for group in self.groups:
            group.new_epoch(t)

    def dismantle(self) -> None:
        for group in self.groups:
            group.active.clear()
        super().dismantle()
