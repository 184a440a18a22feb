"""``firesight run`` runs the alarm rules beside the agents and serves ``/metrics``.

The running system (start_system: embedded broker, the agents, the alarm service under the
coordinator, the metrics server) gets an alarm whose pager webhook answers 500: the failed
delivery moves ``firesight_notification_failures_total``, the ``notification_failures``
rule (CloudWatch semantics, short periods here) goes to ALARM, which records the transition
and puts a ``trouble`` event on the durable queue; the response agent notifies it on a real
HTTP server. With no further failure the rule goes back to OK and the trouble alert is
cleared. ``/metrics`` refuses an anonymous scrape and shows the transition to a viewer token;
the staged stop ends the alarm loop and the server.
"""

from __future__ import annotations

import time
from functools import partial

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from firesight import bootstrap
from firesight.agents.alert_store import AlertStore
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.runtime_config import parse_run_config
from firesight.agents.system import start_system
from firesight.ops import metrics
from firesight.ops.tokens import TokenStore
from support.notify_servers import start_http
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(180)


wait_until = partial(wait_until, timeout_s=60.0)


def test_the_running_system_raises_and_clears_a_notification_failures_alarm(tmp_path):
    pager, ops = start_http([500]), start_http([200])
    cfg = parse_run_config({
        "home": str(tmp_path / "home"), "site": "lab", "model": {"poll_s": 0},
        "coordinator": {"health_interval_s": 0},
        "channels": [{"kind": "webhook", "name": "pager", "options": {"url": pager.url}},
                     {"kind": "webhook", "name": "ops", "options": {"url": ops.url}}],
        "response": {"policy": {"poll_interval_s": 0.05,
                                "retry": {"max_attempts": 1, "initial_delay_s": 0.0, "max_delay_s": 0.0},
                                "routes": {"alarm": {"tiers": [["pager"]]}, "trouble": {"tiers": [["ops"]]}}}},
        # periods of 0.5 s evaluated every 0.1 s; no device here, so no ingest rule
        "alarms": {"interval_s": 0.1, "period_s": 0.5, "rules": {"ingest_stopped": {"enabled": False}}},
        "metrics": {"enabled": True, "port": 0}}, environ={})
    transitions = metrics.sample_value("firesight_alarm_transitions_total",
                                       {"alarm": "notification_failures", "state": "ALARM"})
    system = start_system(cfg)
    alerts = AlertStore(system.metadata)

    def rule():
        return system.health()["agents"]["alarms"]["alarms"]["notification_failures"]

    try:
        url = system.health()["metrics"]["url"]
        assert set(system.health()["agents"]["alarms"]["alarms"]) == {"queue_backing_up", "notification_failures",
                                                                     "model_latency"}
        assert wait_until(lambda: rule()["state"] == "OK"), rule()  # sampled and evaluated: nothing failed
        system.queue.send(ALERT_EVENTS_QUEUE, AlertEvent(
            event_id="kitchen:alarm:1", site="lab", thing="kitchen", signal="alarm", state="active", level="alarm",
            previous="watch", ts_ms=int(time.time() * 1000), probability=0.93, variant="full").to_json())
        assert wait_until(lambda: rule()["state"] == "ALARM"), (rule(), system.health()["agents"]["response"])
        assert rule()["last_change"] == "OK -> ALARM"
        assert metrics.sample_value("firesight_alarm_transitions_total",
                                    {"alarm": "notification_failures", "state": "ALARM"}) - transitions == 1
        # the trouble event reached the response agent and a person
        assert wait_until(lambda: alerts.list(signal="trouble", thing="firesight-ops"))
        [trouble] = alerts.list(signal="trouble", thing="firesight-ops")
        assert trouble["level"] == "notification_failures" and trouble["site"] == "lab"
        assert wait_until(lambda: any(r.json().get("alert_id") == trouble["alert_id"] for r in ops.accepted()))
        # nothing fails any more: back to OK, the trouble alert cleared
        assert wait_until(lambda: rule()["state"] == "OK"), rule()
        assert wait_until(lambda: alerts.get(trouble["alert_id"])["state"] == "cleared")

        assert httpx.get(url).status_code == 401
        assert httpx.get(url.replace("/metrics", "/ping")).status_code == 200
        token, _ = TokenStore(bootstrap.metadata_store(cfg.base_config())).create("prometheus", "viewer")
        scrape = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert scrape.status_code == 200
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(scrape.text) for s in family.samples}
        assert samples[("firesight_alarm_transitions_total",
                        (("alarm", "notification_failures"), ("state", "ALARM")))] >= 1
        assert samples[("firesight_notification_failures_total", (("channel", "pager"),))] >= 1
        assert ("firesight_queue_depth_messages", (("queue", ALERT_EVENTS_QUEUE),)) in samples
    finally:
        report = system.stop()
        pager.stop()
        ops.stop()
    assert report["status"] == "stopped"
    assert system.coordinator.agent("alarms") is None  # the staged stop ended the alarm loop
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("/metrics", "/ping"), timeout=2)
