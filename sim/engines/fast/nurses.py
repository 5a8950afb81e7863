"""The fast engine's mentees: every nurse's competency in one set of arrays, settled lazily.

The rules are :mod:`sim.rules.competency`'s: learning at a visit on her agenda, decay
back to her baseline slowed by practice and active WhatsApp membership, a post's and a
course's effects. Here competency changes only at events (a visit, a post, a spell's
end, a monthly reading); the decay owed in between is settled lazily by :func:`settle`,
for one nurse, a day's visits or a month's reading at once, from the facility's
stock-out counter and her group's posts, so no process wakes daily to age anyone's
skills. Each nurse's gains are kept folded at a reference exposure
(:class:`Nurses`), which relies on decay being exponential in exposure
(:mod:`sim.engines.fast.contract`). The arithmetic per event is compiled (numba) with
the C library's ``exp``, as Python's ``math.exp``, so results are the same compiled or
not, on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from sim.config import AREAS
from sim.engines.fast import kernels, shelves
from sim.engines.fast.bundles import (Decay, DueArrays, GroupState, NurseArrays, PostTable,
                                      ShelfArrays, takes)
from sim.rules import competency

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.config import Config
    from sim.engines.fast.shelves import Shelves

N_AREAS = len(AREAS)

@dataclass(frozen=True)
class Dynamics:
    """Competency parameters in per-day units, read once from the config."""

    learning_rate: float
    areas_per_visit: int
    decay_per_day: float
    practice_protection: float
    whatsapp_protection: float

    @classmethod
    def from_config(cls, cfg: Config) -> Dynamics:
        m = cfg.mentee
        return cls(
            learning_rate=m.learning.rate,
            areas_per_visit=m.learning.areas_per_visit,
            decay_per_day=m.decay.rate_per_year / 365.0,
            practice_protection=m.decay.practice_protection,
            whatsapp_protection=m.decay.whatsapp_protection,
        )

    def slopes(self, intensity: float) -> tuple[float, float]:
        """Exposure per day of an active group member at a facility of this practice
        intensity: while vaccines are in stock, and in a stock-out (no sessions). Relies on
        :func:`sim.rules.competency.exposure` being linear in the days (contract)."""
        return (1.0 - self.whatsapp_protection - self.practice_protection * intensity,
                1.0 - self.whatsapp_protection)


_REFOLD = 20.0  # refold the gains once they have decayed by exp(-20)


class Nurses:
    """Every nurse's competency state, a row per facility post (a structure of arrays).

    Relies on :func:`sim.rules.competency.decay` being exponential in exposure, each gain
    scaled by ``exp(-k x)`` (``contract.RELIANCES``: the folded gains below).

    A facility has one MCH nurse post, and whoever holds it (or is away from it on
    furlough) keeps its row, so rows are facility ids. Her competency is kept as
    her baseline plus her gains, with the gains' decay folded into one number:
    decay is exponential in the unprotected exposure, so the gains at any moment
    are ``gain * exp(-k (x - x_ref))`` where ``x`` is her exposure so far. Settling
    decay is then a scalar update of ``x``, and a WhatsApp post touches one area.

    Settlements and training are compiled code over these arrays (:func:`settle`,
    :func:`visit_all`), for a day's visits or a month's reading at once as for one
    nurse. :class:`Mentee`'s own bookkeeping (enrolment, spells, her group) reads and
    writes single items through flat memoryviews (``_x`` and so on: a memoryview
    item costs what an attribute does, a numpy scalar several times more).
    """

    def __init__(self, facilities: list[Facility], dynamics: Dynamics, posts: Any,
                 shelves: Shelves) -> None:
        n = len(facilities)
        self.dyn = dynamics
        self.posts = posts  # the groups' posts (a groups.PostSums)
        self.shelves = shelves  # the facilities' vaccine shelves, a facility each
        self.facilities = facilities  # by row
        self.subcounty = np.array([f.subcounty for f in facilities], np.int64)
        self.baseline = np.zeros((n, N_AREAS))
        self.gain = np.zeros((n, N_AREAS))  # gains above baseline at exposure x_ref
        self.x = np.zeros(n)  # unprotected exposure, days, accumulated since she took the post
        self.x_ref = np.zeros(n)
        self.t = np.zeros(n)  # time up to which exposure is settled
        self.mark = np.zeros(n)  # her facility's stock-out days (from day 0) at t
        self.stocked_until = np.full(n, -math.inf)  # until when the mark stays as it is
        self.intensity = np.array([f.practice_intensity for f in facilities])
        self.group = np.full(n, -1, np.int64)  # her group's row in PostSums while active, else -1
        self.slot = np.zeros((n, 2), np.int64)  # her slopes' slots in it: in stock, in a stock-out
        self.slope = np.ones((n, 2))  # exposure per day in her group: in stock, in a stock-out
        self.seen = np.zeros((n, N_AREAS), np.int64)  # the group's posts per area she has read
        self.epoch = np.zeros(n, np.int64)  # the group's epoch she last read in
        self.version = np.full(n, -1, np.int64)  # the group's version she last read at
        self.visits = np.zeros(n, np.int64)  # visits in her current spell
        # when her next visit is due while enrolled, else inf; one more row, always inf, pads
        # mentors' caseloads to one length (see Rounds)
        self.next_due = np.full(n + 1, math.inf)
        self.id = np.full(n + 1, -1, np.int64)  # the nurse in the post (breaks ties in rounds)
        self._x, self._x_ref, self._t, self._mark, self._until, self._version, self._next_due, \
            self._visits = (a.data for a in (self.x, self.x_ref, self.t, self.mark,
                                             self.stocked_until, self.version, self.next_due,
                                             self.visits))
        # the same arrays, named, for the kernels (they never grow)
        self.decay = Decay(k=dynamics.decay_per_day,
                           practice_protection=dynamics.practice_protection,
                           whatsapp_protection=dynamics.whatsapp_protection,
                           reinforcement=posts.reinforcement)
        self.arrays = NurseArrays(
            group=self.group, version=self.version, settled=self.t, mark=self.mark,
            until=self.stocked_until, x=self.x, x_ref=self.x_ref, intensity=self.intensity,
            slots=self.slot, slopes=self.slope, seen=self.seen, epoch=self.epoch,
            gain=self.gain, baseline=self.baseline)
        self.due = DueArrays(ids=self.id, next_due=self.next_due, visits=self.visits)

    def take(self, row: int, nurse: int, baseline: np.ndarray, t: float) -> None:
        """A new nurse in the post: her baseline, no gains, settled at ``t``, not yet enrolled."""
        self.id[row] = nurse
        self.next_due[row] = math.inf
        self.baseline[row] = baseline
        self.gain[row] = 0.0
        self._x[row] = self._x_ref[row] = 0.0
        self._t[row] = t
        self._mark[row] = 0.0
        self._until[row] = -math.inf
        self.group[row] = -1
        self._version[row] = -1


class Mentee:
    """One nurse; she may have several enrolment spells (e.g. after a furlough). Her
    competency state is her facility's row of :class:`Nurses`."""

    __slots__ = ("id", "who", "facility", "row", "nurses", "engagement", "dyn", "group",
                 "spell_start", "proficient_months", "promoted")

    def __init__(
        self,
        mid: int,
        facility: Facility,
        nurses: Nurses,
        baseline: np.ndarray,
        engagement: float,
        t: float,
    ) -> None:
        self.id = mid
        self.who = f"mentee:{mid}"  # as the cost ledger names her
        self.facility = facility
        self.row = facility.id
        self.nurses = nurses
        nurses.take(self.row, mid, baseline, t)
        # Uniform draw; she is an active group member if it is below active_probability,
        # so raising that probability only ever adds members (common random numbers).
        self.engagement = engagement
        self.dyn = nurses.dyn
        self.group: Any = None  # her group (a groups.WhatsAppGroup) while an active member
        self.spell_start = t
        self.proficient_months = 0  # consecutive month-end readings at the graduation level
        self.promoted = None  # a SimPy event, fired if she graduates into a mentor

    @property
    def baseline(self) -> list[float]:
        return self.nurses.baseline[self.row].tolist()

    def scores(self) -> list[float]:
        """Competency per area at her settled time, continuous in [0, 4] (see
        :func:`sim.rules.competency.decay`)."""
        nb, i = self.nurses, self.row
        f = math.exp(-self.dyn.decay_per_day * (nb._x[i] - nb._x_ref[i]))
        return [b + g * f for b, g in zip(nb.baseline[i].tolist(), nb.gain[i].tolist(), strict=True)]

    @property
    def c(self) -> np.ndarray:
        """Competency per area at her settled time, as an array."""
        return np.array(self.scores())

    def set(self, c: Sequence[float]) -> None:
        """Her competency per area now (she is settled to now)."""
        nb, i = self.nurses, self.row
        nb.gain[i] = [x - b for x, b in zip(c, nb.baseline[i].tolist(), strict=True)]
        nb._x_ref[i] = nb._x[i]

    def catch_up(self, t: float) -> None:
        """Settle her exposure to ``t`` and what her group's posts did meanwhile (see
        :func:`settle`)."""
        settle(self.nurses, np.array([self.row]), t)

    def join_group(self, group: Any) -> None:
        """Become an active member of ``group`` (she is settled to now)."""
        nb, i = self.nurses, self.row
        self.group = group
        slopes = self.dyn.slopes(self.facility.practice_intensity)
        nb.group[i] = group.row
        nb.slope[i] = slopes
        nb.slot[i] = [group.network.slopes.index(s) for s in slopes]
        nb.seen[i] = group.counts()
        nb.epoch[i] = group.epoch
        nb._version[i] = group.version

    def leave_group(self) -> None:
        self.group = None
        self.nurses.group[self.row] = -1

    def start_spell(self, t: float) -> None:
        """Enrol: time away (a furlough) decays skills with no practice to slow it."""
        nb, i = self.nurses, self.row
        nb._x[i] += t - nb._t[i]
        nb._t[i] = t
        vaccines = self.facility.vaccines
        nb._mark[i] = vaccines.stockout_days_until(t)
        nb._until[i] = vaccines.stocked_until(t)
        self.spell_start = t
        nb._visits[i] = 0
        nb._next_due[i] = t

    def end_spell(self) -> None:
        """Leave the programme (for now): no visit is due."""
        self.nurses._next_due[self.row] = math.inf

    @property
    def spell_visits(self) -> int:
        """Visits in her current (or last) spell."""
        return self.nurses._visits[self.row]

    def train(self, t: float, gain: np.ndarray) -> None:
        """A classroom course: an immediate gain in every area, capped at 4."""
        self.catch_up(t)
        self.set(np.minimum(self.c + gain, competency.MAX_SCORE).tolist())


