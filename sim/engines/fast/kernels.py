"""Copies of the competency rules on arrays of nurses, for the fast engine's kernels.

:func:`learn` and :func:`agenda` are :func:`sim.rules.competency.learn` and
:func:`~sim.rules.competency.agenda` on arrays with a row per nurse, compiled (numba)
so that the fast engine's compiled code can call them; :func:`decay_exposure` is
:func:`~sim.rules.competency.exposure`, compiled, and :func:`decay` is
:func:`~sim.rules.competency.decay` for many nurses at once (plain numpy, each
exponential taken with ``math.exp``). ``sim.engines.fast.contract``
checks that they still give what the rules give.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.rules.competency import MAX_SCORE


@njit(cache=True)
def learn(c: np.ndarray, areas: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """Competency after a visit's training, one row per nurse.

    Each nurse trains on her row of ``areas``; each trained area keeps the share
    ``remaining`` of its gap to 4, which is ``exp(-rate * effort)`` for the
    visit's learning rate and multiplicative noise ``effort`` (mean about 1), so
    returns diminish near proficiency and the score can never leave [0, 4].
    """
    out = c.copy()
    for j in range(areas.shape[0]):
        for q in range(areas.shape[1]):
            a = areas[j, q]
            out[j, a] = MAX_SCORE - (MAX_SCORE - out[j, a]) * remaining[j, q]
    return out


@njit(cache=True)
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
    reinforcement. With one exposure per nurse as a column, rows are nurses. The
    exponentials are taken one by one with ``math.exp``, as for a nurse on her own:
    numpy's vectorised ``exp`` differs from it in the last bit for some numbers, and
    by processor, which would make results depend on the machine.
    """
    exposure = np.asarray(exposure_days, dtype=np.float64)
    factor = [math.exp(-rate_per_day * e) for e in exposure.ravel().tolist()]
    return floor + gained * np.array(factor).reshape(exposure.shape)


@njit(cache=True)
def agenda(c: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` areas each nurse's visit works on, one row per nurse: the largest
    gaps, weighted by priority (ties to the lower-numbered area)."""
    rows, areas = c.shape
    out = np.empty((rows, n), np.int64)
    for j in range(rows):
        need = weights[j] * (c[j] - MAX_SCORE)  # most negative first
        taken = np.zeros(areas, np.bool_)
        for q in range(n):
            best = -1
            for a in range(areas):
                if not taken[a] and (best < 0 or need[a] < need[best]):
                    best = a
            taken[best] = True
            out[j, q] = best
    return out
