"""Batch runs: every (scenario, replicate) of an experiment, kept in one store.

A task is a pure function of (scenario config, root seed, replicate). Streams
are keyed by (replicate, process, entity) and deliberately *not* by scenario,
so replicate ``i`` of every scenario draws the same random numbers wherever the
scenarios do not differ: common random numbers, which make scenario
differences far less noisy than independent runs would.

Tasks run in chunks of consecutive replicates of one scenario, each with its own
config (a sensitivity analysis's draws), whose tables are computed together
(pandas' cost per call dominates small tasks), in this process (``jobs=1``), in a
local process pool, or on a Dask cluster. The parent process holds finished
tasks' tables and saves them every ``save_every`` seconds, once a worker has
nothing left to run, at the end, and when interrupted: one Parquet part per
table (``TABLE/part-NNNNN.parquet``), each written under a temporary name and
renamed when complete, then recorded with the tasks it holds in
``manifest.jsonl``. The manifest names only complete parts, so a kill loses at
most the tasks not yet saved, and ``resume`` runs only the tasks the manifest
lacks, including the new replicates of an experiment given more replications.
:func:`read` returns a table in (scenario, replicate) order, the same whatever
the executor, the number of workers, the chunks or the parts.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from scipy import stats

from sim import config as cfgmod
from sim import metrics
from sim.config import Config, ConfigError
from sim.engines import DEFAULT, check, simulate
from sim.execution import completed, progress
from sim.experiment import Experiment
from sim.outputs import OutputError, check_writable
from sim.record import Record
from sim.uncertainty import draw, holds_all

if TYPE_CHECKING:
    from distributed import Client

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: the same text, 10x faster
TABLES = ("mentees", "mentors", "timeseries", "costs", "phases", "budget", "workforce",
          "turnover", "outcomes", "parameters")
MANIFEST = "manifest.jsonl"
EXPERIMENT = "experiment.json"
CONNECT_TIMEOUT = 5  # seconds to reach a Dask scheduler
SAVE_EVERY = 60.0  # seconds between saves: a kill loses at most this much finished work
SAVE_BYTES = 256 * 2**20  # ... and the parent holds at most about this much of it
CHUNK_FACILITY_MONTHS = 32_000  # a chunk's size in facilities x months, past which the
# simulation outweighs the tables' cost per call and a worker would hold records for nothing
TABLES_FACILITY_MONTHS = 2_000  # about as much simulation as a chunk's tables cost: what
# planning the chunks counts for each, and the smallest chunk the workers share the work in


def run_tasks(experiment: Experiment, scenario: str, replicates: Sequence[int],
              engine: str = DEFAULT) -> dict[str, pd.DataFrame]:
    """Replicates of one scenario, as tables tagged with the scenario's name. Each runs with
    its own config (its ``psa:`` draws); the tables are computed with the first one's, which
    :func:`chunks` makes sure is what they read of every one's."""
    configs = [experiment.config_for(scenario, r) for r in replicates]
    records = [simulate(c, experiment.seed, r, engine)
               for c, r in zip(configs, replicates, strict=True)]
    tables = {**task_tables(configs[0], records), "parameters": parameters(experiment, records)}
    return {name: tables[name].assign(scenario=scenario) for name in TABLES}


