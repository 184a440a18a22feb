"""Model folders round-trip exactly and refuse to load when tampered with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from firesight.detection import (AlertPolicy, DetectorBundle, EnsembleDetector, LSTMDetector,
                                 RandomForestDetector, XGBoostDetector)
from firesight.errors import DataError


@pytest.fixture(scope="module")
def bundle(table):
    y = table["burning"]
    full = EnsembleDetector(estimators=[
        ("rf", RandomForestDetector(n_estimators=10, n_jobs=1)),
        ("xgb", XGBoostDetector(n_estimators=10, n_jobs=1)),
        ("lstm", LSTMDetector(epochs=1, hidden_size=4, seq_len=4, n_threads=1))],
        features=["heat", "gas", "noise"]).fit(table, y)
    gas = XGBoostDetector(features=["gas"], n_estimators=10, n_jobs=1).fit(table, y)
    return DetectorBundle({"full": full, "gas": gas},
                          {"full": AlertPolicy(), "gas": AlertPolicy(alarm_on=0.7)}, {"kind": "ensemble"})


def test_save_load_roundtrip_is_exact(bundle, table, tmp_path):
    path = bundle.save(tmp_path / "m")
    loaded = DetectorBundle.load(path)
    for v in ("full", "gas"):
        np.testing.assert_array_equal(loaded.predict_proba(table, v), bundle.predict_proba(table, v))
        assert loaded.feature_names(v) == bundle.feature_names(v)
    assert loaded.policies["gas"].alarm_on == 0.7
    assert loaded.history_windows("full") == 7  # (seq_len 4 - 1) x stride 2 + 1


def test_variant_follows_inputs(bundle):
    assert bundle.select_variant(thermal=True, scd41=True) == "full"
    assert bundle.select_variant(thermal=False, scd41=True) == "gas"
    with pytest.raises(DataError, match="no variant"):
        bundle.select_variant(thermal=True, scd41=False)


def test_tampered_feature_list_is_refused(bundle, tmp_path):
    path = bundle.save(tmp_path / "m")
    meta = json.loads((path / "bundle.json").read_text())
    meta["variants"]["gas"]["feature_names"] = ["co2"]
    (path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="feature list"):
        DetectorBundle.load(path)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(DataError, match="bundle.json"):
        DetectorBundle.load(tmp_path)
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable"):
        DetectorBundle.load(tmp_path)


def test_failed_save_keeps_the_previous_model(bundle, table, tmp_path):
    path = bundle.save(tmp_path / "m")
    before = sorted(p.name for p in path.rglob("*"))
    broken = DetectorBundle({"full": RandomForestDetector()}, {"full": AlertPolicy()})
    with pytest.raises(Exception):
        broken.save(path)  # unfitted: fails before anything is replaced
    assert sorted(p.name for p in path.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_threads_loading_models_at_once_all_succeed(bundle, table, tmp_path):
    """The workflows load bundles in parallel branches (threads); on CPython < 3.11.8 two
    threads parsing numpy headers at once could raise "AST constructor recursion depth
    mismatch" (CPython gh-106905), so skops loads are serialised. Every load must succeed
    and give the saved model's numbers."""
    from concurrent.futures import ThreadPoolExecutor

    path = bundle.save(tmp_path / "m")
    expected = bundle.predict_proba(table, "full")
    with ThreadPoolExecutor(max_workers=6) as pool:
        loaded = list(pool.map(lambda _: DetectorBundle.load(path), range(12)))
    for model in loaded:
        np.testing.assert_array_equal(model.predict_proba(table, "full"), expected)
