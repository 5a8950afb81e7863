"""The model's clock: late timeouts come last at their instant, events are counted, and
nothing of ours reaches into SimPy's private attributes."""

from __future__ import annotations

import re
from pathlib import Path

import simpy

from sim.clock import Clock, DayEnd, Late

ROOT = Path(__file__).resolve().parents[1]


def test_late_timeouts_come_after_the_instants_other_events_however_early_scheduled():
    env = Clock()
    order = []

    def note(name):
        return lambda event: order.append((env.now, name))

    DayEnd(env, 5).callbacks.append(note("day end"))  # scheduled first, processed last
    Late(env, 5).callbacks.append(note("late"))

    def process():
        yield env.timeout(4)
        env.timeout(1).callbacks.append(note("normal"))
        Late(env, 0).callbacks.append(note("late, at 4"))
        env.timeout(0).callbacks.append(note("normal, at 4"))
        yield env.timeout(1)
        order.append((env.now, "process"))
        env.timeout(0).callbacks.append(note("normal, scheduled at 5"))

    env.process(process())
    env.run()
    assert order == [(4, "normal, at 4"), (4, "late, at 4"), (5, "normal"), (5, "process"),
                     (5, "normal, scheduled at 5"), (5, "late"), (5, "day end")]


def test_the_clock_counts_the_events_it_schedules():
    env = Clock()

    def ticker(env):
        for _ in range(3):
            yield env.timeout(1)

    for _ in range(2):
        env.process(ticker(env))
    Late(env, 1)
    env.run()
    assert env.scheduled == 2 * (1 + 3 + 1) + 1  # per process: its start, timeouts, end
    assert isinstance(env, simpy.Environment)


# attributes SimPy keeps private on its environment, events and processes
PRIVATE = ("_ok", "_value", "_queue", "_eid", "_target", "_generator", "_events", "_now",
           "_active_proc", "_delay", "_defused", "_check", "_resume")


def test_no_module_uses_simpys_private_attributes():
    pattern = re.compile(r"\.(" + "|".join(PRIVATE) + r")\b")
    uses = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for folder in ("sim", "benchmarks") for path in sorted((ROOT / folder).rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert uses == []
