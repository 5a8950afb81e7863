"""Regenerate the golden outputs: ``python tests/golden/make.py``.

Only when a change is meant to alter results (a model change, or a numpy release
that changes a distribution's algorithm): say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import sim

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def golden() -> dict:
    res = sim.run(ROOT / "configs" / "pilot.yaml", reps=3, seed=42)
    m = res.mentees
    return {
        "outcomes": {k: v["mean"] for k, v in res.summary["overall"].items()},
        "spells": len(m),
        "visits": m.groupby("subcounty")["visits"].sum().to_dict(),
        "final_mean_score": m.groupby("subcounty")["final_mean_score"].sum().round(9).to_dict(),
        "ledger_ksh": res.costs.groupby("category")["ksh"].sum().to_dict(),
        "stockout_days": float(res.timeseries["stockout_facility_days"].sum()),
        "posts": int(res.timeseries["whatsapp_posts"].sum()),
    }


if __name__ == "__main__":
    (HERE / "pilot_seed42.json").write_text(json.dumps(golden(), indent=2, sort_keys=True) + "\n")
    print("wrote", HERE / "pilot_seed42.json")
