"""Notebooks run top to bottom (their code cells, in order, in one namespace)."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    nb = json.loads(path.read_text())
    monkeypatch.chdir(path.parent)
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"], "commit notebooks without outputs"
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    if path.name == "pilot_quickstart.ipynb":
        comparison = namespace["comparison"]
        visits = comparison["visits_per_mentee"]
        assert visits["pilot (1:4)"] > visits["1:8"] > visits["1:12"]
        assert set(namespace["visits"].index) == {"Lari", "Machakos"}
        split = namespace["split"]
        assert (split["replacements_visits_mean"] < split["originals_visits_mean"] - 4).all()
    if path.name == "county_scaleup.ipynb":
        phases = namespace["phases"]
        capped = phases[phases["phase"] == 2]
        assert (capped["reason"] == "budget cap").all() and (capped["delay_months"] > 0).all()
        timeline = namespace["timeline"]
        assert (timeline.loc[timeline["scenario"] == "no_cap", "reason"] == "on time").all()
        icer = namespace["ce"].icer.set_index("strategy")
        assert len(icer) == 5 and icer.loc["no_cap", "effect"] > icer.loc["plan", "effect"]
        assert list(namespace["budget"].index) == ["2025/26", "2026/27", "2027/28"]
    if path.name == "cost_benefit.ipynb":
        status = namespace["ce"].icer.set_index("strategy")["status"]
        assert status["classroom"] == "dominated"
        assert len(namespace["tornado"]) == len(namespace["experiment"].psa)


def test_there_is_a_notebook():
    assert NOTEBOOKS
