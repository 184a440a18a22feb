"""Suite-wide rules.

A skipped test is a failure: CI installs everything the suite needs (Mosquitto, Java,
Chromium) and the real-data folder sits beside the repository, so a skip there would hide a
missing part. For a local run without those parts, set ``FIRESIGHT_ALLOW_SKIP=1``.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("FIRESIGHT_ALLOW_SKIP") != "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"skipped tests fail unless FIRESIGHT_ALLOW_SKIP=1 is set: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module that skips itself at collection (``allow_module_level=True``) fails too."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("FIRESIGHT_ALLOW_SKIP") != "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped modules fail unless FIRESIGHT_ALLOW_SKIP=1 is set: {reason}"
