"""Mentee: the facility's MCH nurse, her competency, and turnover of the post.

Competency is a vector over the eight technical areas, continuous in [0, 4].
It changes only at events (a visit, a WhatsApp post, a spell's end, a monthly
reading); between events it decays, and the decay owed is settled lazily by
:meth:`Mentee.catch_up` (or :func:`settle`, for a day's visits or a month's
reading) from the facility's stock-out counter and the nurse's group
membership, so no process wakes daily to age anyone's skills. Every nurse's
state is a row of one set of arrays (:class:`Nurses`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim import competency
from sim.config import AREAS

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.agents.network import PostSums, WhatsAppGroup
    from sim.config import Config
    from sim.model import Model

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
        intensity: while vaccines are in stock, and in a stock-out (no sessions)."""
        return (1.0 - self.whatsapp_protection - self.practice_protection * intensity,
                1.0 - self.whatsapp_protection)


_REFOLD = 20.0  # refold the gains once they have decayed by exp(-20)
_FEW = 16  # fewer nurses than this are settled one by one (measured break-even: about 15)


class Nurses:
    """Every nurse's competency state, a row per facility post (a structure of arrays).

    A facility has one MCH nurse post, and whoever holds it (or is away from it on
    furlough) keeps its row, so rows are facility ids. Her competency is kept as
    her baseline plus her gains, with the gains' decay folded into one number:
    decay is exponential in the unprotected exposure, so the gains at any moment
    are ``gain * exp(-k (x - x_ref))`` where ``x`` is her exposure so far. Settling
    decay is then a scalar update of ``x``, and a WhatsApp post touches one area.

    Arrays let a day's visits and a month's reading settle and score hundreds of
    nurses in a few numpy operations (:func:`settle`); one nurse's events go
    through :class:`Mentee`'s methods, which read and write single items through
    the flat memoryviews (``_x`` and so on: a memoryview item costs what an
    attribute does, a numpy scalar several times more).
    """

    def __init__(self, facilities: list[Facility], dynamics: Dynamics, posts: PostSums) -> None:
        n = len(facilities)
        self.dyn = dynamics
        self.posts = posts  # the groups' posts
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
            self._visits, self._epoch, self._gain, self._baseline, self._seen, self._slot, \
            self._slope = (a.reshape(-1).data for a in (
                self.x, self.x_ref, self.t, self.mark, self.stocked_until, self.version,
                self.next_due, self.visits, self.epoch, self.gain, self.baseline, self.seen,
                self.slot, self.slope))

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
        self.group: WhatsAppGroup | None = None  # her group while an active member
        self.spell_start = t
        self.proficient_months = 0  # consecutive month-end readings at the graduation level
        self.promoted = None  # a SimPy event, fired if she graduates into a mentor

    @property
    def baseline(self) -> list[float]:
        return self.nurses.baseline[self.row].tolist()

    def scores(self) -> list[float]:
        """Competency per area at her settled time, continuous in [0, 4] (see
        :func:`competency.decay`)."""
        nb, i = self.nurses, self.row
        f = math.exp(-self.dyn.decay_per_day * (nb._x[i] - nb._x_ref[i]))
        return [b + g * f for b, g in zip(nb.baseline[i].tolist(), nb.gain[i].tolist(), strict=True)]

    @property
    def c(self) -> np.ndarray:
        """Competency per area at her settled time, as an array."""
        return np.array(self.scores())

    def _set(self, c: list[float]) -> None:
        nb, i = self.nurses, self.row
        nb.gain[i] = [x - b for x, b in zip(c, nb.baseline[i].tolist(), strict=True)]
        nb._x_ref[i] = nb._x[i]

    def catch_up(self, t: float) -> None:
        """Settle the exposure from her settled time to ``t`` while enrolled and working,
        and what her group's posts in that interval did (many nurses at once:
        :func:`settle`)."""
        group = self.group
        if group is not None:
            group.advance(t)  # before reading her time: drawing posts may settle her
        nb, i = self.nurses, self.row
        u = nb._t[i]
        elapsed = t - u
        mark = nb._mark[i]
        if elapsed > 0 and t > nb._until[i]:
            vaccines = self.facility.vaccines
            out = vaccines.stockout_days_until(t)
            nb._until[i] = vaccines.stocked_until(t)
        else:  # the shelf has not run dry since: no lookup (most settlements)
            out = mark
        if group is not None and nb._version[i] != group.version:
            self._read_posts(t, group, out - mark)
        if elapsed <= 0:
            return
        practice = (elapsed - (out - mark)) * self.facility.practice_intensity
        active = elapsed if group is not None else 0.0  # she joined at a settlement
        d = self.dyn
        nb._x[i] += competency.decay_exposure(
            elapsed, practice, active, d.practice_protection, d.whatsapp_protection
        )
        nb._t[i] = t
        nb._mark[i] = out

    def _read_posts(self, t: float, group: WhatsAppGroup, stocked_out: float) -> None:
        """Apply the posts she has not read yet (see :class:`~sim.agents.network.WhatsAppGroup`).

        Her exposure is piecewise linear between her settled time and ``t``, its
        slope changing where the vaccine shelf empties or is refilled (none of that
        if there were no ``stocked_out`` days in between, the usual case).
        """
        nb, i = self.nurses, self.row
        if self.dyn.decay_per_day * (nb._x[i] - nb._x_ref[i]) > _REFOLD:
            self._set(self.scores())
        at = i * N_AREAS  # her areas' items in the flat views
        seen = nb._seen if nb._epoch[i] == group.epoch else None
        pieces = self._pieces(t, group, stocked_out)
        if len(pieces) == 1:
            _, slot, coef = pieces[0]
            group.read_since(nb._gain, nb._baseline, seen, at, slot, coef)
        else:
            group.read(nb._gain, nb._baseline, seen, at, pieces)
        counts = group.row * N_AREAS
        nb._seen[at:at + N_AREAS] = group.table.n[counts:counts + N_AREAS]
        nb._epoch[i] = group.epoch
        nb._version[i] = group.version

    def _pieces(self, t: float, group: WhatsAppGroup, stocked_out: float) -> list[tuple[float, int, float]]:
        """Her exposure from her settled time to ``t`` in pieces of one slope, split where
        the shelf emptied or was refilled (one piece without ``stocked_out`` days): each
        piece's end, its slope's slot in the group, and its ``coef`` (see
        :meth:`~sim.agents.network.WhatsAppGroup.read_since`) at its start."""
        nb, i = self.nurses, self.row
        k = self.dyn.decay_per_day
        u = nb._t[i]
        slot_in, slot_out = nb._slot[2 * i], nb._slot[2 * i + 1]
        slope_in, slope_out = nb._slope[2 * i], nb._slope[2 * i + 1]
        empty, flips = (False, ()) if stocked_out == 0.0 else self.facility.vaccines.flips(u, t)
        x = nb._x[i] - nb._x_ref[i]
        pieces = []
        for end in (*flips, t):
            slope = slope_out if empty else slope_in
            pieces.append((end, slot_out if empty else slot_in,
                           math.exp(k * (x - slope * (u - group.origin)))))
            x += slope * (end - u)
            u, empty = end, not empty
        return pieces

    def join_group(self, group: WhatsAppGroup) -> None:
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

    def plan_visit(self, t: float, interval: float, min_gap: float) -> None:
        """A mentor visits her at ``t`` (the training itself: :func:`visit_all`)."""
        self.nurses._visits[self.row] += 1
        # Keep to the plan (one visit per interval) but never crowd a late visit.
        due = self.nurses._next_due
        due[self.row] = max(due[self.row] + interval, t + min_gap)

    def train(self, t: float, gain: np.ndarray) -> None:
        """A classroom course: an immediate gain in every area, capped at 4."""
        self.catch_up(t)
        self._set(np.minimum(self.c + gain, competency.MAX_SCORE).tolist())


