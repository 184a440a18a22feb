"""MLflow registry (real SQLite backend): register, approve, reject, load the approved one."""

from __future__ import annotations

import pytest

from firesight.config import load_config
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.model_registry import (APPROVED, PENDING, REJECTED, load_approved_model, load_model,
                                registry_for)


@pytest.fixture()
def config(tmp_path):
    return load_config(environ={}, home=tmp_path / "home")


def test_register_list_approve_reject_and_load(config, small_model):
    reg = registry_for(config)
    v1 = reg.register(small_model, metrics={"test_detection_rate": 1.0}, params={"kind": "xgb"},
                      feature_names={"full": ["thermal_max_c"]}, data_ref="data/x", code_version="t")
    v2 = reg.register(small_model, metrics={"test_detection_rate": 0.9}, params={"kind": "xgb"},
                      feature_names={"full": ["thermal_max_c"]}, data_ref="data/y", code_version="t")
    listing = reg.list_versions()
    assert [v["version"] for v in listing] == [v2, v1]
    assert {v["status"] for v in listing} == {PENDING}
    assert listing[1]["metrics"]["test_detection_rate"] == 1.0
    assert listing[1]["data_ref"] == "data/x"

    _, ref = load_approved_model(config)       # nothing approved: the shipped default
    assert ref["source"] == "default"

    assert reg.approve(v1)["status"] == APPROVED
    bundle, ref = load_approved_model(config)
    assert ref == {"source": "registry", "version": v1, "path": ref["path"]}
    assert bundle.info["kind"] == "xgb"

    reg.approve(v2)
    assert load_approved_model(config)[1]["version"] == v2  # the newest approved
    assert reg.reject(v2)["status"] == REJECTED
    assert load_approved_model(config)[1]["version"] == v1
    assert load_model(f"registry:{v2}", config)[1]["version"] == v2


def test_unknown_version_and_state(config, small_model):
    reg = registry_for(config)
    reg.register(small_model, metrics={}, params={}, feature_names={}, data_ref="d", code_version="t")
    with pytest.raises(NotFoundError, match="'99'"):
        reg.approve("99")
    with pytest.raises(InvalidParameterError, match="status"):
        reg.set_status("1", "Maybe")


def test_missing_registry_is_not_created_by_loading(config):
    _, ref = load_approved_model(config)
    assert ref["source"] == "default"
    assert not (config.home / "mlflow.db").exists()
