"""The live feed of the dashboard: what the running system pushes, what browsers receive.

:class:`DashboardFeed` is the small in-process interface that ``firesight run`` (or anything
else) calls from any thread: ``push_scd41``, ``push_thermal``, ``push_status``,
``push_probability``, ``push_alert``, ``set_device_health``, ``set_model``, or
``push_message`` with a decoded device message (:mod:`firesight.iot.codec`). It keeps the
latest state of every device (newest thermal frame, the last readings and probabilities in
bounded rings) for a page that opens now, and fans every change out to the subscribed
browsers (server-sent events) through bounded queues: when a slow browser's queue is full
the oldest sensor updates are shed and counted, never an alert (alerts also live in the
alert store, which the page reloads on every alert update).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firesight.agents.defender_agent import CONDITION_PREFIX as DEFENDER_CONDITION_PREFIX
from firesight.ops import metrics
from firesight.units import ZERO_CELSIUS_K, tlinear_to_celsius

#: Readings and probabilities kept per device for a page that opens now.
HISTORY_POINTS = 720
#: Updates waiting per browser before the oldest sensor updates are shed.
SUBSCRIBER_QUEUE = 2000


@dataclass
class _Device:
    site: str
    thing: str
    state: str = "unknown"
    last_seen_ms: int = 0
    health: dict = field(default_factory=dict)
    frame: dict | None = None
    scd41: deque = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    probability: deque = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))

    def summary(self) -> dict:
        return {"site": self.site, "thing": self.thing, "state": self.state,
                "last_seen_ms": self.last_seen_ms, "health": self.health,
                "level": self.probability[-1]["level"] if self.probability else None}


class _Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.shed = 0

    def offer(self, message: dict) -> None:
        # runs in the subscriber's event loop thread
        if self.queue.qsize() >= SUBSCRIBER_QUEUE:
            if message["type"] == "alert":
                self._drop_oldest_sensor_update()
            else:
                self.shed += 1
                metrics.MESSAGES_SHED.labels(queue="dashboard").inc()
                return
        self.queue.put_nowait(message)

    def _drop_oldest_sensor_update(self) -> None:
        kept: list = []
        dropped = False
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if not dropped and item["type"] != "alert":
                dropped = True
                self.shed += 1
                metrics.MESSAGES_SHED.labels(queue="dashboard").inc()
                continue
            kept.append(item)
        for item in kept:
            self.queue.put_nowait(item)


def _frame_payload(pixels: np.ndarray, resolution_k: float) -> dict:
    """A thermal frame for the browser: TLinear uint16 little-endian in base64, plus the
    scale to turn it into degrees C and the frame's range [C]."""
    arr = np.ascontiguousarray(pixels, dtype="<u2")
    temps = tlinear_to_celsius(arr, resolution_k)
    return {"width": int(arr.shape[1]), "height": int(arr.shape[0]), "resolution_k": float(resolution_k),
            "offset_c": -ZERO_CELSIUS_K, "pixels": base64.b64encode(arr.tobytes()).decode(),
            "min_c": round(float(temps.min()), 2), "max_c": round(float(temps.max()), 2)}


