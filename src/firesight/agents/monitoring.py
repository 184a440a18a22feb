"""Monitoring agent: device streams in, checked feature windows out.

The agent takes every node's messages through the ingest gateway
(:class:`firesight.iot.gateway.IngestGateway`: validated, counted, bounded queues; one
worker thread, so each device's readings are handled in order), keeps a
:class:`firesight.agents.quality.DeviceMonitor` per node (data quality, sensor health,
windows computed with the training feature code) and

- publishes each window at QoS 1 on ``firesight/internal/v1/windows/{worker}/{site}/{thing}``
  for the analysis agent of the same worker (:func:`window_topic`);
- raises ``trouble`` (``offline``, ``camera_failed``, ``scd41_failed``) and
  ``supervisory`` (``degraded:thermal`` camera only, ``degraded:gas`` SCD41 only) alert
  events on the durable queue :data:`~firesight.agents.events.ALERT_EVENTS_QUEUE` and on
  ``firesight/v1/{site}/alerts``, with deterministic ids ``{thing}:{signal}:{seq}``. The
  conditions and the per-device sequence are kept in the metadata store, so a restarted
  agent neither repeats nor forgets them.

A node is offline after ``offline_missed_readings`` missed SCD41 readings on the
receiver's clock (at least ``min_offline_s``), or at once when it says so (status
``offline``, also its MQTT last will).

Downtime (one worker, no ``shared_group``): the agent's client has a persistent session
(``clean_session=False``, a stable client id; built so by :func:`firesight.agents.system.start_system`)
and subscribes to SCD41 and status readings at QoS 1, so the broker keeps what devices
publish while the agent is down (bounded: 1,000 messages / 16 MiB per session on the
embedded broker and on the generated Mosquitto configuration, for at most an hour) and
delivers it, in order, when the agent is back; frames are subscribed at QoS 0 and not kept
(they would crowd the readings out of the bounded queue). A reading made before this agent
started (``ts_ms`` before :meth:`MonitoringAgent.start`) is *late*: it is evaluated like any
other (quality checks, windows, alerts), counted (``counts["late"]``), and the camera is
not judged missing on it, nor until ``camera_timeout_s`` of live readings have passed (no
frame of the downtime was kept); its arrival in a burst does not teach the presence check
the reading interval. Late readings the existing rules refuse (duplicate or out-of-order
``seq``) are rejected and counted as any other.

Metrics (:mod:`firesight.ops.metrics`): ``MESSAGES_RECEIVED`` by kind (stream) for every
message the gateway hands on, accepted or rejected; ``MESSAGES_REJECTED`` by kind and
reason; ``LAST_READING_TIME`` (receiver wall clock); ``DEVICES`` by state (``online``,
``degraded``: a sensor condition is active, ``offline``), summed over the agents of the
process. Each reading is handled inside :func:`firesight.ops.logs.correlation` with its id
``{thing}/{stream}/{seq}``, the id the analysis agent puts on the alert events it raises.

Scale-out (``shared_group``): several workers share the devices, each device served by one
worker, in order (claims, takeover and restarts: :mod:`firesight.agents.ownership`).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from firesight.agents.events import ALERT_EVENTS_QUEUE, STATE_TABLE, AlertEvent
from firesight.agents.ownership import INTERNAL_ROOT, SharedDevices
from firesight.agents.ownership import owner_topic, worker_topic  # noqa: F401 - importable from here
from firesight.agents.quality import DeviceMonitor, QualitySettings, Window
from firesight.errors import FiresightError
from firesight.iot.codec import FeaturesMessage, SCD41Message, StatusMessage, ThermalMessage
from firesight.iot.gateway import GatewayConfig, IngestGateway
from firesight.iot.topics import DEVICE_STREAMS, alerts_topic
from firesight.ops import metrics
from firesight.ops.logs import correlation

log = logging.getLogger(__name__)

#: Device states of the ``firesight_devices`` gauge.
DEVICE_STATES = ("online", "degraded", "offline")
_STREAMS = {ThermalMessage: "thermal", SCD41Message: "scd41", StatusMessage: "status", FeaturesMessage: "features"}
_STATES_LOCK = threading.Lock()
_STATES_BY_AGENT: dict[int, Counter[str]] = {}


def _report_device_states(agent: int, states: Counter[str] | None) -> None:
    """Set the ``firesight_devices`` gauge to the sum over the process's monitoring agents
    (``states`` None: the agent stopped)."""
    with _STATES_LOCK:
        if states is None:
            _STATES_BY_AGENT.pop(agent, None)
        else:
            _STATES_BY_AGENT[agent] = states
        total: Counter[str] = Counter()
        for counted in _STATES_BY_AGENT.values():
            total.update(counted)
        for state in DEVICE_STATES:
            metrics.DEVICES.labels(state=state).set(total[state])


def window_topic(worker: str, site: str, thing: str) -> str:
    """Topic of one device's feature windows for one worker's analysis agent."""
    return f"{INTERNAL_ROOT}/windows/{worker}/{site}/{thing}"


def window_filter(worker: str) -> str:
    return f"{INTERNAL_ROOT}/windows/{worker}/#"


def send_event(queue: Any, client: Any, event: AlertEvent, *, publish: bool = True) -> None:
    """Put ``event`` on the durable alert queue, then publish it on the site's alert topic
    (QoS 1). The queue write comes first: an event the queue holds is never lost."""
    body = event.to_json()
    queue.send(ALERT_EVENTS_QUEUE, body, attributes={"event_id": event.event_id, "signal": event.signal})
    if publish and client is not None:
        try:
            client.publish(alerts_topic(event.site), body, qos=1)
        except FiresightError:
            log.warning("alert %s queued but not published", event.event_id)


class MonitoringAgent(SharedDevices):
    """Device streams -> quality checks, health events and feature windows.

    Parameters
    ----------
    client : MqttClient
        Connected service client (subscribes to device topics, publishes windows and alerts).
    queue : MessageQueue
        Durable queue of alert events.
    state_store : MetadataStore, optional
        Keeps conditions and event sequences across restarts (none: in memory only).
    step_s, window_s : float
        Window step and length [s] (the model's).
    site : str
        Site to serve (``+`` every site).
    worker_id : str
        This worker's name (window topics, ownership).
    shared_group : str
        "" serves every device; a group name shares devices with the group's other workers.
    takeover_after_s : float
        Scale-out: a worker gone without a clean stop keeps its devices this long [s].
    settings : MonitoringSettings, optional
        From the run configuration.
    clock : callable
        Receiver clock [s] (monotonic) for presence.
    observer : callable, optional
        ``observer(topic, payload)`` for every delivered device message (the ingest
        gateway's tap: Device Defender counts messages here rather than receiving every
        frame a second time through a subscription of its own).
    """

    def __init__(self, client: Any, queue: Any, *, state_store: Any = None, step_s: float = 1.0,
                 window_s: float = 60.0, site: str = "+", worker_id: str = "local", shared_group: str = "",
                 settings: Any = None, clock: Callable[[], float] = time.monotonic, takeover_after_s: float = 30.0,
                 observer: Callable[[str, bytes], None] | None = None):
        from firesight.agents.runtime_config import MonitoringSettings

        self.client, self.queue, self.store = client, queue, state_store
        self.settings = settings or MonitoringSettings()
        self.step_s = float(self.settings.step_s or step_s)
        self.window_s = float(self.settings.window_s or window_s)
        self.site, self.worker_id, self.shared_group = site, worker_id, shared_group
        self.clock = clock
        self.quality = QualitySettings(
            camera_timeout_s=self.settings.camera_timeout_s, frozen_after_s=self.settings.frozen_after_s,
            camera_start_grace_s=self.settings.camera_start_grace_s,
            scd41_missing_readings=self.settings.scd41_missing_readings,
            scd41_interval_s=self.settings.scd41_interval_s,
            scd41_stuck_readings=self.settings.scd41_stuck_readings, clock_jump_s=self.settings.clock_jump_s)
        streams = () if shared_group else ("thermal", "scd41", "status")
        self.takeover_after_s = float(takeover_after_s)
        self.gateway = IngestGateway(client, self._on_message, on_reject=self._on_reject, observer=observer,
                                     config=GatewayConfig(streams=streams, site=site, qos=1, frame_qos=0,
                                                          persistent_session=True,
                                                          reading_queue_size=self.settings.queue_size))
        self.devices: dict[tuple[str, str], DeviceMonitor] = {}
        self.conditions: dict[tuple[str, str], dict] = {}
        self.counts: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._init_shared()
        self._live_from_ms: dict[tuple[str, str], int] = {}
        self._started_ms: int | None = None
        self.warm_up_s: float | None = None  # seconds the feature kernels took to get ready
        self.started_at: float | None = None
        weakref.finalize(self, _report_device_states, id(self), None)  # an agent dropped unstopped

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "MonitoringAgent":
        # the feature code (numpy, scipy) is imported, and its numba kernels compiled or
        # loaded from cache, now, not by the first device's monitor under self._lock: on a
        # fresh install about 30 s on a 2-core machine, holding up claims and the readings the
        # broker has in flight (acknowledged once handled) and delaying the first decision
        from firesight.features.windows import warm_up

        self.warm_up_s = warm_up(self.step_s, self.window_s)

        self._stop.clear()
        self.started_at = time.time()
        self._started_ms = int(self.started_at * 1000)  # readings made before this are late
        if self.shared_group:
            self._route_before_connect()
        self.gateway.start()
        if self.shared_group:
            self._start_shared()
        self._sweeper = threading.Thread(target=self._sweep_loop, name=f"monitoring-presence-{self.worker_id}",
                                         daemon=True)
        self._sweeper.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Staged: stop taking messages, drain the gateway's queues (windows still go out),
        stop the presence loop."""
        if self.shared_group:  # hand the devices over: the broker stops queueing them for us
            with self._lock:
                for key in list(self._served):
                    self._release(key)
            try:
                self.client.unsubscribe(self._shared_status_filter())
            except Exception:  # the client may already be closed
                log.debug("unsubscribe of the shared status failed", exc_info=True)
        self.gateway.stop(drain_timeout_s=timeout_s)
        if self.shared_group:  # a clean disconnect sends no last will: say it, so others take over
            try:
                self.client.publish(worker_topic(self.worker_id), b"stopped", qos=1, retain=True)
            except FiresightError:
                log.warning("could not announce worker %s offline", self.worker_id)
        self._stop.set()
        for thread in (self._sweeper, self._claims_thread):
            if thread is not None:
                thread.join(timeout_s)
        self._sweeper = self._claims_thread = None
        _report_device_states(id(self), None)

    def alive(self) -> bool:
        claims_ok = not self.shared_group or (self._claims_thread is not None and self._claims_thread.is_alive())
        return (self._sweeper is not None and self._sweeper.is_alive() and claims_ok
                and bool(self.gateway.stats().get("worker_alive", True)))

    def health(self) -> dict:
        with self._lock:
            devices = {}
            for (s, t), d in self.devices.items():
                active = sorted(self.conditions.get((s, t), {}).get("active", []))
                if active or not (d.camera_ok() and d.scd41_ok()) or len(self.devices) <= 20:
                    devices[f"{s}/{t}"] = {**d.health(), "conditions": active}
            served = len(self._served) if self.shared_group else len(self.devices)
        return {"alive": self.alive(), "devices": served, "windows": int(self.counts["windows"]),
                "events": int(self.counts["events"]), "gateway": self.gateway.stats(),
                "counts": dict(self.counts), "per_device": devices,
                "warm_up_s": None if self.warm_up_s is None else round(self.warm_up_s, 3)}

    # ------------------------------------------------------------------ input
    def _device(self, site: str, thing: str) -> DeviceMonitor:
        key = (site, thing)
        dev = self.devices.get(key)
        if dev is None:
            dev = DeviceMonitor(site, thing, step_s=self.step_s, window_s=self.window_s, settings=self.quality)
            self.devices[key] = dev
            self.conditions[key] = self._load_conditions(site, thing)
            self._report_states()
        return dev

    def _on_reject(self, topic: str, payload: bytes, error: Exception) -> None:
        reason = getattr(error, "reason_code", type(error).__name__)
        stream = topic.rsplit("/", 1)[-1]
        kind = stream if stream in DEVICE_STREAMS else "other"
        metrics.MESSAGES_RECEIVED.labels(kind=kind).inc()
        metrics.MESSAGES_REJECTED.labels(kind=kind, reason=reason).inc()
        self.counts[f"rejected:{reason}"] += 1
        parts = topic.split("/")
        if len(parts) == 5:
            with self._lock:
                key = (parts[2], parts[3])
                if key in self.devices:
                    self.devices[key].counts[f"rejected:{reason}"] += 1

    def _on_message(self, msg: Any) -> list:
        """One validated message (gateway worker): counted, then handled with its
        correlation id bound; returns the windows' QoS 1 publishes, which the gateway waits
        for before it acknowledges the message."""
        stream = _STREAMS.get(type(msg), "other")
        metrics.MESSAGES_RECEIVED.labels(kind=stream).inc()
        metrics.LAST_READING_TIME.set(time.time())
        seq = "" if msg.seq is None else msg.seq
        with correlation(f"{msg.thing_name}/{stream}/{seq}"):
            return self._handle(msg)

    def _handle(self, msg: Any) -> list:
        late = self._started_ms is not None and msg.ts_ms < self._started_ms
        with self._lock:
            key = (msg.site, msg.thing_name)
            dev = self._device(*key)
            now = self.clock()
            if late:
                self.counts["late"] += 1
                dev.counts["late"] += 1
            elif key not in self._live_from_ms:
                self._live_from_ms[key] = msg.ts_ms
            if isinstance(msg, StatusMessage):
                dev.on_status(msg)
                if msg.state == "offline":
                    self._set_condition(dev, "trouble", "offline", True, msg.ts_ms,
                                        {"reason": "the device said it is offline"})
                    dev.last_seen_mono = -math.inf
                    return []
                dev.seen(now)
                windows: list[Window] = []
            elif isinstance(msg, ThermalMessage):
                dev.seen(now)
                windows = dev.on_thermal(msg)
            elif isinstance(msg, SCD41Message):
                dev.seen(now, scd41=not late)  # a burst of late readings says nothing of the interval
                windows = dev.on_scd41(msg)
            else:
                return []
            self._set_condition(dev, "trouble", "offline", False, msg.ts_ms, {})
            self._update_sensor_conditions(dev, msg.ts_ms, hold_camera=self._camera_unsettled(dev, msg.ts_ms, late))
        return [info for window in windows if (info := self._publish_window(dev, window)) is not None]

    def _camera_unsettled(self, dev: DeviceMonitor, ts_ms: int, late: bool) -> bool:
        """Whether a camera judged ``missing`` may only look so: the reading is late (the
        downtime's frames were not kept), or live readings have not yet lasted the camera
        timeout (as for a device just seen for the first time)."""
        if dev.camera_reason != "missing":
            return False
        live_from = self._live_from_ms.get((dev.site, dev.thing))
        return late or live_from is None or ts_ms - live_from <= self.quality.camera_timeout_s * 1000

    def _publish_window(self, dev: DeviceMonitor, window: Window) -> Any:
        """Publish one window at QoS 1; returns the publish (None: not published, counted)."""
        body = {"site": dev.site, "thing": dev.thing, "time_s": window.time_s, "ts_ms": window.ts_ms,
                "scenario_time_s": dev.scenario_time_s(window.ts_ms),
                "features": {k: (None if not math.isfinite(v) else v) for k, v in window.features.items()},
                "inputs": window.inputs, "snapshot": window.snapshot,
                "quality": window.quality, "trigger": window.trigger, "worker": self.worker_id,
                "handled_ns": time.time_ns()}
        try:
            info = self.client.publish(window_topic(self.worker_id, dev.site, dev.thing),
                                       json.dumps(body, separators=(",", ":"), allow_nan=False), qos=1)
            self.counts["windows"] += 1
            return info
        except FiresightError:
            self.counts["windows_not_published"] += 1
            return None

    # ------------------------------------------------------------------ conditions
    def _update_sensor_conditions(self, dev: DeviceMonitor, ts_ms: int, *, hold_camera: bool = False) -> None:
        """Raise or clear the sensor conditions (``hold_camera``: leave the camera's as they
        are)."""
        camera, scd41 = dev.camera_reason, dev.scd41_reason
        camera_judged = dev.camera_judged() and not hold_camera
        if camera_judged:
            self._set_condition(dev, "trouble", "camera_failed", bool(camera), ts_ms, {"reason": camera})
        if dev.scd41_judged():
            self._set_condition(dev, "trouble", "scd41_failed", bool(scd41), ts_ms, {"reason": scd41})
        if camera_judged and dev.scd41_judged():
            self._set_condition(dev, "supervisory", "degraded:gas", bool(camera) and not scd41, ts_ms,
                                {"mode": "SCD41 only", "reason": f"camera {camera}"})
            self._set_condition(dev, "supervisory", "degraded:thermal", bool(scd41) and not camera, ts_ms,
                                {"mode": "camera only", "reason": f"SCD41 {scd41}"})

    def _set_condition(self, dev: DeviceMonitor, signal: str, name: str, active: bool, ts_ms: int,
                       details: dict) -> None:
        key = (dev.site, dev.thing)
        state = self.conditions.setdefault(key, {"active": [], "seq": 0})
        is_active = name in state["active"]
        if active == is_active:
            return
        state["seq"] += 1
        if active:
            state["active"] = sorted(set(state["active"]) | {name})
        else:
            state["active"] = [c for c in state["active"] if c != name]
        self._save_conditions(dev.site, dev.thing, state)
        event = AlertEvent(
            event_id=f"{dev.thing}:{signal}:{state['seq']}", site=dev.site, thing=dev.thing, signal=signal,
            state="active" if active else "cleared", level=name, previous="ok" if active else name,
            ts_ms=int(ts_ms), scenario_time_s=dev.scenario_time_s(ts_ms),
            explanation={**details, "quality": dev.health()["counts"], "detected_by": "monitoring"},
            correlation_id=f"{dev.thing}/{name}/{state['seq']}", published_ns=int(ts_ms) * 1_000_000)
        send_event(self.queue, self.client, event)
        self.counts["events"] += 1
        self._report_states()
        log.info("%s %s %s (%s)", dev.thing, signal, event.state, name)

    def _report_states(self) -> None:
        """Devices by state (``DEVICE_STATES``) into the ``firesight_devices`` gauge."""
        states: Counter[str] = Counter()
        for key in self.devices:
            if self.shared_group and key not in self._served:
                continue
            active = self.conditions.get(key, {}).get("active", [])
            states["offline" if "offline" in active else "degraded" if active else "online"] += 1
        _report_device_states(id(self), states)

    def _load_conditions(self, site: str, thing: str) -> dict:
        if self.store is None:
            return {"active": [], "seq": 0}
        item = self.store.get(STATE_TABLE, f"{site}/{thing}", "monitoring")
        if not item:
            return {"active": [], "seq": 0}
        return {"active": list(item.get("active", [])), "seq": int(item.get("seq", 0))}

    def _save_conditions(self, site: str, thing: str, state: dict) -> None:
        if self.store is not None:
            self.store.put(STATE_TABLE, {"device": f"{site}/{thing}", "agent": "monitoring",
                                         "active": list(state["active"]), "seq": int(state["seq"])},
                           key="device", sort_key="agent")

    # ------------------------------------------------------------------ presence
    def _sweep_loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.sweep()
            except Exception:  # the presence loop must outlive a bad device record
                self.counts["sweep_errors"] += 1
                log.exception("presence sweep failed")

    def sweep(self, now_mono: float | None = None) -> None:
        """Mark devices offline that missed ``offline_missed_readings`` readings."""
        now = self.clock() if now_mono is None else now_mono
        s = self.settings
        with self._lock:
            for dev in list(self.devices.values()):
                if self.shared_group and (dev.site, dev.thing) not in self._served:
                    continue
                gap = dev.silent_for_s(now)
                expected = dev.wall_gap_s or s.scd41_interval_s
                limit = max(s.min_offline_s, s.offline_missed_readings * expected)
                if gap > limit and math.isfinite(gap):
                    ts_ms = (dev.latest_ms or 0) + int(gap * 1000)
                    self._set_condition(dev, "trouble", "offline", True, ts_ms,
                                        {"reason": f"no reading for {gap:.1f} s (limit {limit:.1f} s)"})
