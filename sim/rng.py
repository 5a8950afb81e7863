"""Random streams: one numpy Generator per (replicate, process, entity).

Every stochastic process draws from its own stream, spawned from the root
:class:`numpy.random.SeedSequence` with a spawn key built from the replicate
number, a stable code for the process name and the entity's index. Two runs
that differ in one knob therefore share every unrelated draw (common random
numbers), and a run is a pure function of (config, seed, replicate): no global
random state is touched.
"""

from __future__ import annotations

import zlib

import numpy as np


def code(name: str) -> int:
    """A stable integer for a name (``hash()`` is salted per interpreter)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created, cached generators for one replicate of one run."""

    def __init__(self, seed: int, replicate: int) -> None:
        self.seed = int(seed)
        self.replicate = int(replicate)
        self._cache: dict[tuple[int, ...], np.random.Generator] = {}
        self._codes: dict[str, int] = {}

    def __call__(self, process: str, *entity: int) -> np.random.Generator:
        """The stream of ``process`` for ``entity`` (a tuple of integers)."""
        c = self._codes.get(process)
        if c is None:
            c = self._codes[process] = code(process)
        key = (self.replicate, c, *entity)
        gen = self._cache.get(key)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=key)
            gen = self._cache[key] = np.random.Generator(np.random.PCG64(seq))
        return gen
