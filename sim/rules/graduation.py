"""Graduation: a mentee who has mastered every area may become a mentor.

A mentee qualifies once every area's checklist level has been at ``threshold`` or
above for ``months`` consecutive month-end readings (``scaleup.graduation``). A
phase that recruits ``graduates`` promotes the longest-qualified first; she ends her
mentee spell and mentors from her own post until she leaves it.
"""

from __future__ import annotations

import numpy as np


def at_level(levels: np.ndarray, threshold: int) -> np.ndarray:
    """Whether a reading's checklist ``levels`` (the last axis: areas) reach ``threshold``
    in every area: one answer for a nurse, or one per row of nurses."""
    return (np.asarray(levels) >= threshold).all(axis=-1)


def months_at_level(previous: np.ndarray, at_level_now: np.ndarray) -> np.ndarray:
    """Consecutive readings at the level, this one included: for a nurse, or for each of
    an array of nurses."""
    return np.where(at_level_now, np.asarray(previous) + 1, 0)


def qualifies(months: np.ndarray, required: int) -> np.ndarray:
    """She qualifies on the reading that completes the required run (once: later readings
    at the level do not qualify her again); for a nurse or for each of an array."""
    return np.asarray(months) == required
