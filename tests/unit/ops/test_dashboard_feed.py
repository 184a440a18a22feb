"""The dashboard feed: latest state per device for a page that opens, bounded fan-out that
sheds the oldest sensor updates of a slow browser but never an alert, thermal frames
decoded to the right temperatures and throttled per device."""

from __future__ import annotations

import asyncio
import base64

import numpy as np

from firesight.agents.events import AlertEvent
from firesight.ops import metrics
from firesight.web import feed as feed_mod
from firesight.web.feed import DashboardFeed


def test_snapshot_keeps_latest_state_and_bounded_history():
    feed = DashboardFeed(thermal_interval_s=0.0)
    for i in range(feed_mod.HISTORY_POINTS + 5):
        feed.push_scd41("s", "d", ts_ms=1000 * i, co2_ppm=400 + i, temperature_c=20, humidity_rh=40)
    frame = np.full((120, 160), int(round((30.0 + 273.15) / 0.1)), dtype=np.uint16)
    frame[10, 20] = int(round((250.0 + 273.15) / 0.1))
    feed.push_thermal("s", "d", ts_ms=5, pixels=frame, resolution_k=0.1)
    snap = feed.snapshot()["devices"][0]
    assert len(snap["scd41"]) == feed_mod.HISTORY_POINTS and snap["scd41"][-1]["co2_ppm"] == 400 + feed_mod.HISTORY_POINTS + 4
    f = snap["frame"]
    assert abs(f["min_c"] - 30.0) < 0.06 and abs(f["max_c"] - 250.0) < 0.06
    raw = np.frombuffer(base64.b64decode(f["pixels"]), dtype="<u2").reshape(120, 160)
    assert raw[10, 20] * f["resolution_k"] + f["offset_c"] == np.float64(frame[10, 20]) * 0.1 - 273.15
    assert snap["state"] == "online"


def test_slow_subscriber_sheds_sensor_updates_but_keeps_alerts(monkeypatch):
    monkeypatch.setattr(feed_mod, "SUBSCRIBER_QUEUE", 10)
    feed = DashboardFeed()
    event = AlertEvent(event_id="d:alarm:1", site="s", thing="d", signal="alarm", state="active",
                       level="alarm", previous="watch", ts_ms=1)

    async def scenario():
        sub = feed.subscribe()
        before = metrics.sample_value("firesight_messages_shed_total", {"queue": "dashboard"})
        for i in range(25):
            feed.push_scd41("s", "d", ts_ms=i, co2_ppm=500, temperature_c=20, humidity_rh=40)
        feed.push_alert(event)
        await asyncio.sleep(0.05)  # let call_soon_threadsafe callbacks run
        items = []
        while not sub.queue.empty():
            items.append(sub.queue.get_nowait())
        feed.unsubscribe(sub)
        return items, metrics.sample_value("firesight_messages_shed_total", {"queue": "dashboard"}) - before

    items, shed = asyncio.run(scenario())
    assert len(items) == 10
    assert items[-1]["type"] == "alert" and items[-1]["event"]["event_id"] == "d:alarm:1"
    assert shed == 16  # 15 readings beyond the bound + 1 dropped to make room for the alert


def test_thermal_frames_are_throttled_per_device_for_browsers():
    feed = DashboardFeed(thermal_interval_s=60.0)
    got = []

    async def scenario():
        sub = feed.subscribe()
        frame = np.full((120, 160), 29815, dtype=np.uint16)
        for i in range(5):
            feed.push_thermal("s", "a", ts_ms=i, pixels=frame, resolution_k=0.01)
        feed.push_thermal("s", "b", ts_ms=0, pixels=frame, resolution_k=0.01)
        await asyncio.sleep(0.05)
        while not sub.queue.empty():
            got.append(sub.queue.get_nowait())

    asyncio.run(scenario())
    assert [(m["thing"], m["frame"]["ts_ms"]) for m in got] == [("a", 0), ("b", 0)]
    assert feed.snapshot()["devices"][0]["frame"]["ts_ms"] == 4  # the newest frame is kept


class _Subscriptions:
    """Stands in for the bridge's MQTT client: keeps the subscriptions."""

    def __init__(self):
        self.callbacks = {}

    def subscribe(self, topic_filter, callback, qos=0):
        self.callbacks[topic_filter] = (callback, qos)


def test_bridge_feeds_probability_records_to_the_chart_and_refuses_bad_ones():
    import json

    import pytest

    from firesight.errors import DataError
    from firesight.web.bridge import BrokerBridge, parse_probability

    feed = DashboardFeed()
    client = _Subscriptions()
    bridge = BrokerBridge(feed, client).start()
    on_probability, qos = client.callbacks["firesight/v1/+/probability"]
    assert qos == 0
    good = {"thing": "kitchen-2", "ts_ms": 1_800_000_000_000, "probability": 0.42, "level": "watch",
            "variant": "full", "model_version": "7"}
    on_probability("firesight/v1/hq/probability", json.dumps(good).encode())
    on_probability("firesight/v1/hq/probability", json.dumps({**good, "ts_ms": good["ts_ms"] + 1000,
                                                               "probability": None, "level": "normal"}).encode())
    [device] = feed.snapshot()["devices"]
    assert (device["site"], device["thing"], device["level"]) == ("hq", "kitchen-2", "normal")
    assert [p["probability"] for p in device["probability"]] == [0.42, None]
    assert device["probability"][0] == {"ts_ms": good["ts_ms"], "probability": 0.42, "level": "watch",
                                        "variant": "full"}
    rejected = metrics.sample_value("firesight_messages_rejected_total",
                                    {"kind": "dashboard", "reason": "probability_malformed"})
    bad = [("firesight/v1/hq/probability", b"not json"),
           ("firesight/v1/hq/probability", json.dumps({**good, "probability": 1.5}).encode()),
           ("firesight/v1/hq/probability", json.dumps({**good, "probability": True}).encode()),
           ("firesight/v1/hq/probability", json.dumps({**good, "level": "panic"}).encode()),
           ("firesight/v1/hq/probability", json.dumps({**good, "ts_ms": "soon"}).encode()),
           ("firesight/v1/hq/probability", json.dumps({**good, "thing": "a/b"}).encode()),
           ("firesight/v1/hq/probability", json.dumps([good]).encode()),
           ("firesight/v1/hq/probability", json.dumps({**good, "variant": "x" * 100}).encode()),
           ("firesight/v1/hq/probability", b" " * 2000)]
    for topic, payload in bad:
        with pytest.raises(DataError):
            parse_probability(topic, payload)
        on_probability(topic, payload)
    assert len(feed.snapshot()["devices"][0]["probability"]) == 2
    assert bridge.rejected == len(bad) and bridge.received == 2
    assert metrics.sample_value("firesight_messages_rejected_total",
                                {"kind": "dashboard", "reason": "probability_malformed"}) - rejected == len(bad)
