"""Datasets: the documented layout (:mod:`~firesight.datasets.layout`), the streaming,
resumable writer (:func:`generate_dataset`), the reader (:func:`open_dataset`) and the
catalog (:mod:`~firesight.datasets.catalog`)."""

from firesight.datasets.generate import generate_dataset
from firesight.datasets.reader import Dataset, LazyFrames, ScenarioData, open_dataset

__all__ = ["Dataset", "LazyFrames", "ScenarioData", "generate_dataset", "open_dataset"]
