"""Batch runs: every (scenario, replicate) of an experiment as one durable task.

A task is a pure function of (scenario config, root seed, replicate). Streams
are keyed by (replicate, process, entity) and deliberately *not* by scenario,
so replicate ``i`` of every scenario draws the same random numbers wherever the
scenarios do not differ: common random numbers, which make scenario
differences far less noisy than independent runs would.

Tasks run in this process (``jobs=1``), in a local process pool, or on a Dask
cluster. Whatever the executor, each finished task's tables are written at
once (one Parquet file per table, moved into place complete) and only then
recorded in ``manifest.jsonl``; a batch interrupted or killed and restarted
with ``resume`` runs only the tasks the manifest lacks. The files do not depend
on the executor, the number of workers or the order tasks finish in.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from sim import config as cfgmod
from sim import metrics
from sim.config import ConfigError
from sim.engines import DEFAULT, check, simulate
from sim.execution import completed, progress
from sim.experiment import Experiment
from sim.outputs import OutputError, check_writable

if TYPE_CHECKING:
    from distributed import Client

TABLES = ("mentees", "mentors", "timeseries", "costs", "phases", "budget", "workforce",
          "turnover", "outcomes")
MANIFEST = "manifest.jsonl"
EXPERIMENT = "experiment.json"
CONNECT_TIMEOUT = 5  # seconds to reach a Dask scheduler


def run_task(experiment: Experiment, scenario: str, replicate: int,
             engine: str = DEFAULT) -> dict[str, pd.DataFrame]:
    """One replicate of one scenario, as tables tagged with the scenario's name."""
    config = experiment.config_for(scenario, replicate)
    rec = simulate(config, experiment.seed, replicate, engine)
    mentees = metrics.mentees(config, [rec])
    ledger = metrics.costs(config, [rec])
    mentor_spells = metrics.mentors(config, [rec])
    tables = {
        "mentees": mentees,
        "mentors": mentor_spells,
        "timeseries": metrics.timeseries(config, [rec], ledger),
        "costs": ledger,
        "phases": metrics.phases(config, [rec]),
        "budget": metrics.budget(config, ledger),
        "workforce": metrics.workforce(config, [rec], mentees, mentor_spells),
        "turnover": metrics.turnover(config, [rec], mentees),
        "outcomes": metrics.outcomes(mentees, ledger, config.costs.ksh_per_usd)
        .rename_axis("replicate").reset_index(),
    }
    econ = metrics.economics(ledger, tables["timeseries"], config.costs.discount_rate)
    tables["outcomes"] = tables["outcomes"].merge(econ, on="replicate")
    return {name: df.assign(scenario=scenario) for name, df in tables.items()}


