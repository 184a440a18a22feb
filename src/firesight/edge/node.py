"""The edge node: a Lepton 3.5 and an SCD41 on a Raspberry Pi class board, publishing what
the fleet simulator publishes, configured by its device shadow, buffering while offline.

Streams, topics and payloads are those of :mod:`firesight.iot.fleet` (encoded with
:mod:`firesight.iot.codec`): ``thermal`` frames (``frames`` edge mode) or thermal window
``features`` every ``features_period_s`` (``features`` mode, the same
:mod:`firesight.features.thermal` code as offline and in the simulator), ``scd41`` readings
every ``measurement_interval_s``, ``status`` online at start and every
``status_interval_s``, ``offline`` as last will and at a clean stop. The shadow's
``desired`` state (``measurement_interval_s``, ``low_power_mode``, ``edge_mode``,
``ffc_interval_s``) is applied as in the simulator and echoed in ``reported`` with firmware
and health counters; switching ``low_power_mode`` stops the SCD41 and restarts it in the
other periodic mode.

Every message is written to the :class:`~firesight.edge.buffer.DiskBuffer` first; the
uplink thread publishes the oldest ones at QoS 1 and removes them once the broker has
acknowledged them, so readings taken during an outage are replayed in order on reconnect
(at least once: a batch cut by a disconnect is sent again; the ingest gateway drops the
repeated sequence numbers). On a disconnect the node drops the MQTT session and connects
again with a fresh one (backoff), re-reading its shadow. The MQTT client is paho
(:class:`firesight.iot.client.DeviceClient`): the same node connects to AWS IoT Core with
its thing certificate unchanged.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firesight.edge.buffer import DiskBuffer
from firesight.edge.lepton import ThermalSource
from firesight.edge.scd41 import LOW_POWER_INTERVAL_S, PERIODIC_INTERVAL_S, SCD41Driver, SensorError
from firesight.errors import FiresightError, InvalidParameterError, require
from firesight.iot.codec import encode_features, encode_scd41, encode_status, encode_thermal
from firesight.iot.shadow import (DEVICE_CONFIG_DEFAULTS, ShadowRejected, effective_device_config, shadow_topic,
                                  validate_device_config)
from firesight.iot.topics import device_topic, validate_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeConfig:
    """One node's configuration (``firesight edge run --config FILE``, JSON).

    Parameters
    ----------
    thing, site : str
        Registered thing name (MQTT client id) and its site.
    broker_url : str
        ``mqtts://host:8883`` (AWS IoT Core: ``mqtts://PREFIX-ats.iot.REGION.amazonaws.com:8883``).
    cert_path, key_path, ca_path : str
        The thing's certificate and key, and the CA of the broker (Amazon Root CA 1 on AWS).
    buffer_path : str
        SQLite file of the store-and-forward buffer.
    buffer_max_messages, buffer_max_bytes : int
        Buffer bounds [-], [bytes]; the oldest messages are shed beyond them.
    thermal : dict
        ``{"kind": "vospi"|"purethermal"|"none", "bus", "device", "index", "resolution_k", "gain"}``.
    scd41 : dict
        ``{"kind": "sensirion"|"none", "device": "/dev/i2c-1", "asc": true}``.
    status_interval_s, features_period_s, features_window_s : float
        Status period, edge-feature period and window [s].
    scd41_poll_s : float
        How often the SCD41's data-ready flag is polled [s].
    uplink_batch : int
        Messages published before waiting for their acknowledgements [-].
    firmware : str
        What the node reports.
    """

    thing: str
    site: str
    broker_url: str
    cert_path: str
    key_path: str
    ca_path: str
    buffer_path: str
    buffer_max_messages: int = 100_000
    buffer_max_bytes: int = 512 * 1024 * 1024
    thermal: dict = field(default_factory=lambda: {"kind": "vospi"})
    scd41: dict = field(default_factory=lambda: {"kind": "sensirion"})
    status_interval_s: float = 60.0
    features_period_s: float = 1.0
    features_window_s: float = 60.0
    scd41_poll_s: float = 1.0
    uplink_batch: int = 16
    firmware: str = "firesight-edge/0.1.0"

    def __post_init__(self) -> None:
        validate_name(self.thing)
        validate_name(self.site, "site")
        for name in ("status_interval_s", "features_period_s", "features_window_s", "scd41_poll_s"):
            value = getattr(self, name)
            require(isinstance(value, (int, float)) and math.isfinite(value) and value > 0, name, "> 0 [s]", value)
        require(self.uplink_batch >= 1, "uplink_batch", ">= 1", self.uplink_batch)
        require(self.thermal.get("kind") in ("vospi", "purethermal", "none"), "thermal.kind",
                "vospi, purethermal or none", self.thermal.get("kind"))
        require(self.scd41.get("kind") in ("sensirion", "none"), "scd41.kind", "sensirion or none",
                self.scd41.get("kind"))

    @classmethod
    def from_file(cls, path: str | Path) -> "EdgeConfig":
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise InvalidParameterError("--config", "an existing JSON file", str(path)) from None
        except ValueError as exc:
            raise InvalidParameterError("--config", f"JSON ({exc})", str(path)) from None
        if not isinstance(raw, dict):
            raise InvalidParameterError("--config", "a JSON object", type(raw).__name__)
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        require(not unknown, "--config", f"only the fields {sorted(cls.__dataclass_fields__)}", unknown)
        try:
            return cls(**raw)
        except TypeError as exc:
            raise InvalidParameterError("--config", "every required field (thing, site, broker_url, cert_path, "
                                        "key_path, ca_path, buffer_path)", str(exc)) from None


class EdgeNode:
    """Runs one node: sensor loops, shadow, buffer, uplink.

    Parameters
    ----------
    config : EdgeConfig
    thermal : ThermalSource or None
        The camera (None: a node without one).
    scd41 : SCD41Driver or None
        The CO2 sensor (None: a node without one).
    client_factory : callable, optional
        ``client_factory(config, will) -> MqttClient`` (default: a :class:`DeviceClient`).
    clock : callable
        Wall clock [s] (timestamps).
    """

    def __init__(self, config: EdgeConfig, *, thermal: ThermalSource | None, scd41: SCD41Driver | None,
                 client_factory: Callable[[EdgeConfig, tuple], Any] | None = None,
                 clock: Callable[[], float] = time.time, reconnect_min_s: float = 0.2, reconnect_max_s: float = 30.0):
        self.config = config
        self.thermal, self.scd41 = thermal, scd41
        self.buffer = DiskBuffer(config.buffer_path, max_messages=config.buffer_max_messages,
                                 max_bytes=config.buffer_max_bytes)
        self._client_factory = client_factory or _device_client
        self.clock = clock
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self.device_config: dict[str, Any] = dict(DEVICE_CONFIG_DEFAULTS)
        self.counts: Counter = Counter()
        self.client: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_uplink = threading.Event()
        self._scd41_restart = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seq: Counter = Counter()
        self._feature_rows: list[np.ndarray] = []
        self._previous_frame = None
        self._start_s = clock()
        self.shadow_synced = threading.Event()

    # -- configuration -----------------------------------------------------------------
    def apply_desired(self, desired: Mapping[str, Any]) -> dict[str, Any]:
        """Apply known keys of a shadow ``desired``/``delta`` state (invalid ones counted and
        ignored); return what is reported."""
        known = {k: v for k, v in desired.items() if k in DEVICE_CONFIG_DEFAULTS and v is not None}
        try:
            validate_device_config(known)
        except ShadowRejected:
            self.counts["config_rejected"] += 1
            return self.reported()
        with self._lock:
            before = self.device_config["low_power_mode"]
            merged = {**self.device_config, **known}
            self.device_config = effective_device_config({"desired": merged})
            if self.device_config["low_power_mode"] != before:
                self._scd41_restart.set()
        return self.reported()

    def reported(self) -> dict[str, Any]:
        with self._lock:
            cfg = dict(self.device_config)
        return {**cfg, "firmware": self.config.firmware,
                "health": {"frames_dropped": int(self.counts["frames_dropped"]),
                           "scd41_errors": int(self.counts["scd41_errors"]),
                           "buffered": len(self.buffer), "shed": self.buffer.shed}}

    # -- messages ----------------------------------------------------------------------
    def _topic(self, stream: str) -> str:
        return device_topic(self.config.site, self.config.thing, stream)

    def _emit(self, stream: str, encode: Callable[[int], bytes], *, sheddable: bool = True) -> None:
        with self._lock:
            self._seq[stream] += 1
            seq = self._seq[stream]
        try:
            shed = self.buffer.append(self._topic(stream), encode(seq), qos=1, sheddable=sheddable)
        except sqlite3.Error as exc:  # a full or failing disk: the message is lost, counted
            self.counts["buffer_errors"] += 1
            log.error("buffer write failed, %s message dropped: %s", stream, exc)
            return
        self.counts[f"messages:{stream}"] += 1
        self.counts["shed"] += shed
        self._wake_uplink.set()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def on_frame(self, frame) -> None:
        """Publish a frame (``frames`` mode) or feed it to the window features (``features``)."""
        ts_ms = self.now_ms()
        if self.device_config["edge_mode"] == "features":
            from firesight.features.thermal import lepton_frame_features

            t_s = ts_ms / 1000.0
            row = lepton_frame_features(frame.pixels[None], np.array([t_s]), np.array([frame.resolution_k]),
                                        previous=self._previous_frame)
            self._previous_frame = (frame.pixels, t_s, frame.resolution_k)
            self._feature_rows.append(row[0])
            horizon = t_s - self.config.features_window_s - 1.0
            while self._feature_rows and self._feature_rows[0][0] < horizon:
                self._feature_rows.pop(0)
            return
        self._emit("thermal", lambda seq: encode_thermal(frame.pixels, ts_ms=ts_ms, seq=seq,
                                                         resolution_k=frame.resolution_k, gain=frame.gain,
                                                         ffc_state=frame.ffc_state))

    def emit_features(self) -> bool:
        """Publish the thermal window features of the frames seen (``features`` mode)."""
        from firesight.features.thermal import THERMAL_FEATURES, thermal_window_features

        if not self._feature_rows:
            return False
        ts_ms = self.now_ms()
        values = thermal_window_features(np.vstack(self._feature_rows), ts_ms / 1000.0,
                                         window_s=self.config.features_window_s)
        features = {n: float(v) for n, v in zip(THERMAL_FEATURES, values, strict=True) if math.isfinite(v)}
        self._emit("features", lambda seq: encode_features(features, window_s=self.config.features_window_s,
                                                          ts_ms=ts_ms, seq=seq))
        return True

    def on_reading(self, co2_ppm: float, temperature_c: float, humidity_rh: float) -> None:
        ts_ms = self.now_ms()
        self._emit("scd41", lambda seq: encode_scd41(co2_ppm=co2_ppm, temperature_c=temperature_c,
                                                     humidity_rh=humidity_rh, ts_ms=ts_ms, seq=seq))

    def emit_status(self) -> None:
        ts_ms = self.now_ms()
        self._emit("status", lambda seq: encode_status(state="online", ts_ms=ts_ms, seq=seq,
                                                       firmware=self.config.firmware,
                                                       uptime_s=max(0.0, self.clock() - self._start_s)),
                   sheddable=False)

    # -- loops -------------------------------------------------------------------------
    def start(self) -> "EdgeNode":
        self._stop.clear()
        self.emit_status()
        loops = [("uplink", self._uplink_loop), ("status", self._status_loop)]
        if self.thermal is not None:
            loops.append(("thermal", self._thermal_loop))
        if self.scd41 is not None:
            loops.append(("scd41", self._scd41_loop))
        for name, target in loops:
            t = threading.Thread(target=self._supervised, args=(name, target), name=f"edge-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _supervised(self, name: str, target: Callable[[], None]) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                target()
                return
            except Exception:  # a failing loop is restarted, never takes the node down
                self.counts[f"loop_errors:{name}"] += 1
                log.exception("edge %s loop failed; restarting in %.1f s", name, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status_interval_s):
            self.emit_status()

    def _thermal_loop(self) -> None:
        next_features = time.monotonic() + self.config.features_period_s
        while not self._stop.is_set():
            try:
                frame = self.thermal.read_frame()
            except SensorError as exc:
                self.counts["frames_dropped"] += 1
                log.warning("%s", exc)
                self._stop.wait(0.5)
                continue
            if frame is not None:
                self.on_frame(frame)
            if self.device_config["edge_mode"] == "features" and time.monotonic() >= next_features:
                next_features += self.config.features_period_s
                self.emit_features()

    def _scd41_loop(self) -> None:
        backoff = 1.0
        readings = 0
        started = False
        while not self._stop.is_set():
            try:
                if not started or self._scd41_restart.is_set():
                    self._scd41_restart.clear()
                    if started:
                        self.scd41.stop()
                    self.scd41.start(low_power=bool(self.device_config["low_power_mode"]),
                                     asc_enabled=bool(self.config.scd41.get("asc", True)))
                    started, backoff, readings = True, 1.0, 0
                    self.counts["scd41_starts"] += 1
                if self.scd41.data_ready():
                    reading = self.scd41.read()
                    # the sensor's own interval (5 s, 30 s low power) thinned to the shadow's
                    sensor_s = LOW_POWER_INTERVAL_S if self.device_config["low_power_mode"] else PERIODIC_INTERVAL_S
                    every = max(1, round(float(self.device_config["measurement_interval_s"]) / sensor_s))
                    if readings % every == 0:
                        self.on_reading(reading.co2_ppm, reading.temperature_c, reading.humidity_rh)
                    readings += 1
                self._stop.wait(self.config.scd41_poll_s)
            except SensorError as exc:
                self.counts["scd41_errors"] += 1
                log.warning("%s (retrying in %.0f s)", exc, backoff)
                started = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 60.0)
        if started:
            try:
                self.scd41.stop()
            except SensorError:
                self.counts["scd41_errors"] += 1

    def _connect(self) -> None:
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            will = (self._topic("status"), encode_status(state="offline", ts_ms=self.now_ms()), 1, False)
            client = self._client_factory(self.config, will)
            try:
                client.connect()
            except FiresightError as exc:
                self.counts["connect_failures"] += 1
                log.info("%s: broker not reachable (%s); retrying in %.1f s", self.config.thing, exc, delay)
                client.close(flush_timeout_s=0)
                self._stop.wait(delay)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            self.client = client
            self._subscribe_shadow(client)
            self.counts["connects"] += 1
            return

    def _subscribe_shadow(self, client: Any) -> None:
        thing = self.config.thing

        def on_get(topic: str, payload: bytes) -> None:
            try:
                doc = json.loads(payload)
            except ValueError:
                self.counts["shadow_bad_json"] += 1
                return
            if topic.endswith("/accepted"):
                self.apply_desired((doc.get("state") or {}).get("desired") or {})
            self._report()
            self.shadow_synced.set()

        def on_delta(topic: str, payload: bytes) -> None:
            try:
                doc = json.loads(payload)
            except ValueError:
                self.counts["shadow_bad_json"] += 1
                return
            self.apply_desired(doc.get("state") or {})
            self.counts["shadow_deltas"] += 1
            self._report()

        client.subscribe(shadow_topic(thing, "get", "accepted"), on_get, qos=1)
        client.subscribe(shadow_topic(thing, "get", "rejected"), on_get, qos=1)
        client.subscribe(shadow_topic(thing, "update", "delta"), on_delta, qos=1)
        client.publish(shadow_topic(thing, "get"), b"{}", qos=1)

    def _report(self) -> None:
        client = self.client
        if client is not None and client.is_connected:
            body = json.dumps({"state": {"reported": self.reported()}}).encode()
            client.publish(shadow_topic(self.config.thing, "update"), body, qos=1)

    def _uplink_loop(self) -> None:
        while not self._stop.is_set():
            if self.client is None:
                self._connect()
                continue
            if not self.client.is_connected:
                # reconnect as a fresh session: shadow re-read (deltas missed while offline),
                # and nothing left in the old client's queue to be sent twice
                self.counts["disconnects"] += 1
                old, self.client = self.client, None
                old.close(flush_timeout_s=0)
                continue
            batch = self.buffer.peek(self.config.uplink_batch)
            if not batch:
                self._wake_uplink.wait(0.5)
                self._wake_uplink.clear()
                continue
            self.drain_batch(batch)

    def drain_batch(self, batch) -> bool:
        """Publish a batch at QoS 1, remove it once acknowledged; False if cut off."""
        try:
            for item in batch:
                self.client.publish(item.topic, item.payload, qos=item.qos)
        except FiresightError as exc:
            self.counts["publish_errors"] += 1
            log.info("publish failed (%s); the batch stays buffered", exc)
            return False
        if self.client.flush(10.0) != 0:
            self.counts["batches_unacknowledged"] += 1
            return False
        self.buffer.remove([item.id for item in batch])
        self.counts["delivered"] += len(batch)
        return True

    def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Staged stop: stop the sensors, publish ``offline``, drain the buffer while connected
        (up to ``drain_timeout_s``), disconnect; undelivered messages stay on disk."""
        self._stop.set()
        self._wake_uplink.set()
        for t in self._threads:
            if t.name != "edge-uplink":
                t.join(5.0)
        ts_ms = self.now_ms()
        self._emit("status", lambda seq: encode_status(state="offline", ts_ms=ts_ms, seq=seq), sheddable=False)
        for t in self._threads:
            t.join(5.0)
        deadline = time.monotonic() + drain_timeout_s
        while self.client is not None and self.client.is_connected and time.monotonic() < deadline:
            batch = self.buffer.peek(self.config.uplink_batch)
            if not batch or not self.drain_batch(batch):
                break
        if self.client is not None:
            self.client.close(flush_timeout_s=2.0)
        for device in (self.thermal, self.scd41):
            if device is not None:
                try:
                    device.close()
                except (SensorError, OSError):
                    log.warning("closing %s failed", type(device).__name__)
        self.buffer.close()

    def health(self) -> dict:
        return {"connected": bool(self.client is not None and self.client.is_connected),
                "buffered": len(self.buffer), "shed": self.buffer.shed, "counts": dict(self.counts),
                "config": dict(self.device_config)}