def settle(nurses: Nurses, rows: np.ndarray, t: float) -> None:
    """Settle the enrolled nurses of posts ``rows`` (distinct) to ``t``: the exposure
    they accrued while enrolled and working, and what their group's posts did.

    The nurses' groups draw their posts first (drawing may restart an epoch, which
    settles members), then compiled code settles each nurse in turn
    (:func:`_settle_rows`): one nurse's settlement reads only her own row and her
    group's posts, so settling a day's visits or a month's reading together gives
    what settling them one by one would.
    """
    nb, table, sh = nurses, nurses.posts, nurses.shelves
    g = nb.group[rows]
    for group in dict.fromkeys(g[g >= 0].tolist()):  # in the order a loop would come to them
        table.groups[group].advance(t)
    _settle_rows(rows, float(t), *nb.decay, *nb.arrays, *table.group_state, *table.post_table,
                 *sh.arrays)


@takes("rows", "t", Decay, NurseArrays, GroupState, PostTable, ShelfArrays)
@njit(cache=True)
def _settle_rows(rows, t, k, practice_protection, whatsapp_protection, reinforcement, group,
                 version, settled, mark, until, x, x_ref, intensity, slots, slopes, seen, epoch,
                 gain, baseline, group_version, origin, group_epoch, counts, times, sums, keep,
                 since, level, cum, start):
    """Settle each nurse of ``rows`` to ``t``, in turn.

    Her facility's stock-out days are looked up unless her shelf cannot have run
    dry since she was last settled (``until``); she reads her group's posts since
    then (:func:`_read_posts`) if it has posted; then her exposure grows by the
    days she was enrolled, less the share her practice (sessions held while in
    stock) and her active membership protect.
    """
    nurses = NurseArrays(group=group, version=version, settled=settled, mark=mark, until=until,
                         x=x, x_ref=x_ref, intensity=intensity, slots=slots, slopes=slopes,
                         seen=seen, epoch=epoch, gain=gain, baseline=baseline)
    groups = GroupState(group_version=group_version, origin=origin, group_epoch=group_epoch)
    posts = PostTable(counts=counts, times=times, sums=sums, keep=keep)
    shelf = ShelfArrays(since=since, level=level, cum=cum, start=start)
    for j in range(rows.size):
        i = rows[j]
        g = group[i]
        elapsed = t - settled[i]
        out = mark[i]
        if elapsed > 0 and t > until[i]:  # else the shelf has not run dry since (most)
            lo, hi = start[i], start[i + 1]
            out = shelves.stockout_days(since, level, cum, lo, hi, t)
            until[i] = shelves.stocked_until(since, level, cum, lo, hi, t)
        if g >= 0 and version[i] != group_version[g]:
            _read_posts(i, g, t, out - mark[i], k, reinforcement, nurses, groups, posts, shelf)
        if elapsed > 0:
            practice = (elapsed - (out - mark[i])) * intensity[i]
            active = elapsed if g >= 0 else 0.0  # she joined at a settlement
            x[i] += kernels.decay_exposure(elapsed, practice, active, practice_protection,
                                              whatsapp_protection)
            settled[i] = t
            mark[i] = out


