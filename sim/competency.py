"""Competency maths: learning at a visit, decay between visits, checklist scoring.

Pure functions of per-area competency, kept continuous in [0, 4]: a visit's
maths on one nurse's eight floats (plain Python is faster than numpy at that
size), decay and scoring on arrays. The SimPy processes decide *when* these
apply; this module decides *how much*.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_SCORE = 4.0
PROFICIENT = 3  # checklist level: performs without support


def learn(c: Sequence[float], areas: Sequence[int], rate: float,
          effort: Sequence[float]) -> list[float]:
    """Competency after training on ``areas``.

    Each trained area closes a share ``1 - exp(-rate * effort)`` of its gap to 4,
    so returns diminish near proficiency and the score can never leave [0, 4].
    ``effort`` is the visit's multiplicative noise (mean about 1), one per area.
    """
    out = [float(x) for x in c]
    for a, e in zip(areas, effort, strict=True):
        out[a] = MAX_SCORE - (MAX_SCORE - out[a]) * math.exp(-rate * e)
    return out


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


def decay(floor: np.ndarray, gained: np.ndarray, rate_per_day: float,
          exposure_days: float | np.ndarray) -> np.ndarray:
    """Competency after exponential decay of what was learned back towards ``floor``.

    What a nurse knew before mentoring (her baseline, the floor) is kept up by
    routine work; what she ``gained`` above it (never negative) fades without
    reinforcement. With one exposure per nurse as a column, rows are nurses.
    """
    return floor + gained * np.exp(-rate_per_day * exposure_days)


def agenda(c: Sequence[float], weights: Sequence[float], n: int) -> list[int]:
    """The ``n`` areas a visit works on: the largest gaps, weighted by priority
    (ties to the lower-numbered area)."""
    score = [w * (x - MAX_SCORE) for w, x in zip(weights, c)]  # noqa: B905 (hot; equal lengths)
    return sorted(range(len(score)), key=score.__getitem__)[:n]


def priority_weights(order: list[int], n_areas: int, decay_per_rank: float) -> np.ndarray:
    """Weight ``decay_per_rank ** rank`` for each area, rank 0 being the top priority."""
    w = np.empty(n_areas)
    for rank, area in enumerate(order):
        w[area] = decay_per_rank**rank
    return w


def checklist(c: np.ndarray) -> np.ndarray:
    """The 0-4 checklist level a mentor would record: the nearest whole level."""
    return np.clip(np.floor(c + 0.5), 0, MAX_SCORE)