class Store:
    """A batch's output folder: the experiment, per-task Parquet files and the manifest."""

    def __init__(self, out: str | Path, experiment: Experiment, resume: bool,
                 engine: str = DEFAULT) -> None:
        self.out = Path(out).resolve()
        self.experiment = experiment
        self.engine = engine
        self._index = {s.name: i for i, s in enumerate(experiment.scenarios)}
        marker = self.out / EXPERIMENT
        try:
            if resume:
                self._check_resumable(marker)
                check_writable(self.out)
                self._rewrite_manifest()
            else:
                if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
                    raise OutputError(f"{self.out}: not an empty directory "
                                      "(use --resume to continue)")
                check_writable(self.out)
                self._start(marker)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write: {exc.strerror or exc}") from None

    def _check_resumable(self, marker: Path) -> None:
        if not marker.is_file():
            raise OutputError(f"{self.out}: nothing to resume (no {EXPERIMENT})")
        try:
            doc = json.loads(marker.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict):
            raise OutputError(f"{marker}: not an experiment record; start the batch afresh "
                              "in another folder")
        if doc.get("fingerprint") != self.experiment.fingerprint():
            raise OutputError(f"{self.out}: was started with a different experiment; "
                              "resume needs the same file and overrides")
        if doc.get("engine", DEFAULT) != self.engine:
            raise OutputError(f"{self.out}: was started on the {doc.get('engine', DEFAULT)} "
                              f"engine; resume it with --engine {doc.get('engine', DEFAULT)}")

    def _start(self, marker: Path) -> None:
        """Create the folder and the experiment's record; if that fails, leave the folder
        as it was (missing, or empty), so that the same command can be run again."""
        created = not self.out.exists()
        started = False
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            doc = {"fingerprint": self.experiment.fingerprint(), "engine": self.engine,
                   "experiment": self.experiment.to_dict()}
            _atomic_text(marker, json.dumps(doc, indent=2, default=str) + "\n")
            for s in self.experiment.scenarios:
                _atomic_text(self.out / "scenarios" / f"{self._index[s.name]:03d}.yaml",
                             yaml.safe_dump(s.config.to_dict(), sort_keys=False))
            (self.out / MANIFEST).touch()
            started = True
        finally:
            if not started and self.out.is_dir():
                for path in [self.out] if created else list(self.out.iterdir()):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()

    def _entries(self) -> Iterator[dict]:
        path = self.out / MANIFEST
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill: its task reruns
                continue

    def _rewrite_manifest(self) -> None:
        entries = list(self._entries())
        _atomic_text(self.out / MANIFEST, "".join(json.dumps(e) + "\n" for e in entries))

    def done(self) -> set[tuple[str, int]]:
        return {(e["scenario"], e["replicate"]) for e in self._entries()}

    def path(self, table: str, scenario: str, replicate: int) -> Path:
        return self.out / table / f"{self._index[scenario]:03d}-{replicate:05d}.parquet"

    def write(self, scenario: str, replicate: int, tables: dict[str, pd.DataFrame]) -> None:
        """Write a task's tables, then record it in the manifest.

        A write that fails or is interrupted before the manifest is reached removes
        the task's files; a task in the manifest always has all of them.
        """
        targets = [self.path(name, scenario, replicate) for name in TABLES]
        recording = False
        try:
            for name, target in zip(TABLES, targets, strict=True):
                target.parent.mkdir(exist_ok=True)
                tables[name].to_parquet(target.with_suffix(".tmp"), index=False)
                os.replace(target.with_suffix(".tmp"), target)
            recording = True
            with open(self.out / MANIFEST, "a") as f:
                f.write(json.dumps({"scenario": scenario, "replicate": replicate}) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write: {exc.strerror or exc}") from None
        finally:
            for target in targets:
                target.with_suffix(".tmp").unlink(missing_ok=True)
                if not recording:
                    target.unlink(missing_ok=True)


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_batch(experiment: Experiment, out: str | Path, jobs: int = 1,
              scheduler: str | None = None, resume: bool = False,
              engine: str = DEFAULT) -> Path:
    """Run every task of ``experiment`` not yet in ``out`` on ``engine``; return the folder.

    A Dask scheduler is reached before anything is written, so an address that
    does not answer fails within :data:`CONNECT_TIMEOUT` seconds and leaves no folder.
    """
    check(engine)
    with _connect(scheduler) if scheduler is not None else nullcontext() as client:
        store = Store(out, experiment, resume, engine)
        done = store.done()
        todo = [t for t in experiment.tasks() if t not in done]
        results = (_dask_completed(client, experiment, todo, engine) if client is not None else
                   completed(run_task, [(experiment, s, r, engine) for s, r in todo], jobs))
        with progress(len(todo), experiment.name, "task") as bar:
            for i, tables in results:
                store.write(*todo[i], tables)
                bar.update()
    return store.out


def _connect(scheduler: str) -> Client:
    """A Dask client of the scheduler at ``scheduler``; one that does not answer is a
    :class:`ConfigError`."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'mentorsim[cluster]'") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as exc:  # no answer in time; an address that does not parse
        raise ConfigError(f"--scheduler {scheduler}: cannot connect: {exc}") from None


def _dask_completed(client: Client, experiment: Experiment, todo: list[tuple[str, int]],
                    engine: str) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """Like :func:`sim.execution.completed`, on the client's cluster."""
    from distributed import as_completed as dask_completed

    shared = client.scatter(experiment, broadcast=True)
    futures = {client.submit(run_task, shared, s, r, engine, pure=False): i
               for i, (s, r) in enumerate(todo)}
    for fut in dask_completed(futures):
        yield futures[fut], fut.result()


def read(out: str | Path, table: str) -> pd.DataFrame:
    """One table of a batch, every finished task, in (scenario, replicate) order."""
    folder = Path(out) / table
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise OutputError(f"{out}: no {table} results (has the batch run?)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def intervals_hold(out: str | Path) -> str:
    """What a batch's intervals across replicates hold: chance, or parameters too."""
    from sim.uncertainty import holds_all

    folder = Path(out) / "scenarios"
    return holds_all([cfgmod.from_dict(yaml.safe_load(f.read_text()), f.name)
                      for f in sorted(folder.glob("*.yaml"))])


def experiment_of(out: str | Path) -> dict:
    path = Path(out) / EXPERIMENT
    if not path.is_file():
        raise OutputError(f"{out}: not a batch folder (no {EXPERIMENT})")
    return json.loads(path.read_text())["experiment"]
