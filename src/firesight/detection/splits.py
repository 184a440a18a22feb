"""Train / test splits by scenario (never by row), with whole families held out.

Windows of one scenario are strongly correlated; a row-level split would put the same
fire on both sides and flatter every detector. Splits here assign whole scenarios, drawn
per family so each family is represented on both sides, and can hold whole families out
of training to show generalisation to fires and nuisances never seen.

References
----------
1. Roberts, D. R. et al. (2017). Cross-validation strategies for data with temporal,
   spatial, hierarchical, or phylogenetic structure. Ecography 40(8), 913-929.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from firesight.errors import DataError, require


@dataclass(frozen=True)
class ScenarioSplit:
    """Scenario ids on each side and how they were chosen."""

    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    holdout_families: tuple[str, ...]
    test_fraction: float
    seed: int

    def describe(self, families: pd.Series) -> dict:
        """Sizes and families of each side (``families``: family per scenario id)."""
        fam = families.astype(str)
        return {
            "seed": self.seed, "test_fraction": self.test_fraction,
            "holdout_families": list(self.holdout_families),
            "n_train": len(self.train_ids), "n_test": len(self.test_ids),
            "train_families": sorted(set(fam.loc[list(self.train_ids)])),
            "test_families": sorted(set(fam.loc[list(self.test_ids)])),
        }


def split_scenarios(scenarios: pd.DataFrame, *, test_fraction: float = 0.3,
                    holdout_families: Sequence[str] = (), seed: int = 0) -> ScenarioSplit:
    """Split scenario ids into train and test, per family, holding whole families out.

    Parameters
    ----------
    scenarios : pandas.DataFrame
        One row per scenario with columns ``scenario_id`` (or ``id``) and ``family``.
    test_fraction : float
        Fraction [0-1) of each remaining family's scenarios put in the test set.
    holdout_families : sequence of str
        Families put entirely in the test set.
    seed : int
        Seed of the numpy Generator that shuffles each family.
    """
    require(0.0 <= test_fraction < 1.0, "test_fraction", "in [0, 1)", test_fraction)
    key = "scenario_id" if "scenario_id" in scenarios.columns else "id"
    if key not in scenarios.columns or "family" not in scenarios.columns:
        raise DataError(f"scenarios table needs scenario_id (or id) and family columns, "
                        f"has {list(scenarios.columns)}")
    table = scenarios[[key, "family"]].drop_duplicates(subset=key)
    table = table.assign(**{key: table[key].astype(str), "family": table["family"].astype(str)})
    known = set(table["family"])
    unknown = sorted(set(holdout_families) - known)
    require(not unknown, "holdout_families", f"families present in the data {sorted(known)}", unknown)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for family, group in table.sort_values(key).groupby("family", sort=True):
        ids = group[key].to_list()
        if family in holdout_families:
            test.extend(ids)
            continue
        order = rng.permutation(len(ids))
        n_test = int(round(test_fraction * len(ids)))
        if test_fraction > 0 and len(ids) > 1:
            n_test = min(max(n_test, 1), len(ids) - 1)
        test.extend(ids[i] for i in order[:n_test])
        train.extend(ids[i] for i in order[n_test:])
    require(len(train) > 0, "test_fraction / holdout_families", "to leave training scenarios",
            {"test_fraction": test_fraction, "holdout_families": list(holdout_families)})
    return ScenarioSplit(tuple(sorted(train)), tuple(sorted(test)), tuple(holdout_families),
                         float(test_fraction), int(seed))
