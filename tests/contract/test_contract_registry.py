"""ModelRegistry contract: the same assertions on MLflow (SQLite backend) and on the
SageMaker model registry (model packages on moto, archives in moto's S3)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from firesight.config import load_config
from firesight.detection.shipped_model import default_model_path
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.model_registry import APPROVED, PENDING, REJECTED, load_approved_model
from support.moto import unique_name


@pytest.fixture(params=["local", "aws"])
def registry(request, tmp_path):
    if request.param == "local":
        from firesight.model_registry import MLflowModelRegistry

        return MLflowModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    from firesight.adapters.aws.s3 import S3ObjectStore
    from firesight.adapters.aws.sagemaker import SageMakerModelRegistry

    settings = request.getfixturevalue("moto_settings")
    artifacts = S3ObjectStore(unique_name("models"), "registry", settings=settings, create_bucket=True)
    return SageMakerModelRegistry(unique_name("detector"), artifacts=artifacts, settings=settings,
                                  image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/firesight:1")


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def test_register_approve_reject_fetch_and_load(registry, tmp_path):
    """One registry per adapter (MLflow's schema set-up is slow): versions, approval states,
    fetching, and a service loading the newest approved version through the cache."""
    model = default_model_path()
    config = load_config(environ={}, home=tmp_path / "home")
    assert not registry.exists() or registry.list_versions() == []
    assert load_approved_model(config, registry=registry)[1]["source"] == "default"   # nothing approved yet
    v1 = registry.register(model, metrics={"test_detection_rate": 0.94}, params={"kind": "ensemble"},
                           feature_names={"gas": ["co2_ppm"]}, data_ref="s3://data/s101", code_version="t1")
    v2 = registry.register(model, metrics={"test_detection_rate": 0.9}, params={"kind": "ensemble"},
                           feature_names={"gas": ["co2_ppm"]}, data_ref="s3://data/s102", code_version="t2")
    assert registry.exists()
    listing = registry.list_versions()
    assert [v["version"] for v in listing] == [v2, v1] and int(v2) > int(v1)
    assert {v["status"] for v in listing} == {PENDING}
    assert listing[1]["metrics"]["test_detection_rate"] == 0.94
    assert (listing[1]["data_ref"], listing[1]["code_version"]) == ("s3://data/s101", "t1")
    assert registry.approved_version() is None
    assert registry.approve(v1)["status"] == APPROVED
    assert registry.approved_version()["version"] == v1
    registry.approve(v2)
    assert registry.approved_version()["version"] == v2            # the newest approved
    assert registry.reject(v2)["status"] == REJECTED
    assert registry.approved_version()["version"] == v1
    fetched = registry.fetch(v1, tmp_path / "fetched")
    assert _same_tree(model, Path(fetched))
    bundle, ref = load_approved_model(config, registry=registry)
    assert (ref["source"], ref["version"]) == ("registry", v1)
    assert Path(ref["path"]).is_relative_to(config.home / "model-cache")
    assert _same_tree(model, Path(ref["path"]))
    with pytest.raises(NotFoundError, match="99"):
        registry.approve("99")
    with pytest.raises(InvalidParameterError, match="status"):
        registry.set_status(v1, "Maybe")
