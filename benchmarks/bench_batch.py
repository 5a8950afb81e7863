"""Benchmark: parallel speed-up of a 200-task batch on this machine.

Not part of the test suite. Run from the repository root:

    python benchmarks/bench_batch.py [--tasks 200] [--jobs 1,2]

Runs the pilot-scenarios experiment cut to ``tasks`` tasks with each worker
count, checks that every run wrote identical files, and prints wall time,
tasks per second and the speed-up over one job.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim import batch
from sim.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    exp = load_experiment(ROOT / "configs" / "experiments" / "pilot_scenarios.yaml")
    per = max(1, args.tasks // len(exp.scenarios))
    exp = dataclasses.replace(exp, replications=per)
    n = len(exp.tasks())
    print(f"{n} tasks ({len(exp.scenarios)} scenarios x {per} replications of the pilot)")
    print(f"{'jobs':>5}{'wall s':>9}{'tasks/s':>9}{'speed-up':>10}")
    base, first = None, None
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in [int(j) for j in args.jobs.split(",")]:
            out = Path(tmp) / f"jobs{jobs}"
            start = time.perf_counter()
            batch.run_batch(exp, out, jobs=jobs)
            wall = time.perf_counter() - start
            base = base or wall
            outcomes = batch.read(out, "outcomes")
            if first is None:
                first = outcomes
            pd.testing.assert_frame_equal(outcomes, first)
            print(f"{jobs:>5}{wall:>9.2f}{n / wall:>9.1f}{base / wall:>9.2f}x")


if __name__ == "__main__":
    main()
