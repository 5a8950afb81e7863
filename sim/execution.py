"""Running many independent tasks: a progress bar, and a local process pool.

:func:`completed` runs tasks in this process or in a pool of worker
processes and yields each result as it finishes, tagged with its task's
index, so a caller can combine results in task order whatever the order they
finish in. Ctrl-C is handled by the calling process alone: the workers ignore
it (a terminal sends it to the whole process group), and they are terminated
as soon as the caller stops early, so neither a traceback nor a worker is
left behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(total: int, desc: str, unit: str) -> tqdm:
    """A progress bar on stderr with count, rate and ETA; silent unless stderr is a
    terminal and ``CI`` is unset."""
    quiet = not sys.stderr.isatty() or bool(os.environ.get("CI"))
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet, smoothing=0.1)


def completed(fn: Callable[..., T], tasks: Sequence[tuple], jobs: int = 1
              ) -> Iterator[tuple[int, T]]:
    """``(i, fn(*tasks[i]))`` for every task, in the order the tasks finish.

    With ``jobs == 1`` (or a single task) the tasks run here, in order; otherwise in
    ``min(jobs, len(tasks))`` worker processes. If the caller stops early (an
    exception, Ctrl-C, or closing the generator), the workers are terminated.
    """
    if jobs == 1 or len(tasks) <= 1:
        for i, args in enumerate(tasks):
            yield i, fn(*args)
        return
    with _pool(min(jobs, len(tasks))) as pool:
        with _sigint_deferred():  # the workers start as the tasks are submitted
            futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


@contextmanager
def mapper(jobs: int) -> Iterator[Callable[[Callable[..., T], Sequence[tuple]], list[T]]]:
    """``map(fn, tasks) -> [fn(*task) for task in tasks]``, on ``jobs`` worker processes
    kept for the whole block (here, with one job): for many small rounds of tasks,
    such as an MCMC sampler's steps. Workers are handled as by :func:`completed`."""
    if jobs == 1:
        yield lambda fn, tasks: [fn(*args) for args in tasks]
        return
    with _pool(jobs) as pool:
        def run(fn: Callable[..., T], tasks: Sequence[tuple]) -> list[T]:
            with _sigint_deferred():
                futures = [pool.submit(fn, *args) for args in tasks]
            return [fut.result() for fut in futures]

        yield run


@contextmanager
def _pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``jobs`` workers, terminated if the block ends early."""
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_start,
                               initargs=(os.getpid(),))
    finished = False
    try:
        yield pool
        finished = True
    finally:
        if not finished:  # running tasks would otherwise hold the exit until they end
            for worker in set(multiprocessing.active_children()) - before:
                worker.terminate()
        pool.shutdown(cancel_futures=True)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends.

    A worker started in the block inherits the held signal and starts by ignoring it
    (:func:`_worker_start`); started without the hold, it could take a Ctrl-C before
    ignoring it, and die with a traceback of its own.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _worker_start(parent: int) -> None:
    """Pool worker start-up: ignore Ctrl-C, and exit when the process that started it is gone.

    A worker blocks on the task queue, and the siblings it was forked with hold
    the queue's other end open, so a parent killed outright (SIGKILL, the
    out-of-memory killer) would leave its workers waiting for ever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held by its parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
