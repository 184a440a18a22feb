"""Serving: the SageMaker-compatible inference endpoint, batch transform and fast scoring.

See ``docs/serving.md``.
"""
