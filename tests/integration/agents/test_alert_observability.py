"""One alert through the real chain (a device over the embedded mTLS broker -> monitoring ->
analysis -> durable queue -> response agent -> webhooks on real HTTP servers), watched the
way an operator watches it: the Prometheus samples of the analysis agent (windows timed
and counted, alerts by signal and level) and of the response agent (notifications sent and
failed, by channel) move by what happened, and the JSON log lines of both agents about
that alert carry the same correlation id, the id of the reading that closed the deciding
window, which the webhook payload carries too.

The model is the shipped one; its alert policy is set to alarm on the third window
whatever the probability, so that a short burst of readings gives one alarm.
"""

from __future__ import annotations

import io
import json
import logging
import time
from functools import partial

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.alert_store import AlertStore
from firesight.agents.analysis import AnalysisAgent
from firesight.agents.monitoring import MonitoringAgent
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import ResponsePolicy
from firesight.agents.runtime_config import AnalysisSettings
from firesight.agents.system import service_client
from firesight.bootstrap import notifier_channels
from firesight.detection.alerts import AlertPolicy
from firesight.detection.bundle import DetectorBundle
from firesight.detection.shipped_model import default_model_path, load_bundle
from firesight.iot.ca import CertificateAuthority
from firesight.iot.codec import encode_scd41, encode_status, encode_thermal
from firesight.iot.device_registry import DeviceRegistry
from firesight.ops import metrics
from firesight.ops.logs import configure_logging
from support.mqtt import device_client, start_broker
from support.notify_servers import start_http
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(180)

THING = "obs-room"
SERVICES = ("monitoring-obs", "analysis-obs")


@pytest.fixture()
def pki(tmp_path):
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "registry.db")), CertificateAuthority(tmp_path / "pki"))
    creds = {THING: registry.register_device(THING, site="lab")}
    for name in SERVICES:
        registry.register_service(name)
    return {"registry": registry, "creds": creds}


@pytest.fixture()
def json_log():
    """Every ``firesight`` log line of the test as parsed JSON (INFO and up)."""
    out = io.StringIO()
    root = logging.getLogger("firesight")
    level = root.level
    handler = configure_logging(logging.INFO, stream=out)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def hair_trigger_bundle() -> DetectorBundle:
    bundle = load_bundle(default_model_path())
    policy = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=3, clear_consecutive=5)
    return DetectorBundle(variants=bundle.variants, policies={v: policy for v in bundle.variants})


def readings(now_ms: int, seconds: float, rng: np.random.Generator):
    """(topic stream, payload) of a room at 20 C: frames every 115 ms, SCD41 every 5 s."""
    out = []
    for k in range(int(seconds * 1000 / 115)):
        counts = ((293.15 + rng.normal(0, 0.05, (120, 160))) / 0.01).astype(np.uint16)
        out.append((k * 115, "thermal", encode_thermal(counts, ts_ms=now_ms + k * 115, seq=k + 1)))
    for j in range(int(seconds / 5) + 1):
        out.append((j * 5000 + 7, "scd41", encode_scd41(co2_ppm=450.0 + j, temperature_c=20.0, humidity_rh=40.0,
                                                        ts_ms=now_ms + j * 5000 + 7, seq=j + 1)))
    return [(stream, payload) for _, stream, payload in sorted(out, key=lambda m: m[0])]


def sample(name, **labels):
    return metrics.sample_value(name, labels)


wait_until = partial(wait_until, timeout_s=60.0)


