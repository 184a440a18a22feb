"""The dashboard over real HTTP and a real broker: sign-in and every refusal (anonymous,
viewer acknowledging, missing CSRF header), the server-sent event stream, and the broker
bridge feeding device readings and alerts from the embedded mTLS broker into the feed."""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.agents.alert_store import AlertStore
from firesight.agents.events import AlertEvent
from firesight.iot.broker import BrokerConfig, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient
from firesight.iot.codec import encode_scd41, encode_thermal
from firesight.iot.device_registry import DeviceRegistry
from firesight.iot.topics import alerts_topic
from firesight.ops.audit import AuditTrail
from firesight.ops.tokens import TokenStore
from firesight.web.app import create_dashboard_app
from firesight.web.bridge import BrokerBridge
from firesight.web.feed import DashboardFeed
from support.uvicorn_server import running_server


@pytest.fixture()
def dash(tmp_path):
    store = SQLiteMetadataStore(str(tmp_path / "m.db"))
    tokens = TokenStore(store)
    alerts = AlertStore(store)
    feed = DashboardFeed(thermal_interval_s=0.0)
    app = create_dashboard_app(feed, tokens=tokens, alerts=alerts, audit=AuditTrail(tmp_path / "audit"))
    alert = {"alert_id": "alert-0001", "condition": "t|alarm", "site": "hq", "thing": "t", "signal": "alarm",
             "level": "alarm", "state": "active", "opened_s": 1.0, "updated_s": 1.0, "history": []}
    alerts.create_alert(alert)
    with running_server(app) as url:
        yield {"url": url, "feed": feed, "alerts": alerts,
               "viewer": tokens.create("v", "viewer")[0], "operator": tokens.create("o", "operator")[0]}


def test_anonymous_is_sent_to_sign_in_and_refused_everywhere(dash):
    url = dash["url"]
    r = httpx.get(url + "/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert httpx.get(url + "/login").status_code == 200
    for path in ("/api/state", "/api/alerts", "/api/events", "/static/app.js", "/metrics"):
        assert httpx.get(url + path).status_code == 401, path
    assert httpx.post(url + "/api/alerts/alert-0001/acknowledge", headers={"X-Firesight-Request": "1"}).status_code == 401
    bad = httpx.post(url + "/login", content="token=fs_x_y", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 401 and "not known" in bad.text
    assert httpx.get(url + "/ping").status_code == 200


def test_sign_in_sets_a_strict_httponly_cookie(dash):
    with httpx.Client(base_url=dash["url"]) as c:
        r = c.post("/login", content=f"token={dash['viewer']}",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/state").json()["user"] == {"name": "v", "role": "viewer"}
        assert "<canvas" in c.get("/").text


def test_viewer_may_not_acknowledge_and_csrf_header_is_required(dash):
    url = dash["url"]
    viewer = {"Authorization": f"Bearer {dash['viewer']}", "X-Firesight-Request": "1"}
    assert httpx.post(url + "/api/alerts/alert-0001/acknowledge", headers=viewer).status_code == 403
    op = {"Authorization": f"Bearer {dash['operator']}"}
    assert httpx.post(url + "/api/alerts/alert-0001/acknowledge", headers=op).status_code == 403
    r = httpx.post(url + "/api/alerts/alert-0001/acknowledge", headers={**op, "X-Firesight-Request": "1"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert dash["alerts"].get("alert-0001")["acknowledged_by"] == "o"
    r = httpx.post(url + "/api/alerts/nope-nope/resolve", headers={**op, "X-Firesight-Request": "1"})
    assert r.status_code == 404
    r = httpx.post(url + "/api/alerts/x/resolve", headers={**op, "X-Firesight-Request": "1"})
    assert r.status_code == 400


def test_event_stream_delivers_pushed_updates(dash):
    got: list[dict] = []

    def read():
        with httpx.stream("GET", dash["url"] + "/api/events",
                          headers={"Authorization": f"Bearer {dash['viewer']}"}, timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    got.append({"event": event, **json.loads(line[6:])})
                    if len(got) >= 2:
                        return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not dash["feed"]._subscribers and time.monotonic() < deadline:
        time.sleep(0.02)
    dash["feed"].push_scd41("hq", "n1", ts_ms=1_796_000_000_000, co2_ppm=612.0, temperature_c=23.5, humidity_rh=41.0)
    dash["feed"].push_probability("hq", "n1", ts_ms=1_796_000_000_000, probability=0.12, level="normal")
    t.join(10)
    assert [g["event"] for g in got] == ["scd41", "probability"]
    assert got[0]["point"]["co2_ppm"] == 612.0 and got[1]["point"]["probability"] == 0.12


def test_broker_bridge_feeds_readings_and_alerts(tmp_path):
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "reg.db")), CertificateAuthority(tmp_path / "pki"))
    node = registry.register_device("node-9", site="lab")
    svc = registry.register_service("dashboard")
    pub = registry.register_service("response")
    broker = EmbeddedBroker(registry, BrokerConfig())
    url = broker.start()
    feed = DashboardFeed(thermal_interval_s=0.0)
    client = ServiceClient("dashboard", url, cert_path=svc.cert_path, key_path=svc.key_path,
                           ca_path=svc.ca_path).connect()
    bridge = BrokerBridge(feed, client).start()
    try:
        now_ms = int(time.time() * 1000)
        with DeviceClient("node-9", url, cert_path=node.cert_path, key_path=node.key_path,
                          ca_path=node.ca_path, site="lab").connect() as dev:
            dev.publish(dev.topic("scd41"), encode_scd41(co2_ppm=800.0, temperature_c=24.0, humidity_rh=40.0,
                                                         ts_ms=now_ms, seq=1), qos=1)
            frame = np.full((120, 160), int(round((25.0 + 273.15) / 0.01)), dtype=np.uint16)
            dev.publish(dev.topic("thermal"), encode_thermal(frame, ts_ms=now_ms, seq=2), qos=1)
            dev.publish(dev.topic("scd41"), b"{not json", qos=1)
            dev.flush()
        event = AlertEvent(event_id="node-9:alarm:1", site="lab", thing="node-9", signal="alarm",
                           state="active", level="alarm", previous="watch", ts_ms=now_ms, probability=0.9)
        with ServiceClient("response", url, cert_path=pub.cert_path, key_path=pub.key_path,
                           ca_path=pub.ca_path).connect() as responder:
            responder.publish(alerts_topic("lab"), event.to_json(), qos=1)
            responder.flush()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            snap = feed.snapshot()
            if snap["events"] and snap["devices"] and snap["devices"][0]["frame"] and snap["devices"][0]["scd41"]:
                break
            time.sleep(0.05)
        snap = feed.snapshot()
        dev_state = snap["devices"][0]
        assert (dev_state["site"], dev_state["thing"]) == ("lab", "node-9")
        assert dev_state["scd41"][0]["co2_ppm"] == 800.0
        assert dev_state["frame"]["min_c"] == pytest.approx(25.0, abs=0.01)
        assert snap["events"][0]["event_id"] == "node-9:alarm:1"
        assert bridge.rejected == 1
    finally:
        bridge.stop()
        broker.stop()
