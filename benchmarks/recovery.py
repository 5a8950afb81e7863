"""Does calibration recover the values a study was simulated from?

Not part of the test suite (``tests/test_calibrate.py`` runs one small case). For
each seed, the Lari arm is run from chosen "true" values and surveyed as the study
was (``evaluation.simulated_study``: the same items, waves, sample sizes and visit
bins); ``calibrate`` is then fitted to that study, from the shipped values and with
its own seed for common random numbers, and the 90 % credible interval of each
parameter is checked against the truth. The survey items keep the shipped
instrument's parameters (``--items keep``), so the outer parameters are what is
recovered. Run from the repository root:

    python benchmarks/recovery.py                 # 5 seeds, the default budget
    python benchmarks/recovery.py --seeds 3 --steps 60

It prints a row per seed and parameter and, per parameter, how many of the seeds'
intervals cover the truth. With well-calibrated 90 % intervals about 9 in 10 do.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import sim
from sim import calibrate, evaluation, survey
from sim.config import BASELINE_LEVEL

ROOT = Path(__file__).resolve().parents[1]

#: The values the studies are simulated from: away from the shipped fit, inside the priors.
TRUTH = {
    "mentee.learning.rate": 0.8,
    "mentee.decay.rate_per_year": 0.6,
    BASELINE_LEVEL: 1.45,
    "mentee.baseline.sd": 0.6,
    "mentee.turnover.hazard_per_year": 0.15,
    "mentor.absence_probability": 0.08,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--walkers", type=int, default=14)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    cfg = sim.load(ROOT / "configs" / "pilot_lari.yaml")
    like = survey.load_targets(ROOT / "configs" / "targets" / "lari.yaml")
    rows = []
    for seed in range(1, args.seeds + 1):
        t0 = time.perf_counter()
        study = evaluation.simulated_study(cfg.with_values(TRUTH), like, seed=1000 + seed)
        fit = calibrate.calibrate(cfg, study, reps=args.reps, seed=seed, evaluations=60,
                                  walkers=args.walkers, steps=args.steps, jobs=args.jobs,
                                  items="keep", only=list(TRUTH))
        for row in fit.summary().itertuples(index=False):
            rows.append({"seed": seed, "parameter": row.parameter, "truth": TRUTH[row.parameter],
                         "median": row.median, "p5": row.p5, "p95": row.p95,
                         "covered": row.p5 <= TRUTH[row.parameter] <= row.p95,
                         "effective_draws": row.effective_draws})
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 140, "display.max_rows", 200):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(table.groupby("parameter", sort=False)["covered"].agg(["sum", "size"])
              .rename(columns={"sum": "covered", "size": "seeds"}))
    print(f"{int(table['covered'].sum())} of {len(table)} intervals cover the truth")


if __name__ == "__main__":
    main()