def test_an_alert_moves_the_metrics_and_both_agents_log_it_with_one_correlation_id(pki, tmp_path, json_log):
    broker = start_broker("embedded", pki["registry"])
    hook, broken = start_http([200]), start_http([500])
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    state = SQLiteMetadataStore(str(tmp_path / "state.db"))
    registry = pki["registry"]
    channels = notifier_channels({"webhook": {"type": "webhook", "url": hook.url},
                                  "pager": {"type": "webhook", "url": broken.url}})
    policy = ResponsePolicy.from_dict({
        "routes": {"alarm": {"tiers": [["webhook", "pager"]]}, "watch": {"tiers": [["webhook"]]},
                   "trouble": {"tiers": [["webhook"]]}, "supervisory": {"tiers": [["webhook"]]}},
        "retry": {"max_attempts": 1, "initial_delay_s": 0.0, "max_delay_s": 0.0}, "poll_interval_s": 0.05})
    before = {
        "rows": sample("firesight_inference_rows_total", path="agent", variant="full"),
        "timed": sample("firesight_inference_latency_seconds_count", path="agent", variant="full"),
        "alarms": sample("firesight_alerts_total", signal="alarm", level="alarm"),
        "sent": sample("firesight_notifications_sent_total", channel="webhook"),
        "failed": sample("firesight_notification_failures_total", channel="pager"),
    }
    monitoring = MonitoringAgent(service_client(SERVICES[0], broker.url, registry, persistent=True), queue,
                                 state_store=state, site="lab", worker_id="obs")
    analysis = AnalysisAgent(service_client(SERVICES[1], broker.url, registry), queue, hair_trigger_bundle(),
                             model_version="7", state_store=state, worker_id="obs",
                             settings=AnalysisSettings(snapshot_png=False))
    alerts = AlertStore(SQLiteMetadataStore(str(tmp_path / "alerts.db")))
    response = ResponseAgent(queue, alerts, channels, policy, worker_id="response-obs")
    device = None
    try:
        analysis.start()
        monitoring.start()
        response.start()
        device = device_client(pki, THING, broker.url).connect()
        now_ms = int(time.time() * 1000)
        device.publish(device.topic("status"), encode_status(state="online", ts_ms=now_ms, seq=1), qos=1)
        for stream, payload in readings(now_ms, 8.0, np.random.default_rng(5)):
            device.publish(device.topic(stream), payload, qos=1)
        assert wait_until(lambda: alerts.list(signal="alarm")
                          and alerts.deliveries(state="failed", channel="pager")
                          and not alerts.deliveries(state="pending")), (analysis.health(), response.health())
        [alarm] = alerts.list(signal="alarm")
        assert wait_until(lambda: any(r.json().get("alert_id") == alarm["alert_id"] for r in hook.accepted()))
    finally:
        response.stop(5.0)
        monitoring.stop()
        analysis.stop()
        for agent in (monitoring, analysis):
            agent.client.close()
        if device is not None:
            device.close()
        broker.stop()
        hook.stop()
        broken.stop()

    # the analysis agent: every scored window timed and counted, the alarm counted once
    rows = sample("firesight_inference_rows_total", path="agent", variant="full") - before["rows"]
    assert 3 <= rows <= analysis.counts["windows"], (rows, analysis.counts)
    assert sample("firesight_inference_latency_seconds_count", path="agent", variant="full") - before["timed"] == rows
    assert sample("firesight_alerts_total", signal="alarm", level="alarm") - before["alarms"] == 1
    # the response agent: each delivery counted by channel as the stores and servers saw it
    assert sample("firesight_notifications_sent_total", channel="webhook") - before["sent"] == \
        len(alerts.deliveries(state="sent", channel="webhook")) == len(hook.accepted())
    assert sample("firesight_notification_failures_total", channel="pager") - before["failed"] == \
        len(alerts.deliveries(state="failed", channel="pager")) == 1

    cid = alarm["correlation_id"]
    assert cid.startswith(f"{THING}/") and cid.split("/")[1] in ("thermal", "scd41")
    lines = json_log()
    about = [line for line in lines if line["correlation_id"] == cid]
    analysis_lines = [line for line in about if line["logger"] == "firesight.agents.analysis"]
    response_lines = [line for line in about if line["logger"] == "firesight.agents.response"]
    assert any("watch -> alarm" in line["message"] for line in analysis_lines), lines
    assert any(f"alert {alarm['alert_id']} opened" in line["message"] for line in response_lines), lines
    assert any(f"{alarm['alert_id']}:open:webhook sent" in line["message"] for line in response_lines), lines
    assert any(f"{alarm['alert_id']}:open:pager failed" in line["message"] for line in response_lines), lines
    # the webhook payload carries the same id to whoever receives it
    [payload] = [r.json() for r in hook.accepted() if r.json().get("alert_id") == alarm["alert_id"]]
    assert payload["correlation_id"] == cid
