"""Random Forest fire detector (scikit-learn).

References
----------
1. Breiman, L. (2001). Random Forests. Machine Learning 45(1), 5-32.
2. scikit-learn ``RandomForestClassifier`` (Pedregosa et al., JMLR 12, 2825-2830, 2011).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from firesight.detection._base import DetectorMixin


class RandomForestDetector(DetectorMixin):
    """Fire probability per window from a Random Forest over window features.

    Parameters
    ----------
    features : sequence of str, optional
        Feature columns to use (None: all numeric non-meta columns).
    n_estimators : int
        Trees [count].
    max_depth : int or None
        Maximum tree depth [levels]; bounded to keep the shipped model small.
    min_samples_leaf : int
        Minimum windows per leaf [count].
    max_features : str or float
        Features tried per split (scikit-learn semantics).
    max_samples : float or None
        Fraction [0-1] of the windows drawn for each tree (None: all).
    class_weight : str or None
        ``"balanced_subsample"`` weights fire windows up where they are rare.
    monotone : mapping or str, optional
        Monotone constraints, feature -> +1/-1, or ``"physical"``
        (:data:`firesight.detection.constraints.PHYSICAL_MONOTONE`).
    random_state : int
        Seed of the forest's generator.
    n_jobs : int
        Worker threads for fit and predict.
    """

    def __init__(self, *, features: Sequence[str] | None = None, n_estimators: int = 60,
                 max_depth: int | None = 10, min_samples_leaf: int = 30,
                 max_features: str | float = "sqrt", max_samples: float | None = 0.5,
                 class_weight: str | None = "balanced_subsample", monotone=None,
                 random_state: int = 0, n_jobs: int = 2):
        self.features = features
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_samples = max_samples
        self.class_weight = class_weight
        self.monotone = monotone
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit(self, values: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> None:
        from firesight.detection.constraints import monotone_vector

        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, max_features=self.max_features,
            max_samples=self.max_samples, class_weight=self.class_weight,
            monotonic_cst=monotone_vector(self.monotone, self.feature_names_),
            random_state=self.random_state, n_jobs=self.n_jobs)
        self.forest_.fit(values, labels)
        self.feature_importances_ = self.forest_.feature_importances_

    def _predict(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        if len(values) >= 256:
            return self.forest_.predict_proba(values)[:, 1]
        # small batches (the online path scores one row): average the trees directly,
        # skipping per-tree validation and thread dispatch; same arithmetic as
        # RandomForestClassifier.predict_proba (mean of each tree's class fractions)
        x = np.ascontiguousarray(values, dtype=np.float32)
        total = np.zeros(len(x))
        for tree in self.forest_.estimators_:
            v = tree.tree_.predict(x)[:, :2]
            total += v[:, 1] / np.maximum(v.sum(axis=1), 1e-300)
        return total / len(self.forest_.estimators_)
