"""Shared parts of the detectors: the estimator contract and input validation.

Detectors take a :class:`pandas.DataFrame` of window features (one row per window, the
columns named by ``firesight.features.FEATURE_NAMES``) plus, optionally, the meta columns
``scenario_id`` and ``time_s``. Sequence detectors and baselines read the history of a
scenario from consecutive rows of the same ``scenario_id`` (rows sorted by time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from firesight.errors import DataError, InvalidParameterError

#: Columns of a feature table that are not features.
META_COLUMNS: tuple[str, ...] = ("scenario_id", "family", "label", "is_fire", "ignition_time_s",
                                 "time_s", "burning", "truth_state", "state", "hrr_kw", "seed",
                                 "source_view", "precursor")


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns of ``frame`` that are not meta columns, in table order."""
    return [c for c in frame.columns
            if c not in META_COLUMNS and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def check_frame(X, name: str = "X") -> pd.DataFrame:
    """Require a non-empty DataFrame."""
    if not isinstance(X, pd.DataFrame):
        raise InvalidParameterError(name, "a pandas DataFrame of window features",
                                    type(X).__name__)
    if len(X) == 0:
        raise DataError(f"{name} has no rows")
    return X


def feature_matrix(X: pd.DataFrame, feature_names: Sequence[str], name: str = "X") -> np.ndarray:
    """The float32 matrix of ``feature_names`` from ``X``, checking presence and values.

    NaN is allowed: feature extraction uses it for a quantity that is undefined in a window
    (no hot blob, a rate before its horizon has history, a sensor offline). Infinite values
    are not. Raises :class:`DataError` naming missing columns or columns holding inf.
    """
    check_frame(X, name)
    missing = [c for c in feature_names if c not in X.columns]
    if missing:
        raise DataError(f"{name} lacks {len(missing)} feature column(s) the model needs: "
                        f"{missing[:8]}{' ...' if len(missing) > 8 else ''}")
    try:
        values = X.loc[:, list(feature_names)].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: feature columns are not numeric ({exc})") from exc
    bad = np.isinf(values)
    if bad.any():
        cols = [f"{feature_names[j]} ({int(bad[:, j].sum())} rows)"
                for j in np.flatnonzero(bad.any(axis=0))]
        raise DataError(f"{name} holds infinite values in {cols[:8]}")
    return values.astype(np.float32)


def labels_vector(y, n_rows: int) -> np.ndarray:
    """Binary labels (0/1) of length ``n_rows``."""
    arr = np.asarray(y)
    if arr.shape != (n_rows,):
        raise InvalidParameterError("y", f"a 1-D array of {n_rows} labels", arr.shape)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError("y holds NaN or infinite labels")
    out = arr.astype(np.int64)
    if not np.isin(out, (0, 1)).all():
        raise InvalidParameterError("y", "binary labels 0/1", np.unique(out)[:5].tolist())
    if out.min() == out.max():
        raise DataError(f"y holds only class {int(out[0])}; training needs fire and non-fire windows")
    return out


def groups_vector(X: pd.DataFrame, groups=None) -> np.ndarray:
    """Scenario id per row: ``groups`` if given, else ``X['scenario_id']``, else one group."""
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != (len(X),):
            raise InvalidParameterError("groups", f"one scenario id per row ({len(X)})", g.shape)
        return g
    if "scenario_id" in X.columns:
        return X["scenario_id"].to_numpy()
    return np.zeros(len(X), dtype=np.int64)


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's group (rows of a group must be contiguous)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = groups[1:] != groups[:-1]
    first = np.flatnonzero(change)
    keys = groups[first]
    if len(pd.unique(keys)) != len(keys):
        raise DataError("rows of a scenario must be contiguous and sorted by time_s "
                        "(sort the feature table by scenario_id, time_s)")
    return np.maximum.accumulate(np.where(change, np.arange(n), 0))


class DetectorMixin(ClassifierMixin, BaseEstimator):
    """scikit-learn contract for firesight detectors.

    Subclasses implement ``_fit(X_values, y, groups)`` and ``_predict(X_values, groups)``
    returning the fire probability per row; this class handles feature selection,
    validation and the fitted checks. ``features`` (init parameter) names the columns to
    use (None: every numeric non-meta column of the training table).
    """

    def history_windows(self) -> int:
        """Windows of history that the prediction for the last row needs (1: the row alone)."""
        return 1

    def _select_features(self, X: pd.DataFrame) -> list[str]:
        names = list(self.features) if self.features is not None else feature_columns(X)
        if not names:
            raise DataError("X has no feature columns")
        return names

    def fit(self, X: pd.DataFrame, y, groups=None):
        """Learn from window features ``X`` and binary labels ``y`` (1 burning)."""
        check_frame(X)
        names = self._select_features(X)
        values = feature_matrix(X, names)
        labels = labels_vector(y, len(X))
        g = groups_vector(X, groups)
        self.feature_names_ = names
        self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])
        self._fit(values, labels, g)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    def predict_proba(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        """Probabilities ``[[p_not_fire, p_fire], ...]`` per row of ``X``."""
        self._check_fitted()
        values = feature_matrix(X, self.feature_names_)
        p = np.clip(np.asarray(self._predict(values, groups_vector(X, groups)), dtype=float), 0, 1)
        return np.column_stack([1.0 - p, p])

    def fire_probability(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        """Fire probability per row [0-1]; NaN for rows where every input is missing.

        A row whose features are all NaN (the variant's sensors are offline or have not
        reported yet) carries no evidence and is not scored.
        """
        self._check_fitted()
        values = feature_matrix(X, self.feature_names_)
        ok = ~np.isnan(values).all(axis=1)
        out = np.full(len(X), np.nan)
        if ok.any():
            g = groups_vector(X, groups)
            rows = X if ok.all() else X.loc[ok]
            out[ok] = self.predict_proba(rows, groups=g[ok])[:, 1]
        return out

    def predict_last(self, X: pd.DataFrame) -> float:
        """Fire probability of the last row of ``X``, whose rows are the recent windows of
        one scenario (the online path: only the newest window is scored)."""
        n = min(len(X), self.history_windows())
        return float(self.predict_proba(X.iloc[len(X) - n:], groups=np.zeros(n))[-1, 1])

    def predict(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        """1 where the fire probability is at least 0.5."""
        return (self.predict_proba(X, groups)[:, 1] >= 0.5).astype(np.int64)
