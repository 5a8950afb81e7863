"""Random streams: bulk seeding reproduces numpy's SeedSequence word for word."""

from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rng import Batched, BatchedRows, Streams, seed_states

U32 = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**80), length=st.integers(0, 6),
       data=st.data())
def test_seed_states_match_seedsequence(seed, length, data):
    keys = [tuple(data.draw(st.lists(U32, min_size=length, max_size=length)))
            for _ in range(data.draw(st.integers(1, 5)))]
    got = seed_states(seed, keys)
    for key, words in zip(keys, got, strict=True):
        expected = np.random.SeedSequence(seed, spawn_key=key).generate_state(4, np.uint64)
        np.testing.assert_array_equal(words, expected)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**80),
       keys=st.lists(st.lists(U32, max_size=6).map(tuple), min_size=1, max_size=8))
def test_seed_states_of_keys_of_mixed_lengths_match_seedsequence(seed, keys):
    got = seed_states(seed, keys)
    for key, words in zip(keys, got, strict=True):
        expected = np.random.SeedSequence(seed, spawn_key=key).generate_state(4, np.uint64)
        np.testing.assert_array_equal(words, expected)


def test_streams_of_several_processes_seeded_together_are_the_single_streams():
    together, single = Streams(11, 2), Streams(11, 2)
    wanted = {"mentee.turnover": [(0, k) for k in range(5)],
              "mentor.absence": [(1, k, 0) for k in range(4)], "facility.furlough": []}
    together.prepare(wanted)
    for process, entities in wanted.items():
        for e in entities:
            np.testing.assert_array_equal(together(process, *e).random(4),
                                          single(process, *e).random(4))


def test_prepared_streams_are_the_streams_made_one_by_one():
    bulk, single = Streams(42, 3), Streams(42, 3)
    entities = [(7, o, k) for o in range(3) for k in range(20)]
    bulk.prepare({"supply.vaccines": entities})
    for e in entities:
        a = bulk("supply.vaccines", *e).random(5)
        b = single("supply.vaccines", *e).random(5)
        np.testing.assert_array_equal(a, b)


def test_streams_drawn_once_are_the_cached_streams():
    streams = Streams(7, 0)
    entities = [(1, k) for k in range(10)]
    for e, gen in zip(entities, streams.once({"supply.cards": entities})["supply.cards"],
                      strict=True):
        np.testing.assert_array_equal(gen.random(3), Streams(7, 0)("supply.cards", *e).random(3))


def test_batched_draws_are_the_single_draws():
    # across several batch boundaries, for floats and for integers
    batched, single = np.random.default_rng(5), np.random.default_rng(5)
    normal = Batched(lambda size: batched.normal(0.3, 2.0, size))
    got = [normal.next() for _ in range(3 * Batched.SIZE + 7)]
    assert got == [single.normal(0.3, 2.0) for _ in range(len(got))]
    assert all(type(x) is float for x in got)
    batched, single = np.random.default_rng(6), np.random.default_rng(6)
    areas = Batched(lambda size: batched.integers(8, size=size))
    got = [areas.next() for _ in range(2 * Batched.SIZE + 1)]
    assert got == [int(single.integers(8)) for _ in range(len(got))]


@settings(max_examples=30, deadline=None)
@given(days=st.lists(st.lists(st.integers(0, 9), unique=True, min_size=1, max_size=10),
                     min_size=1, max_size=40),
       n=st.integers(1, 8))
def test_rows_of_batched_draws_are_each_rows_own_batched_draws(days, n):
    # each day takes n draws from some rows, in any order: row by row they must be the
    # numbers of that row's own stream, across batch boundaries (n does not divide 64)
    def stream(row):
        return np.random.default_rng(100 + row).normal
    rows = BatchedRows(10, lambda row: partial(stream(row), 0.5, 2.0))
    alone = {row: Batched(partial(stream(row), 0.5, 2.0)) for row in range(10)}
    for day in days:
        got = rows.take(np.array(day, np.intp), n)
        for row, draws in zip(day, got.tolist(), strict=True):
            assert draws == [alone[row].next() for _ in range(n)]
