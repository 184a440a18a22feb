"""Gradient-boosted trees fire detector (XGBoost, CPU build ``xgboost-cpu``).

References
----------
1. Chen, T., Guestrin, C. (2016). XGBoost: A Scalable Tree Boosting System. KDD '16,
   785-794. doi:10.1145/2939672.2939785
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from firesight.detection._base import DetectorMixin


class XGBoostDetector(DetectorMixin):
    """Fire probability per window from gradient-boosted trees.

    Parameters
    ----------
    features : sequence of str, optional
        Feature columns to use (None: all numeric non-meta columns).
    n_estimators : int
        Boosting rounds [count].
    max_depth : int
        Maximum tree depth [levels].
    learning_rate : float
        Shrinkage per round [-].
    subsample, colsample_bytree : float
        Row and column sampling fractions per tree [0-1].
    min_child_weight : float
        Minimum hessian sum per leaf [-].
    scale_pos_weight : float or None
        Weight of fire windows; None: ratio of non-fire to fire windows in training.
    monotone : mapping or str, optional
        Monotone constraints, feature -> +1/-1, or ``"physical"``
        (:data:`firesight.detection.constraints.PHYSICAL_MONOTONE`).
    random_state : int
        Seed of the booster's generator.
    n_jobs : int
        Worker threads.
    """

    def __init__(self, *, features: Sequence[str] | None = None, n_estimators: int = 300,
                 max_depth: int = 5, learning_rate: float = 0.08, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, min_child_weight: float = 5.0,
                 scale_pos_weight: float | None = None, monotone=None, random_state: int = 0,
                 n_jobs: int = 2):
        self.features = features
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.scale_pos_weight = scale_pos_weight
        self.monotone = monotone
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit(self, values: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> None:
        from xgboost import XGBClassifier

        from firesight.detection.constraints import monotone_vector

        spw = self.scale_pos_weight
        if spw is None:
            spw = float((labels == 0).sum()) / max(1.0, float((labels == 1).sum()))
        self.booster_ = XGBClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, min_child_weight=self.min_child_weight,
            scale_pos_weight=spw, random_state=self.random_state, n_jobs=self.n_jobs,
            tree_method="hist", eval_metric="logloss")
        constraints = monotone_vector(self.monotone, self.feature_names_)
        if constraints is not None:
            self.booster_.set_params(monotone_constraints=tuple(constraints))
        self.booster_.fit(values, labels)

    def _predict(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        # one thread for small batches (the online path): thread start-up dominates there
        self.booster_.set_params(n_jobs=self.n_jobs if len(values) >= 256 else 1)
        return self.booster_.predict_proba(values)[:, 1]