def _device_client(config: EdgeConfig, will: tuple) -> Any:
    from firesight.iot.client import DeviceClient

    return DeviceClient(config.thing, config.broker_url, cert_path=config.cert_path, key_path=config.key_path,
                        ca_path=config.ca_path, site=config.site, will=will, reconnect_min_s=0.5,
                        reconnect_max_s=30.0)


def open_sensors(config: EdgeConfig) -> tuple[ThermalSource | None, SCD41Driver | None]:
    """The real devices named by the configuration (drivers imported here, lazily)."""
    from firesight.edge.lepton import PureThermalUVC, VoSPISource
    from firesight.edge.scd41 import SensirionSCD41

    t = dict(config.thermal)
    thermal: ThermalSource | None = None
    if t["kind"] == "vospi":
        thermal = VoSPISource(bus=int(t.get("bus", 0)), device=int(t.get("device", 0)),
                              resolution_k=float(t.get("resolution_k", 0.01)), gain=str(t.get("gain", "high")))
    elif t["kind"] == "purethermal":
        thermal = PureThermalUVC(int(t.get("index", 0)), resolution_k=float(t.get("resolution_k", 0.01)),
                                 gain=str(t.get("gain", "high")))
    scd41 = SensirionSCD41(device=str(config.scd41.get("device", "/dev/i2c-1"))) \
        if config.scd41["kind"] == "sensirion" else None
    return thermal, scd41
