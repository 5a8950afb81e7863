"""Exact fingerprints of whole runs: does a change alter any result, bit for bit?

Not part of the test suite. Run from the repository root, before and after an
optimisation:

    python benchmarks/fingerprint.py save     # writes benchmarks/.fingerprints.json
    python benchmarks/fingerprint.py check    # IDENTICAL, or which records differ

A run's fingerprint hashes everything it recorded: every visit, WhatsApp post
(as a set: the log's order is bookkeeping), monthly reading, nurse and mentor
spell, ledger row and survey state, and the count of SimPy's events. The runs
cover the pilot, a pilot with every kind of churn, a county with scale-up
phases, and two years of the national config with every county from month 1.
Fingerprints hold for one machine and one set of library versions: save and
check on the same one. ``check`` exits with 1 if any run differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "benchmarks" / ".fingerprints.json"

# name: (config, overrides, seed, replicate)
RUNS = {
    "pilot": ("pilot.yaml", [], 7, 1),
    "busy pilot": ("pilot.yaml", ["months=24", "mentee.turnover.hazard_per_year=0.5",
                                  "mentor.attrition.hazard_per_year=0.6",
                                  "facilities.furlough_return_days_mean=60"], 7, 0),
    "county": ("scaleup_machakos_county.yaml", [], 7, 0),
    "national, all at once": ("kenya_national.yaml", ["scaleup=null", "months=24"], 7, 0),
}


def _digest(rows: Iterable) -> str:
    h = hashlib.sha256()
    for row in rows:
        for value in row if isinstance(row, tuple) else (row,):
            if isinstance(value, np.ndarray):
                h.update(value.tobytes())
            elif hasattr(value, "__dataclass_fields__"):  # a survey state
                h.update(_digest(vars(value).values()).encode())
            else:
                h.update(repr(value).encode())
    return h.hexdigest()


def fingerprint(name: str) -> dict[str, str | int]:
    import sim
    from sim.engines.fast.model import simulate

    config, overrides, seed, replicate = RUNS[name]
    rec = simulate(sim.load(ROOT / "configs" / config, overrides), seed, replicate)
    ledger = rec.ledger
    return {
        "visits": _digest(rec.visits),
        "posts": _digest(sorted(rec.posts)),
        "months": _digest(rec.months),
        "spells": _digest(rec.spells),
        "mentors": _digest(rec.mentors),
        "ledger": _digest(zip(ledger.day, ledger.category, ledger.who, ledger.subcounty,
                              ledger.ksh, strict=True)),
        "states": _digest(rec.states),
        "simpy_events": rec.events,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["save", "check"])
    parser.add_argument("--only", choices=list(RUNS), action="append", help="these runs only")
    parser.add_argument("--file", type=Path, default=FILE, help="where fingerprints are kept")
    args = parser.parse_args()
    names = args.only or list(RUNS)
    saved = json.loads(args.file.read_text()) if args.file.exists() else {}
    differ = False
    for name in names:
        new = fingerprint(name)
        if args.mode == "save":
            saved[name] = new
            print(f"{name}: saved")
            continue
        if name not in saved:
            print(f"{name}: nothing saved to compare with")
            differ = True
            continue
        changed = [key for key, value in new.items() if saved[name].get(key) != value]
        differ = differ or bool(changed)
        print(f"{name}: " + (f"DIFFERS in {', '.join(changed)}" if changed else "IDENTICAL"))
    if args.mode == "save":
        args.file.write_text(json.dumps(saved, indent=1) + "\n")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
