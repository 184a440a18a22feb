"""Fleet simulator: virtual Lepton 3.5 + SCD41 nodes that play generated scenarios over MQTT.

Each virtual node is a thing with its own certificate and client id = thing name. It
publishes what a real node publishes, at the device's own rates:

- ``thermal``: every valid Lepton frame (~8.7 Hz, ~51 KB JSON each) in ``frames`` edge mode,
  or ``features``: the thermal window features computed on the node every second, in
  ``features`` edge mode (the same :mod:`firesight.features.thermal` code as offline);
- ``scd41``: one reading per ``measurement_interval_s`` (5 s; 30 s in low-power mode);
  readings the sensor did not deliver (missing, I2C NACK) are not sent;
- ``status``: ``online`` with firmware and uptime at start and every ``status_interval_s``,
  and an ``offline`` last will.

Quality of service: SCD41 readings and status at QoS 1, as a real node (``firesight edge
run``) sends them (the broker acknowledges each, and keeps them for a subscriber with a
persistent session that is down, such as the monitoring agent between restarts); frames
and edge features at QoS 0 (at 8.7 Hz a lost frame is replaced within 115 ms, and a broker
must not queue them for an absent subscriber). The edge agent itself sends every stream
from its disk buffer at QoS 1; the monitoring agent subscribes to frames at QoS 0
(``GatewayConfig.frame_qos``), so the broker delivers and queues its frames at QoS 0
either way. :data:`STREAM_QOS` holds the rule.

Configuration comes from the device shadow: at start a node asks for its shadow
(``get``), applies ``desired`` and reports what it runs (and firmware, health) in
``reported``; a later ``update/delta`` reconfigures it while it plays.

Misbehaviour modes, for Device Defender: ``flood`` (extra status messages at
``flood_rate_hz``), ``probe`` (publishing to other nodes' topics and shadows, which the
broker's policy refuses), ``reconnect`` (a reconnect storm every ``reconnect_period_s``).

Timestamps: a node stamps ``ts_ms`` on its scenario clock, anchored so that the last
message of a run is stamped "now": played faster than real time, a run's timestamps are
in the recent past and never in the future.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firesight.errors import FiresightError, InvalidParameterError, require
from firesight.iot.codec import encode_features, encode_scd41, encode_status, encode_thermal
from firesight.iot.shadow import (DEVICE_CONFIG_DEFAULTS, EDGE_MODES, effective_device_config, shadow_topic,
                                  validate_device_config, ShadowRejected)
from firesight.iot.topics import device_topic, validate_name

log = logging.getLogger(__name__)

MISBEHAVIOURS = ("flood", "probe", "reconnect")
#: Lepton telemetry FFC states by the dataset's ``ffc_state`` code (0 normal, 1 imminent,
#: 2 in progress); a normal frame is "complete" once a first FFC has run (FLIR Lepton
#: Engineering Datasheet, telemetry row A, FFC state bits).
_FFC_STATES = {1: "imminent", 2: "in_progress"}
#: messages a node may have handed to its MQTT client but not yet written to the socket
MAX_UNSENT = 32
#: SCD41 readings that carry no value (firesight.sensors.scd41 status codes 1 and 2).
_SCD41_NO_VALUE = (1, 2)
#: MQTT QoS a simulated node publishes each stream at: readings and status acknowledged
#: (as the edge agent), frames and edge features fire-and-forget.
STREAM_QOS = {"thermal": 0, "features": 0, "scd41": 1, "status": 1}


@dataclass(frozen=True)
class SimulatorSettings:
    """How a fleet run behaves.

    Parameters
    ----------
    devices : int
        Number of virtual nodes [-].
    site : str
        Site of every node (topic level and registry attribute).
    thing_prefix : str
        Node ``i`` is ``{thing_prefix}-{i:03d}``.
    speed : float
        Playback speed [x real time]; 0 plays as fast as the broker takes it.
    duration_s : float or None
        Scenario time to play per node after the scenario's t = 0 [s] (None: the whole
        scenario). The SCD41 history a scenario carries before t = 0 is always played
        first (it is the sensor's warm-up), so a short duration still plays camera frames.
    mode : str or None
        Force the edge mode (``frames`` | ``features``); None follows each node's shadow.
    status_interval_s, features_period_s, features_window_s : float
        Status period [s]; edge features period [s] and window [s].
    misbehave : mapping of thing name to a mode in :data:`MISBEHAVIOURS`
    flood_rate_hz, probe_rate_hz : float
        Extra messages per second of a flooding / probing node [Hz].
    reconnect_period_s : float
        Time between forced reconnects of a ``reconnect`` node [s].
    shadow_timeout_s : float
        How long nodes wait for their shadow before starting on defaults [s].
    firmware : str
        Firmware version the nodes report.
    """

    devices: int = 4
    site: str = "sim"
    thing_prefix: str = "sim-node"
    speed: float = 1.0
    duration_s: float | None = None
    mode: str | None = None
    status_interval_s: float = 60.0
    features_period_s: float = 1.0
    features_window_s: float = 60.0
    misbehave: Mapping[str, str] = field(default_factory=dict)
    flood_rate_hz: float = 200.0
    probe_rate_hz: float = 5.0
    reconnect_period_s: float = 0.5
    shadow_timeout_s: float = 3.0
    firmware: str = "firesight-sim/0.1.0"

    def __post_init__(self) -> None:
        require(1 <= self.devices <= 10_000, "devices", "within 1..10000", self.devices)
        validate_name(self.site, "site")
        require(self.speed >= 0 and math.isfinite(self.speed), "speed", ">= 0 (0: as fast as possible)", self.speed)
        require(self.duration_s is None or self.duration_s > 0, "duration_s", "> 0 or None", self.duration_s)
        require(self.mode is None or self.mode in EDGE_MODES, "mode", f"one of {EDGE_MODES} or None", self.mode)
        for name in ("status_interval_s", "features_period_s", "features_window_s", "flood_rate_hz",
                     "probe_rate_hz", "reconnect_period_s"):
            require(getattr(self, name) > 0, name, "> 0", getattr(self, name))
        for thing, how in self.misbehave.items():
            require(how in MISBEHAVIOURS, f"misbehave[{thing}]", f"one of {MISBEHAVIOURS}", how)

    def thing_names(self) -> list[str]:
        return [f"{self.thing_prefix}-{i:03d}" for i in range(self.devices)]


class VirtualDevice:
    """The messages one node publishes while playing a scenario, in scenario time.

    ``scenario`` follows :class:`firesight.datasets.reader.ScenarioData` (``thermal.frames``
    (n, 120, 160) uint16 TLinear with per-frame ``time_s``, ``gain`` (0 high, 1 low),
    ``resolution_k``, ``ffc_state``, ``valid``; ``scd41`` table with ``time_s``, ``co2_ppm``,
    ``temperature_c``, ``humidity_rh``, ``status``). :meth:`messages` reads :attr:`config`
    before each message, so a shadow delta applied meanwhile takes effect at once.
    """

    def __init__(self, thing_name: str, site: str, scenario: Any, *, settings: SimulatorSettings | None = None,
                 config: Mapping[str, Any] | None = None):
        self.thing_name, self.site, self.scenario = validate_name(thing_name), site, scenario
        self.settings = settings or SimulatorSettings()
        self.counts: Counter[str] = Counter()
        self.config: dict[str, Any] = dict(DEVICE_CONFIG_DEFAULTS)
        if config:
            self.apply_desired(config)
        th = scenario.thermal
        self._frame_time_s = np.asarray(th.time_s, dtype=np.float64)
        self._valid = np.asarray(getattr(th, "valid", np.ones(len(self._frame_time_s), bool)), dtype=bool)
        scd = scenario.scd41
        self._scd = {c: np.asarray(scd[c]) for c in ("time_s", "co2_ppm", "temperature_c", "humidity_rh")}
        self._scd_status = np.asarray(scd["status"]) if "status" in scd else np.zeros(len(scd), np.uint8)
        starts = [a[0] for a in (self._frame_time_s, self._scd["time_s"]) if len(a)]
        ends = [a[-1] for a in (self._frame_time_s, self._scd["time_s"]) if len(a)]
        require(bool(starts), "scenario", "thermal frames or SCD41 readings", scenario)
        self.start_s = float(min(starts))
        end = float(max(ends))
        if self.settings.duration_s is not None:
            end = min(end, max(self.start_s, 0.0) + self.settings.duration_s)
        self.end_s = end
        self._seq: Counter[str] = Counter()
        self._ffc_seen = False
        self._feature_rows: list[np.ndarray] = []
        self._previous_frame: tuple[np.ndarray, float, float] | None = None

    # -- configuration ---------------------------------------------------------------------------
    def apply_desired(self, desired: Mapping[str, Any]) -> dict[str, Any]:
        """Apply the keys of a shadow ``desired`` (or ``delta``) state this node knows;
        invalid values are ignored (counted). Returns the configuration now reported."""
        known = {k: v for k, v in desired.items() if k in DEVICE_CONFIG_DEFAULTS and v is not None}
        try:
            validate_device_config(known)
        except ShadowRejected:
            self.counts["config_rejected"] += 1
            return self.reported()
        self.config.update(known)
        self.config = effective_device_config({"desired": self.config})
        return self.reported()

    def edge_mode(self) -> str:
        return self.settings.mode or self.config["edge_mode"]

    def reported(self) -> dict[str, Any]:
        """What the node reports in its shadow: its configuration, firmware and health."""
        return {**self.config, "edge_mode": self.edge_mode(), "firmware": self.settings.firmware,
                "health": {"frames_dropped": int(self.counts["frames_dropped"]),
                           "scd41_errors": int(self.counts["scd41_errors"])}}

    # -- messages ---------------------------------------------------------------------------------------
    def topic(self, stream: str) -> str:
        return device_topic(self.site, self.thing_name, stream)

    def _next_seq(self, stream: str) -> int:
        self._seq[stream] += 1
        return self._seq[stream]

    def messages(self, ts_ms_of: Callable[[float], int]) -> Iterator[tuple[float, str, bytes]]:
        """``(time_s, topic, payload)`` in time order until the scenario (or duration) ends;
        ``ts_ms_of(time_s)`` stamps each message [ms since the epoch]."""
        i_frame, i_scd = 0, 0
        n_frames, n_scd = len(self._frame_time_s), len(self._scd["time_s"])
        next_scd_s = self.start_s
        next_status_s = self.start_s
        next_features_s = self.start_s + self.settings.features_period_s
        while True:
            t_frame = self._frame_time_s[i_frame] if i_frame < n_frames else math.inf
            t_scd = self._scd["time_s"][i_scd] if i_scd < n_scd else math.inf
            t_features = next_features_s if self.edge_mode() == "features" else math.inf
            t = min(t_frame, t_scd, next_status_s, t_features)
            if not t <= self.end_s:
                return
            if t == next_status_s:
                next_status_s += self.settings.status_interval_s
                yield t, self.topic("status"), encode_status(
                    state="online", ts_ms=ts_ms_of(t), seq=self._next_seq("status"),
                    firmware=self.settings.firmware, uptime_s=t - self.start_s)
                self.counts["status"] += 1
            elif t == t_frame:
                payload = self._frame(i_frame, ts_ms_of(t))
                i_frame += 1
                if payload is not None:
                    yield t, self.topic("thermal"), payload
            elif t == t_scd:
                due = t + 1e-6 >= next_scd_s
                payload = self._reading(i_scd, ts_ms_of(t)) if due else None
                i_scd += 1
                if due:
                    next_scd_s = t + float(self.config["measurement_interval_s"]) - 0.5
                if payload is not None:
                    yield t, self.topic("scd41"), payload
            else:
                next_features_s += self.settings.features_period_s
                payload = self._features(t, ts_ms_of(t))
                if payload is not None:
                    yield t, self.topic("features"), payload

    def _frame(self, i: int, ts_ms: int) -> bytes | None:
        if not self._valid[i]:
            self.counts["frames_dropped"] += 1
            return None
        th = self.scenario.thermal
        state_code = int(th.ffc_state[i])
        if state_code:
            self._ffc_seen = True
        resolution_k = 0.1 if float(th.resolution_k[i]) > 0.05 else 0.01
        if self.edge_mode() == "features":
            if state_code != 2:  # frozen frames during the shutter are not fed to features
                self._feature_frame(np.asarray(th.frames[i]), float(self._frame_time_s[i]), resolution_k)
            return None
        ffc = _FFC_STATES.get(state_code, "complete" if self._ffc_seen else "not_commanded")
        self.counts["thermal"] += 1
        return encode_thermal(np.asarray(th.frames[i]), ts_ms=ts_ms, seq=self._next_seq("thermal"),
                              resolution_k=resolution_k, gain="low" if int(th.gain[i]) else "high",
                              ffc_state=ffc)

    def _reading(self, i: int, ts_ms: int) -> bytes | None:
        values = {k: float(self._scd[k][i]) for k in ("co2_ppm", "temperature_c", "humidity_rh")}
        if int(self._scd_status[i]) in _SCD41_NO_VALUE or not all(math.isfinite(v) for v in values.values()):
            self.counts["scd41_errors"] += 1
            return None
        self.counts["scd41"] += 1
        return encode_scd41(**values, ts_ms=ts_ms, seq=self._next_seq("scd41"))

    def _feature_frame(self, frame: np.ndarray, time_s: float, resolution_k: float) -> None:
        from firesight.features.thermal import lepton_frame_features

        row = lepton_frame_features(frame[None], np.array([time_s]), np.array([resolution_k]),
                                    previous=self._previous_frame)
        self._previous_frame = (frame, time_s, resolution_k)
        self._feature_rows.append(row[0])
        horizon = time_s - self.settings.features_window_s - 1.0
        while self._feature_rows and self._feature_rows[0][0] < horizon:
            self._feature_rows.pop(0)

    def _features(self, now_s: float, ts_ms: int) -> bytes | None:
        from firesight.features.thermal import THERMAL_FEATURES, thermal_window_features

        if not self._feature_rows:
            return None
        values = thermal_window_features(np.vstack(self._feature_rows), now_s,
                                         window_s=self.settings.features_window_s)
        features = {name: float(v) for name, v in zip(THERMAL_FEATURES, values, strict=True) if math.isfinite(v)}
        self.counts["features"] += 1
        return encode_features(features, window_s=self.settings.features_window_s, ts_ms=ts_ms,
                               seq=self._next_seq("features"))


def device_epoch_ms(wall_start_ms: int, span_s: float, speed: float) -> int:
    """Epoch [ms] of scenario time 0 so that timestamps never run ahead of the wall clock:
    the last message of a ``span_s`` run played at ``speed`` is stamped at its wall time."""
    if speed == 0:
        return int(wall_start_ms - span_s * 1000)
    if speed <= 1:
        return int(wall_start_ms)
    return int(wall_start_ms - span_s * (1.0 - 1.0 / speed) * 1000)


class FleetSimulator:
    """Runs virtual nodes on a broker.

    Parameters
    ----------
    settings : SimulatorSettings
    scenarios : sequence of ScenarioData
        Node ``i`` plays ``scenarios[i % len(scenarios)]``.
    broker_url : str
        ``mqtts://`` (each node with its own certificate from ``registry``) or ``mqtt://``
        (a plain broker; no certificates).
    registry : DeviceRegistry, optional
        Provisions the nodes (thing, certificate, device policy) for ``mqtts://`` brokers.
    client_factory : callable, optional
        ``client_factory(thing_name, broker_url, credentials_or_None, will)`` returning a
        connected-on-demand :class:`firesight.iot.client.MqttClient`; defaults to
        :class:`~firesight.iot.client.DeviceClient` / ``MqttClient``.
    """

    def __init__(self, settings: SimulatorSettings, scenarios: Sequence[Any], broker_url: str, *,
                 registry: Any = None, client_factory: Callable[..., Any] | None = None):
        require(len(scenarios) >= 1, "scenarios", "at least one scenario", len(scenarios))
        self.settings, self.broker_url, self.registry = settings, broker_url, registry
        names = settings.thing_names()
        unknown = sorted(set(settings.misbehave) - set(names))
        require(not unknown, "misbehave", f"names among the simulated nodes ({names[0]}...)", unknown)
        self.devices = [VirtualDevice(name, settings.site, scenarios[i % len(scenarios)], settings=settings)
                        for i, name in enumerate(names)]
        self._client_factory = client_factory or _default_client
        self.clients: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shadow_seen: dict[str, threading.Event] = {d.thing_name: threading.Event() for d in self.devices}
        self._unsent: dict[str, deque] = {}

    # -- set-up -----------------------------------------------------------------------------------------
    def _credentials(self, thing: str) -> Any:
        if not self.broker_url.startswith(("mqtts://", "ssl://")):
            return None
        if self.registry is None:
            raise InvalidParameterError("registry", f"a device registry to provision nodes for {self.broker_url}", None)
        ca = self.registry.ca
        cert_path, key_path = ca.thing_paths(thing)
        if cert_path.exists() and key_path.exists():
            from firesight.iot.ca import certificate_id
            from firesight.iot.device_registry import DeviceCredentials

            cid = certificate_id(cert_path.read_bytes())
            try:
                active = self.registry.describe_certificate(cid)["status"] == "ACTIVE"
            except FiresightError:
                active = False
            if active:
                return DeviceCredentials(thing, cid, str(cert_path), str(key_path), str(ca.ca_path))
        return self.registry.register_device(thing, site=self.settings.site)

    def connect(self) -> None:
        """Provision and connect every node, then sync its configuration from its shadow."""
        for device in self.devices:
            thing = device.thing_name
            will = (device.topic("status"), encode_status(state="offline", ts_ms=int(time.time() * 1000)), 1, False)
            client = self._client_factory(thing, self.broker_url, self._credentials(thing), will)
            client.connect()
            self.clients[thing] = client
            self._subscribe_shadow(device, client)
        deadline = time.monotonic() + self.settings.shadow_timeout_s
        for device in self.devices:
            if not self._shadow_seen[device.thing_name].wait(max(0.0, deadline - time.monotonic())):
                self.counts["shadow_timeouts"] += 1
                self._report(device)

    def _subscribe_shadow(self, device: VirtualDevice, client: Any) -> None:
        thing = device.thing_name

        def on_get(topic: str, payload: bytes) -> None:
            try:
                doc = json.loads(payload)
            except ValueError:
                return
            if topic.endswith("/accepted"):
                device.apply_desired((doc.get("state") or {}).get("desired") or {})
            self._report(device)
            self._shadow_seen[thing].set()

        def on_delta(topic: str, payload: bytes) -> None:
            try:
                doc = json.loads(payload)
            except ValueError:
                return
            device.apply_desired(doc.get("state") or {})
            self.counts["shadow_deltas"] += 1
            self._report(device)

        client.subscribe(shadow_topic(thing, "get", "accepted"), on_get, qos=1)
        client.subscribe(shadow_topic(thing, "get", "rejected"), on_get, qos=1)
        client.subscribe(shadow_topic(thing, "update", "delta"), on_delta, qos=1)
        client.publish(shadow_topic(thing, "get"), b"{}", qos=1)

    def _report(self, device: VirtualDevice) -> None:
        client = self.clients.get(device.thing_name)
        if client is None:
            return
        body = json.dumps({"state": {"reported": device.reported()}}).encode()
        client.publish(shadow_topic(device.thing_name, "update"), body, qos=1)

    # -- playback ------------------------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Play every node's scenario; return counts (messages and bytes per stream,
        misbehaviour actions, publish errors) and the run's wall time [s]."""
        if not self.clients:
            self.connect()
        s = self.settings
        span_s = max(d.end_s - d.start_s for d in self.devices)
        wall0 = time.time()
        epoch_ms = device_epoch_ms(int(wall0 * 1000), span_s, s.speed)
        mono0 = time.monotonic()
        streams = []
        for k, d in enumerate(self.devices):
            gen = d.messages(lambda t, d=d: int(epoch_ms + (t - d.start_s) * 1000))
            first = next(gen, None)
            if first is not None:
                streams.append((first[0] - d.start_s, k, first, gen))
        heapq.heapify(streams)
        helpers = [threading.Thread(target=self._misbehave, args=(thing, how), daemon=True,
                                    name=f"misbehave-{thing}") for thing, how in s.misbehave.items()]
        for h in helpers:
            h.start()
        sent = 0
        try:
            while streams and not self._stop.is_set():
                rel_s, k, (t, topic, payload), gen = heapq.heappop(streams)
                if s.speed > 0:
                    delay = rel_s / s.speed - (time.monotonic() - mono0)
                    if delay > 0 and self._stop.wait(delay):
                        break
                self._publish(self.devices[k].thing_name, topic, payload)
                sent += 1
                if progress is not None and sent % 100 == 0:
                    progress(sent)
                nxt = next(gen, None)
                if nxt is not None:
                    heapq.heappush(streams, (nxt[0] - self.devices[k].start_s, k, nxt, gen))
        finally:
            self._stop.set()
            for h in helpers:
                h.join(5)
        wall_s = time.time() - wall0
        out = {"devices": len(self.devices), "wall_s": wall_s, "scenario_s": span_s,
               "messages": int(sum(v for k, v in self.counts.items() if k.startswith("messages:"))),
               **{k: int(v) for k, v in sorted(self.counts.items())}}
        return out

    def stop(self) -> None:
        self._stop.set()

    def close(self, flush_timeout_s: float = 10.0) -> None:
        """Stop playback and take every node offline: each publishes ``offline`` status at
        QoS 1 and waits for its acknowledgement, then disconnects cleanly (the broker
        delivers every message it acknowledged, also after the publisher disconnects)."""
        self._stop.set()
        infos = []
        for thing, client in self.clients.items():
            device = next(d for d in self.devices if d.thing_name == thing)
            payload = encode_status(state="offline", ts_ms=int(time.time() * 1000), seq=device._next_seq("status"))
            try:
                infos.append(client.publish(device.topic("status"), payload, qos=1))
            except FiresightError:
                self.counts["publish_errors"] += 1
        deadline = time.monotonic() + flush_timeout_s
        for info in infos:
            try:
                info.wait_for_publish(max(0.01, deadline - time.monotonic()))
            except (RuntimeError, ValueError):  # not connected any more: nothing left to flush
                self.counts["offline_not_sent"] += 1
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    def __enter__(self) -> "FleetSimulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _publish(self, thing: str, topic: str, payload: bytes, qos: int | None = None) -> None:
        """Publish one message of ``thing`` at ``qos`` (default: its stream's, :data:`STREAM_QOS`)."""
        stream = topic.rsplit("/", 1)[-1]
        qos = STREAM_QOS.get(stream, 0) if qos is None else qos
        try:
            info = self.clients[thing].publish(topic, payload, qos=qos)
        except FiresightError:
            with self._lock:
                self.counts["publish_errors"] += 1
            return
        # backpressure: at most MAX_UNSENT messages per node wait in the client's buffer
        # (paho buffers QoS 0 without bound; QoS 1 waits for the broker's PUBACK), so a fast
        # playback runs at the broker's pace
        pending = self._unsent.setdefault(thing, deque())
        pending.append((info, qos))
        if len(pending) > MAX_UNSENT:
            oldest, oldest_qos = pending.popleft()
            try:
                oldest.wait_for_publish(10.0)
            except (RuntimeError, ValueError):  # disconnected: QoS 0 is lost, as on a device;
                # QoS 1 stays in the client and is sent again after the reconnection
                self.counts["messages_lost" if oldest_qos == 0 else "messages_resent_later"] += 1
        with self._lock:
            self.counts[f"messages:{stream}"] += 1
            self.counts[f"bytes:{stream}"] += len(payload)

    # -- misbehaviour ------------------------------------------------------------------------------------------
    def _misbehave(self, thing: str, how: str) -> None:
        s = self.settings
        device = next(d for d in self.devices if d.thing_name == thing)
        others = [d.thing_name for d in self.devices if d.thing_name != thing] or ["ghost-node"]
        n = 0
        period = {"flood": 1.0 / s.flood_rate_hz, "probe": 1.0 / s.probe_rate_hz,
                  "reconnect": s.reconnect_period_s}[how]
        while not self._stop.wait(period):
            n += 1
            if how == "flood":
                payload = encode_status(state="online", ts_ms=int(time.time() * 1000),
                                        seq=device._next_seq("status"), firmware=s.firmware)
                self._publish(thing, device.topic("status"), payload)
                self.counts["flood_messages"] += 1
            elif how == "probe":
                victim = others[n % len(others)]
                target = (device_topic(s.site, victim, "scd41") if n % 2 else shadow_topic(victim, "update"))
                try:
                    self.clients[thing].publish(target, b'{"probe": true}', qos=0)
                except FiresightError:
                    pass
                self.counts["probe_messages"] += 1
            else:
                client = self.clients[thing]
                client.close()
                try:
                    client.connect()
                except FiresightError:
                    self.counts["reconnect_failures"] += 1
                self.counts["reconnects"] += 1


def _default_client(thing: str, broker_url: str, credentials: Any, will: tuple) -> Any:
    from firesight.iot.client import DeviceClient, MqttClient

    if credentials is None:
        return MqttClient(thing, broker_url, will=will, reconnect_min_s=1.0, reconnect_max_s=8.0)
    return DeviceClient(thing, broker_url, cert_path=credentials.cert_path, key_path=credentials.key_path,
                        ca_path=credentials.ca_path, will=will, reconnect_min_s=1.0, reconnect_max_s=8.0)


def select_scenarios(dataset: Any, selection: Sequence[str] | None = None) -> list[str]:
    """Scenario ids of ``dataset`` chosen by ids or family names (all when empty)."""
    ids = list(dataset.ids)
    if not selection:
        return ids
    manifest = dataset.manifest
    chosen: list[str] = []
    for item in selection:
        if item in ids:
            chosen.append(item)
            continue
        family = [str(i) for i in manifest.loc[manifest["family"] == item, "id"]]
        label = [str(i) for i in manifest.loc[manifest["label"] == item, "id"]] if "label" in manifest else []
        hits = family or label
        if not hits:
            raise InvalidParameterError("scenarios", f"scenario ids, families or labels in {dataset.url}", item)
        chosen.extend(hits)
    return list(dict.fromkeys(chosen))
