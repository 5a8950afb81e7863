"""The Python interface to batches mirrors the command line."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim import batch, compare
from sim.cli import main
from sim.outputs import OutputError

from conftest import CONFIGS


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    path = folder / "exp.yaml"
    path.write_text(f"""
name: api
base: {CONFIGS / 'pilot_lari.yaml'}
replications: 2
seed: 3
comparator: mentoring
scenarios:
  mentoring: {{months: 6}}
  none: {{months: 6, mentor.enabled: false, whatsapp.enabled: false}}
""")
    return path


def test_a_batch_run_here_equals_the_command_lines(small, tmp_path):
    results = sim.Batch.run(small, out=tmp_path / "api", reps=3)
    assert main(["batch", str(small), "--out", str(tmp_path / "cli"), "--reps", "3",
                 "--jobs", "1"]) == 0
    for table in batch.TABLES:
        pd.testing.assert_frame_equal(results.table(table), batch.read(tmp_path / "cli", table))
    assert results.scenarios == ["mentoring", "none"]
    assert "2 scenarios x 3 replications" in repr(results)
    pd.testing.assert_frame_equal(results.compare(), compare.compare(tmp_path / "cli"))
    assert list(results.compare(wide=True)["scenario"]) == ["mentoring", "none"]
    ce = results.cost_effectiveness(wtps=[0, 50_000])
    assert set(ce.icer["strategy"]) == {"mentoring", "none"}
    assert set(results.figures()) == {"competency", "cost", "tradeoff"}
    reopened = sim.Batch(tmp_path / "cli")
    pd.testing.assert_frame_equal(reopened.table("outcomes"), results.table("outcomes"))


def test_opening_a_folder_that_is_not_a_batch_is_one_error(tmp_path):
    with pytest.raises(OutputError, match="not a batch folder"):
        sim.Batch(tmp_path)
