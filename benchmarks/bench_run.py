"""Benchmark: wall time, events per second and scaling of single replications.

Not part of the test suite. Run from the repository root:

    python benchmarks/bench_run.py [--reps 20]

Prints a table: the pilot and the pilot scaled 10x and 100x (facilities per subcounty
multiplied), with wall time per replication, simulated events per second, mentee-years
per second, and the same machine's raw SimPy throughput measured in the same run
(1,000 processes each yielding ``env.timeout(1)`` 1,000 times), so the model's
overhead reads as a ratio rather than a noisy absolute.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import simpy

import sim
from sim.model import Model

ROOT = Path(__file__).resolve().parents[1]


def raw_simpy_events_per_second() -> float:
    env = simpy.Environment()

    def ticker(env):
        for _ in range(1000):
            yield env.timeout(1)

    for _ in range(1000):
        env.process(ticker(env))
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    return next(env._eid) / elapsed  # events scheduled = processed: the run drains the queue


def scaled(factor: int) -> sim.Config:
    cfg = sim.load(ROOT / "configs" / "pilot.yaml")
    overrides = []
    for sub in cfg.subcounties:
        for ownership in ("public", "faith_based", "private"):
            n = sub.facilities[ownership] * factor
            overrides.append(f"subcounties.{sub.name}.facilities.{ownership}={n}")
    return sim.load(ROOT / "configs" / "pilot.yaml", overrides)


def bench(cfg: sim.Config, reps: int) -> dict[str, float]:
    times, events, mentee_days = [], [], []
    for r in range(reps):
        start = time.perf_counter()
        model = Model(cfg, seed=0, replicate=r)
        rec = model.run()
        times.append(time.perf_counter() - start)
        events.append(next(model.env._eid))
        mentee_days.append(sum(s[4] - s[3] for s in rec.spells))
    wall = statistics.median(times)
    return {
        "wall_ms": 1000 * wall,
        "events_per_s": statistics.median(e / t for e, t in zip(events, times, strict=False)),
        "mentee_years_per_s": statistics.median(d / 365 / t for d, t in zip(mentee_days, times, strict=False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    raw = raw_simpy_events_per_second()
    print(f"raw SimPy: {raw:,.0f} events/s")
    print(f"{'scenario':<12}{'facilities':>11}{'wall ms/rep':>13}{'events/s':>12}"
          f"{'% of raw':>10}{'mentee-yr/s':>13}")
    for factor in (1, 10, 100):
        cfg = scaled(factor)
        n = sum(s.facilities.total for s in cfg.subcounties)
        res = bench(cfg, max(1, args.reps // factor))
        print(f"{'pilot x' + str(factor):<12}{n:>11,}{res['wall_ms']:>13.1f}"
              f"{res['events_per_s']:>12,.0f}{100 * res['events_per_s'] / raw:>9.0f}%"
              f"{res['mentee_years_per_s']:>13,.0f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
