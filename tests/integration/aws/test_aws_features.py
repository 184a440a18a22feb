"""Features to and from S3 go through the S3 object-store adapter that bootstrap picks from
configuration: SSE-KMS on the object, the same bytes as a local file, readable by the
training code."""

from __future__ import annotations

import pytest

from support.moto import unique_name


@pytest.fixture()
def s3_env(moto_settings, boto_client, tmp_path, monkeypatch):
    bucket = unique_name("fire-features")
    boto_client("s3").create_bucket(Bucket=bucket,
                                    CreateBucketConfiguration={"LocationConstraint": moto_settings.region})
    key = boto_client("kms").create_key()["KeyMetadata"]["Arn"]
    for name, value in {"FIRESIGHT_HOME": str(tmp_path / "home"),
                        "FIRESIGHT_AWS_ENDPOINT_URL": moto_settings.endpoint_url,
                        "FIRESIGHT_AWS_REGION": moto_settings.region,
                        "FIRESIGHT_KMS_KEY_ID": key}.items():
        monkeypatch.setenv(name, value)
    return bucket


def test_features_on_s3_equal_the_local_file(s3_env, boto_client, tmp_path):
    from firesight.datasets import generate_dataset
    from firesight.detection.data import read_feature_table
    from firesight.features.dataset import compute_dataset_features, read_features

    data = str(tmp_path / "data")
    generate_dataset(data, count=1, seed=3, duration_s=30.0, frame_rate_hz=1.0, families=["tf5_heptane_pool"])
    local = compute_dataset_features(data, str(tmp_path / "features.parquet"))["path"]
    boto_client("s3").put_object(Bucket=s3_env, Key="run/README", Body=b"a folder")
    remote = compute_dataset_features(data, f"s3://{s3_env}/run")["path"]  # a folder: file inside
    assert remote == f"s3://{s3_env}/run/features.parquet"
    head = boto_client("s3").head_object(Bucket=s3_env, Key="run/features.parquet")
    assert head["ServerSideEncryption"] == "aws:kms"
    body = boto_client("s3").get_object(Bucket=s3_env, Key="run/features.parquet")["Body"].read()
    assert body == open(local, "rb").read()
    assert read_features(remote).equals(read_features(local))
    assert read_feature_table(remote).equals(read_features(local))
