"""Competency maths: learning at a visit, decay between visits, checklist scoring.

Pure functions on numpy arrays of per-area competency, kept continuous in
[0, 4]. The SimPy processes decide *when* these apply; this module decides
*how much*.
"""

from __future__ import annotations

import numpy as np

MAX_SCORE = 4.0
PROFICIENT = 3  # checklist level: performs without support


def learn(c: np.ndarray, areas: np.ndarray, rate: float, effort: np.ndarray) -> np.ndarray:
    """Competency after training on ``areas``.

    Each trained area closes a share ``1 - exp(-rate * effort)`` of its gap to 4,
    so returns diminish near proficiency and the score can never leave [0, 4].
    ``effort`` is the visit's multiplicative noise (mean about 1), one per area.
    """
    out = c.copy()
    out[areas] = MAX_SCORE - (MAX_SCORE - c[areas]) * np.exp(-rate * effort)
    return out


def reinforce_one(c: float, gain: float) -> float:
    """A WhatsApp post on an area closes a share ``gain`` of that area's gap to 4."""
    return c + gain * (MAX_SCORE - c)


def decay_exposure(
    elapsed: float,
    practice_days: float,
    active_days: float,
    practice_protection: float,
    whatsapp_protection: float,
) -> float:
    """Days of unprotected decay in an interval.

    Decay runs at the full rate on days the nurse neither practises nor follows
    the WhatsApp group; practice (sessions held) and active group membership each
    remove a share of it. The shares add, and the config caps their sum at 1, so
    the exposure is never negative.
    """
    return elapsed - practice_protection * practice_days - whatsapp_protection * active_days


def decay(c: np.ndarray, floor: np.ndarray, rate_per_day: float, exposure_days: float) -> np.ndarray:
    """Exponential decay of what was learned, back towards ``floor`` (the baseline).

    What a nurse knew before mentoring is kept up by routine work; what she
    gained fades without reinforcement. Scores already below the floor stay put.
    """
    gained = np.maximum(c - floor, 0.0)
    return np.minimum(c, floor + gained * np.exp(-rate_per_day * exposure_days))


def agenda(c: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` areas a visit works on: the largest gaps, weighted by priority."""
    score = weights * (MAX_SCORE - c)
    return np.argsort(-score, kind="stable")[:n]


def priority_weights(order: list[int], n_areas: int, decay_per_rank: float) -> np.ndarray:
    """Weight ``decay_per_rank ** rank`` for each area, rank 0 being the top priority."""
    w = np.empty(n_areas)
    for rank, area in enumerate(order):
        w[area] = decay_per_rank**rank
    return w


def checklist(c: np.ndarray) -> np.ndarray:
    """The 0-4 checklist level a mentor would record: the nearest whole level."""
    return np.clip(np.floor(c + 0.5), 0, MAX_SCORE)
