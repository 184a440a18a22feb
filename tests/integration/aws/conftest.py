"""AWS adapter tests: real boto3 calls against a moto server started by the tests."""

from support.moto import boto_client, moto_endpoint, moto_settings  # noqa: F401 (fixtures)
