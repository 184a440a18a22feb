"""Engines that run batches of independent jobs: a local process pool (and Spark, where
installed)."""

from firesight.engines.local import LocalEngine

__all__ = ["LocalEngine"]
