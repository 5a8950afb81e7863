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

import math
from bisect import bisect_right
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING

from sim.competency import MAX_SCORE
from sim.config import AREAS
from sim.rng import Batched, code

if TYPE_CHECKING:
    from sim.agents.mentee import Mentee
    from sim.agents.mentor import Mentor
    from sim.model import Model

Member = tuple[str, int]  # ("mentee" | "mentor", id)
N_AREAS = len(AREAS)
_RESTART_KEEP = 1e-150  # (1 - r) ** n below this restarts the epoch early
_NONE_SEEN = (0,) * N_AREAS  # what a member who last settled in an earlier epoch has read


class WhatsAppGroup:
    """One chat group: its members, its posts, and what the posts owe each member.

    Posts change nothing but the active members' competency, so they are not
    SimPy events: the group draws them lazily, up to whatever time someone
    needs it (a membership change or a member's catch-up), with the same draws
    in the same order as a posting process would make. A post on area ``a``
    closes a share ``r`` of every active member's gap in ``a``; her gains are
    kept folded at a reference exposure (see :class:`~sim.agents.mentee.Mentee`),
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
        posts = model.streams("whatsapp.posts", network.key, index)
        areas = model.streams("whatsapp.area", network.key, index)
        self._gaps = Batched(posts.standard_exponential)
        self._areas = Batched(lambda size: areas.integers(N_AREAS, size=size))
        self._next_post = math.inf
        self._redraw_at: float | None = model.env.now  # a pending rate change
        self.epoch = 0
        self._start_epoch(model.env.now)

    @property
    def size(self) -> int:
        return len(self.mentees) + len(self.mentors)

    def _start_epoch(self, t: float) -> None:
        if self.epoch:
            self.log_posts()
        self.epoch += 1
        self.origin = t
        # posts per area this epoch, replaced (not changed) at each post: see Mentee._seen
        self.counts: tuple[int, ...] = tuple([0] * N_AREAS)
        self.times: list[list[float]] = [[] for _ in range(N_AREAS)]
        net = self.network
        self.sums = {s: [[0.0] for _ in range(N_AREAS)] for s in net.slopes}
        # what a post on each area extends: (k * slope, that slope's sums for the area)
        self._extends = [[(net.k * s, sums[a]) for s, sums in self.sums.items()]
                         for a in range(N_AREAS)]

    def log_posts(self) -> None:
        """Log this epoch's posts in the record, in time order. Done once, when the epoch
        ends (or the run), not as each post is drawn, which cost a tenth of a post."""
        net = self.network
        times = sorted(chain.from_iterable(self.times))
        net.model.record.posts.extend(times, [net.subcounty] * len(times))

    def new_epoch(self, t: float) -> None:
        """Settle every active member to ``t`` and restart the prefix sums there."""
        self.advance(t)
        self._restart(t)

    def _restart(self, t: float) -> None:
        counts = self.counts
        for mentee in self.active.values():
            if mentee.t != t or mentee._seen is not counts:  # the monthly reading settled most
                mentee.catch_up(t)
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
            while self._next_post <= t:
                tp = self._next_post
                area = self._areas.next()
                self._next_post = tp + mean_gap * self._gaps.next()
                self._post(tp, area)

    def _rate(self) -> float:
        return self.network.rate_per_member * (len(self.active) + len(self.mentors))

    def _post(self, t: float, area: int) -> None:
        net = self.network
        keep = net.keep_powers
        if keep[self.counts[area]] < _RESTART_KEEP:  # many posts in one epoch: restart it
            self._restart(t)
        counts = list(self.counts)
        n = counts[area] = counts[area] + 1
        self.counts = tuple(counts)
        if n == len(keep):
            keep.append(keep[-1] * (1.0 - net.reinforcement))
        scale = 1.0 / keep[n]  # (1 - r) ** -n
        self.times[area].append(t)
        dt = t - self.origin
        for ks, s in self._extends[area]:
            s.append(s[-1] + scale * math.exp(ks * dt))

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
        if mentee.engagement < self.network.threshold:
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

    def read_since(self, gain: list[float], baseline: list[float], seen: tuple[int, ...] | None,
                   slope: float, coef: float) -> None:
        """Apply the posts since a member's last settlement to her folded ``gain``, her
        exposure having grown at one ``slope`` since then.

        ``seen`` is the posts per area she had read this epoch (None: she last settled
        in an earlier one, so every post of this epoch is new); ``coef`` is
        ``exp(k (x_u - x_ref - slope (u - origin)))`` at her last settlement ``u``.
        Per area, with ``N`` the epoch's posts so far and ``n`` the new ones, the gain
        becomes ``(1 - r)^n gain + r (4 - b) (1 - r)^N S`` where ``S`` sums
        ``(1 - r)^-j exp(k (x_j - x_ref))`` over the new posts ``j``.
        """
        keep = self.network.keep_powers  # (1 - r) ** i
        rc = self.network.reinforcement * coef
        sums = self.sums[slope]
        # zip without strict=: eight areas each, by construction, and this is the hot path
        for a, (n, lo, s) in enumerate(zip(self.counts, seen or _NONE_SEEN, sums)):  # noqa: B905
            if lo != n:
                gain[a] = keep[n - lo] * gain[a] + rc * (MAX_SCORE - baseline[a]) * (s[n] - s[lo]) * keep[n]

    def read(self, gain: list[float], baseline: list[float], seen: tuple[int, ...] | None,
             pieces: list[tuple[float, float, float]]) -> None:
        """:meth:`read_since` for an interval that ``pieces`` split where her exposure's
        slope changed: each is (its end, its slope, its ``coef`` at its start); the last
        ends now."""
        r = self.network.reinforcement
        keep = self.network.keep_powers
        *ended, (_, last_sums, last_coef) = [(end, self.sums[slope], coef) for end, slope, coef in pieces]
        for a, n in enumerate(self.counts):
            first = 0 if seen is None else seen[a]
            if first == n:
                continue
            lo, total, times = first, 0.0, self.times[a]
            for end, sums, coef in ended:
                hi = bisect_right(times, end, lo, n)
                if hi > lo:
                    s = sums[a]
                    total += coef * (s[hi] - s[lo])
                    lo = hi
            if n > lo:  # the last piece ends now
                s = last_sums[a]
                total += last_coef * (s[n] - s[lo])
            gain[a] = keep[n - first] * gain[a] + r * (MAX_SCORE - baseline[a]) * total * keep[n]


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
        self.k = model.dynamics.decay_per_day
        self.reinforcement = cfg.reinforcement
        self.keep_powers = [1.0]  # (1 - r) ** i, as far as any group's posts per area go
        self.slopes: list[float] = []  # members' exposure slopes, set when a group opens
        self._where: dict[Member, WhatsAppGroup] = {}
        self._waiting: dict[Member, Mentee | None] = {}  # insertion order is queue order

    @property
    def mentees(self) -> list[Mentee]:
        """The mentees in any of the subcounty's groups."""
        return [m for g in self.groups for m in g.mentees.values()]

    @property
    def size(self) -> int:
        return sum(g.size for g in self.groups)

    def _open(self) -> WhatsAppGroup:
        if not self.slopes:
            dyn = self.model.dynamics
            self.slopes = sorted({s for f in self.model.facilities[self.subcounty]
                                  for s in dyn.slopes(f.practice_intensity)})
        group = WhatsAppGroup(self, len(self.groups))
        self.groups.append(group)
        return group

    def new_epoch(self, t: float) -> None:
        """Restart every group's prefix sums at ``t`` (the monthly reading settled everyone)."""
        for group in self.groups:
            group.new_epoch(t)

    def dismantle(self) -> None:
        """Let go of every group and member (see :meth:`sim.model.Model.dismantle`)."""
        for group in self.groups:
            group.mentees.clear()
            group.active.clear()
        self.groups, self._where, self._waiting = [], {}, {}

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
