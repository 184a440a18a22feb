"""Polling for a condition in tests: one helper instead of a copy per test module."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(cond: Callable[[], object], timeout_s: float = 10.0, step_s: float = 0.02) -> bool:
    """True as soon as ``cond()`` is truthy, False when it is still falsy after ``timeout_s``
    (checked once more at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)
