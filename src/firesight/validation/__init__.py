"""Validation of firesight's physics and sensor models against NIST's real fire
measurements (FAA cargo compartments, DelCo trainers). See ``docs/validation.md``."""

from firesight.validation.report import VALIDATION_BOUNDS, check_bounds, run_validation, write_report

__all__ = ["VALIDATION_BOUNDS", "check_bounds", "run_validation", "write_report"]
