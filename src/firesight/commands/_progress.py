"""The progress bar of commands that work through a dataset's scenarios.

Library functions report progress to a callback, ``progress(done, total, scenario_id)``
(:func:`firesight.datasets.generate_dataset`,
:func:`firesight.features.dataset.compute_dataset_features`); only the CLI draws, with Rich.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextlib.contextmanager
def scenario_progress(description: str) -> Iterator[Callable[[int, int, str], None]]:
    """A bar labelled ``description`` (scenarios done of total, time elapsed) while the block
    runs; yields the ``progress(done, total, scenario_id)`` callback that moves it."""
    with Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("scenarios", total=None)

        def progress(done: int, total: int, scenario_id: str) -> None:
            bar.update(task, completed=done, total=total)

        yield progress
