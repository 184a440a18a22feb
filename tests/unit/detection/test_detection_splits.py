"""Splits assign whole scenarios and hold whole families out."""

from __future__ import annotations

import pandas as pd
import pytest

from firesight.detection.splits import split_scenarios
from firesight.errors import InvalidParameterError


def catalog():
    rows = [(f"{fam}-{i}", fam) for fam, n in (("tf1", 10), ("tf2", 6), ("cooking", 8)) for i in range(n)]
    return pd.DataFrame(rows, columns=["scenario_id", "family"])


def test_split_by_scenario_per_family_and_deterministic():
    a = split_scenarios(catalog(), test_fraction=0.3, seed=4)
    b = split_scenarios(catalog(), test_fraction=0.3, seed=4)
    assert a == b
    assert not set(a.train_ids) & set(a.test_ids)
    assert len(a.train_ids) + len(a.test_ids) == 24
    test_fams = pd.Series([i.split("-")[0] for i in a.test_ids]).value_counts().to_dict()
    assert test_fams == {"tf1": 3, "tf2": 2, "cooking": 2}


def test_holdout_family_is_entirely_in_test():
    s = split_scenarios(catalog(), test_fraction=0.25, holdout_families=["tf2"], seed=0)
    assert all(not i.startswith("tf2") for i in s.train_ids)
    assert sum(i.startswith("tf2") for i in s.test_ids) == 6
    desc = s.describe(catalog().set_index("scenario_id")["family"])
    assert desc["holdout_families"] == ["tf2"] and "tf2" not in desc["train_families"]


def test_unknown_holdout_family_named():
    with pytest.raises(InvalidParameterError, match="holdout_families"):
        split_scenarios(catalog(), holdout_families=["tf9"])
