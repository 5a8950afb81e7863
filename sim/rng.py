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
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.random.bit_generator import ISeedSequence

# numpy's SeedSequence hash (bit_generator.pyx), for seeding many streams at once
_U32 = np.uint32
_INIT_A, _MULT_A = _U32(0x43B0D7E5), _U32(0x931E8875)
_INIT_B, _MULT_B = _U32(0x8B51F9DD), _U32(0x58F38DED)
_MIX_L, _MIX_R = _U32(0xCA01F9DD), _U32(0x4973F715)
_POOL = 4


def code(name: str) -> int:
    """A stable integer for a name (``hash()`` is salted per interpreter)."""
    return zlib.crc32(name.encode("utf-8"))


def _words(value: int) -> list[int]:
    """An integer as little-endian 32-bit words, as SeedSequence takes it (0 is one word)."""
    if value < 0:  # SeedSequence refuses it too; here it would never stop shifting
        raise ValueError(f"a seed must be non-negative, got {value}")
    out = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        out.append(value & 0xFFFFFFFF)
        value >>= 32
    return out


def seed_states(seed: int, keys: Sequence[tuple[int, ...]]) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=key).generate_state(4, np.uint64)`` for many keys.

    The same hash as numpy's, vectorised over keys whose elements are each below 2**32
    (tests check it word for word), of any lengths: a key's words are mixed in word by
    word, so a shorter key is a longer one that stops being mixed early. Seeding a
    stream this way costs about a microsecond instead of ten, and one call seeds every
    stream a model starts with.
    """
    run = _words(seed)
    run += [0] * (_POOL - len(run))  # numpy pads the run entropy when there is a spawn key
    lengths = np.array([len(k) for k in keys], dtype=np.intp)
    width = int(lengths.max(initial=0))
    padded = np.zeros((len(keys), width), dtype=np.uint64)
    rows_of: dict[int, list[int]] = {}
    for i, n in enumerate(lengths.tolist()):
        rows_of.setdefault(n, []).append(i)
    for n, rows in rows_of.items():
        if n:
            padded[rows, :n] = np.array([keys[i] for i in rows], dtype=np.uint64)
    if (padded >> np.uint64(32)).any():
        raise ValueError("spawn-key elements must be below 2**32")
    entropy = [np.full(len(keys), w, dtype=_U32) for w in run]
    entropy += [padded[:, j].astype(_U32) for j in range(width)]
    const = [_INIT_A]

    def hashmix(value: np.ndarray) -> np.ndarray:
        value = value ^ const[0]
        const[0] = _U32(int(const[0]) * int(_MULT_A) & 0xFFFFFFFF)
        value = value * const[0]
        return value ^ (value >> _U32(16))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = _MIX_L * x - _MIX_R * y
        return r ^ (r >> _U32(16))

    pool = [hashmix(entropy[i]) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(_POOL, len(entropy)):
        within = lengths > src - _POOL  # keys this long mix this word in; the rest stop
        for dst in range(_POOL):
            mixed = mix(pool[dst], hashmix(entropy[src]))
            pool[dst] = mixed if within.all() else np.where(within, mixed, pool[dst])
    out = []
    b = int(_INIT_B)
    for i in range(2 * _POOL):
        value = pool[i % _POOL] ^ _U32(b)
        b = b * int(_MULT_B) & 0xFFFFFFFF
        value = value * _U32(b)
        out.append((value ^ (value >> _U32(16))).astype(np.uint64))
    return np.stack([out[2 * j] | (out[2 * j + 1] << np.uint64(32)) for j in range(_POOL)], axis=1)


class Batched:
    """One distribution's draws from one stream, taken a batch at a time.

    numpy fills an array of draws with the same numbers, in the same order, as
    the same number of single draws, so batching changes no result; it saves
    the per-call overhead of a draw (a microsecond), which adds up when a
    stream is read at every visit or post.
    """

    __slots__ = ("_draw", "_size", "batch", "i")
    SIZE = 64

    def __init__(self, draw: Callable[[int], np.ndarray], size: int = SIZE) -> None:
        self._draw = draw  # draw(size) -> array
        self._size = size
        # this batch, kept as one numpy array rather than SIZE Python numbers: at national
        # scale thousands of streams hold a batch each, and scattered float objects cost
        # cache misses; compiled code reads it in place, from position ``i`` on
        self.refill()

    def next(self) -> float:
        if self.i == self._size:
            self.refill()
        i = self.i
        self.i = i + 1
        return self.batch.item(i)

    def refill(self) -> None:
        """The next batch, once this one is used up."""
        self.batch = self._draw(self._size)
        self.i = 0


class BatchedRows:
    """:class:`Batched` for many streams of one distribution, a row each (each facility's
    visit noise), so that the draws of many rows are taken in one array operation.

    The same numbers, in the same order, as a :class:`Batched` per row: a row's
    stream is made when it is first drawn from, and read ``Batched.SIZE`` at a time.
    """

    def __init__(self, rows: int, stream: Callable[[int], Callable[[int], np.ndarray]]) -> None:
        self._stream = stream  # stream(row) -> draw(size) -> array
        self._draws: dict[int, Callable[[int], np.ndarray]] = {}
        self._batch = np.empty((rows, Batched.SIZE))
        self._i = np.full(rows, Batched.SIZE)
        self._flat, self._at = self._batch.reshape(-1).data, self._i.data  # one row at a time

    def take(self, rows: np.ndarray, n: int) -> np.ndarray:
        """The next ``n`` draws of each of ``rows`` (distinct), a row each."""
        if len(rows) < 4:  # a pilot's day: one by one costs less than the array operations
            return np.array([self._take(row, n) for row in rows.tolist()]).reshape(len(rows), n)
        i = self._i[rows]
        short = i + n > Batched.SIZE  # these rows' batches run out: taken one by one below
        out = self._batch[rows[:, None], np.minimum(i, Batched.SIZE - n)[:, None] + np.arange(n)]
        self._i[rows[~short]] += n
        for j in np.flatnonzero(short).tolist():
            out[j] = self._take(rows.item(j), n)
        return out

    def _take(self, row: int, n: int) -> list[float]:
        """The next ``n`` draws of one row: the rest of its batch, then the next batch's."""
        size = Batched.SIZE
        k = self._at[row]
        first = row * size + k
        if k + n <= size:
            self._at[row] = k + n
            return self._flat[first:first + n].tolist()
        head = self._flat[first:(row + 1) * size].tolist()
        draw = self._draws.get(row)
        if draw is None:
            draw = self._draws[row] = self._stream(row)
        self._batch[row] = draw(size)
        self._at[row] = n - len(head)
        return head + self._flat[row * size:row * size + n - len(head)].tolist()


