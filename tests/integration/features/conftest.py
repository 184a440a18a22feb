"""A tiny dataset from the real generator, shared by the feature integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> str:
    """Three 30 s scenarios from ``firesight generate`` (seed 11): a fire and nuisances."""
    from firesight.datasets import generate_dataset

    root = str(tmp_path_factory.mktemp("features-data") / "data")
    generate_dataset(root, count=3, seed=11, duration_s=30.0, workers=1)
    return root
