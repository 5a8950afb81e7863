"""Named bundles of the arrays the fast engine's compiled kernels read and write.

A kernel's parameters are its few plain values followed by the fields of these
bundles, in order; :func:`takes` checks that when the module loads, so a kernel's
signature cannot drift from its bundles, and callers pass bundles, unpacked
(``_settle_rows(rows, t, *decay, *nurses, *groups, *posts, *shelves)``), never a long
list of positional arrays. They are unpacked at the call because numba unboxes a
tuple argument several times more slowly than the same arrays one by one (about
20 µs a call for four bundles), and kernels are called tens of thousands of times a
run; inside compiled code, kernels pass bundles to each other whole.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Decay(NamedTuple):
    """Competency parameters a settlement uses (``mentee.decay``, ``whatsapp``)."""

    k: float  # decay rate a day
    practice_protection: float
    whatsapp_protection: float
    reinforcement: float  # the share of a gap a post closes


class NurseArrays(NamedTuple):
    """A nurse's state, a row per post (:class:`~sim.engines.fast.nurses.Nurses`)."""

    group: np.ndarray  # her group's row while an active member, else -1
    version: np.ndarray  # the group's version she last read at
    settled: np.ndarray  # the time she is settled to
    mark: np.ndarray  # her facility's stock-out days (from day 0) then
    until: np.ndarray  # until when that mark stays as it is
    x: np.ndarray  # unprotected exposure, days
    x_ref: np.ndarray  # the exposure her gains are folded at
    intensity: np.ndarray  # her facility's practice intensity
    slots: np.ndarray  # her slopes' slots in her group's sums: in stock, in a stock-out
    slopes: np.ndarray  # her exposure a day: in stock, in a stock-out
    seen: np.ndarray  # her group's posts per area she has read
    epoch: np.ndarray  # the group's epoch she last read in
    gain: np.ndarray  # her gains per area above her baseline, folded at x_ref
    baseline: np.ndarray  # her baseline per area


class GroupState(NamedTuple):
    """Each group's epoch, a row per group (:class:`~sim.engines.fast.groups.PostSums`)."""

    group_version: np.ndarray  # the serial of its last post or epoch start
    origin: np.ndarray  # its epoch's start
    group_epoch: np.ndarray


class PostTable(NamedTuple):
    """Each group's posts this epoch (:class:`~sim.engines.fast.groups.PostSums`)."""

    counts: np.ndarray  # posts per (group, area)
    times: np.ndarray  # each post's time per (group, area)
    sums: np.ndarray  # prefix sums per (group, slope slot, area)
    keep: np.ndarray  # (1 - r) ** i


class ShelfArrays(NamedTuple):
    """Every facility's vaccine deliveries (:class:`~sim.engines.fast.shelves.Shelves`)."""

    since: np.ndarray
    level: np.ndarray
    cum: np.ndarray
    start: np.ndarray  # facility i's deliveries are start[i]:start[i + 1]


class RoundArrays(NamedTuple):
    """The mentors' calendar, a row per caseload slot (:class:`~sim.engines.fast.rounds.Rounds`)."""

    rows: np.ndarray  # her caseload's posts, padded with a row never due
    hours: np.ndarray  # a visit's hours with travel, per post
    days: np.ndarray  # her release days (inf past them)
    ends: np.ndarray  # each round's window end
    absent: np.ndarray  # whether she is called away that day
    count: np.ndarray  # her release days
    following: np.ndarray  # her first release day not yet past
    wake: np.ndarray  # the release day she wakes on
    wake_day: np.ndarray  # that day (inf: none)
    entry: np.ndarray  # when she was entered: a day's rounds go in this order


class DueArrays(NamedTuple):
    """What a round reads and writes of the nurses, a row per post."""

    ids: np.ndarray  # the nurse in the post (breaks ties)
    next_due: np.ndarray  # when her next visit is due (inf: not enrolled)
    visits: np.ndarray  # visits in her current spell


class VisitRule(NamedTuple):
    """The visit-scheduling rule's parameters (``mentor``)."""

    cap: int  # max_visits_per_day
    workday: float  # workday_hours
    interval: float  # target_interval_days
    min_gap: float  # min_days_between_visits


def takes(*parts: str | type) -> Callable:
    """Check that a compiled kernel's parameters are ``parts``: plain names and bundle
    types, whose fields stand in their place, in order."""
    want = [name for part in parts
            for name in ((part,) if isinstance(part, str) else part._fields)]

    def check(kernel: Callable) -> Callable:
        got = list(inspect.signature(kernel.py_func).parameters)
        if got != want:
            raise TypeError(f"{kernel.__name__} takes {got}, its bundles give {want}")
        return kernel

    return check
