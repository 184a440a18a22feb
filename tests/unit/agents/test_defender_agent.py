"""Device Defender's agent pieces without a broker: a real Defender evaluated on recorded
traffic, its events turned into trouble alert events on a real SQLite queue, the gauge
and the dashboard feed's device health."""

from __future__ import annotations

import pytest

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.defender_agent import (
    DefenderAgent,
    build_defender,
    faster_profile,
    report_violations,
    violation_event,
)
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.runtime_config import parse_run_config
from firesight.errors import InvalidParameterError
from firesight.iot.defender import DEFAULT_PROFILE
from firesight.ops import metrics
from firesight.web.feed import DashboardFeed

PROFILE = {"securityProfileName": "unit", "behaviors": [
    {"name": "big", "metric": "aws:message-byte-size",
     "criteria": {"comparisonOperator": "greater-than", "value": {"count": 100}}},
    {"name": "chatty", "metric": "aws:num-messages-sent",
     "criteria": {"comparisonOperator": "greater-than", "value": {"count": 3}, "durationSeconds": 10}}]}


def test_violations_become_trouble_events_the_gauge_and_device_health(tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    defender = build_defender([PROFILE])
    agent = DefenderAgent(defender, queue, site_of=lambda thing: "lab")
    defender.on_violation.append(agent.on_violation)
    defender.record_publish("node-1", 500, time_s=100.0)  # too big
    defender.record_publish("node-2", 50, time_s=100.0)   # fine
    events = defender.evaluate(now_s=101.0)
    assert [(e["thingName"], e["behavior"]["name"], e["violationEventType"]) for e in events] == [
        ("node-1", "big", "in-alarm")]
    assert metrics.sample_value("firesight_defender_violations", {"behavior": "big"}) == 1.0
    assert metrics.sample_value("firesight_defender_violations", {"behavior": "chatty"}) == 0.0
    [message] = queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)
    alert = AlertEvent.from_json(message["body"])
    assert (alert.thing, alert.site, alert.signal, alert.state, alert.level) == (
        "node-1", "lab", "trouble", "active", "defender:big")
    assert alert.explanation["metric_value"] == {"number": 500.0}

    feed = DashboardFeed()
    feed.push_alert(alert)
    [dev] = feed.snapshot()["devices"]
    assert dev["health"] == {"violations": ["big"]}  # a violation, not a monitoring condition

    defender.record_publish("node-1", 10, time_s=102.0)
    [cleared] = defender.evaluate(now_s=103.0)
    assert cleared["violationEventType"] == "alarm-cleared"
    assert report_violations(defender) == {"big": 0, "chatty": 0}
    event = violation_event(cleared, site="lab")
    assert event.state == "cleared" and event.event_id != alert.event_id
    feed.push_alert(event)
    assert feed.snapshot()["devices"][0]["health"] == {"violations": []}


def test_a_failing_queue_is_counted_and_the_gauge_still_moves():
    class Down:
        def send(self, *args, **kwargs):
            raise OSError("disk full")

    defender = build_defender([PROFILE])
    agent = DefenderAgent(defender, Down())
    defender.on_violation.append(agent.on_violation)
    defender.record_publish("node-9", 1000, time_s=1.0)
    defender.evaluate(now_s=2.0)
    assert agent.counts["send_failures"] == 1 and "disk full" in agent.last_error
    assert metrics.sample_value("firesight_defender_violations", {"behavior": "big"}) == 1.0


def test_the_run_config_checks_defender_profiles():
    assert parse_run_config({}, environ={}).defender.enabled is None
    with pytest.raises(InvalidParameterError, match=r"defender\.profiles\[0\]"):
        parse_run_config({"defender": {"profiles": [{"securityProfileName": "x", "behaviors": []}]}}, environ={})
    with pytest.raises(InvalidParameterError, match="unique"):
        parse_run_config({"defender": {"profiles": [PROFILE, PROFILE]}}, environ={})


def test_an_accelerated_fleet_gets_proportionally_higher_message_limits():
    fast = faster_profile(DEFAULT_PROFILE, 12.0)
    limits = {b["name"]: b["criteria"]["value"]["count"] for b in fast["behaviors"]}
    assert limits["message_flood"] == 10_500 * 12
    assert limits["oversized_messages"] == 65_536 and limits["reconnect_storm"] == 20  # not rates
    assert DEFAULT_PROFILE["behaviors"][0]["criteria"]["value"]["count"] == 10_500  # unchanged
