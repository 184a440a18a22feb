"""Monitoring agent observability without a network: each message is handled with its
correlation id bound (the id the analysis agent puts on its alert events), and the
Prometheus counters and the device-state gauge follow what the agent sees."""

from __future__ import annotations

import gc
import io
import json
import logging

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.monitoring import MonitoringAgent
from firesight.iot.codec import PayloadRejected, SCD41Message, StatusMessage
from firesight.ops import metrics
from firesight.ops.logs import JsonFormatter

T0_MS = 1_800_000_000_000


class RecordingClient:
    """Stands in for the MQTT client: keeps what the agent publishes."""

    def __init__(self):
        self.published = []

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append((topic, payload))


def status(seq, state="online", thing="n1"):
    return StatusMessage(site="s", thing_name=thing, ts_ms=T0_MS + seq, seq=seq, state=state, uptime_s=1.0)


def test_every_line_logged_while_a_reading_is_handled_carries_its_correlation_id():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("firesight.agents.monitoring")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not .level =: it clears the loggers' cached levels
    try:
        agent = MonitoringAgent(RecordingClient(), SQLiteMessageQueue(":memory:"))
        agent._on_message(status(7, "offline"))  # raises the offline trouble: logged
        agent._on_message(SCD41Message(site="s", thing_name="n1", ts_ms=T0_MS + 10, seq=3, co2_ppm=450.0,
                                       temperature_c=21.0, humidity_rh=40.0))  # clears it: logged
        logger.info("outside any reading")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["message"], line["correlation_id"]) for line in lines] == [
        ("n1 trouble active (offline)", "n1/status/7"),
        ("n1 trouble cleared (offline)", "n1/scd41/3"),
        ("outside any reading", ""),
    ]


def test_counters_and_the_device_gauge_follow_the_messages():
    def value(name, **labels):
        return metrics.sample_value(name, labels)

    gc.collect()  # agents of other tests dropped unstopped leave the gauge
    received, rejected = value("firesight_messages_received_total", kind="status"), \
        value("firesight_messages_rejected_total", kind="scd41", reason="out_of_range")
    other = value("firesight_messages_received_total", kind="other")
    online, offline = value("firesight_devices", state="online"), value("firesight_devices", state="offline")
    agent = MonitoringAgent(RecordingClient(), SQLiteMessageQueue(":memory:"))
    agent._on_message(status(1, thing="n1"))
    agent._on_message(status(2, thing="n2"))
    assert value("firesight_devices", state="online") - online == 2
    agent._on_message(status(3, "offline", thing="n2"))
    assert value("firesight_devices", state="online") - online == 1
    assert value("firesight_devices", state="offline") - offline == 1
    assert value("firesight_messages_received_total", kind="status") - received == 3
    assert value("firesight_last_reading_timestamp_seconds") > 0
    agent._on_reject("firesight/v1/s/n1/scd41", b"{}", PayloadRejected("out_of_range", "co2_ppm"))
    agent._on_reject("firesight/v1/s/n1/bogus", b"{}", PayloadRejected("bad_topic", "no such stream"))
    assert value("firesight_messages_rejected_total", kind="scd41", reason="out_of_range") - rejected == 1
    assert value("firesight_messages_received_total", kind="other") - other == 1
    assert agent.counts["rejected:out_of_range"] == 1
    agent.stop(timeout_s=1.0)  # a stopped agent's devices leave the gauge
    assert value("firesight_devices", state="online") == online
    assert value("firesight_devices", state="offline") == offline
