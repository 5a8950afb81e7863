"""Benchmark: ``mentorsim optimise`` on the shipped county scale-up, and its chance
constraint rerun with fresh seeds.

Not part of the test suite. Run from the repository root:

    python benchmarks/bench_optimise.py [--jobs 2] [--reps 40] [--seed 1]

Runs ``configs/experiments/optimise_county.yaml`` (four decision variables) into a
temporary folder, prints what the command prints and its wall time, then runs the best
plan (``best.yaml``) ``reps`` times with another seed and prints the share of
replications that meet each chance constraint against the probability asked.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import sim
from sim import optimise

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "configs" / "experiments" / "optimise_county.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=40, help="replications of the rerun")
    parser.add_argument("--seed", type=int, default=1, help="the rerun's seed")
    args = parser.parse_args()
    problem = optimise.load(EXPERIMENT)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "optimise"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "optimise", str(EXPERIMENT), "--out",
                        str(out), "--jobs", str(args.jobs)], check=True)
        wall = time.perf_counter() - start
        print(f"optimise: {wall / 60:.1f} minutes wall with {args.jobs} jobs")
        if not (out / "best.yaml").exists():
            return
        res = sim.run(out / "best.yaml", reps=args.reps, seed=args.seed, jobs=args.jobs)
    by_month = [optimise.monthly(ts) for _, ts in res.timeseries.groupby("replicate")]
    for c in problem.constraints:
        if c.probability is None or c.month is None:
            continue
        x = np.array([m.at[c.month, c.outcome] for m in by_month])
        met = x >= c.at_least if c.at_least is not None else x <= c.at_most
        print(f"rerun, seed {args.seed}: {optimise.Measure(c.outcome, c.month)} reached in "
              f"{met.sum()} of {len(met)} replications ({met.mean():.2f}; asked "
              f"{c.probability:g})")


if __name__ == "__main__":
    main()
