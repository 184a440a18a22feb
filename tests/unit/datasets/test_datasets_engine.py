"""The local engine runs every job once, inline or on a process pool, and surfaces errors."""

from __future__ import annotations

import pytest

from firesight.engines import LocalEngine
from firesight.errors import InvalidParameterError


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x * x


def test_inline_and_pool_give_the_same_results():
    inline = list(LocalEngine(workers=1).map_unordered(_square, range(7)))
    pooled = sorted(LocalEngine(workers=2, max_pending=3).map_unordered(_square, range(7)))
    assert inline == [x * x for x in range(7)] and pooled == inline


def test_a_failing_job_raises_in_the_caller():
    with pytest.raises(ValueError, match="negative input -1"):
        list(LocalEngine(workers=2).map_unordered(_square, [1, -1, 2]))


def test_workers_must_be_positive():
    with pytest.raises(InvalidParameterError, match="workers must be an integer >= 1, got 0"):
        LocalEngine(workers=0)
