"""Mentee: the facility's MCH nurse, her competency, and turnover of the post.

Competency is a vector over the eight technical areas, continuous in [0, 4].
It changes only at events (a visit, a WhatsApp post, a spell's end, a monthly
reading); between events it decays, and the decay owed is settled lazily by
:meth:`Mentee.catch_up` from the facility's stock-out counter and the nurse's
group membership, so no process wakes daily to age anyone's skills.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from sim import competency

if TYPE_CHECKING:
    from sim.agents.facility import Facility
    from sim.agents.network import WhatsAppGroup
    from sim.config import Config
    from sim.model import Model
    from sim.rng import Batched


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


class Mentee:
    """One nurse; she may have several enrolment spells (e.g. after a furlough).

    Her competency is kept as her baseline plus her gains, with the gains'
    decay folded into one number: decay is exponential in the unprotected
    exposure, so the gains at any moment are ``gain * exp(-k (x - x_ref))``
    where ``x`` is her exposure so far. Settling decay is then a scalar update
    of ``x``, and a WhatsApp post touches one area with a few scalar
    operations, instead of decaying all eight areas every time.
    """

    __slots__ = ("id", "who", "facility", "baseline", "_gain", "_x", "_x_ref", "engagement",
                 "dyn", "t", "_stockout_mark", "_stocked_until", "group", "slopes", "_seen", "_epoch",
                 "spell_start", "spell_visits", "next_due", "proficient_months", "promoted")

    def __init__(
        self,
        mid: int,
        facility: Facility,
        baseline: np.ndarray,
        engagement: float,
        dynamics: Dynamics,
        t: float,
    ) -> None:
        self.id = mid
        self.who = f"mentee:{mid}"  # as the cost ledger names her
        self.facility = facility
        self.baseline = baseline.tolist()
        self._gain = [0.0] * len(self.baseline)  # gains above baseline at exposure _x_ref
        self._x = 0.0  # unprotected exposure, days, accumulated since she took the post
        self._x_ref = 0.0
        # Uniform draw; she is an active group member if it is below active_probability,
        # so raising that probability only ever adds members (common random numbers).
        self.engagement = engagement
        self.dyn = dynamics
        self.t = t  # time up to which exposure is settled
        self._stockout_mark = 0.0  # her facility's stock-out days (from day 0) at self.t
        self._stocked_until = -math.inf  # until when the mark stays as it is
        self.group: WhatsAppGroup | None = None  # her group while an active member
        self.slopes = (1.0, 1.0)  # exposure per day in her group: in stock, in a stock-out
        # the group's posts per area she has read: its counts when she read them, which the
        # group replaces (never changes) at each post, so `is` tells whether there are new ones
        self._seen: tuple[int, ...] = ()
        self._epoch = 0
        self.spell_start = t
        self.spell_visits = 0
        self.next_due = t
        self.proficient_months = 0  # consecutive month-end readings at the graduation level
        self.promoted = None  # a SimPy event, fired if she graduates into a mentor

    def scores(self) -> list[float]:
        """Competency per area at ``self.t``, continuous in [0, 4] (see :func:`competency.decay`)."""
        f = math.exp(-self.dyn.decay_per_day * (self._x - self._x_ref))
        return [b + g * f for b, g in zip(self.baseline, self._gain, strict=True)]

    @property
    def c(self) -> np.ndarray:
        """Competency per area at ``self.t``, as an array."""
        return np.array(self.scores())

    def _set(self, c: list[float]) -> None:
        self._gain = [x - b for x, b in zip(c, self.baseline, strict=True)]
        self._x_ref = self._x

    def catch_up(self, t: float) -> None:
        """Settle the exposure from ``self.t`` to ``t`` while enrolled and working, and
        what her group's posts in that interval did."""
        group = self.group
        if group is not None:
            group.advance(t)  # before reading self.t: drawing posts may settle her
        elapsed = t - self.t
        mark = self._stockout_mark
        if elapsed > 0 and t > self._stocked_until:
            vaccines = self.facility.vaccines
            out = vaccines.stockout_days_until(t)
            self._stocked_until = vaccines.stocked_until(t)
        else:  # the shelf has not run dry since: no lookup (most settlements)
            out = mark
        if group is not None and (self._seen is not group.counts):
            self._read_posts(t, group, out - mark)
        if elapsed <= 0:
            return
        practice = (elapsed - (out - mark)) * self.facility.practice_intensity
        active = elapsed if group is not None else 0.0  # she joined at a settlement
        d = self.dyn
        self._x += competency.decay_exposure(
            elapsed, practice, active, d.practice_protection, d.whatsapp_protection
        )
        self.t = t
        self._stockout_mark = out

    def _read_posts(self, t: float, group: WhatsAppGroup, stocked_out: float) -> None:
        """Apply the posts she has not read yet (see :class:`~sim.agents.network.WhatsAppGroup`).

        Her exposure is piecewise linear between ``self.t`` and ``t``, its slope
        changing where the vaccine shelf empties or is refilled (none of that if
        there were no ``stocked_out`` days in between, the usual case).
        """
        k = self.dyn.decay_per_day
        if k * (self._x - self._x_ref) > _REFOLD:
            self._set(self.scores())
        seen = self._seen if self._epoch == group.epoch else None
        slope_in, slope_out = self.slopes
        empty, flips = (False, ()) if stocked_out == 0.0 else self.facility.vaccines.flips(self.t, t)
        x = self._x - self._x_ref
        if not flips:
            slope = slope_out if empty else slope_in
            group.read_since(self._gain, self.baseline, seen, slope,
                             math.exp(k * (x - slope * (self.t - group.origin))))
        else:
            pieces = []
            u = self.t
            for end in (*flips, t):
                slope = slope_out if empty else slope_in
                pieces.append((end, slope, math.exp(k * (x - slope * (u - group.origin)))))
                x += slope * (end - u)
                u, empty = end, not empty
            group.read(self._gain, self.baseline, seen, pieces)
        self._seen = group.counts
        self._epoch = group.epoch

    def join_group(self, group: WhatsAppGroup) -> None:
        """Become an active member of ``group`` (she is settled to now)."""
        self.group = group
        self.slopes = self.dyn.slopes(self.facility.practice_intensity)
        self._seen = group.counts
        self._epoch = group.epoch

    def leave_group(self) -> None:
        self.group = None

    def start_spell(self, t: float) -> None:
        """Enrol: time away (a furlough) decays skills with no practice to slow it."""
        self._x += t - self.t
        self.t = t
        vaccines = self.facility.vaccines
        self._stockout_mark = vaccines.stockout_days_until(t)
        self._stocked_until = vaccines.stocked_until(t)
        self.spell_start = t
        self.spell_visits = 0
        self.next_due = t

    def plan_visit(self, t: float, interval: float, min_gap: float) -> None:
        """A mentor visits her at ``t`` (the training itself: :func:`visit_all`)."""
        self.spell_visits += 1
        # Keep to the plan (one visit per interval) but never crowd a late visit.
        self.next_due = max(self.next_due + interval, t + min_gap)

    def train(self, t: float, gain: np.ndarray) -> None:
        """A classroom course: an immediate gain in every area, capped at 4."""
        self.catch_up(t)
        self._set(np.minimum(self.c + gain, competency.MAX_SCORE).tolist())