class _State(ISeedSequence):
    """A seed already hashed: what ``PCG64`` asks of a seed sequence."""

    __slots__ = ("_words",)

    def __init__(self, words: np.ndarray) -> None:
        self._words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words != _POOL or np.dtype(dtype) != np.uint64:
            raise ValueError("only PCG64's state (4 uint64 words) is precomputed")
        return self._words


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

    def prepare(self, wanted: Mapping[str, Sequence[tuple[int, ...]]]) -> None:
        """Create the streams of many processes and entities at once (``{process:
        entities}``): the same streams as one by one, seeded in one call, kept for later
        calls."""
        codes = {p: code(p) for p in wanted}
        todo = {p: [e for e in entities if (self.replicate, codes[p], *e) not in self._cache]
                for p, entities in wanted.items()}
        for process, gens in self.once(todo).items():
            c = codes[process]
            for e, gen in zip(todo[process], gens, strict=True):
                self._cache[(self.replicate, c, *e)] = gen

    def once(self, wanted: Mapping[str, Sequence[tuple[int, ...]]]
             ) -> dict[str, list[np.random.Generator]]:
        """The streams of many processes and entities (``{process: entities}``), seeded in
        one call and not kept: for a process that draws everything at once (a delivery
        schedule)."""
        keys = [(self.replicate, c, *e) for p, entities in wanted.items()
                for c in (code(p),) for e in entities]
        gens = iter([np.random.Generator(np.random.PCG64(_State(words)))
                     for words in seed_states(self.seed, keys)] if keys else [])
        return {p: [next(gens) for _ in entities] for p, entities in wanted.items()}
