"""The HTTP surface refuses every request without the right token: no token, malformed,
unknown, expired, revoked (401 with WWW-Authenticate) and too-low role (403); /ping and the
OpenAPI schema stay open; TLS by configuration; /metrics scraped with Prometheus' parser."""

from __future__ import annotations

import datetime as dt
import ipaddress

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.ops import metrics
from firesight.ops.tokens import TokenStore
from firesight.serving.endpoint import create_app
from firesight.serving.model import InferenceService
from support.uvicorn_server import running_server


class Clock:
    def __init__(self):
        self.now = 2_000_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    clock = Clock()
    tokens = TokenStore(SQLiteMetadataStore(str(tmp_path_factory.mktemp("sec") / "m.db")), clock=clock)
    service = InferenceService.load("default")
    app = create_app(service, tokens=tokens)
    t = {role: tokens.create(f"t-{role}", role)[0] for role in ("viewer", "operator", "admin")}
    expiring, _ = tokens.create("short", "admin", ttl_s=10)
    revoked, info = tokens.create("gone", "admin")
    tokens.revoke(info["token_id"])
    row = ",".join(["1.0"] * len(service.feature_names())) + "\n"
    with running_server(app) as url:
        yield {"url": url, "tokens": t, "expiring": expiring, "revoked": revoked, "clock": clock,
               "row": row}


def _invoke(setup, token):
    headers = {"Content-Type": "text/csv"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(setup["url"] + "/invocations", content=setup["row"], headers=headers)


def test_open_routes(setup):
    assert httpx.get(setup["url"] + "/ping").status_code == 200
    assert httpx.get(setup["url"] + "/openapi.json").status_code == 200


@pytest.mark.parametrize("who, status, reason", [
    (None, 401, "missing"), ("fs_nothing", 401, "malformed"), ("fs_abc_def", 401, "unknown"),
    ("expiring", 401, "expired"), ("revoked", 401, "revoked"), ("viewer", 403, "role"),
])
def test_every_refusal(setup, who, status, reason):
    token = {"expiring": setup["expiring"], "revoked": setup["revoked"],
             "viewer": setup["tokens"]["viewer"]}.get(who, who)
    if who == "expiring":
        setup["clock"].now += 11
    before = metrics.sample_value("firesight_auth_refused_total", {"reason": reason})
    try:
        r = _invoke(setup, token)
    finally:
        if who == "expiring":
            setup["clock"].now -= 11
    assert r.status_code == status, r.text
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert metrics.sample_value("firesight_auth_refused_total", {"reason": reason}) == before + 1


def test_roles_that_may(setup):
    assert _invoke(setup, setup["tokens"]["operator"]).status_code == 200
    assert _invoke(setup, setup["tokens"]["admin"]).status_code == 200
    assert _invoke(setup, setup["expiring"]).status_code == 200  # before its expiry
    viewer = {"Authorization": f"Bearer {setup['tokens']['viewer']}"}
    assert httpx.get(setup["url"] + "/model", headers=viewer).status_code == 200
    assert httpx.get(setup["url"] + "/model").status_code == 401
    # query-string token (EventSource cannot send headers): GET only
    assert httpx.get(setup["url"] + "/model", params={"access_token": setup["tokens"]["viewer"]}).status_code == 200


def test_metrics_scrape_with_the_prometheus_parser(setup):
    _invoke(setup, setup["tokens"]["operator"])
    metrics.MESSAGES_RECEIVED.labels(kind="scd41").inc(3)
    metrics.MESSAGES_REJECTED.labels(kind="thermal", reason="schema").inc()
    metrics.QUEUE_DEPTH.labels(queue="alert-events").set(7)
    metrics.ALERTS.labels(signal="alarm", level="alarm").inc()
    metrics.NOTIFICATION_FAILURES.labels(channel="email").inc()
    metrics.DEVICES.labels(state="online").set(4)
    r = httpx.get(setup["url"] + "/metrics", headers={"Authorization": f"Bearer {setup['tokens']['viewer']}"})
    assert r.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert all(name.startswith("firesight_") for name in families)
    for name, kind in [("firesight_messages_received", "counter"), ("firesight_messages_rejected", "counter"),
                       ("firesight_queue_depth_messages", "gauge"), ("firesight_alerts", "counter"),
                       ("firesight_notification_failures", "counter"), ("firesight_devices", "gauge"),
                       ("firesight_inference_latency_seconds", "histogram")]:
        assert families[name].type == kind, name
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("firesight_messages_received_total", (("kind", "scd41"),))] >= 3
    assert samples[("firesight_queue_depth_messages", (("queue", "alert-events"),))] == 7
    assert samples[("firesight_inference_latency_seconds_count", (("path", "http"), ("variant", "full")))] >= 1
    assert samples[("firesight_http_requests_total", (("route", "/invocations"), ("status", "200")))] >= 1
    assert samples[("firesight_http_requests_total", (("route", "/invocations"), ("status", "401")))] >= 1
    assert httpx.get(setup["url"] + "/metrics").status_code == 401


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_by_configuration(tmp_path):
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/ping")
    def ping():
        return {"status": "ok"}

    cert, key = _self_signed(tmp_path)
    with running_server(app, ssl_certfile=cert, ssl_keyfile=key) as url:
        assert url.startswith("https://")
        assert httpx.get(url + "/ping", verify=cert).status_code == 200
        with pytest.raises(httpx.TransportError):  # plain HTTP gets no answer
            httpx.get(url.replace("https://", "http://") + "/ping", timeout=3).raise_for_status()