def settle(nurses: Nurses, rows: np.ndarray, t: float) -> None:
    """:meth:`Mentee.catch_up` for the enrolled nurses of several posts at once, ``rows``
    (distinct).

    The same arithmetic, in the same order, as settling them one by one, so the
    results are identical: the nurses' groups draw their posts first (as the
    first member's settlement would), the shelves are looked up, and then each
    nurse's reading and exposure are settled by compiled code
    (:func:`_settle_rows`). The stock-out lookups, refolds and readings across
    stock-out flips are worked out nurse by nurse, before it. A handful of nurses
    (a pilot's day) are settled one by one: the array operations around the
    compiled code cost tens of microseconds each time, whatever their size.
    """
    nb = nurses
    if len(rows) < _FEW:
        for row in rows.tolist():
            nb.facilities[row].mentee.catch_up(t)
        return
    g = nb.group[rows]
    member = g >= 0
    table = nb.posts
    for group in dict.fromkeys(g[member].tolist()):  # in the order a loop would come to them
        table.groups[group].advance(t)
    u = nb.t[rows]
    mark = nb.mark[rows]
    out = mark.copy()
    for j in np.flatnonzero((t > u) & (t > nb.stocked_until[rows])).tolist():
        row = rows.item(j)
        vaccines = nb.facilities[row].vaccines
        out[j] = vaccines.stockout_days_until(t)
        nb._until[row] = vaccines.stocked_until(t)
    slot = np.full(len(rows), -1, np.int64)  # a reading's one piece, if not in stock throughout
    coef = np.zeros(len(rows))
    if member.any():
        fresh = np.flatnonzero(member & (nb.version[rows] != table.version[g]))
        if fresh.size:
            _prepare_reading(nb, fresh, rows, g, out - mark, t, table, slot, coef)
    d = nb.dyn
    _settle_rows(rows, float(t), out, slot, coef, d.decay_per_day, d.practice_protection,
                 d.whatsapp_protection, table.reinforcement, nb.group, nb.version, nb.t, nb.mark,
                 nb.x, nb.x_ref, nb.intensity, nb.slot, nb.slope, nb.seen, nb.epoch, nb.gain,
                 nb.baseline, table.version, table.origin, table.epoch, table.counts, table.sums,
                 table.keep)


