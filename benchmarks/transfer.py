"""Does a calibration predict results it never saw?

Not part of the test suite. The Lari arm's endline is split: every other survey item
(knowledge and skills alike, in alphabetical order; supply lines stay) keeps only its
baseline, and the rest of the arm (the other items at both waves, the visits
received and the drop-outs) is kept. The outer parameters and every item are fitted to
that part (``--items fit``: a held-out item's difficulty comes from its baseline alone, its
discrimination from the prior around the typical one), and the posterior then predicts
the held-out items' endline shares. The same two commands calibrate on one arm and
predict another:

    mentorsim calibrate configs/pilot_lari.yaml --targets FIT.yaml --items fit --out CALIB
    mentorsim report-validation configs/pilot_lari.yaml --targets configs/targets/lari.yaml \\
        --fitted-to FIT.yaml --set uncertainty.posterior=CALIB/posterior.csv --out VALID

Run from the repository root (it writes ``FIT.yaml`` and both folders under ``--out``):

    python benchmarks/transfer.py --out runs/transfer
    python benchmarks/transfer.py --out runs/transfer --steps 60      # quicker, rougher

It prints the held-out targets and, for the held-out and the fitted targets apart, how many
fall inside their 90 % posterior predictive intervals.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SUPPLY = ("all_vaccines_available", "all_vaccination_materials_available",
          "child_health_cards_available")


def held_out_targets(full: dict) -> tuple[dict, list[str]]:
    """``full`` with the endline of every other non-supply item removed, and those items."""
    part, hidden = yaml.safe_load(yaml.safe_dump(full)), []
    for kind in ("knowledge", "skills"):
        items = [i for i in part[kind] if i not in SUPPLY]
        for item in items[1::2]:
            part[kind][item] = [part[kind][item][0], None]
            hidden.append(item)
    return part, hidden


def mentorsim(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sim", *args], check=True, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=220)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--evaluations", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    full = ROOT / "configs" / "targets" / "lari.yaml"
    part, hidden = held_out_targets(yaml.safe_load(full.read_text()))
    fit = out / "lari_fit.yaml"
    fit.write_text("# The Lari arm with every other item's endline held out "
                   "(benchmarks/transfer.py).\n" + yaml.safe_dump(part, sort_keys=False))
    print(f"held out the endline of {len(hidden)} items: {', '.join(hidden)}", flush=True)
    config = str(ROOT / "configs" / "pilot_lari.yaml")
    t0 = time.perf_counter()
    mentorsim("calibrate", config, "--targets", str(fit), "--items", "fit", "--reps",
              str(args.reps), "--evaluations", str(args.evaluations), "--steps", str(args.steps), "--jobs", str(args.jobs),
              "--out", str(out / "calib"), "--force")
    print(f"calibration: {time.perf_counter() - t0:.0f} s", flush=True)
    mentorsim("report-validation", config, "--targets", str(full), "--fitted-to", str(fit),
              "--set", f"uncertainty.posterior={out / 'calib' / 'posterior.csv'}",
              "--out", str(out / "validation"), "--force")
    table = pd.read_csv(out / "validation" / "validation.csv")
    table["error"] = (table["simulated_mean"] - table["observed"]).abs()
    items = table[table["kind"].isin(["knowledge", "skills"]) & (table["wave"] == "endline")
                  & ~table["target"].isin(SUPPLY)]
    print(items.groupby("held_out")[["inside", "error"]].agg(["mean", "size"])
          .rename(index={True: "held out", False: "fitted"}).to_string())


if __name__ == "__main__":
    main()
