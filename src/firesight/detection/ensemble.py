"""Ensemble of fire detectors: mean or stacked probabilities.

References
----------
1. Wolpert, D. H. (1992). Stacked generalization. Neural Networks 5(2), 241-259.
2. Dietterich, T. G. (2000). Ensemble Methods in Machine Learning. MCS 2000, LNCS 1857.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from firesight.detection._base import DetectorMixin, check_frame, feature_matrix, groups_vector, \
    labels_vector
from firesight.detection.guard import apply_guard, check_guard, guard_columns
from firesight.errors import InvalidParameterError

METHODS = ("mean", "stacking")


class EnsembleDetector(DetectorMixin):
    """Combine member detectors' fire probabilities.

    Parameters
    ----------
    estimators : sequence of (str, detector)
        Named members (fitted by :meth:`fit` on clones).
    method : {"mean", "stacking"}
        ``mean``: average probability. ``stacking``: logistic regression on out-of-fold
        member probabilities (folds by scenario, never by row).
    cv : int
        Folds for stacking [count].
    features : sequence of str, optional
        Union of columns passed to the members (None: all numeric non-meta columns).
    guard : mapping, optional
        Co-rise guard applied to the combined probability
        (:func:`firesight.detection.guard.make_guard`; None: none).
    """

    def __init__(self, *, estimators: Sequence[tuple[str, DetectorMixin]] = (),
                 method: str = "mean", cv: int = 3, features: Sequence[str] | None = None,
                 guard: dict | None = None):
        self.estimators = estimators
        self.method = method
        self.cv = cv
        self.features = features
        self.guard = guard

    def history_windows(self) -> int:
        members = getattr(self, "estimators_", None) or [e for _, e in self.estimators]
        return max([1] + [e.history_windows() for e in members])

    def fit(self, X: pd.DataFrame, y, groups=None):
        if self.method not in METHODS:
            raise InvalidParameterError("method", f"one of {METHODS}", self.method)
        if not self.estimators:
            raise InvalidParameterError("estimators", "at least one (name, detector)", self.estimators)
        check_frame(X)
        names = self._select_features(X)
        feature_matrix(X, names)
        if self.guard is not None:
            check_guard(self.guard)
            guard_columns(self.guard, names)
        labels = labels_vector(y, len(X))
        g = groups_vector(X, groups)
        members = [clone(e) for _, e in self.estimators]
        for m in members:
            if m.features is None:
                m.set_params(features=names)
        for m in members:
            m.fit(X, labels, groups=g)
        self.estimators_ = members
        self.names_ = [n for n, _ in self.estimators]
        self.feature_names_ = sorted({f for m in members for f in m.feature_names_},
                                     key=list(X.columns).index)
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        if self.method == "stacking":
            self._fit_stacker(X, labels, g)
        return self

    def _fit_stacker(self, X: pd.DataFrame, labels: np.ndarray, g: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold

        oof = np.zeros((len(X), len(self.estimators_)))
        for train, test in GroupKFold(n_splits=int(self.cv)).split(X, labels, g):
            for j, m in enumerate(self.estimators_):
                member = clone(m).fit(X.iloc[train], labels[train], groups=g[train])
                oof[test, j] = member.predict_proba(X.iloc[test], groups=g[test])[:, 1]
        self.stacker_ = LogisticRegression().fit(_logit(oof), labels)

    def member_probabilities(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        """Fire probability of each member, shape (n_rows, n_members)."""
        self._check_fitted()
        g = groups_vector(X, groups)
        return np.column_stack([m.predict_proba(X, groups=g)[:, 1] for m in self.estimators_])

    def predict_proba(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        self._check_fitted()
        feature_matrix(X, self.feature_names_)
        probs = self.member_probabilities(X, groups)
        if self.method == "stacking":
            p = self.stacker_.predict_proba(_logit(probs))[:, 1]
        else:
            p = probs.mean(axis=1)
        p = apply_guard(self.guard, X, p)
        return np.column_stack([1.0 - p, p])

    def predict_last(self, X: pd.DataFrame) -> float:
        self._check_fitted()
        probs = np.array([[m.predict_last(X) for m in self.estimators_]])
        if self.method == "stacking":
            p = float(self.stacker_.predict_proba(_logit(probs))[0, 1])
        else:
            p = float(probs.mean())
        return float(apply_guard(self.guard, X.iloc[len(X) - 1:], np.array([p]))[0])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))