def _prepare_reading(nb: Nurses, fresh: np.ndarray, rows: np.ndarray, g: np.ndarray,
                     stocked_out: np.ndarray, t: float, table: PostSums, slot: np.ndarray,
                     coef: np.ndarray) -> None:
    """What :func:`_settle_rows` cannot do of :meth:`Mentee._read_posts` for the nurses
    ``fresh`` (positions in ``rows``, their groups ``g``), who have posts to read at
    ``t``: refold gains, and work out the pieces of the readings across stock-out
    flips. A reading of one piece out of stock gets its ``slot`` and ``coef``; readings
    of several pieces are done here."""
    k = nb.dyn.decay_per_day
    folded = rows[fresh]
    for row in folded[k * (nb.x[folded] - nb.x_ref[folded]) > _REFOLD].tolist():
        mentee = nb.facilities[row].mentee
        mentee._set(mentee.scores())
    split, pieces = [], []
    for i in fresh[stocked_out[fresh] != 0.0].tolist():
        mentee = nb.facilities[rows.item(i)].mentee
        p = mentee._pieces(t, mentee.group, stocked_out.item(i))
        if len(p) == 1:  # out of stock throughout: one piece
            slot[i], coef[i] = p[0][1], p[0][2]
        else:
            split.append(i)
            pieces.append(p)
    if not split:
        return
    if len(split) >= _FEW:
        r, gj = rows[split], g[split]
        most = max(map(len, pieces))
        padded = np.array([p + [(t, 0, 0.0)] * (most - len(p)) for p in pieces])
        nb.gain[r] = table.read_pieces(gj, _seen(nb, r, table.epoch[gj]), nb.gain[r],
                                       nb.baseline[r], padded[:, :, ::2],
                                       padded[:, :, 1].astype(np.intp))
    else:  # a few: one by one
        for i, p in zip(split, pieces, strict=True):
            row = rows.item(i)
            group = table.groups[g.item(i)]
            seen = nb._seen if nb._epoch[row] == group.epoch else None
            group.read(nb._gain, nb._baseline, seen, row * N_AREAS, p)
    r, gj = rows[split], g[split]
    nb.seen[r] = table.counts[gj]
    nb.epoch[r] = table.epoch[gj]
    nb.version[r] = table.version[gj]


