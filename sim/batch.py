"""Batch runs: every (scenario, replicate) of an experiment as one durable task.

A task is a pure function of (scenario config, root seed, replicate). Streams
are keyed by (replicate, process, entity) and deliberately *not* by scenario,
so replicate ``i`` of every scenario draws the same random numbers wherever the
scenarios do not differ: common random numbers, which make scenario
differences far less noisy than independent runs would.

Tasks run in this process (``jobs=1``), in a local process pool, or on a Dask
cluster. Whatever the executor, each finished task's tables are written at
once (one Parquet file per table, moved into place complete) and only then
recorded in ``manifest.jsonl``; a killed batch restarted with ``resume`` runs
only the tasks the manifest lacks. The files do not depend on the executor,
the number of workers or the order tasks finish in.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import yaml

from sim import metrics
from sim.experiment import Experiment
from sim.model import simulate
from sim.outputs import OutputError, check_writable

TABLES = ("mentees", "mentors", "timeseries", "costs", "outcomes")
MANIFEST = "manifest.jsonl"
EXPERIMENT = "experiment.json"


def run_task(experiment: Experiment, scenario: str, replicate: int) -> dict[str, pd.DataFrame]:
    """One replicate of one scenario, as tables tagged with the scenario's name."""
    config = experiment.config_for(scenario, replicate)
    rec = simulate(config, experiment.seed, replicate)
    mentees = metrics.mentees(config, [rec])
    ledger = metrics.costs(config, [rec])
    tables = {
        "mentees": mentees,
        "mentors": metrics.mentors(config, [rec]),
        "timeseries": metrics.timeseries(config, [rec], ledger),
        "costs": ledger,
        "outcomes": metrics.outcomes(mentees, ledger, config.costs.ksh_per_usd)
        .rename_axis("replicate").reset_index(),
    }
    econ = metrics.economics(ledger, tables["timeseries"], config.costs.discount_rate)
    tables["outcomes"] = tables["outcomes"].merge(econ, on="replicate")
    return {name: df.assign(scenario=scenario) for name, df in tables.items()}


class Store:
    """A batch's output folder: the experiment, per-task Parquet files and the manifest."""

    def __init__(self, out: str | Path, experiment: Experiment, resume: bool) -> None:
        self.out = Path(out).resolve()
        self.experiment = experiment
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

    def _start(self, marker: Path) -> None:
        """Create the folder and the experiment's record; if that fails, leave the folder
        as it was (missing, or empty), so that the same command can be run again."""
        created = not self.out.exists()
        started = False
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            doc = {"fingerprint": self.experiment.fingerprint(),
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


def _progress(total: int, name: str):
    from tqdm import tqdm

    quiet = not sys.stderr.isatty() or bool(os.environ.get("CI"))
    return tqdm(total=total, desc=name, unit="task", disable=quiet, smoothing=0.1)


def run_batch(experiment: Experiment, out: str | Path, jobs: int = 1,
              scheduler: str | None = None, resume: bool = False) -> Path:
    """Run every task of ``experiment`` not yet in ``out``; return the folder."""
    store = Store(out, experiment, resume)
    done = store.done()
    todo = [t for t in experiment.tasks() if t not in done]
    with _progress(len(todo), experiment.name) as bar:
        if scheduler is not None:
            _run_dask(store, todo, experiment, scheduler, bar)
        elif jobs == 1:
            for scenario, rep in todo:
                store.write(scenario, rep, run_task(experiment, scenario, rep))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_exit_with_parent,
                                     initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(run_task, experiment, s, r): (s, r) for s, r in todo}
                for fut in as_completed(futures):
                    store.write(*futures[fut], fut.result())
                    bar.update()
    return store.out


def _exit_with_parent(parent: int) -> None:
    """Pool worker start-up: exit when the batch that started it is gone.

    A worker blocks on the task queue, and the siblings it was forked with hold
    the queue's other end open, so a batch killed outright (SIGKILL, the
    out-of-memory killer) would leave its workers waiting for ever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_dask(store: Store, todo: list[tuple[str, int]], experiment: Experiment,
              scheduler: str, bar) -> None:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise OutputError("--scheduler needs Dask: pip install 'mentorsim[cluster]'") from None
    with Client(scheduler) as client:
        shared = client.scatter(experiment, broadcast=True)
        futures = {client.submit(run_task, shared, s, r, pure=False): (s, r) for s, r in todo}
        for fut in dask_completed(futures):
            store.write(*futures[fut], fut.result())
            bar.update()


def read(out: str | Path, table: str) -> pd.DataFrame:
    """One table of a batch, every finished task, in (scenario, replicate) order."""
    folder = Path(out) / table
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise OutputError(f"{out}: no {table} results (has the batch run?)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def experiment_of(out: str | Path) -> dict:
    path = Path(out) / EXPERIMENT
    if not path.is_file():
        raise OutputError(f"{out}: not a batch folder (no {EXPERIMENT})")
    return json.loads(path.read_text())["experiment"]