class DashboardFeed:
    """Thread-safe live state and fan-out for the dashboard (see the module docstring)."""

    def __init__(self, clock=time.time, *, thermal_interval_s: float = 0.5):
        self.clock = clock
        #: a device's frames go to browsers at most this often [s] (the newest is always kept)
        self.thermal_interval_s = float(thermal_interval_s)
        self._frame_sent: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._devices: dict[tuple[str, str], _Device] = {}
        self._subscribers: set[_Subscriber] = set()
        self._events: deque = deque(maxlen=200)
        self.model: dict = {}

    # -- producers (any thread) ----------------------------------------------------------
    def _device(self, site: str, thing: str) -> _Device:
        key = (site, thing)
        if key not in self._devices:
            self._devices[key] = _Device(site, thing)
        return self._devices[key]

    def _seen(self, dev: _Device, ts_ms: int) -> None:
        dev.last_seen_ms = max(dev.last_seen_ms, int(ts_ms))
        if dev.state in ("unknown", "offline"):
            dev.state = "online"

    def push_scd41(self, site: str, thing: str, *, ts_ms: int, co2_ppm: float,
                   temperature_c: float, humidity_rh: float) -> None:
        point = {"ts_ms": int(ts_ms), "co2_ppm": float(co2_ppm), "temperature_c": float(temperature_c),
                 "humidity_rh": float(humidity_rh)}
        with self._lock:
            dev = self._device(site, thing)
            dev.scd41.append(point)
            self._seen(dev, ts_ms)
            summary = dev.summary()
        self._publish({"type": "scd41", "site": site, "thing": thing, "point": point, "device": summary})

    def push_thermal(self, site: str, thing: str, *, ts_ms: int, pixels: np.ndarray,
                     resolution_k: float) -> None:
        frame = {"ts_ms": int(ts_ms), **_frame_payload(pixels, resolution_k)}
        now = time.monotonic()
        with self._lock:
            dev = self._device(site, thing)
            dev.frame = frame
            self._seen(dev, ts_ms)
            summary = dev.summary()
            if now - self._frame_sent.get((site, thing), -1e18) < self.thermal_interval_s:
                return
            self._frame_sent[(site, thing)] = now
        self._publish({"type": "thermal", "site": site, "thing": thing, "frame": frame, "device": summary})

    def push_status(self, site: str, thing: str, *, ts_ms: int, state: str) -> None:
        with self._lock:
            dev = self._device(site, thing)
            dev.state = state
            dev.last_seen_ms = max(dev.last_seen_ms, int(ts_ms))
            summary = dev.summary()
        self._publish({"type": "device", "site": site, "thing": thing, "device": summary})

    def set_device_health(self, site: str, thing: str, *, state: str | None = None,
                          **health: Any) -> None:
        """Device health: ``state`` (online, offline, degraded, revoked) and any details
        (``violations=[...]`` from Device Defender, ``degraded="camera"``, ...)."""
        with self._lock:
            dev = self._device(site, thing)
            if state is not None:
                dev.state = state
            dev.health.update(health)
            summary = dev.summary()
        self._publish({"type": "device", "site": site, "thing": thing, "device": summary})

    def push_probability(self, site: str, thing: str, *, ts_ms: int, probability: float | None,
                         level: str, variant: str = "", model_version: str = "") -> None:
        point = {"ts_ms": int(ts_ms), "probability": None if probability is None or probability != probability
                 else float(probability), "level": level, "variant": variant}
        with self._lock:
            dev = self._device(site, thing)
            dev.probability.append(point)
            summary = dev.summary()
        self._publish({"type": "probability", "site": site, "thing": thing, "point": point,
                       "device": summary, "model_version": model_version})

    def push_alert(self, event) -> None:
        """An :class:`~firesight.agents.events.AlertEvent` (or its dict). A ``supervisory`` /
        ``trouble`` condition goes into the device's health: ``conditions``, or, for Device
        Defender's ``defender:{behaviour}``, ``violations`` (the behaviour names)."""
        data = event if isinstance(event, dict) else json.loads(event.to_json())
        with self._lock:
            self._events.append(data)
            level = data.get("level")
            if data.get("signal") in ("supervisory", "trouble") and data.get("thing") and isinstance(level, str):
                dev = self._device(data.get("site", ""), data["thing"])
                field_name, name = "conditions", level
                if level.startswith(DEFENDER_CONDITION_PREFIX):
                    field_name, name = "violations", level[len(DEFENDER_CONDITION_PREFIX):]
                values = set(dev.health.get(field_name, []))
                (values.add if data.get("state") == "active" else values.discard)(name)
                dev.health[field_name] = sorted(values)
        self._publish({"type": "alert", "event": data})

    def alert_changed(self, alert: dict, *, by: str = "") -> None:
        """An alert of the store changed state (acknowledged, resolved) through the page."""
        change = {k: alert.get(k) for k in ("alert_id", "state", "signal", "level", "site", "thing")}
        self._publish({"type": "alert", "change": {**change, "by": by}})

    def set_model(self, info: dict) -> None:
        with self._lock:
            self.model = dict(info)
        self._publish({"type": "model", "model": self.model})

    def push_message(self, message) -> None:
        """A decoded device message of :mod:`firesight.iot.codec`."""
        kind = type(message).__name__
        site, thing = message.site, message.thing_name
        if kind == "SCD41Message":
            self.push_scd41(site, thing, ts_ms=message.ts_ms, co2_ppm=message.co2_ppm,
                            temperature_c=message.temperature_c, humidity_rh=message.humidity_rh)
        elif kind == "ThermalMessage":
            self.push_thermal(site, thing, ts_ms=message.ts_ms, pixels=message.pixels,
                              resolution_k=message.resolution_k)
        elif kind == "StatusMessage":
            self.push_status(site, thing, ts_ms=message.ts_ms, state=message.state)

    # -- consumers (the web app's event loop) --------------------------------------------
    def snapshot(self) -> dict:
        """Everything a page needs when it opens."""
        with self._lock:
            devices = [{**d.summary(), "frame": d.frame, "scd41": list(d.scd41),
                        "probability": list(d.probability)} for d in self._devices.values()]
            return {"devices": sorted(devices, key=lambda d: (d["site"], d["thing"])),
                    "model": self.model, "events": list(self._events), "time_ms": int(self.clock() * 1000)}

    def subscribe(self) -> _Subscriber:
        sub = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def _publish(self, message: dict) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, message)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)
