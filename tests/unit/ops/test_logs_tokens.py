"""Structured JSON logs carry the context's correlation id; API tokens are hashed at rest and
refused when unknown, expired, revoked or of a too-low role."""

from __future__ import annotations

import io
import json
import logging

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import InvalidParameterError
from firesight.ops.logs import configure_logging, correlation
from firesight.ops.tokens import TABLE, TokenRefused, TokenStore


def test_json_lines_with_correlation_id_and_extra_fields():
    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    log = logging.getLogger("firesight.test")
    try:
        with correlation("reading-42"):
            log.info("window scored", extra={"thing": "node-1", "probability": 0.93})
        log.warning("outside")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        logging.getLogger("firesight").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["correlation_id"] == "reading-42"
    assert lines[0]["thing"] == "node-1" and lines[0]["probability"] == 0.93
    assert lines[0]["level"] == "INFO" and lines[0]["time"].endswith("Z")
    assert lines[1]["correlation_id"] == ""
    assert "ValueError: boom" in lines[2]["exception"]


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture()
def store(tmp_path):
    return SQLiteMetadataStore(str(tmp_path / "m.db"))


def test_tokens_are_hashed_and_checked(store):
    clock = Clock()
    tokens = TokenStore(store, clock=clock)
    token, info = tokens.create("ops-desk", "operator", ttl_s=60)
    raw = store.get(TABLE, info["token_id"])
    assert token.split("_", 2)[2] not in json.dumps(raw)           # the secret is not stored
    assert tokens.verify(token).role == "operator"
    assert tokens.authorize(token, "viewer").name == "ops-desk"
    with pytest.raises(TokenRefused) as e:
        tokens.authorize(token, "admin")
    assert e.value.reason == "role"
    with pytest.raises(TokenRefused) as e:
        tokens.verify(token[:-2] + "xx")
    assert e.value.reason == "unknown"
    with pytest.raises(TokenRefused) as e:
        tokens.verify("Bearer nonsense")
    assert e.value.reason == "malformed"
    clock.now += 61
    with pytest.raises(TokenRefused) as e:
        tokens.verify(token)
    assert e.value.reason == "expired"
    other, info2 = tokens.create("kiosk", "viewer")
    tokens.revoke(info2["token_id"])
    with pytest.raises(TokenRefused) as e:
        tokens.verify(other)
    assert e.value.reason == "revoked"
    assert {t["name"] for t in tokens.list()} == {"ops-desk", "kiosk"}
    assert all("sha256" not in t for t in tokens.list())
    with pytest.raises(InvalidParameterError, match="role"):
        tokens.create("x", "root")
