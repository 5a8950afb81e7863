"""The benchmark script still runs (its timings are not tested: speed is measured, not asserted)."""

from __future__ import annotations

import json
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


def test_fingerprints_find_a_run_unchanged_and_name_what_changed(tmp_path):
    script = [sys.executable, str(BENCH.parent / "fingerprint.py")]
    file = ["--only", "pilot", "--file", str(tmp_path / "f.json")]
    subprocess.run([*script, "save", *file], check=True, capture_output=True, timeout=120)
    same = subprocess.run([*script, "check", *file], capture_output=True, text=True, timeout=120)
    assert same.returncode == 0 and "pilot: IDENTICAL" in same.stdout
    saved = json.loads((tmp_path / "f.json").read_text())
    saved["pilot"]["visits"] = "0" * 64  # as if the visits had changed
    (tmp_path / "f.json").write_text(json.dumps(saved))
    changed = subprocess.run([*script, "check", *file], capture_output=True, text=True, timeout=120)
    assert changed.returncode == 1 and "pilot: DIFFERS in visits" in changed.stdout