def task_tables(config: Config, records: Sequence[Record]) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES` but ``parameters``, of replicates run with ``config``
    (or with configs that differ from it only where the tables do not read,
    :data:`sim.metrics.READS`)."""
    tables = metrics.tables(config, records)
    outcomes = metrics.outcomes(tables["mentees"], tables["costs"], config.costs.ksh_per_usd)
    econ = metrics.economics(tables["costs"], tables["timeseries"], config.costs.discount_rate)
    tables["outcomes"] = outcomes.rename_axis("replicate").reset_index().merge(econ,
                                                                              on="replicate")
    return tables


def parameter_keys(experiment: Experiment) -> list[str]:
    """The parameters a replicate of ``experiment`` may draw, by dotted key: the ``psa:``
    block's, then those of the scenarios' uncertainty blocks (:mod:`sim.uncertainty`)."""
    keys = dict.fromkeys(experiment.psa)
    for s in experiment.scenarios:
        d = draw(s.config, experiment.seed, 0)
        keys.update(dict.fromkeys(d.values if d is not None else ()))
    return list(keys)


def parameters(experiment: Experiment, records: Sequence[Record]) -> pd.DataFrame:
    """The parameter set each replicate ran with, a row per replicate and a column per
    :func:`parameter_keys` (null where its scenario does not draw it): the ``psa:`` draws
    and :func:`sim.metrics.parameters`' posterior draw (``draw``, from 1) and values."""
    reps = [rec.replicate for rec in records]
    drawn = metrics.parameters(records)
    df = pd.DataFrame({"replicate": pd.array(reps, dtype="int64")})
    if len(drawn):
        df = df.merge(drawn, on="replicate", how="left")
    df["draw"] = pd.array(df["draw"] if "draw" in df else [None] * len(df), dtype="Int64")
    psa = pd.DataFrame([experiment.draws(r) for r in reps], columns=list(experiment.psa),
                       dtype="float64")
    keys = parameter_keys(experiment)
    return pd.concat([df, psa], axis=1).reindex(columns=["replicate", "draw", *keys]).astype(
        dict.fromkeys(keys, "float64"))


def _run_chunk(experiment: Experiment, scenario: str, replicates: Sequence[int],
               engine: str) -> dict[str, pa.Table]:
    """:func:`run_tasks` as Arrow tables, which travel back from a worker cheaply."""
    return {name: _arrow(df) for name, df in run_tasks(experiment, scenario, replicates,
                                                          engine).items()}


def _arrow(df: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(df, preserve_index=False)
    if not len(df):  # no type to tell: null columns, which a save or a read promotes
        return table
    # a text column with no value in a chunk is typed null; as text, the parts of a table
    # have the same schema, and other tools can read a table's folder as one dataset
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                        for f in table.schema], metadata=table.schema.metadata)
    return table.cast(schema)


def chunks(experiment: Experiment, todo: Sequence[tuple[str, int]], workers: int
           ) -> list[tuple[str, list[int]]]:
    """``todo`` as chunks of consecutive replicates of one scenario, each run by one worker.

    A chunk is at most :data:`CHUNK_FACILITY_MONTHS` of its scenario. With several workers,
    the chunks are sized so that the workers finish together: the plan follows the workers
    as they would take the chunks in turn, each task costing its scenario's facility-months
    and each chunk's tables :data:`TABLES_FACILITY_MONTHS` more, and gives the worker free
    first its share of the work left (as in guided self-scheduling, but counting what the
    others still have to do), though not less than :data:`TABLES_FACILITY_MONTHS` of
    simulation. With a ``psa:`` block that draws a value the tables read
    (:data:`sim.metrics.READS`), every replicate is a chunk by itself.
    """
    alone = any(metrics.reads(key) for key in experiment.psa)
    cost = {}  # facility-months of a task of each scenario
    for scenario, _ in todo:
        if scenario not in cost:
            cfg = experiment.scenario(scenario).config
            cost[scenario] = sum(s.counts.total for s in cfg.subcounties) * cfg.months
    left = float(sum(cost[scenario] for scenario, _ in todo))
    free = [0.0] * workers  # when each worker would be free, in facility-months
    out: list[tuple[str, list[int]]] = []
    i = 0
    while i < len(todo):
        scenario, replicate = todo[i]
        c = cost[scenario]
        size = 1 if alone else max(1, CHUNK_FACILITY_MONTHS // c)
        w = free.index(min(free))
        if workers > 1:
            share = (left + sum(free)) / workers - free[w]
            size = min(size, max(1, TABLES_FACILITY_MONTHS // c, math.ceil(share / c - 1e-9)))
        chunk = [replicate]
        while (i + len(chunk) < len(todo) and len(chunk) < size
               and todo[i + len(chunk)] == (scenario, chunk[-1] + 1)):
            chunk.append(chunk[-1] + 1)
        out.append((scenario, chunk))
        free[w] += len(chunk) * c + TABLES_FACILITY_MONTHS
        left -= len(chunk) * c
        i += len(chunk)
    return out


def _entries(out: Path) -> Iterator[dict]:
    """The manifest's records of saved parts: ``{"part": n, "tasks": {scenario: [replicate,
    ...]}}``."""
    path = out / MANIFEST
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: its tasks rerun
            continue
        if not isinstance(entry, dict) or "part" not in entry:
            raise OutputError(f"{path}: written by an earlier version of mentorsim; run the "
                              "batch again in a new folder")
        yield entry


def _part(n: int) -> str:
    return f"part-{n:05d}.parquet"


class Store:
    """A batch's output folder: the experiment, the tables' Parquet parts and the manifest."""

    def __init__(self, out: str | Path, experiment: Experiment, resume: bool,
                 engine: str = DEFAULT) -> None:
        self.out = Path(out).resolve()
        self.experiment = experiment
        self.engine = engine
        self._held: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
        self._tasks: dict[str, list[int]] = {}
        self.held_bytes = 0
        marker = self.out / EXPERIMENT
        try:
            if resume:
                self._check_resumable(marker)
                check_writable(self.out)
                self._tidy(marker)
            else:
                if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
                    raise OutputError(f"{self.out}: not an empty directory "
                                      "(use --resume to continue)")
                check_writable(self.out)
                self._start(marker)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write: {exc.strerror or exc}") from None
        self._next = max((e["part"] for e in _entries(self.out)), default=-1) + 1

    def _record(self) -> dict:
        return {"fingerprint": self.experiment.fingerprint(), "engine": self.engine,
                "experiment": self.experiment.to_dict()}

    def _check_resumable(self, marker: Path) -> None:
        if not marker.is_file():
            raise OutputError(f"{self.out}: nothing to resume (no {EXPERIMENT})")
        try:
            doc = json.loads(marker.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("experiment"), dict):
            raise OutputError(f"{marker}: not an experiment record; start the batch afresh "
                              "in another folder")
        if doc.get("fingerprint") != self.experiment.fingerprint():
            raise OutputError(f"{self.out}: was started with a different experiment; "
                              "resume needs the same file and overrides")
        if doc.get("engine", DEFAULT) != self.engine:
            raise OutputError(f"{self.out}: was started on the {doc.get('engine', DEFAULT)} "
                              f"engine; resume it with --engine {doc.get('engine', DEFAULT)}")
        started = doc["experiment"].get("replications", 0)
        if self.experiment.replications < started:
            raise OutputError(f"{self.out}: was started with {started} replications; resume "
                              f"with at least as many (--reps {started})")

    def _tidy(self, marker: Path) -> None:
        """Before resuming: drop manifest lines cut short and parts no line names (a kill
        between a save's renames and its line), and record the replications asked for."""
        entries = list(_entries(self.out))
        _atomic_text(self.out / MANIFEST, "".join(json.dumps(e) + "\n" for e in entries))
        named = {_part(e["part"]) for e in entries}
        for name in TABLES:
            folder = self.out / name
            for path in folder.iterdir() if folder.is_dir() else ():
                if path.name not in named:
                    path.unlink()
        _atomic_text(marker, json.dumps(self._record(), indent=2, default=str) + "\n")

    def _start(self, marker: Path) -> None:
        """Create the folder and the experiment's record; if that fails, leave the folder
        as it was (missing, or empty), so that the same command can be run again."""
        created = not self.out.exists()
        started = False
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            _atomic_text(marker, json.dumps(self._record(), indent=2, default=str) + "\n")
            for i, s in enumerate(self.experiment.scenarios):
                _atomic_text(self.out / "scenarios" / f"{i:03d}.yaml",
                             yaml.dump(s.config.to_dict(), Dumper=_DUMPER, sort_keys=False))
            (self.out / MANIFEST).touch()
            started = True
        finally:
            if not started and self.out.is_dir():
                for path in [self.out] if created else list(self.out.iterdir()):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()

    def done(self) -> set[tuple[str, int]]:
        """The tasks saved."""
        return {(s, r) for e in _entries(self.out) for s, reps in e["tasks"].items()
                for r in reps}

    def hold(self, scenario: str, replicates: Sequence[int],
             tables: dict[str, pa.Table]) -> None:
        """Keep a chunk's tables until the next :meth:`save`."""
        for name in TABLES:
            self._held[name].append(tables[name])
            self.held_bytes += tables[name].nbytes
        self._tasks.setdefault(scenario, []).extend(replicates)

    def save(self) -> None:
        """Write the tables held as one part per table, then record it in the manifest.

        A save that fails or is interrupted before its manifest line is complete removes
        its files; a part in the manifest is always complete, in every table.
        """
        if not self._tasks:
            return
        targets = [self.out / name / _part(self._next) for name in TABLES]
        manifest = self.out / MANIFEST
        size = manifest.stat().st_size
        recorded = False

        def write(name: str, target: Path) -> None:
            table = pa.concat_tables(self._held[name], promote_options="permissive")
            with open(target.with_suffix(".tmp"), "wb") as f:
                pq.write_table(table, f)
                f.flush()
                os.fsync(f.fileno())

        try:
            for target in targets:
                target.parent.mkdir(exist_ok=True)
            # in threads: the file system commits their syncs together, which one after
            # another take most of a save's time
            with ThreadPoolExecutor(len(TABLES)) as pool:
                list(pool.map(write, TABLES, targets))
            for target in targets:
                os.replace(target.with_suffix(".tmp"), target)
            line = json.dumps({"part": self._next, "tasks": self._tasks}) + "\n"
            with open(manifest, "a") as f:
                try:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                    recorded = True
                except BaseException:
                    if not recorded:  # no line, or a cut one, before the next save's
                        f.truncate(size)
                    raise
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write: {exc.strerror or exc}") from None
        finally:
            for target in targets:
                target.with_suffix(".tmp").unlink(missing_ok=True)
                if not recorded:
                    target.unlink(missing_ok=True)
        self._next += 1
        self._held = {name: [] for name in TABLES}
        self._tasks = {}
        self.held_bytes = 0


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_batch(experiment: Experiment, out: str | Path, jobs: int = 1,
              scheduler: str | None = None, resume: bool = False,
              engine: str = DEFAULT, save_every: float = SAVE_EVERY) -> Path:
    """Run every task of ``experiment`` not yet in ``out`` on ``engine``; return the folder.

    Finished tasks are saved every ``save_every`` seconds, once a worker of several has
    nothing left to run, at the end, and when the run stops early (Ctrl-C, a task's error). Resuming prints how many tasks were done
    before to stderr. A Dask scheduler is reached before anything is written, so an
    address that does not answer fails within :data:`CONNECT_TIMEOUT` seconds and
    leaves no folder.
    """
    check(engine)
    with _connect(scheduler) if scheduler is not None else nullcontext() as client:
        store = Store(out, experiment, resume, engine)
        done = store.done()
        tasks = experiment.tasks()
        todo = [t for t in tasks if t not in done]
        if resume:
            print(f"{store.out}: {len(tasks) - len(todo)} of {len(tasks)} tasks done before, "
                  f"{len(todo)} to run", file=sys.stderr)
        workers = jobs if client is None else max(1, sum(client.nthreads().values()))
        work = chunks(experiment, todo, workers)
        results = (_dask_completed(client, experiment, work, engine) if client is not None else
                   completed(_run_chunk, [(experiment, s, reps, engine) for s, reps in work],
                             jobs))
        with progress(len(todo), experiment.name, "task") as bar:
            saved = time.monotonic()
            running, idle_save = len(work), workers > 1
            try:
                for i, tables in results:
                    store.hold(*work[i], tables)
                    bar.update(len(work[i][1]))
                    running -= 1
                    # once a worker has nothing left to run, the save it would otherwise
                    # wait for at the end is written while the last chunks run
                    idle = idle_save and 0 < running < workers
                    if (idle or time.monotonic() - saved >= save_every
                            or store.held_bytes >= SAVE_BYTES):
                        store.save()
                        saved = time.monotonic()
                        idle_save = idle_save and not idle
            except OutputError:
                raise
            except BaseException:  # Ctrl-C, or a task's error: keep the tasks that finished
                store.save()
                raise
            store.save()
    return store.out


@dataclass(frozen=True)
class Decided:
    """Where an adaptive batch stopped: the replications run, the paired difference's mean
    and interval, and why it stopped (``excludes zero``, ``precision`` or ``cap``)."""

    replications: int
    mean: float
    low: float
    high: float
    reason: str


def paired_interval(out: str | Path, first: str, second: str, outcome: str,
                    confidence: float = 0.95) -> tuple[int, float, float, float]:
    """The replications and the mean of ``second`` less ``first`` in ``outcome``, paired by
    replicate (common random numbers), with its ``confidence`` t-interval."""
    table = read(out, "outcomes")
    wide = table.pivot(index="replicate", columns="scenario", values=outcome)
    d = (wide[second] - wide[first]).dropna().to_numpy(dtype=float)
    if len(d) < 2:
        return len(d), float(d.mean()) if len(d) else math.nan, -math.inf, math.inf
    half = stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return len(d), float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def run_until_decided(experiment: Experiment, out: str | Path, first: str, second: str,
                      outcome: str, step: int, precision: float | None = None,
                      confidence: float = 0.95, resume: bool = False,
                      **run: object) -> Decided:
    """Run ``experiment`` in rounds of ``step`` more replications until the paired
    difference of ``outcome`` between two scenarios has a ``confidence`` interval that
    excludes zero, or (with ``precision``) is at most that far either side of its mean, and
    at most the experiment's replications (the cap). The folder is an ordinary batch of the
    replications run, which ``--resume --reps`` extends.

    Each round looks at the interval again, so the chance that a round stops on a
    difference that is not there exceeds ``1 - confidence``; a stricter ``confidence``
    holds it down."""
    names = [s.name for s in experiment.scenarios]
    for name in (first, second):
        if name not in names:
            raise ConfigError(f"--until-decided: no scenario {name!r} ({', '.join(names)})")
    if first == second:
        raise ConfigError("--until-decided: name two different scenarios")
    if outcome not in metrics.OUTCOMES:
        raise ConfigError(f"--outcome: {outcome!r} is not an outcome "
                          f"({', '.join(metrics.OUTCOMES)})")
    cap = experiment.replications
    n = min(cap, max(step, _replications_of(out) if resume else 0))
    while True:
        run_batch(replace(experiment, replications=n), out, resume=resume, **run)
        resume = True
        count, mean, low, high = paired_interval(out, first, second, outcome, confidence)
        reason = ("excludes zero" if low > 0 or high < 0 else
                  "precision" if precision is not None and (high - low) / 2 <= precision else
                  "cap" if n >= cap else "")
        if reason:
            return Decided(count, mean, low, high, reason)
        n = min(cap, n + step)


def _replications_of(out: str | Path) -> int:
    """The replications a batch folder was run with (0 for a new folder, or one the store
    will refuse to resume with its own message)."""
    try:
        return int(json.loads((Path(out) / EXPERIMENT).read_text())["experiment"]["replications"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


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


def _dask_completed(client: Client, experiment: Experiment, work: list[tuple[str, list[int]]],
                    engine: str) -> Iterator[tuple[int, dict[str, pa.Table]]]:
    """Like :func:`sim.execution.completed`, on the client's cluster."""
    from distributed import as_completed as dask_completed

    shared = client.scatter(experiment, broadcast=True)
    futures = {client.submit(_run_chunk, shared, s, reps, engine, pure=False): i
               for i, (s, reps) in enumerate(work)}
    for fut in dask_completed(futures):
        yield futures[fut], fut.result()


def read(out: str | Path, table: str) -> pd.DataFrame:
    """One table of a batch, every saved task, in (scenario, replicate) order; within a
    task, rows are in the order its tables were computed in."""
    out = Path(out)
    scenarios = list(experiment_of(out)["scenarios"])
    parts = [out / table / _part(e["part"]) for e in _entries(out)] if table in TABLES else []
    if not parts:
        raise OutputError(f"{out}: no {table} results (has the batch run?)")
    try:
        data = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive")
    except (OSError, pa.ArrowException) as exc:
        raise OutputError(f"{out / table}: cannot read: {exc}") from None
    keys = pa.table({"scenario": pc.index_in(data["scenario"], value_set=pa.array(scenarios)),
                     "replicate": data["replicate"]})
    order = pc.sort_indices(keys, sort_keys=[("scenario", "ascending"),
                                             ("replicate", "ascending")])  # stable
    return data.take(order).to_pandas()


def intervals_hold(out: str | Path) -> str:
    """What a batch's intervals across replicates hold: chance, or parameters too."""
    folder = Path(out) / "scenarios"
    return holds_all([cfgmod.from_dict(yaml.safe_load(f.read_text()), f.name)
                      for f in sorted(folder.glob("*.yaml"))])


def experiment_of(out: str | Path) -> dict:
    path = Path(out) / EXPERIMENT
    if not path.is_file():
        raise OutputError(f"{out}: not a batch folder (no {EXPERIMENT})")
    return json.loads(path.read_text())["experiment"]
