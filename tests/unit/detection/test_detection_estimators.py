"""Detectors follow the scikit-learn estimator contract and learn real signal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from firesight.detection import (EnsembleDetector, LSTMDetector, RandomForestDetector,
                                 XGBoostDetector)
from firesight.errors import DataError, InvalidParameterError

FEATURES = ["heat", "gas", "noise"]


def small(kind):
    if kind == "rf":
        return RandomForestDetector(features=FEATURES, n_estimators=20, n_jobs=1)
    if kind == "xgb":
        return XGBoostDetector(features=FEATURES, n_estimators=30, n_jobs=1)
    if kind == "lstm":
        return LSTMDetector(features=FEATURES, epochs=3, hidden_size=8, seq_len=6, n_threads=1)
    return EnsembleDetector(estimators=[("rf", small("rf")), ("xgb", small("xgb"))], features=FEATURES)


@pytest.fixture(scope="module", params=["rf", "xgb", "lstm", "ensemble"])
def fitted(request, table):
    return request.param, small(request.param).fit(table, table["burning"])


def test_fit_learns_the_fire_signal(fitted, table):
    kind, det = fitted
    p = det.predict_proba(table)
    assert p.shape == (len(table), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert roc_auc_score(table["burning"], p[:, 1]) > 0.95
    assert det.feature_names_ == FEATURES and det.n_features_in_ == 3


def test_init_only_stores_parameters_and_clone_roundtrips(fitted):
    kind, det = fitted
    fresh = clone(det)
    assert not hasattr(fresh, "feature_names_")
    assert fresh.get_params(deep=False).keys() == det.get_params(deep=False).keys()
    with pytest.raises(TypeError):
        type(det)(FEATURES)  # keyword-only


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        RandomForestDetector().predict_proba(None)


def test_missing_feature_column_is_named(fitted, table):
    kind, det = fitted
    with pytest.raises(DataError, match="gas"):
        det.predict_proba(table.drop(columns=["gas"]))


def test_nan_means_undefined_and_inf_is_an_error(fitted, table):
    kind, det = fitted
    bad = table.copy()
    bad.loc[5, "heat"] = np.nan          # one undefined feature: still scored
    bad.loc[7, FEATURES] = np.nan        # every input missing: not scored
    p = det.fire_probability(bad)
    assert np.isfinite(p[5]) and np.isnan(p[7])
    assert np.isfinite(np.delete(p, 7)).all()
    bad.loc[6, "gas"] = np.inf
    with pytest.raises(DataError, match="infinite values in .'gas"):
        det.fire_probability(bad)


def test_single_class_labels_rejected(table):
    with pytest.raises(DataError, match="only class"):
        small("rf").fit(table, np.zeros(len(table)))
    with pytest.raises(InvalidParameterError, match="y"):
        small("rf").fit(table, np.zeros(3))


def test_lstm_is_deterministic_and_leaves_global_torch_seed_alone(table):
    torch.manual_seed(123)
    before = torch.rand(1).item()
    torch.manual_seed(123)
    a = small("lstm").fit(table, table["burning"]).predict_proba(table)
    after = torch.rand(1).item()
    b = small("lstm").fit(table, table["burning"]).predict_proba(table)
    np.testing.assert_array_equal(a, b)
    assert before == after


def test_lstm_is_causal(table):
    det = small("lstm").fit(table, table["burning"])
    one = table[table["scenario_id"] == "s000"].reset_index(drop=True)
    changed = one.copy()
    changed.loc[80:, "heat"] += 50.0  # the future changes
    p1, p2 = det.predict_proba(one)[:, 1], det.predict_proba(changed)[:, 1]
    np.testing.assert_array_equal(p1[:80], p2[:80])
    assert not np.allclose(p1[80:], p2[80:])


def test_rows_of_a_scenario_must_be_contiguous(table):
    det = small("lstm").fit(table, table["burning"])
    shuffled = table.sample(frac=1.0, random_state=0)
    with pytest.raises(DataError, match="contiguous"):
        det.predict_proba(shuffled)


def test_ensemble_stacking_uses_scenario_folds(table):
    det = EnsembleDetector(estimators=[("rf", small("rf")), ("xgb", small("xgb"))], method="stacking",
                           features=FEATURES).fit(table, table["burning"])
    assert roc_auc_score(table["burning"], det.predict_proba(table)[:, 1]) > 0.95
    assert det.member_probabilities(table).shape == (len(table), 2)
    with pytest.raises(InvalidParameterError, match="method"):
        EnsembleDetector(estimators=[("rf", small("rf"))], method="vote").fit(table, table["burning"])
