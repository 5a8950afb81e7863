"""Run a scenario for N replicates and hold the results: the Python API.

>>> import sim
>>> res = sim.run("configs/pilot.yaml", reps=20, seed=1)   # doctest: +SKIP
>>> res.summary["overall"]["visits_per_mentee"]            # doctest: +SKIP
>>> res.plot_competency("curve.png")                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from sim import config as config_mod
from sim import metrics
from sim.config import Config
from sim.model import simulate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

class OutputError(Exception):
    """The output folder cannot be used; ``str()`` is the one-line message."""


def _version() -> str:
    from sim import __version__

    return __version__


@dataclass
class Results:
    """Tables and summary of a run of ``reps`` replicates."""

    config: Config
    seed: int
    reps: int
    mentees: pd.DataFrame
    mentors: pd.DataFrame
    timeseries: pd.DataFrame
    costs: pd.DataFrame
    summary: dict

    def summary_document(self) -> dict:
        return {
            "config": self.config.name,
            "seed": self.seed,
            "reps": self.reps,
            "version": _version(),
            "outcomes": self.summary,
        }

    def write(self, out: str | Path, force: bool = False, plot: bool = False) -> Path:
        """Write the output files (and ``competency.png`` with ``plot``) to ``out``.

        All or nothing: files are written to a hidden folder first and moved into
        place only when every one is complete. With ``force`` a non-empty ``out``
        is accepted; files of the same name are replaced and other files are kept.
        """
        out = Path(out).resolve()
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out}: exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not force:
            raise OutputError(f"{out}: directory is not empty (use --force to overwrite)")
        staging_parent = out if out.is_dir() else out.parent
        staging_parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mentorsim-", dir=staging_parent))
        try:
            self.mentees.to_parquet(tmp / "mentees.parquet", index=False)
            self.mentors.to_parquet(tmp / "mentors.parquet", index=False)
            self.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
            self.costs.to_parquet(tmp / "costs.parquet", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.summary_document(), indent=2) + "\n")
            (tmp / "config.resolved.yaml").write_text(
                yaml.safe_dump(self.config.to_dict(), sort_keys=False)
            )
            if plot:
                self.plot_competency(tmp / "competency.png")
            if out.is_dir():
                for f in tmp.iterdir():
                    os.replace(f, out / f.name)
            else:
                tmp.rename(out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return out

    def plot_competency(self, path: str | Path | None = None) -> Figure:
        """Mean competency per subcounty by month with its 5-95 % band; saved if ``path``."""
        from sim.plots import competency_figure

        fig = competency_figure(self.timeseries, title=self.config.name)
        if path is not None:
            fig.savefig(path)
        return fig


def run(config: Config | str | Path, reps: int = 1, seed: int = 0) -> Results:
    """Run ``reps`` replicates of a scenario (a :class:`Config` or a YAML path)."""
    cfg = config if isinstance(config, Config) else config_mod.load(config)
    if reps < 1:
        raise config_mod.ConfigError(f"reps: must be at least 1, got {reps}")
    if seed < 0:
        raise config_mod.ConfigError(f"seed: must be non-negative, got {seed}")
    records = [simulate(cfg, seed, r) for r in range(reps)]
    spells = metrics.mentees(cfg, records)
    ledger = metrics.costs(cfg, records)
    return Results(
        config=cfg,
        seed=seed,
        reps=reps,
        mentees=spells,
        mentors=metrics.mentors(cfg, records),
        timeseries=metrics.timeseries(cfg, records, ledger),
        costs=ledger,
        summary=metrics.summary(cfg, spells, ledger),
    )
