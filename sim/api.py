"""The Python interface to batches: what ``mentorsim batch``, ``compare``, ``cea``, ``voi``
and ``plot`` do, as one object for notebooks and scripts.

    b = sim.Batch.run("configs/experiments/classroom_vs_mentoring.yaml", reps=30)
    b.compare()                      # outcomes and paired differences, one table
    ce = b.cost_effectiveness()      # ICERs, acceptability, expected loss, EVPI
    b.value_of_information(16_000)   # EVPPI and EVSI
    b.figures()["competency"]

``sim.Batch(out)`` opens a batch folder that was run before, from the command line or here.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim import batch, compare, information
from sim.experiment import Experiment, load_experiment


class Batch:
    """A batch folder's results and their analyses."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.experiment = batch.experiment_of(self.out)  # raises for a folder that is not one

    @classmethod
    def run(cls, experiment: str | Path | Experiment, out: str | Path | None = None,
            reps: int | None = None, jobs: int = 1, resume: bool = False,
            overrides: Sequence[str] = ()) -> Batch:
        """Run an experiment (a file, with ``overrides`` and ``reps`` as on the command line,
        or a loaded :class:`~sim.experiment.Experiment`) into ``out`` (default: a new
        temporary folder) and open it."""
        if isinstance(experiment, Experiment):
            if reps is not None:
                experiment = dataclasses.replace(experiment, replications=reps)
        else:
            experiment = load_experiment(experiment, list(overrides), reps)
        if out is None:
            out = Path(tempfile.mkdtemp(prefix="mentorsim-")) / experiment.name
        batch.run_batch(experiment, out, jobs=jobs, resume=resume)
        return cls(out)

    @property
    def scenarios(self) -> list[str]:
        return list(self.experiment["scenarios"])

    def table(self, name: str) -> pd.DataFrame:
        """One of the batch's tables (:data:`sim.batch.TABLES`), every task."""
        return batch.read(self.out, name)

    def compare(self, wide: bool = False, difference: bool = False) -> pd.DataFrame:
        """Each outcome's mean and 90 % interval per scenario, and the paired difference from
        the comparator; ``wide``: a row per scenario as ``compare`` prints it (of the
        differences, with ``difference``)."""
        table = compare.compare(self.out)
        return compare.wide(table, difference) if wide else table

    def cost_effectiveness(self, effect: str = "competency_point_years",
                           rate: float | None = None,
                           wtps: Sequence[float] = tuple(range(0, 100_001, 2000))
                           ) -> compare.CostEffectiveness:
        """The incremental analysis, acceptability, expected loss and EVPI (``cea``)."""
        return compare.cost_effectiveness(self.out, effect, rate, wtps)

    def value_of_information(self, wtp: float, **options) -> information.Information:
        """EVPPI per parameter and group and, with ``sizes``, EVSI of an evaluation survey
        (``voi``; options as :func:`sim.information.value_of_information`)."""
        return information.value_of_information(self.out, wtp, **options)

    def figures(self) -> dict[str, Figure]:
        """Competency curves, cumulative costs, and cost against competency (``plot``)."""
        from sim.plots import batch_figures

        return batch_figures(self.table("timeseries"), self.table("outcomes"), self.scenarios)

    def __repr__(self) -> str:
        return (f"Batch({str(self.out)!r}: {len(self.scenarios)} scenarios x "
                f"{self.experiment['replications']} replications)")
