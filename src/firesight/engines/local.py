"""Local engine: run independent jobs inline or on a process pool.

The engine only schedules; the jobs themselves are plain picklable functions and do their
own work. Results come back as each job finishes (order not guaranteed), so the caller
commits finished work one piece at a time and an interrupted run loses only what was in
flight.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from firesight.errors import require

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """Runs ``fn(item)`` for each item on ``workers`` processes (inline when ``workers`` is 1).

    Parameters
    ----------
    workers : int
        Number of worker processes [-]; 1 runs every job in the calling process.
    max_pending : int, optional
        Jobs submitted ahead of the results consumed (default ``2 * workers``), which keeps
        memory flat however many items there are.
    """

    def __init__(self, *, workers: int = 1, max_pending: int | None = None):
        require(isinstance(workers, int) and workers >= 1, "workers", "an integer >= 1", workers)
        self.workers = workers
        self.max_pending = max_pending or 2 * workers

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, each as soon as it is done.

        An exception in a job is raised here; pending jobs are cancelled and the pool shut
        down (also on ``KeyboardInterrupt`` or when the caller stops iterating).
        """
        if self.workers == 1:
            for item in items:
                yield fn(item)
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        pending: set[Future[Any]] = set()
        source = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.max_pending:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(pool.submit(fn, item))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
