"""The benchmark script still runs (its timings are not tested: speed is measured, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_run.py"


def test_the_benchmark_prints_its_table():
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--only", "pilot"],
                         capture_output=True, text=True, check=True, timeout=300)
    rows = [line for line in out.stdout.splitlines() if line.startswith("| pilot |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1] == "40" and cells[2] == "12"  # facilities, months
    assert cells[-1].endswith("MiB") and "%" in cells[-2]
