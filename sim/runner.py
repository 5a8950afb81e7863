"""Run a scenario for N replicates and hold the results: the Python API.

>>> import sim
>>> res = sim.run("configs/pilot.yaml", reps=20, seed=1)   # doctest: +SKIP
>>> res.summary["overall"]["visits_per_mentee"]            # doctest: +SKIP
>>> res.plot_competency("curve.png")                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from sim import config as config_mod
from sim import metrics, uncertainty
from sim.config import Config
from sim.engines import DEFAULT, check, simulate
from sim.execution import completed, progress
from sim.outputs import write_folder
from sim.record import Record

if TYPE_CHECKING:
    from matplotlib.figure import Figure

def _version() -> str:
    from sim import __version__

    return __version__


@dataclass
class Results:
    """Tables and summary of a run of ``reps`` replicates."""

    config: Config
    seed: int
    reps: int
    engine: str
    mentees: pd.DataFrame
    mentors: pd.DataFrame
    timeseries: pd.DataFrame
    costs: pd.DataFrame
    phases: pd.DataFrame
    budget: pd.DataFrame
    workforce: pd.DataFrame
    parameters: pd.DataFrame
    turnover: pd.DataFrame
    summary: dict

    def summary_document(self) -> dict:
        return {
            "config": self.config.name,
            "seed": self.seed,
            "reps": self.reps,
            "engine": self.engine,
            "version": _version(),
            "intervals": "5th-95th percentile across replicates, holding "
                         + uncertainty.holds(self.config),
            "outcomes": self.summary,
        }

    def write(self, out: str | Path, force: bool = False, plot: bool = False) -> Path:
        """Write the output files (and ``competency.png`` with ``plot``) to ``out``, all or none."""
        writers = {
            "mentees.parquet": lambda p: self.mentees.to_parquet(p, index=False),
            "mentors.parquet": lambda p: self.mentors.to_parquet(p, index=False),
            "timeseries.parquet": lambda p: self.timeseries.to_parquet(p, index=False),
            "costs.parquet": lambda p: self.costs.to_parquet(p, index=False),
            "phases.parquet": lambda p: self.phases.to_parquet(p, index=False),
            "budget.parquet": lambda p: self.budget.to_parquet(p, index=False),
            "workforce.parquet": lambda p: self.workforce.to_parquet(p, index=False),
            **({"parameters.parquet": lambda p: self.parameters.to_parquet(p, index=False)}
               if len(self.parameters) else {}),
            "turnover.parquet": lambda p: self.turnover.to_parquet(p, index=False),
            "summary.json": lambda p: p.write_text(json.dumps(self.summary_document(), indent=2) + "\n"),
            "config.resolved.yaml": lambda p: p.write_text(
                yaml.safe_dump(self.config.to_dict(), sort_keys=False)),
        }
        if plot:
            writers["competency.png"] = self.plot_competency
        return write_folder(out, writers, force)

    def plot_competency(self, path: str | Path | None = None, by: str | None = None) -> Figure:
        """Mean competency of the nurses in post by month with its 5-95 % band and the
        phases' starts, or a curve per ``by`` (``"subcounty"`` or ``"phase"``); saved if
        ``path``."""
        from sim.plots import competency_figure

        fig = competency_figure(self.timeseries, self.phases if len(self.phases) else None,
                                by=by, title=f"{self.config.name}\n" + textwrap.fill(
                                    f"the band holds {uncertainty.holds(self.config)}", 90))
        if path is not None:
            fig.savefig(path)
        return fig


def run(config: Config | str | Path, reps: int = 1, seed: int = 0, jobs: int = 1,
        engine: str = DEFAULT) -> Results:
    """Run ``reps`` replicates of a scenario (a :class:`Config` or a YAML path) on
    ``engine`` (:mod:`sim.engines`: ``"fast"`` or ``"reference"``, the same results).

    With ``jobs > 1`` the replicates run in a local pool of worker processes; each
    is a pure function of (config, seed, replicate) and they are combined in
    replicate order, so the results do not depend on ``jobs``.
    """
    cfg = config if isinstance(config, Config) else config_mod.load(config)
    for name, value, least in (("reps", reps, 1), ("seed", seed, 0), ("jobs", jobs, 1)):
        if value < least:
            raise config_mod.ConfigError(f"{name}: must be at least {least}, got {value}")
    check(engine)
    done: dict[int, Record] = {}
    with progress(reps, cfg.name, "rep") as bar:
        for r, record in completed(simulate, [(cfg, seed, r, engine) for r in range(reps)], jobs):
            done[r] = record
            bar.update()
    records = [done[r] for r in range(reps)]
    tables = metrics.tables(cfg, records)
    return Results(config=cfg, seed=seed, reps=reps, engine=engine, **tables,
                   parameters=metrics.parameters(records),
                   summary=metrics.summary(cfg, tables["mentees"], tables["costs"]))
