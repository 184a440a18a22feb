"""A moto server for the AWS adapter tests: real boto3 calls over HTTP to a
``moto.server.ThreadedMotoServer`` on 127.0.0.1, on a free port, started by the tests (no
network beyond the loopback, no AWS account).

Use the ``moto_settings`` fixture (an :class:`AwsSettings` pointing at the server) and give
every resource a unique name (``unique_name``): the server lives for the whole session.
"""

from __future__ import annotations

import os
import uuid

import pytest

from firesight.adapters.aws._session import AwsSettings

REGION = "eu-west-1"
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
}


def _serial_moto_server(ip_address: str, port: int):
    """A ``ThreadedMotoServer`` (the server runs in its own thread) that handles one request
    at a time. moto's handlers are not atomic: with werkzeug's thread per request, two
    concurrent ``PutItem`` calls can both pass a ``ConditionExpression`` before either
    writes (seen here: two shadow writers both accepted at version 12). DynamoDB checks and
    writes an item atomically, so the tests serialise requests to keep that guarantee."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)
    from werkzeug.serving import make_server

    class SerialMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, threaded=False,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerialMotoServer(ip_address=ip_address, port=port, verbose=False)


@pytest.fixture(scope="session")
def moto_endpoint():
    """Start a moto server for the session; yield its URL (``http://127.0.0.1:PORT``).

    Fake credentials go into the environment so that boto3 never looks for real ones (and
    child processes of a test inherit them); the previous values come back afterwards.
    """
    saved = {k: os.environ.get(k) for k in (*_FAKE_CREDENTIALS, "AWS_PROFILE", "MOTO_PORT")}
    os.environ.update(_FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    server = _serial_moto_server("127.0.0.1", 0)
    server.start()
    host, port = server.get_host_and_port()
    # moto's state machine interpreter calls services (DynamoDB, SQS...) on localhost:MOTO_PORT
    os.environ["MOTO_PORT"] = str(port)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def moto_settings(moto_endpoint) -> AwsSettings:
    return AwsSettings(region=REGION, endpoint_url=moto_endpoint, max_attempts=2)


def unique_name(prefix: str = "t") -> str:
    """A fresh lower-case resource name (buckets, tables, queues) for one test."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def boto_client(moto_settings):
    """``boto_client("s3")``: a plain boto3 client on the moto server, to look behind an
    adapter's back (encryption headers, table settings, redrive policies)."""
    import boto3

    def make(service: str):
        return boto3.client(service, region_name=moto_settings.region, endpoint_url=moto_settings.endpoint_url)

    return make
