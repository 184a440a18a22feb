"""Each port's adapters side by side: every contract test runs once on the local adapter
(folder / SQLite) and once on the AWS adapter (boto3 against a moto server)."""

from __future__ import annotations

import pytest

from support.moto import boto_client, moto_endpoint, moto_settings, unique_name  # noqa: F401 (fixtures)
from support.stores import open_metadata_store


@pytest.fixture(params=["local", "aws"])
def object_store(request, tmp_path):
    if request.param == "local":
        from firesight.adapters.local.objectstore import FsspecObjectStore

        return FsspecObjectStore(str(tmp_path / "objects"))
    from firesight.adapters.aws.s3 import S3ObjectStore

    settings = request.getfixturevalue("moto_settings")
    kms = request.getfixturevalue("boto_client")("kms")
    key_id = kms.create_key(Description="firesight contract tests")["KeyMetadata"]["KeyId"]
    return S3ObjectStore(unique_name("bucket"), "data", settings=settings, kms_key_id=key_id,
                         create_bucket=True)


@pytest.fixture(params=["local", "aws"])
def metadata_spec(request, tmp_path):
    if request.param == "local":
        return {"kind": "local", "path": str(tmp_path / "metadata.db")}
    settings = request.getfixturevalue("moto_settings")
    return {"kind": "aws", "prefix": unique_name("fs") + "-", "region": settings.region,
            "endpoint": settings.endpoint_url}


@pytest.fixture()
def metadata_store(metadata_spec):
    return open_metadata_store(metadata_spec)


@pytest.fixture(params=["local", "aws"])
def message_queue(request, tmp_path):
    if request.param == "local":
        from firesight.adapters.local.queue import SQLiteMessageQueue

        return SQLiteMessageQueue(str(tmp_path / "queue.db"), max_receives=3)
    from firesight.adapters.aws.sqs import SQSMessageQueue

    return SQSMessageQueue(unique_name("q") + "-", settings=request.getfixturevalue("moto_settings"),
                           max_receives=3)
