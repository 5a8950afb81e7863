"""Competency of one nurse: learning at a visit, decay between events, posts, courses.

A nurse's competency is a vector over the eight technical areas, continuous in
[0, 4]; her baseline (what she knew before mentoring) is the floor her skills
decay back to. Each function takes one nurse's state and returns the new one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_SCORE = 4.0
PROFICIENT = 3  # checklist level: performs without support


def baseline(mean: np.ndarray, sd: float, draws: np.ndarray) -> np.ndarray:
    """A new nurse's competency per area before mentoring: ``mean`` plus ``sd`` times
    standard normal ``draws``, clipped to [0, 4] (``mentee.baseline``)."""
    return np.clip(mean + sd * draws, 0.0, MAX_SCORE)


def checklist(c: np.ndarray) -> np.ndarray:
    """The 0-4 checklist level a mentor would record: the nearest whole level."""
    return np.clip(np.floor(c + 0.5), 0, MAX_SCORE)


def priority_weights(order: Sequence[int], n_areas: int, decay_per_rank: float) -> np.ndarray:
    """Weight ``decay_per_rank ** rank`` for each area, rank 0 being the subcounty's top
    priority (``subcounties[].priorities``, ``mentee.learning.priority_weight_decay``)."""
    w = np.empty(n_areas)
    for rank, area in enumerate(order):
        w[area] = decay_per_rank**rank
    return w


def agenda(c: np.ndarray, weights: np.ndarray, n: int) -> list[int]:
    """The ``n`` areas a visit works on: the largest gaps to 4 weighted by priority, ties
    to the lower-numbered area (``mentee.learning.areas_per_visit``)."""
    need = weights * (c - MAX_SCORE)  # most negative first
    return sorted(range(len(c)), key=lambda a: (need[a], a))[:n]


def effort(draw: float) -> float:
    """A visit's effort on one agenda area from a normal draw with mean ``-sd**2 / 2``
    (``mentee.learning.noise_sd``): lognormal with mean 1."""
    return math.exp(draw)


def learn(c: np.ndarray, areas: Sequence[int], efforts: Sequence[float], rate: float) -> np.ndarray:
    """Competency after a visit: each agenda area keeps ``exp(-rate * effort)`` of its gap
    to 4 (``mentee.learning.rate``), so returns diminish near proficiency and the score
    never leaves [0, 4]."""
    out = c.copy()
    for area, e in zip(areas, efforts, strict=True):
        out[area] = MAX_SCORE - (MAX_SCORE - out[area]) * math.exp(-rate * e)
    return out


def exposure(elapsed: float, practice_days: float, active_days: float,
             practice_protection: float, whatsapp_protection: float) -> float:
    """Days of unprotected decay in an interval of ``elapsed`` days: practice (days with
    sessions held, weighted by the facility's practice intensity) and active WhatsApp
    membership each remove a share (``mentee.decay.practice_protection``,
    ``whatsapp_protection``; the config caps their sum at 1)."""
    return elapsed - practice_protection * practice_days - whatsapp_protection * active_days


def decay(c: np.ndarray, floor: np.ndarray, rate_per_day: float, exposure_days: float) -> np.ndarray:
    """Competency after ``exposure_days`` of unprotected decay: what was learned above the
    baseline ``floor`` fades exponentially (``mentee.decay.rate_per_year / 365``)."""
    return floor + (c - floor) * math.exp(-rate_per_day * exposure_days)


def post(c: np.ndarray, area: int, reinforcement: float) -> np.ndarray:
    """A WhatsApp post on ``area`` closes a share ``reinforcement`` of its gap to 4 for an
    active member (``whatsapp.reinforcement``)."""
    out = c.copy()
    out[area] += reinforcement * (MAX_SCORE - out[area])
    return out


def course(c: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """A classroom course: ``classroom.gain`` points in every area, capped at 4."""
    return np.minimum(c + gain, MAX_SCORE)


def practice_intensity(sessions_per_week: float, nurses: int) -> float:
    """How much of a week the post holder spends immunizing: the facility's sessions shared
    among its immunizing nurses, full practice at a session every weekday."""
    return min(1.0, sessions_per_week / nurses / 5.0)
