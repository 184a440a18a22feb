"""Switching local -> AWS is configuration only: the same calls, other adapters."""

from __future__ import annotations

import numpy as np
import pytest

from firesight import bootstrap
from firesight.config import load_config
from firesight.errors import InvalidParameterError
from support.moto import unique_name


@pytest.fixture()
def aws_config(moto_settings, tmp_path, boto_client):
    bucket = unique_name("fire-detection-dev")
    boto_client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": moto_settings.region})
    key = boto_client("kms").create_key()["KeyMetadata"]["Arn"]
    env = {"FIRESIGHT_HOME": str(tmp_path / "home"),
           "FIRESIGHT_METADATA_URL": f"dynamodb://{unique_name('fs')}-",
           "FIRESIGHT_OBJECT_STORE_URL": f"s3://{bucket}/data",
           "FIRESIGHT_QUEUE_URL": f"sqs://{unique_name('fs')}-",
           "FIRESIGHT_AWS_ENDPOINT_URL": moto_settings.endpoint_url,
           "FIRESIGHT_AWS_REGION": moto_settings.region,
           "FIRESIGHT_KMS_KEY_ID": key}
    return load_config(environ=env)


def test_defaults_are_local(tmp_path):
    cfg = load_config(environ={"FIRESIGHT_HOME": str(tmp_path)})
    from firesight.adapters.local import FsspecObjectStore, SQLiteMessageQueue, SQLiteMetadataStore
    from firesight.model_registry import MLflowModelRegistry

    assert isinstance(bootstrap.metadata_store(cfg), SQLiteMetadataStore)
    assert isinstance(bootstrap.object_store(config=cfg), FsspecObjectStore)
    assert isinstance(bootstrap.message_queue(cfg), SQLiteMessageQueue)
    assert isinstance(bootstrap.model_registry(cfg), MLflowModelRegistry)


def test_aws_adapters_from_configuration(aws_config):
    from firesight.adapters.aws.dynamodb import DynamoDBMetadataStore
    from firesight.adapters.aws.s3 import S3ObjectStore
    from firesight.adapters.aws.sqs import SQSMessageQueue

    meta, store, queue = (bootstrap.metadata_store(aws_config), bootstrap.object_store(config=aws_config),
                          bootstrap.message_queue(aws_config))
    assert isinstance(meta, DynamoDBMetadataStore) and isinstance(store, S3ObjectStore)
    assert isinstance(queue, SQSMessageQueue)
    assert store.kms_key_id == aws_config.kms_key_id
    meta.put("iot_things", {"thing_name": "kitchen", "site": "hq"}, key="thing_name")
    assert bootstrap.metadata_store(aws_config).get("iot_things", "kitchen")["site"] == "hq"
    queue.send("alert-events", "{}")
    assert len(bootstrap.message_queue(aws_config).receive("alert-events")) == 1


def test_bad_urls_are_typed_errors(tmp_path):
    for field, value in (("metadata_url", "postgres://x"), ("queue_url", "kafka://x")):
        cfg = load_config(environ={"FIRESIGHT_HOME": str(tmp_path)}, **{field: value})
        with pytest.raises(InvalidParameterError, match=field):
            (bootstrap.metadata_store if field == "metadata_url" else bootstrap.message_queue)(cfg)
    cfg = load_config(environ={"FIRESIGHT_HOME": str(tmp_path)}, registry_uri="sagemaker://g")
    with pytest.raises(InvalidParameterError, match="model_artifacts_url"):
        bootstrap.model_registry(cfg)
    cfg = load_config(environ={"FIRESIGHT_HOME": str(tmp_path)}, metadata_url="dynamodb://p?create_tables=maybe")
    with pytest.raises(InvalidParameterError, match="create_tables"):
        bootstrap.metadata_store(cfg)


def test_a_dataset_on_s3_is_written_and_read_like_a_local_one(aws_config, tmp_path):
    """generate -> S3 (staged locally, uploaded with SSE-KMS) -> catalog in DynamoDB ->
    open_dataset over s3:// (zarr frames read lazily through s3fs on the same endpoint)."""
    from firesight.datasets import generate_dataset, open_dataset

    url = bootstrap.object_store(config=aws_config).fs_url("ds1")
    store = bootstrap.object_store(url, aws_config)
    meta = bootstrap.metadata_store(aws_config)
    result = generate_dataset(store, count=1, seed=3, duration_s=30.0, frame_rate_hz=1.0,
                              families=["tf5_heptane_pool"], metadata=meta)
    assert result["count"] == 1 and len(result["generated"]) == 1
    scenario_id = result["generated"][0]
    assert store.head(f"scenarios/{scenario_id}/scd41.parquet")["ServerSideEncryption"] == "aws:kms"
    ds = open_dataset(store)
    scenario = ds.load(scenario_id)
    frames = np.asarray(scenario.thermal.frames[0:3])
    assert frames.shape == (3, 120, 160) and frames.dtype == np.uint16
    local = generate_dataset(str(tmp_path / "local"), count=1, seed=3, duration_s=30.0, frame_rate_hz=1.0,
                             families=["tf5_heptane_pool"])
    same = open_dataset(str(tmp_path / "local")).load(local["generated"][0])
    np.testing.assert_array_equal(frames, np.asarray(same.thermal.frames[0:3]))     # same bytes either way
    assert generate_dataset(store, count=1, seed=3, duration_s=30.0, frame_rate_hz=1.0,
                            families=["tf5_heptane_pool"])["resumed"] == [scenario_id]