@njit(cache=True)
def _settle_rows(rows, t, out, slot, coef, k, practice_protection, whatsapp_protection,
                 reinforcement, group, version, settled, mark, x, x_ref, intensity, slots, slopes,
                 seen, epoch, gain, baseline, group_version, origin, group_epoch, counts, sums,
                 keep):
    """Settle each of ``rows`` to ``t``, compiled: read her group's new posts in one piece
    (:meth:`~sim.agents.network.WhatsAppGroup.read_since`; at the in-stock slope unless
    ``slot`` names another, with its ``coef``), then add her exposure, her shelf's
    stock-out days having reached ``out``. :meth:`Mentee.catch_up`'s arithmetic, in its
    order, with the C library's ``exp`` as Python's, so the results are the same bit for
    bit. Readings of several pieces are done before (:func:`_prepare_reading`)."""
    for j in range(rows.size):
        i = rows[j]
        g = group[i]
        if g >= 0 and version[i] != group_version[g]:
            s = slot[j]
            if s < 0:
                s = slots[i, 0]
                c = math.exp(k * ((x[i] - x_ref[i]) - slopes[i, 0] * (settled[i] - origin[g])))
            else:
                c = coef[j]
            rc = reinforcement * c
            same = epoch[i] == group_epoch[g]
            for a in range(N_AREAS):
                n = counts[g, a]
                lo = seen[i, a] if same else 0
                if lo != n:
                    gain[i, a] = (keep[n - lo] * gain[i, a] + rc * (competency.MAX_SCORE - baseline[i, a])
                                  * (sums[g, s, a, n] - sums[g, s, a, lo]) * keep[n])
                seen[i, a] = n
            epoch[i] = group_epoch[g]
            version[i] = group_version[g]
        elapsed = t - settled[i]
        if elapsed > 0:
            practice = (elapsed - (out[j] - mark[i])) * intensity[i]
            active = elapsed if g >= 0 else 0.0
            x[i] += elapsed - practice_protection * practice - whatsapp_protection * active
            settled[i] = t
            mark[i] = out[j]


def _seen(nurses: Nurses, rows: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """The posts per area the nurses have read in their groups' current ``epoch`` (none if
    they last read in an earlier one)."""
    return np.where((nurses.epoch[rows] == epoch)[:, None], nurses.seen[rows], 0)


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
    """The training of :func:`visit_all`: her competency now (:func:`competency.decay`),
    her agenda (:func:`competency.agenda`), what it closes of her gaps
    (:func:`competency.learn`), all refolded at her exposure now. Its arithmetic, with
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
    out = competency.learn(c, competency.agenda(c, weights, noise.shape[1]), remaining)
    for j in range(rows.size):
        i = rows[j]
        for a in range(N_AREAS):
            gain[i, a] = out[j, a] - baseline[i, a]
        x_ref[i] = x[i]


def competencies(nurses: Nurses, rows: np.ndarray) -> np.ndarray:
    """Competency of settled nurses at once, one row each (for monthly readings)."""
    return competency.decay(nurses.baseline[rows], nurses.gain[rows], nurses.dyn.decay_per_day,
                            (nurses.x[rows] - nurses.x_ref[rows])[:, None])


def nurse_post(model: Model, facility: Facility):
    """SimPy process: the facility's MCH nurse post through turnover and furloughs.

    The post holder is enrolled while the facility is in the programme. She
    leaves at a constant turnover hazard (transfer, resignation); the post then
    stays vacant for an exponential delay before a new nurse, with a fresh
    baseline, takes it and is enrolled, so late joiners get fewer visits. A
    furlough ends her spell; if the facility comes back, she comes back with it.
    """
    env = model.env
    cfg = model.config.mentee.turnover
    leave_rng = model.streams("mentee.turnover", *facility.key)
    vacancy_rng = model.streams("mentee.vacancy", *facility.key)
    nurse = model.new_mentee(facility)
    while True:
        if not facility.in_programme:
            yield facility.returned
        model.enrol(nurse)
        quits = (env.timeout(leave_rng.exponential(365.0 / cfg.hazard_per_year))
                 if cfg.hazard_per_year > 0 else env.event())
        fired = yield env.any_of((quits, facility.left, nurse.promoted))
        turned_over = quits in fired
        if nurse.promoted in fired and not turned_over:
            # She now mentors others and keeps her post; it falls vacant when she leaves.
            yield quits
            if cfg.vacancy_days_mean > 0:
                yield env.timeout(vacancy_rng.exponential(cfg.vacancy_days_mean))
            nurse = model.new_mentee(facility)
            continue
        if not turned_over:
            model.end_spell(nurse, "furlough")
            continue
        model.end_spell(nurse, "turnover")
        if cfg.vacancy_days_mean > 0:
            yield env.timeout(vacancy_rng.exponential(cfg.vacancy_days_mean))
        nurse = model.new_mentee(facility)
