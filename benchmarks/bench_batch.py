"""Benchmark: a batch of pilot tasks end to end, with one job and with two.

Not part of the test suite. Run from the repository root:

    python benchmarks/bench_batch.py [--tasks 160] [--jobs 1,2] [--rounds 3] [--profile]

Runs the pilot-scenarios experiment cut to ``tasks`` tasks with each worker
count, ``rounds`` times in turn (the machine's load drifts; the fastest round
counts), checks that every run wrote identical tables, and prints the time per
task, the speed-up over the first worker count, the CPU time per task (the
process and its workers) and the files the batch left. Each round also measures
the machine's own ceiling: how much faster ``jobs`` processes that only simulate,
each the same replicates, with no pool, tables or store, get through ``jobs``
times the work of one (two vCPUs of a shared host give less than 2x).
A small batch first loads the compiled code, so no round includes it.
``--profile`` instead profiles one run with one job (cProfile, by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import multiprocessing
import os
import pstats
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim import batch
from sim.engines import simulate
from sim.experiment import Experiment, load_experiment

ROOT = Path(__file__).resolve().parents[1]


def _run(exp: Experiment, out: Path, jobs: int) -> tuple[float, float]:
    """Wall time and CPU time (this process and its workers) of a batch, in seconds."""
    start, cpu = time.perf_counter(), os.times()
    batch.run_batch(exp, out, jobs=jobs)
    end = os.times()
    used = sum(end[k] - cpu[k] for k in range(4))  # user and system, self and children
    return time.perf_counter() - start, used


def _simulate(config: object, seed: int, replicates: int) -> None:
    for r in range(replicates):
        simulate(config, seed, r)


def _ceiling(exp: Experiment, jobs: int, replicates: int = 24) -> float:
    """Seconds for ``jobs`` processes to simulate ``replicates`` pilot replicates each, at once."""
    config = exp.config_for(exp.scenarios[0].name, 0)
    procs = [multiprocessing.Process(target=_simulate, args=(config, exp.seed, replicates))
             for _ in range(jobs)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=160)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    exp = load_experiment(ROOT / "configs" / "experiments" / "pilot_scenarios.yaml")
    per = max(1, args.tasks // len(exp.scenarios))
    exp = dataclasses.replace(exp, replications=per)
    n = len(exp.tasks())
    with tempfile.TemporaryDirectory() as tmp:
        _run(dataclasses.replace(exp, replications=1), Path(tmp) / "warm", 1)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(_run, exp, Path(tmp) / "profile", 1)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            return
        print(f"{n} tasks ({len(exp.scenarios)} scenarios x {per} replications of the pilot), "
              f"fastest of {args.rounds} rounds")
        jobs = [int(j) for j in args.jobs.split(",")]
        best = dict.fromkeys(jobs, (float("inf"), float("inf")))
        alone = dict.fromkeys(jobs, float("inf"))
        first, files = None, {}
        for k in range(args.rounds):
            for j in jobs:
                alone[j] = min(alone[j], _ceiling(exp, j))
                out = Path(tmp) / f"round{k}-jobs{j}"
                best[j] = min(best[j], _run(exp, out, j))
                files[j] = sum(p.is_file() for p in out.rglob("*"))
                tables = {t: batch.read(out, t) for t in batch.TABLES}
                if first is None:
                    first = tables
                for t, df in tables.items():
                    pd.testing.assert_frame_equal(df, first[t], obj=t)
        print(f"{'jobs':>5}{'wall s':>9}{'ms/task':>9}{'speed-up':>10}{'CPU ms/task':>13}"
              f"{'files':>7}{'ceiling':>9}")
        for j in jobs:
            wall, cpu = best[j]
            ceiling = j / jobs[0] * alone[jobs[0]] / alone[j]
            print(f"{j:>5}{wall:>9.2f}{1000 * wall / n:>9.1f}{best[jobs[0]][0] / wall:>9.2f}x"
                  f"{1000 * cpu / n:>13.1f}{files[j]:>7}{ceiling:>8.2f}x")


if __name__ == "__main__":
    main()
