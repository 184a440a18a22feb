"""Validation of firesight's physics and sensor models against real measurements (NIST's
FAA cargo compartments and DelCo trainers) and of its ordinary-room scenarios against a
real office. See ``docs/validation.md``."""

from firesight.validation.criteria import CRITERIA, KNOWN_FAILURES
from firesight.validation.report import check_criteria, failing, run_validation, write_report

__all__ = ["CRITERIA", "KNOWN_FAILURES", "check_criteria", "failing", "run_validation", "write_report"]