@njit(cache=True)
def _read_posts(i, g, t, stocked_out, k, r, nurses, groups, posts, shelf):
    """Nurse ``i`` reads the posts of her group ``g`` she has not read yet (see
    :class:`~sim.engines.fast.groups.WhatsAppGroup`).

    Relies on three properties of the rules (contract): a post closes a fixed share
    ``r`` of one area's gap (:func:`sim.rules.competency.post`), decay is exponential in
    exposure, and exposure is linear between shelf flips.

    Per area, with ``N`` the epoch's posts so far and ``n`` the new ones, her folded
    gain becomes ``(1 - r)^n gain + r (4 - b) (1 - r)^N S``, where ``S`` sums
    ``(1 - r)^-j exp(k (x_j - x_ref))`` over the new posts ``j``. Her exposure is
    piecewise linear between her settled time and ``t``, its slope changing where
    the vaccine shelf empties or is refilled (none of that if there were no
    ``stocked_out`` days in between, the usual case); on each piece ``S`` is a
    difference of the group's prefix sums for that slope, times the piece's ``coef``,
    ``exp(k (x_u - x_ref - slope (u - origin)))`` at its start ``u``.
    """
    settled, x, x_ref, gain, baseline = (nurses.settled, nurses.x, nurses.x_ref, nurses.gain,
                                         nurses.baseline)
    slots, slopes, seen, epoch, version = (nurses.slots, nurses.slopes, nurses.seen, nurses.epoch,
                                           nurses.version)
    counts, times, sums, keep = posts.counts, posts.times, posts.sums, posts.keep
    since, level, start = shelf.since, shelf.level, shelf.start
    if k * (x[i] - x_ref[i]) > _REFOLD:  # refold her gains at her exposure now
        f = math.exp(-k * (x[i] - x_ref[i]))
        for a in range(N_AREAS):
            gain[i, a] = (baseline[i, a] + gain[i, a] * f) - baseline[i, a]
        x_ref[i] = x[i]
    u, o = settled[i], groups.origin[g]
    xu = x[i] - x_ref[i]
    if stocked_out == 0.0:
        empty, ends = False, [t]
    else:
        empty, ends = shelves.flips(since, level, start[i], start[i + 1], u, t)
        ends.append(t)
    pieces = len(ends)
    piece_slot = np.empty(pieces, np.int64)
    piece_coef = np.empty(pieces)
    for p in range(pieces):
        slope = slopes[i, 1] if empty else slopes[i, 0]
        piece_slot[p] = slots[i, 1] if empty else slots[i, 0]
        piece_coef[p] = math.exp(k * (xu - slope * (u - o)))
        xu += slope * (ends[p] - u)
        u, empty = ends[p], not empty
    same = epoch[i] == groups.group_epoch[g]
    for a in range(N_AREAS):
        n = counts[g, a]
        first = seen[i, a] if same else 0
        seen[i, a] = n
        if first == n:
            continue
        if pieces == 1:
            s = piece_slot[0]
            gain[i, a] = (keep[n - first] * gain[i, a]
                          + r * piece_coef[0] * (competency.MAX_SCORE - baseline[i, a])
                          * (sums[g, s, a, n] - sums[g, s, a, first]) * keep[n])
            continue
        lo, total = first, 0.0
        for p in range(pieces - 1):  # the posts up to each piece's end
            hi = lo + np.searchsorted(times[g, a, lo:n], ends[p], side="right")
            if hi > lo:
                s = piece_slot[p]
                total += piece_coef[p] * (sums[g, s, a, hi] - sums[g, s, a, lo])
                lo = hi
        if n > lo:  # the last piece ends now
            s = piece_slot[pieces - 1]
            total += piece_coef[pieces - 1] * (sums[g, s, a, n] - sums[g, s, a, lo])
        gain[i, a] = (keep[n - first] * gain[i, a]
                      + r * (competency.MAX_SCORE - baseline[i, a]) * total * keep[n])
    epoch[i] = groups.group_epoch[g]
    version[i] = groups.group_version[g]


