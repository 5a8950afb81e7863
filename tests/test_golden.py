"""Golden outputs: the pilot at a fixed seed, pinned against regressions.

These numbers are not theory (the analytic and direction tests check that);
they catch any change of results nobody meant. Regenerate with
``python tests/golden/make.py`` only for an intended change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "golden"))

from make import golden  # noqa: E402


def test_pilot_matches_its_golden_outputs():
    expected = json.loads((HERE / "golden" / "pilot_seed42.json").read_text())
    got = json.loads(json.dumps(golden(), sort_keys=True))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, dict):
            assert got[key].keys() == value.keys(), key
            for k, v in value.items():
                assert got[key][k] == pytest.approx(v, rel=1e-9, abs=1e-9), (key, k)
        else:
            assert got[key] == pytest.approx(value, rel=1e-9), key
