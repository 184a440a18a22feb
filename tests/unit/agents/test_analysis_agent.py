"""Analysis agent: scores windows exactly as OnlineDetector does, emits deterministic,
idempotent alert events on level changes, survives restarts and model switches (no network)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.analysis import AnalysisAgent, render_snapshot_png
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.quality import DeviceMonitor
from firesight.detection.alerts import AlertPolicy
from firesight.detection.bundle import DetectorBundle
from firesight.detection.shipped_model import default_model_path, load_bundle
from firesight.detection.online import OnlineDetector

from unit.agents.test_monitoring_quality import feed, stream


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(default_model_path())


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(11)
    messages = stream(70, rng, hot_from_s=30)
    mon = DeviceMonitor("s", "n1", step_s=1.0, window_s=60.0)
    return messages, feed(mon, messages)


def as_body(w, thing="n1"):
    return {"site": "s", "thing": thing, "time_s": w.time_s, "ts_ms": w.ts_ms,
            "features": {k: (None if not math.isfinite(v) else v) for k, v in w.features.items()},
            "inputs": w.inputs, "snapshot": w.snapshot, "trigger": w.trigger, "scenario_time_s": w.time_s}


def events_of(queue):
    out = []
    while batch := queue.receive(ALERT_EVENTS_QUEUE, max_messages=10):
        for m in batch:
            out.append(AlertEvent.from_json(m["body"]))
            queue.delete(ALERT_EVENTS_QUEUE, m["receipt_handle"])
    return out


def test_probabilities_and_levels_equal_the_online_detector(bundle, windows):
    messages, wins = windows
    det = OnlineDetector(bundle, variant="full")
    i, ref = 0, {}
    for now in range(0, 70):
        while i < len(messages) and messages[i][1] / 1000 <= now:
            kind, ts, _, payload = messages[i]
            if kind == "thermal":
                det.push_thermal(ts / 1000, payload, 0.01, 0)
            else:
                det.push_scd41(ts / 1000, *payload)
            i += 1
        out = det.step(float(now))
        if out is not None:
            ref[float(now)] = out
    agent = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), bundle)
    levels = []
    for w in wins:
        agent.process(as_body(w))
        dev = agent.devices[("s", "n1")]
        levels.append((w.time_s, dev.state.level))
        p_agent = agent._predict("full", dev.history)
        assert p_agent == pytest.approx(ref[w.time_s]["probability"], abs=1e-6), w.time_s
    assert levels == [(t, ref[t]["level"]) for t, _ in levels]


def test_level_changes_become_idempotent_events_and_survive_a_restart(bundle, windows, tmp_path):
    _, wins = windows
    strict = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=3, clear_consecutive=5)
    always = DetectorBundle(variants=bundle.variants, policies={v: strict for v in bundle.variants})
    queue, store = SQLiteMessageQueue(":memory:"), SQLiteMetadataStore(str(tmp_path / "m.db"))
    agent = AnalysisAgent(None, queue, always, model_version="7", state_store=store)
    for w in wins[:10]:
        agent.process(as_body(w))
    got = events_of(queue)
    assert [(e.event_id, e.signal, e.state, e.previous, e.level) for e in got] == [
        ("n1:watch:1", "watch", "active", "normal", "watch"),
        ("n1:alarm:2", "alarm", "active", "watch", "alarm")]
    alarm = got[1]
    assert alarm.model_version == "7" and alarm.variant == "full" and alarm.probability is not None
    assert alarm.explanation["sensor"] in ("thermal", "scd41", "both")
    assert len(alarm.explanation["features"]) == 5
    assert alarm.ts_ms == wins[2].ts_ms and alarm.correlation_id.startswith("n1/")
    # a restarted agent (same store) continues in alarm: no second alarm, next id continues
    again = AnalysisAgent(None, queue, always, model_version="7", state_store=store)
    for w in wins[10:20]:
        again.process(as_body(w))
    assert events_of(queue) == []
    assert again.devices[("s", "n1")].state.level == "alarm" and again.devices[("s", "n1")].seq == 2


def test_switch_model_keeps_every_window_and_the_level(bundle, windows):
    _, wins = windows
    agent = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), bundle)
    for w in wins[:5]:
        agent.process(as_body(w))
    assert agent.devices[("s", "n1")].state.level == "normal"
    hair = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=2, clear_consecutive=5)
    agent.switch_model(DetectorBundle(variants=bundle.variants, policies={v: hair for v in bundle.variants}), "8")
    history = len(agent.devices[("s", "n1")].history)
    ev = [agent.process(as_body(w)) for w in wins[5:8]]
    dev = agent.devices[("s", "n1")]
    assert agent.counts["windows"] == 8 and len(dev.history) == min(dev.history.maxlen, history + 3)
    assert [e.level for e in ev if e] == ["watch", "alarm"] and ev[1].model_version == "8" and ev[2] is None


def test_snapshot_png_marks_the_hot_region(windows):
    _, wins = windows
    snap = wins[-1].snapshot
    data = render_snapshot_png(snap)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from io import BytesIO

    from PIL import Image

    img = np.asarray(Image.open(BytesIO(data)))
    r0, c0, r1, c1 = snap["bbox"]
    k = 4 / 4  # scale 4 over a 4x-reduced thumbnail: one thumbnail px per frame px
    assert tuple(img[int(r0 * k), int((c0 + c1) / 2 * k)][:3]) == (0, 255, 255)  # the box's top edge
    assert tuple(img[0, 0][:3]) != (0, 255, 255)


class RecordingClient:
    """Stands in for the MQTT client: keeps what the agent publishes."""

    def __init__(self):
        self.published = []

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append((topic, json.loads(payload), qos))


def test_probability_records_are_throttled_per_device_but_level_changes_always_go_out(bundle, windows):
    from firesight.agents.runtime_config import AnalysisSettings

    _, wins = windows
    hair = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=3, clear_consecutive=5)
    always = DetectorBundle(variants=bundle.variants, policies={v: hair for v in bundle.variants})
    client = RecordingClient()
    agent = AnalysisAgent(client, SQLiteMessageQueue(":memory:"), always, model_version="7",
                          settings=AnalysisSettings(publish_alerts=False, probability_interval_s=3600.0))
    for w in wins[:12]:
        agent.process(as_body(w))
        agent.process(as_body(w, thing="n2"))
    records = [(t, body) for t, body, qos in client.published if t.endswith("/probability")]
    assert {t for t, _ in records} == {"firesight/v1/s/probability"}
    assert all(qos == 0 for t, _, qos in client.published if t.endswith("/probability"))
    for thing in ("n1", "n2"):
        mine = [body for _, body in records if body["thing"] == thing]
        # of 12 windows in the hour: the first (a change to watch) and the change to alarm
        assert [r["level"] for r in mine] == ["watch", "alarm"], mine
        assert [r["ts_ms"] for r in mine] == [wins[0].ts_ms, wins[2].ts_ms]
        assert all(0.0 <= r["probability"] <= 1.0 and r["variant"] == "full" and r["model_version"] == "7"
                   for r in mine)
    # interval 0: every scored window
    every = RecordingClient()
    agent = AnalysisAgent(every, SQLiteMessageQueue(":memory:"), bundle,
                          settings=AnalysisSettings(publish_alerts=False, probability_interval_s=0.0))
    for w in wins[:12]:
        agent.process(as_body(w))
    assert [b["ts_ms"] for _, b, _ in every.published] == [w.ts_ms for w in wins[:12]]
    off = RecordingClient()
    agent = AnalysisAgent(off, SQLiteMessageQueue(":memory:"), bundle,
                          settings=AnalysisSettings(publish_alerts=False, publish_probability=False))
    agent.process(as_body(wins[0]))
    assert off.published == []


def test_scored_windows_and_raised_alerts_are_counted_and_logged_with_the_correlation_id(bundle, windows):
    import io
    import logging

    from firesight.ops import metrics
    from firesight.ops.logs import JsonFormatter

    _, wins = windows
    hair = AlertPolicy(watch_on=0.0, alarm_on=0.0, alarm_off=0.0, min_consecutive=3, clear_consecutive=5)
    always = DetectorBundle(variants=bundle.variants, policies={v: hair for v in bundle.variants})

    def value(name, **labels):
        return metrics.sample_value(name, labels)

    rows = value("firesight_inference_rows_total", path="agent", variant="full")
    timed = value("firesight_inference_latency_seconds_count", path="agent", variant="full")
    alarms = value("firesight_alerts_total", signal="alarm", level="alarm")
    watches = value("firesight_alerts_total", signal="watch", level="watch")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("firesight.agents.analysis")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not assignment: it clears the logger's cache
    queue = SQLiteMessageQueue(":memory:")
    try:
        agent = AnalysisAgent(None, queue, always)
        blank = as_body(wins[0])
        blank["features"] = {k: None for k in blank["features"]}  # no evidence: not scored
        agent.process(blank)
        for w in wins[:6]:
            agent.process(as_body(w))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert value("firesight_inference_rows_total", path="agent", variant="full") - rows == 6
    assert value("firesight_inference_latency_seconds_count", path="agent", variant="full") - timed == 6
    assert value("firesight_alerts_total", signal="watch", level="watch") - watches == 1
    assert value("firesight_alerts_total", signal="alarm", level="alarm") - alarms == 1
    events = events_of(queue)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    by_ts = {w.ts_ms: w.trigger for w in wins[:6]}
    assert [e.signal for e in events] == ["watch", "alarm"]
    for e in events:  # the id of the reading that closed the deciding window
        assert e.correlation_id == f"n1/{by_ts[e.ts_ms]['stream']}/{by_ts[e.ts_ms]['seq']}"
    logged = {line["message"].split(" -> ")[1].split(" ")[0]: line["correlation_id"] for line in lines
              if " -> " in line["message"]}
    assert logged == {"watch": events[0].correlation_id, "alarm": events[1].correlation_id}



def _slow_only(bundle):
    """A policy whose fast path stays shut (the probabilities of these windows never reach
    1.0, asserted below) and whose slow path counts every scored window (p >= 1e-9) but not a
    window without evidence (scored 0): the alarm comes exactly at the 12th window in a row."""
    pol = AlertPolicy(watch_on=1.0, alarm_on=1.0, alarm_off=0.0, min_consecutive=3, clear_consecutive=5,
                      sustain_on=1e-9, sustain_consecutive=12)
    return DetectorBundle(variants=bundle.variants, policies={v: pol for v in bundle.variants})


def _alarm_window(agent, bodies, offset):
    for i, body in enumerate(bodies):
        ev = agent.process(body)
        if ev is not None and ev.level == "alarm":
            return offset + i
    return None


@pytest.fixture()
def slow_run(bundle, windows, tmp_path):
    from firesight.agents.runtime_config import AnalysisSettings
    _, wins = windows
    plain = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), bundle)
    for w in wins:
        plain.process(as_body(w))
    p = [plain._predict("full", list(plain.devices[("s", "n1")].history)[: i + 1]) for i in range(len(wins))]
    assert all(1e-9 <= x < 1.0 for x in p)
    settings = AnalysisSettings(sustain_checkpoint_windows=4, sustain_resume_gap_s=5.0)
    return _slow_only(bundle), settings, [as_body(w) for w in wins], SQLiteMetadataStore(str(tmp_path / "m.db"))


def test_a_slow_path_run_resumes_after_a_restart_from_its_checkpoint(slow_run):
    slow, settings, bodies, store = slow_run
    # one agent throughout: the alarm at the 12th window (index 11)
    assert _alarm_window(AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow), bodies, 0) == 11
    # killed after 9 windows (checkpoint at 8), restarted on the same store: 4 more windows
    first = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(first, bodies[:9], 0) is None
    again = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(again, bodies[9:], 9) == 12  # 8 saved + 4: one window later than unbroken
    assert again.counts["sustain_resumed"] == 1
    # without the checkpoint (no store) the restarted run starts over: 12 more windows
    fresh = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, settings=settings)
    assert _alarm_window(fresh, bodies[9:], 9) == 20


def test_a_slow_path_checkpoint_is_not_resumed_after_a_long_gap(slow_run):
    slow, settings, bodies, store = slow_run
    first = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(first, bodies[:9], 0) is None
    # the device's next window comes 10 s after the checkpoint (> 5 s): the run starts over
    late = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(late, bodies[18:], 18) == 29 and late.counts["sustain_resumed"] == 0


def test_a_broken_slow_path_run_clears_its_checkpoint(slow_run):
    slow, settings, bodies, store = slow_run
    first = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(first, bodies[:8], 0) is None
    assert store.get("agent-device-state", "s/n1", "analysis")["sustain_count"] == 8
    empty = {**bodies[8], "features": {k: None for k in bodies[8]["features"]}}  # no evidence: scored 0
    first.process(empty)
    assert store.get("agent-device-state", "s/n1", "analysis")["sustain_count"] == 0
    again = AnalysisAgent(None, SQLiteMessageQueue(":memory:"), slow, state_store=store, settings=settings)
    assert _alarm_window(again, bodies[9:], 9) == 20 and again.counts["sustain_resumed"] == 0