def visit_all(mentees: list[Mentee], weights: np.ndarray, noise: list[Batched], t: float) -> None:
    """Mentoring visits at ``t`` to several nurses (each once): hands-on training on
    each one's agenda, the top areas by gap weighted by her subcounty's priority
    ``weights`` (a row each).

    The visits of a day are independent of each other, so they are trained as one
    array operation (:func:`competency.agenda`, :func:`competency.learn`); the
    exponentials are taken one by one with ``math.exp``, as a nurse's settlement
    does, so the results are those of training each nurse alone. ``noise[i]`` gives
    normal draws with mean ``-sd**2 / 2``: each area's effort is their exponential,
    lognormal with mean 1.
    """
    for mentee in mentees:
        mentee.catch_up(t)
    d = mentees[0].dyn
    k, rate, n = d.decay_per_day, d.learning_rate, d.areas_per_visit
    base = _rows([m.baseline for m in mentees])
    c = competency.decay(base, _rows([m._gain for m in mentees]), k, _exposures(mentees))
    areas = competency.agenda(c, weights, n)
    remaining = np.array([math.exp(-rate * math.exp(e)) for z in noise for e in z.take(n)])
    gains = (competency.learn(c, areas, remaining.reshape(-1, n)) - base).tolist()
    for mentee, gain in zip(mentees, gains, strict=True):
        mentee._gain = gain
        mentee._x_ref = mentee._x


def competencies(mentees: list[Mentee]) -> np.ndarray:
    """Competency of settled mentees at once, one row each (for monthly readings)."""
    return competency.decay(_rows([m.baseline for m in mentees]), _rows([m._gain for m in mentees]),
                            mentees[0].dyn.decay_per_day, _exposures(mentees))


def _exposures(mentees: list[Mentee]) -> np.ndarray:
    """Each nurse's exposure since her gains were folded, as a column."""
    return np.array([m._x - m._x_ref for m in mentees])[:, None]


def _rows(lists: list[list[float]]) -> np.ndarray:
    """Equal-length lists of floats as the rows of an array (np.array, which checks
    every element's type, takes half as long again for a day's or a month's nurses)."""
    return np.fromiter(chain.from_iterable(lists), np.float64,
                       count=len(lists) * len(lists[0])).reshape(len(lists), -1)


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
