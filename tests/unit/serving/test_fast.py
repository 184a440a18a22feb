"""The fast scorer gives the reference path's numbers (within 1e-6) for every detector kind,
both sequence modes, missing values and rows with every input missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from firesight.detection.boosting import XGBoostDetector
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.forest import RandomForestDetector
from firesight.detection.shipped_model import default_model_path, load_bundle
from firesight.detection.sequence import LSTMDetector
from firesight.errors import DataError, InvalidParameterError
from firesight.serving.fast import CompiledDetector, _right_threshold


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(default_model_path())


def _rows(n_features: int, n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)) * rng.choice([0.1, 1, 10, 100, 1000], size=n_features)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[7] = np.nan  # every input missing
    return x


@pytest.mark.parametrize("variant", ["full", "thermal", "gas"])
@pytest.mark.parametrize("stream", [False, True])
def test_shipped_model_matches_reference(bundle, variant, stream):
    det = bundle.variants[variant]
    x = _rows(len(det.feature_names_), seed=len(variant))
    frame = pd.DataFrame(x, columns=det.feature_names_)
    groups = np.zeros(len(x)) if stream else np.arange(len(x))
    ref = bundle.predict_proba(frame, variant, groups=groups)
    got = CompiledDetector(det).predict(x, stream=stream)
    assert np.isnan(got[7]) and np.isnan(ref[7])
    np.testing.assert_allclose(got, ref, atol=1e-6, equal_nan=True)


def test_each_member_matches_its_library(bundle):
    det = bundle.variants["full"]
    x = _rows(len(det.feature_names_), n=900, seed=5)
    x = x[~np.isnan(x).all(axis=1)]
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    frame = pd.DataFrame(x, columns=det.feature_names_)
    compiled = CompiledDetector(det)
    for part, member in zip(compiled._parts, det.estimators_):
        ref = member.predict_proba(frame, groups=np.arange(len(x)))[:, 1]
        np.testing.assert_allclose(part.predict(x32, False), ref, atol=1e-6)       # large batch
        np.testing.assert_allclose(part.predict(x32[:100], False), ref[:100], atol=1e-6)  # small
    # the forest is exact: the same leaves as scikit-learn
    rf = det.estimators_[0]
    np.testing.assert_allclose(compiled._parts[0].predict(x32, False),
                               rf.forest_.predict_proba(x32)[:, 1], rtol=0, atol=1e-12)


def test_threshold_rewrite_keeps_each_librarys_comparison():
    rng = np.random.default_rng(1)
    t64 = rng.normal(size=2000) * 100
    v = np.concatenate([t64.astype(np.float32), np.nextafter(t64.astype(np.float32), np.float32(np.inf)),
                        np.nextafter(t64.astype(np.float32), np.float32(-np.inf))])
    t = np.tile(t64, 3)
    sk = _right_threshold(t, strict=False)
    assert np.array_equal(v > sk, v.astype(np.float64) > t)          # scikit-learn: v <= t goes left
    t32 = t.astype(np.float32)
    xg = _right_threshold(t32, strict=True)
    assert np.array_equal(v > xg, v >= t32)                          # XGBoost: v < t goes left


def test_small_stacking_ensemble_matches_reference():
    rng = np.random.default_rng(2)
    names = [f"f{i}" for i in range(6)]
    x = rng.normal(size=(600, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=600) > 0.3).astype(int)
    frame = pd.DataFrame(x, columns=names)
    frame["scenario_id"] = np.repeat(np.arange(12), 50)
    ens = EnsembleDetector(estimators=[
        ("rf", RandomForestDetector(n_estimators=8, max_depth=6, min_samples_leaf=5, n_jobs=1)),
        ("xgb", XGBoostDetector(n_estimators=20, max_depth=3, n_jobs=1)),
        ("lstm", LSTMDetector(seq_len=4, seq_stride=2, hidden_size=8, epochs=1, n_threads=1))],
        method="stacking", cv=2, features=names).fit(frame, y)
    test = rng.normal(size=(80, 6))
    test[3, 2] = np.nan
    frame = pd.DataFrame(test, columns=names)
    compiled = CompiledDetector(ens)
    ref_stream = ens.predict_proba(frame, groups=np.zeros(80))[:, 1]
    np.testing.assert_allclose(compiled.predict(test, stream=True), ref_stream, atol=1e-6)
    ref_alone = ens.predict_proba(frame, groups=np.arange(80))[:, 1]
    np.testing.assert_allclose(compiled.predict(test), ref_alone, atol=1e-6)
    assert np.abs(ref_stream - ref_alone).max() > 1e-4  # the LSTM's history matters here


def test_refuses_wrong_width_and_infinity(bundle):
    c = CompiledDetector(bundle.variants["gas"])
    with pytest.raises(InvalidParameterError):
        c.predict(np.zeros((2, c.n_features + 1)))
    bad = np.zeros((1, c.n_features))
    bad[0, 0] = np.inf
    with pytest.raises(DataError):
        c.predict(bad)
