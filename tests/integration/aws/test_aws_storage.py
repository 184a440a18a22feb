"""What the S3, DynamoDB and SQS adapters do beyond the shared port contract: SSE-KMS,
versions, multipart uploads, on-demand encrypted tables, redrive policies."""

from __future__ import annotations

import json

import pytest

from firesight.adapters.aws.dynamodb import DynamoDBMetadataStore
from firesight.adapters.aws.s3 import MIN_PART_BYTES, S3ObjectStore
from firesight.adapters.aws.sqs import SQSMessageQueue
from firesight.errors import InvalidParameterError, NotFoundError
from support.moto import unique_name


@pytest.fixture()
def kms_key(boto_client):
    return boto_client("kms").create_key(Description="firesight test")["KeyMetadata"]["Arn"]


def test_s3_objects_are_kms_encrypted_and_versioned(moto_settings, kms_key, boto_client):
    store = S3ObjectStore(unique_name("models"), "registry", settings=moto_settings,
                          kms_key_id=kms_key, create_bucket=True)
    v1 = store.put_object("m/model.tar.gz", b"first")
    v2 = store.put_object("m/model.tar.gz", b"second")
    head = store.head("m/model.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == kms_key
    assert v1 and v2 and v1 != v2
    versions = store.versions("m/model.tar.gz")
    assert [v["version_id"] for v in versions] == [v2, v1] and versions[0]["is_latest"]
    assert store.get_bytes("m/model.tar.gz") == b"second"
    assert store.get_bytes("m/model.tar.gz", version_id=v1) == b"first"
    store.delete("m/model.tar.gz")                          # a delete marker: old versions stay
    assert not store.exists("m/model.tar.gz")
    assert store.get_bytes("m/model.tar.gz", version_id=v1) == b"first"
    assert boto_client("s3").get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"


def test_s3_large_objects_go_up_in_parts(moto_settings):
    store = S3ObjectStore(unique_name("arrays"), settings=moto_settings, create_bucket=True,
                          multipart_threshold_bytes=MIN_PART_BYTES, multipart_chunk_bytes=MIN_PART_BYTES)
    data = bytes(range(256)) * (11 * 1024 * 1024 // 256)       # 11 MiB: three parts
    store.put_bytes("frames.bin", data)
    assert store.head("frames.bin")["ETag"].strip('"').endswith("-3")   # a multipart ETag
    assert store.get_bytes("frames.bin") == data
    with pytest.raises(InvalidParameterError, match="multipart_chunk_bytes"):
        S3ObjectStore("bucket", multipart_chunk_bytes=1024)


def test_s3_missing_bucket_is_a_typed_error(moto_settings):
    store = S3ObjectStore(unique_name("absent"), settings=moto_settings)
    with pytest.raises(NotFoundError):
        store.get_bytes("x")


def test_dynamodb_tables_are_on_demand_and_encrypted(moto_settings, boto_client):
    prefix = unique_name("fs") + "-"
    store = DynamoDBMetadataStore(prefix, settings=moto_settings)
    store.put("shadows", {"id": "n1", "version": 1}, key="id")
    desc = boto_client("dynamodb").describe_table(TableName=f"{prefix}shadows")["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert desc["SSEDescription"]["Status"] == "ENABLED"
    # a deployment whose tables come from the template does not create any
    strict = DynamoDBMetadataStore(prefix, settings=moto_settings, create_tables=False)
    assert strict.get("shadows", "n1") == {"id": "n1", "version": 1}
    with pytest.raises(NotFoundError):
        strict.get("not_in_template", "n1")
    with pytest.raises(InvalidParameterError, match="item"):
        store.put("shadows", {"id": "big", "n": 10 ** 40}, key="id")        # > 38 digits


def test_sqs_queues_get_a_redrive_policy_to_their_dlq(moto_settings, boto_client):
    prefix = unique_name("q") + "-"
    queue = SQSMessageQueue(prefix, settings=moto_settings, max_receives=4)
    queue.send("alert-events", "{}")
    sqs = boto_client("sqs")
    url = sqs.get_queue_url(QueueName=f"{prefix}alert-events")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attrs["RedrivePolicy"])
    dlq_url = sqs.get_queue_url(QueueName=f"{prefix}alert-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}
    assert queue.counts("alert-events") == {"visible": 1, "in_flight": 0}
    strict = SQSMessageQueue(prefix, settings=moto_settings, create_queues=False)
    with pytest.raises(NotFoundError):
        strict.send("not-in-template", "x")