def visit_all(nurses: Nurses, rows: np.ndarray, weights: np.ndarray, noise: np.ndarray,
              t: float) -> None:
    """Mentoring visits at ``t`` to the enrolled nurses of several posts (``rows``, each
    once): hands-on training on each one's agenda, the top areas by gap weighted by her
    subcounty's priority ``weights`` (a row each).

    The visits of a day are independent of each other, so they are trained together,
    by compiled code (:func:`_train`); ``noise`` holds each visit's normal draws with
    mean ``-sd**2 / 2``, a row each: each area's effort is their exponential,
    lognormal with mean 1.
    """
    settle(nurses, rows, t)
    nb = nurses
    d = nb.dyn
    _train(rows, weights, noise, d.learning_rate, d.decay_per_day, nb.baseline, nb.gain, nb.x,
           nb.x_ref)


@njit(cache=True)
def _train(rows, weights, noise, rate, k, baseline, gain, x, x_ref):
    """The training of :func:`visit_all`: her competency now (:func:`sim.rules.competency.decay`),
    her agenda (:func:`sim.rules.competency.agenda`), what it closes of her gaps
    (:func:`sim.rules.competency.learn`, whose compiled copies the contract checks), all
    refolded at her exposure now. Its arithmetic, with
    the C library's ``exp`` as Python's, so one nurse's results do not depend on the
    machine or on who else was visited that day."""
    c = np.empty((rows.size, N_AREAS))
    for j in range(rows.size):
        i = rows[j]
        f = math.exp(-k * (x[i] - x_ref[i]))
        for a in range(N_AREAS):
            c[j, a] = baseline[i, a] + gain[i, a] * f
    remaining = np.empty(noise.shape)
    for j in range(noise.shape[0]):
        for q in range(noise.shape[1]):
            remaining[j, q] = math.exp(-rate * math.exp(noise[j, q]))
    out = kernels.learn(c, kernels.agenda(c, weights, noise.shape[1]), remaining)
    for j in range(rows.size):
        i = rows[j]
        for a in range(N_AREAS):
            gain[i, a] = out[j, a] - baseline[i, a]
        x_ref[i] = x[i]


def competencies(nurses: Nurses, rows: np.ndarray) -> np.ndarray:
    """Competency of settled nurses at once, one row each (for monthly readings)."""
    return kernels.decay(nurses.baseline[rows], nurses.gain[rows], nurses.dyn.decay_per_day,
                            (nurses.x[rows] - nurses.x_ref[rows])[:, None])
