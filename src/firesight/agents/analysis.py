"""Analysis agent: feature windows in, fire probability, alert level and alert events out.

The agent takes the windows its worker's monitoring agent publishes
(:func:`firesight.agents.monitoring.window_filter`), one worker thread in arrival order, so
each device's windows are decided in order. Per device it

- picks the model variant from the inputs the monitoring agent vouches for
  (:meth:`DetectorBundle.select_variant`: ``full``, ``thermal`` camera only, ``gas`` SCD41
  only) and scores the window exactly as :class:`firesight.detection.online.OnlineDetector`
  does (the same history of windows, ``predict_last``, a window with every input missing is
  no evidence);
- applies the variant's alert policy with hysteresis (:class:`AlertState`);
- offers each scored window to the learning agent's sampler when given one
  (:class:`firesight.agents.field_windows.FieldWindowSampler`: a bounded sample onto the
  durable queue ``field-windows``);
- publishes a compact probability record (``{"thing", "ts_ms", "probability", "level",
  "variant", "model_version"}``) on ``firesight/v1/{site}/probability`` (QoS 0, at most one
  per device every ``probability_interval_s`` of the receiver's clock, and at every level
  change): the dashboard's fire-probability chart;
- on every level change emits an :class:`AlertEvent` (id ``{thing}:{signal}:{seq}``, seq
  counting the device's level changes) onto the durable queue and
  ``firesight/v1/{site}/alerts``, with an explanation: the sensor that drove it (the
  camera-only and SCD41-only variants scored on the same windows), the features furthest
  from the device's own recent normal weighted by the model's importances, and the thermal
  snapshot (hot region bounding box and maximum temperature; a PNG in the object store).

Observability: each window is decided with its correlation id bound
(:func:`firesight.ops.logs.correlation`), ``{thing}/{stream}/{seq}`` of the reading that
closed it: the id the monitoring agent bound while handling that reading and the id the
alert event carries on, so every log line of the chain names it. Every scored window is
timed and counted in ``firesight_inference_latency_seconds`` /
``firesight_inference_rows_total`` (``path="agent"``, the variant); every event into a
level (state ``active``) in ``firesight_alerts_total`` (signal, level); the inbox depth in
``firesight_queue_depth_messages{queue="analysis-{worker}"}``, windows shed from it in
``firesight_messages_shed_total``.

The level and the sequence of each device are kept in the metadata store, so after a
restart an alarm in progress is neither repeated nor lost. :meth:`switch_model` swaps the
model between two windows.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import threading
import time
from collections import Counter, deque
from typing import Any

import numpy as np

from firesight.agents.events import AlertEvent
from firesight.agents.monitoring import STATE_TABLE, send_event, window_filter
from firesight.detection.alerts import LEVEL_CODE, AlertState
from firesight.detection.bundle import DetectorBundle
from firesight.errors import DataError, FiresightError
from firesight.iot.topics import probability_topic
from firesight.ops import metrics
from firesight.ops.logs import correlation

log = logging.getLogger(__name__)


class _Device:
    """What the analysis agent keeps per device."""

    def __init__(self, history_len: int, state: AlertState, seq: int):
        self.history: deque[dict[str, float]] = deque(maxlen=history_len)
        self.state = state
        self.seq = seq
        self.variant = ""
        self.probability_sent = -math.inf  # receiver clock [s] of the last probability record
        self.mean: dict[str, float] = {}
        self.var: dict[str, float] = {}
        self.windows = 0
        self.sustain_saved = 0  # slow-path count in the state store's checkpoint


class AnalysisAgent:
    """Windows -> model -> alert level -> alert events.

    Parameters
    ----------
    client : MqttClient
        Connected service client.
    queue : MessageQueue
        Durable alert event queue.
    bundle : DetectorBundle
        The model (approved registry version or the shipped default).
    model_version : str
        Its registry version ("" for the shipped default).
    state_store : MetadataStore, optional
        Keeps levels and sequences across restarts.
    object_store : ObjectStore, optional
        Where snapshot PNGs go (none: no PNG).
    worker_id : str
        The worker whose monitoring agent's windows this agent takes.
    settings : AnalysisSettings, optional
    field_windows : FieldWindowSampler, optional
        Takes every scored window (device time, features, variant, probability, level) and
        sends a sample to the learning agent.
    """

    def __init__(self, client: Any, queue: Any, bundle: DetectorBundle, *, model_version: str = "",
                 state_store: Any = None, object_store: Any = None, worker_id: str = "local",
                 settings: Any = None, field_windows: Any = None):
        from firesight.agents.runtime_config import AnalysisSettings

        self.client, self.queue = client, queue
        self.store, self.objects = state_store, object_store
        self.settings = settings or AnalysisSettings()
        self.worker_id = worker_id
        self.bundle, self.model_version = bundle, model_version
        self.field_windows = field_windows
        self.devices: dict[tuple[str, str], _Device] = {}
        self.counts: Counter[str] = Counter()
        self.latencies_ms: deque[float] = deque(maxlen=2000)
        self._importance: dict[str, dict[str, float]] = {}
        self._compiled: dict[str, Any] = {}
        self._inference: dict[str, tuple[Any, Any]] = {}
        self._depth = metrics.QUEUE_DEPTH.labels(queue=f"analysis-{worker_id}")
        self._shed = metrics.MESSAGES_SHED.labels(queue=f"analysis-{worker_id}")
        self._lock = threading.RLock()
        self._inbox: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "AnalysisAgent":
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"analysis-{self.worker_id}", daemon=True)
        self._thread.start()
        self.client.subscribe(window_filter(self.worker_id), self._enqueue, qos=1)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Staged: unsubscribe, decide the windows already received (up to ``timeout_s``), stop."""
        try:
            self.client.unsubscribe(window_filter(self.worker_id))
        except Exception:  # a closed client has no subscription left
            log.debug("unsubscribe failed", exc_info=True)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._inbox and time.monotonic() < deadline and self.alive():
                self._cond.wait(0.05)
            self.counts["dropped_at_stop"] += len(self._inbox)
            self._inbox.clear()
            self._depth.set(0)
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict:
        lat = sorted(self.latencies_ms)
        with self._lock:
            levels = Counter(d.state.level for d in self.devices.values())
        return {"alive": self.alive(), "model_version": self.model_version or "default",
                "devices": len(self.devices), "levels": dict(levels), "windows": int(self.counts["windows"]),
                "events": int(self.counts["events"]), "backlog": len(self._inbox), "counts": dict(self.counts),
                "window_to_decision_ms": {"p50": _quantile(lat, 0.5), "p99": _quantile(lat, 0.99)},
                **({"field_windows": self.field_windows.health()} if self.field_windows is not None else {})}

    # ------------------------------------------------------------------ model
    def switch_model(self, bundle: DetectorBundle, version: str) -> None:
        """Use ``bundle`` from the next window on (the window being decided finishes on the
        old model; none is dropped). Levels and window histories carry over."""
        with self._lock:
            self.bundle, self.model_version = bundle, str(version or "")
            self._importance.clear()
            self._compiled.clear()
            n = self._history_len()
            for dev in self.devices.values():
                if dev.history.maxlen != n:
                    dev.history = deque(dev.history, maxlen=n)
                if dev.variant in bundle.policies:
                    dev.state.policy = bundle.policies[dev.variant]
            self.counts["model_switches"] += 1
        log.info("analysis %s now runs model %s", self.worker_id, version or "default")

    def _history_len(self) -> int:
        return max(1, max(self.bundle.history_windows(v) for v in self.bundle.variants))

    # ------------------------------------------------------------------ input
    def _enqueue(self, topic: str, payload: bytes) -> None:
        with self._cond:
            if len(self._inbox) >= self.settings.queue_size:
                self._inbox.popleft()
                self.counts["shed"] += 1
                self._shed.inc()
            self._inbox.append(payload)
            self._depth.set(len(self._inbox))
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._running and not self._inbox:
                    self._cond.wait(0.5)
                if not self._inbox:
                    return
                payload = self._inbox.popleft()
                self._depth.set(len(self._inbox))
                self._cond.notify_all()
            try:
                self.process(json.loads(payload))
            except (DataError, ValueError, KeyError, TypeError) as exc:
                self.counts[f"bad_window:{type(exc).__name__}"] += 1
                log.warning("window rejected: %s", exc)
            except Exception:  # a bug on one window must not stop the agent; counted
                self.counts["errors"] += 1
                log.exception("analysis failed on a window")

    # ------------------------------------------------------------------ decision
    def _device(self, site: str, thing: str, variant: str, ts_ms: int) -> _Device:
        key = (site, thing)
        dev = self.devices.get(key)
        if dev is None:
            item = (self.store.get(STATE_TABLE, f"{site}/{thing}", "analysis") if self.store is not None else None) or {}
            state = AlertState(self.bundle.policies[variant], level=str(item.get("level", "normal")))
            dev = _Device(self._history_len(), state, int(item.get("seq", 0)))
            dev.variant = variant
            saved, at = int(item.get("sustain_count", 0)), int(item.get("sustain_ts_ms", 0))
            if (saved > 0 and item.get("variant") == variant and state.policy.sustain_on is not None
                    and 0 <= ts_ms - at <= 1000 * self.settings.sustain_resume_gap_s):
                state.sustain_count = dev.sustain_saved = saved
                self.counts["sustain_resumed"] += 1
            self.devices[key] = dev
        return dev

    def _save_state(self, dev: _Device, site: str, thing: str, variant: str, ts_ms: int) -> None:
        """The device's level, event sequence and slow-path checkpoint into the state store."""
        if self.store is None:
            return
        dev.sustain_saved = dev.state.sustain_count
        self.store.put(STATE_TABLE, {"device": f"{site}/{thing}", "agent": "analysis", "level": dev.state.level,
                                     "seq": dev.seq, "variant": variant, "model_version": self.model_version,
                                     "ts_ms": ts_ms, "sustain_count": dev.state.sustain_count,
                                     "sustain_ts_ms": ts_ms}, key="device", sort_key="agent")

    def _checkpoint_due(self, dev: _Device) -> bool:
        """A slow-path run reached the next checkpoint, or a saved run was broken."""
        n = dev.state.sustain_count
        return (n > 0 and n % self.settings.sustain_checkpoint_windows == 0) or (n == 0 and dev.sustain_saved > 0)

    def process(self, window: dict) -> AlertEvent | None:
        """Decide one window (a dict as the monitoring agent publishes it), its correlation
        id bound; return the event if the level changed."""
        with correlation(_correlation_id(window)):
            return self._decide(window)

    def _decide(self, window: dict) -> AlertEvent | None:
        site, thing = str(window["site"]), str(window["thing"])
        raw = window["features"]
        if not isinstance(raw, dict):
            raise DataError("window features must be an object")
        features = {k: (math.nan if v is None else float(v)) for k, v in raw.items()}
        inputs = window.get("inputs") or {}
        with self._lock:
            try:
                variant = self.bundle.select_variant(thermal=bool(inputs.get("thermal", True)),
                                                     scd41=bool(inputs.get("scd41", True)))
            except DataError:
                self.counts["windows_without_inputs"] += 1
                return None
            ts_ms = int(window.get("ts_ms", 0))
            dev = self._device(site, thing, variant, ts_ms)
            if variant != dev.variant:
                dev.variant = variant
                dev.state.policy = self.bundle.policies[variant]
            probability = self._score(dev, variant, features)
            before = len(dev.state.changes)
            level = dev.state.update(float(window["time_s"]), probability)
            dev.windows += 1
            self.counts["windows"] += 1
            if level == "normal":
                self._learn_normal(dev, features)
            changed = len(dev.state.changes) > before
            del dev.state.changes[:-4]
            event = self._event(dev, site, thing, variant, window, probability) if changed else None
            if event is None and self._checkpoint_due(dev):
                self._save_state(dev, site, thing, variant, ts_ms)
            self._publish_probability(dev, site, thing, int(window.get("ts_ms", 0)), probability, level, changed)
            version = self.model_version
        if self.field_windows is not None:  # outside the lock: a queue write
            self.field_windows.offer(site=site, thing=thing, ts_ms=int(window.get("ts_ms", 0)),
                                     time_s=float(window["time_s"]), features=features, variant=variant,
                                     probability=probability, level=level, model_version=version, changed=changed)
        handled = window.get("handled_ns")
        if isinstance(handled, int):
            self.latencies_ms.append((time.time_ns() - handled) / 1e6)
        return event

    def _score(self, dev: _Device, variant: str, features: dict[str, float]) -> float:
        names = self.bundle.feature_names(variant)
        row = {f: features.get(f, math.nan) for f in names}
        if all(math.isnan(v) for v in row.values()):
            return math.nan  # no evidence; not scored, not in the history (as OnlineDetector)
        dev.history.append({**features})
        t0 = time.perf_counter()
        probability = self._predict(variant, dev.history)
        latency, rows = self._inference_metrics(variant)
        latency.observe(time.perf_counter() - t0)
        rows.inc()
        return probability

    def _inference_metrics(self, variant: str) -> tuple[Any, Any]:
        """The latency histogram and row counter of ``variant`` (label children cached)."""
        children = self._inference.get(variant)
        if children is None:
            children = self._inference[variant] = (metrics.INFERENCE_LATENCY.labels(path="agent", variant=variant),
                                                    metrics.INFERENCE_ROWS.labels(path="agent", variant=variant))
        return children

    def _publish_probability(self, dev: _Device, site: str, thing: str, ts_ms: int, probability: float,
                             level: str, changed: bool) -> None:
        """The window's probability record for dashboards: QoS 0, at most one per device every
        ``probability_interval_s`` [s] (a level change always goes out); none for a window
        that was not scored."""
        if not (self.settings.publish_probability and self.client is not None and math.isfinite(probability)):
            return
        now = time.monotonic()
        if not changed and now - dev.probability_sent < self.settings.probability_interval_s:
            return
        dev.probability_sent = now
        body = json.dumps({"thing": thing, "ts_ms": ts_ms, "probability": round(probability, 4), "level": level,
                           "variant": dev.variant, "model_version": self.model_version}, separators=(",", ":"))
        try:
            self.client.publish(probability_topic(site), body, qos=0)
            self.counts["probabilities"] += 1
        except FiresightError:  # a chart point is a convenience; the decision stands
            self.counts["probabilities_not_published"] += 1

    def _predict(self, variant: str, history: deque) -> float:
        """Probability of the newest window from the device's recent windows, by the compiled
        scorer of :mod:`firesight.serving.fast` (the endpoint's; equal to the detector's own
        ``predict_last`` within 1e-6, several times faster)."""
        scorer = self._compiled.get(variant)
        if scorer is None:
            from firesight.serving.fast import CompiledDetector

            scorer = self._compiled[variant] = CompiledDetector(self.bundle.variants[variant])
        names = scorer.feature_names
        n = max(1, self.bundle.history_windows(variant))
        rows = list(history)[-n:]
        values = np.array([[r.get(f, math.nan) for f in names] for r in rows], dtype=np.float64)
        return float(scorer.predict(values, stream=True)[-1])

    def _learn_normal(self, dev: _Device, features: dict[str, float]) -> None:
        """Running mean and variance of each feature while the device is normal: the
        reference the explanation measures deviations against."""
        for name, value in features.items():
            if not math.isfinite(value):
                continue
            if name not in dev.mean:
                dev.mean[name], dev.var[name] = value, 0.0
                continue
            delta = value - dev.mean[name]
            dev.mean[name] += 0.05 * delta
            dev.var[name] = 0.95 * (dev.var[name] + 0.05 * delta * delta)

    # ------------------------------------------------------------------ events
    def _event(self, dev: _Device, site: str, thing: str, variant: str, window: dict,
               probability: float) -> AlertEvent:
        change = dev.state.changes[-1]
        previous, level = change["previous"], change["level"]
        signal = "alarm" if "alarm" in (previous, level) else "watch"
        state = "active" if LEVEL_CODE[level] > LEVEL_CODE[previous] else "cleared"
        dev.seq += 1
        event_id = f"{thing}:{signal}:{dev.seq}"
        explanation = self._explain(dev, variant, window, event_id) if state == "active" else {
            "sensor": "", "features": {}, "snapshot": window.get("snapshot") and _plain_snapshot(window["snapshot"])}
        trigger = window.get("trigger") or {}
        p = float(probability) if math.isfinite(probability) else None
        event = AlertEvent(
            event_id=event_id, site=site, thing=thing, signal=signal, state=state, level=level,
            previous=previous, ts_ms=int(window.get("ts_ms", 0)), scenario_time_s=window.get("scenario_time_s"),
            probability=p, variant=variant, model_version=self.model_version, explanation=explanation,
            correlation_id=_correlation_id(window),
            published_ns=int(trigger.get("ts_ms") or 0) * 1_000_000)
        send_event(self.queue, self.client, event, publish=self.settings.publish_alerts)
        self._save_state(dev, site, thing, variant, event.ts_ms)
        self.counts["events"] += 1
        if state == "active":
            metrics.ALERTS.labels(signal=signal, level=level).inc()
        log.info("%s %s %s -> %s (p=%.2f, %s)", thing, signal, previous, level, p or 0.0, variant)
        return event

    def _explain(self, dev: _Device, variant: str, window: dict, event_id: str) -> dict:
        out: dict[str, Any] = {"variant": variant}
        # which sensor: the camera-only and SCD41-only variants on the same windows
        scores = {}
        for sensor, name in (("thermal", "thermal"), ("scd41", "gas")):
            if name in self.bundle.variants and dev.history:
                names = self.bundle.feature_names(name)
                if any(math.isfinite(dev.history[-1].get(f, math.nan)) for f in names):
                    scores[sensor] = round(self._predict(name, dev.history), 4)
        watch_on = dev.state.policy.watch_on
        drivers = [s for s, p in scores.items() if p >= watch_on]
        out["sensor"] = ("both" if len(drivers) == 2 else drivers[0] if drivers else
                         max(scores, key=scores.get) if scores else "")
        out["sensor_probability"] = scores
        # which features: furthest from this device's normal, weighted by importance
        last = dev.history[-1] if dev.history else {}
        weights = self._weights(variant)
        ranked = []
        for name, w in weights.items():
            value = last.get(name, math.nan)
            if not math.isfinite(value):
                continue
            mean, var = dev.mean.get(name), dev.var.get(name, 0.0)
            z = 0.0 if mean is None else abs(value - mean) / math.sqrt(var + 1e-6 + (0.05 * abs(mean)) ** 2)
            ranked.append((w * z, name, value, z))
        ranked.sort(reverse=True)
        out["features"] = {name: round(value, 4) for _, name, value, _ in ranked[:self.settings.top_features]}
        out["deviation_z"] = {name: round(z, 2) for _, name, _, z in ranked[:self.settings.top_features]}
        snapshot = _plain_snapshot(window.get("snapshot") or {})
        png = self._snapshot_png(window.get("snapshot") or {}, event_id)
        if png:
            snapshot["png_key"] = png
        out["snapshot"] = snapshot
        return out

    def _weights(self, variant: str) -> dict[str, float]:
        if variant not in self._importance:
            det = self.bundle.variants[variant]
            names = list(det.feature_names_)
            imp = np.zeros(len(names))
            for member in getattr(det, "estimators_", [det]):
                forest = getattr(member, "forest_", None)
                if forest is not None and len(member.feature_names_) == forest.n_features_in_:
                    pos = {n: i for i, n in enumerate(names)}
                    for n, v in zip(member.feature_names_, forest.feature_importances_):
                        imp[pos[n]] += v
            if imp.sum() <= 0:
                imp[:] = 1.0
            self._importance[variant] = dict(zip(names, (imp / imp.sum()).tolist()))
        return self._importance[variant]

    def _snapshot_png(self, snapshot: dict, event_id: str) -> str:
        thumb = snapshot.get("thumbnail")
        if not (self.settings.snapshot_png and self.objects is not None and thumb and "bbox" in snapshot):
            return ""
        try:
            data = render_snapshot_png(snapshot)
            key = f"alerts/snapshots/{event_id.replace(':', '_')}.png"
            self.objects.put_bytes(key, data)
            return key
        except Exception:  # a picture is a convenience; the alert goes out without it
            self.counts["snapshot_errors"] += 1
            log.exception("snapshot PNG failed")
            return ""


def _correlation_id(window: dict) -> str:
    """``{thing}/{stream}/{seq}`` of the reading that closed ``window`` (the id the monitoring
    agent bound while handling it)."""
    trigger = window.get("trigger") or {}
    return f"{window.get('thing', '')}/{trigger.get('stream', '')}/{trigger.get('seq', '')}"


def _plain_snapshot(snapshot: dict) -> dict:
    return {k: v for k, v in snapshot.items() if k != "thumbnail"}


def render_snapshot_png(snapshot: dict, scale: int = 4) -> bytes:
    """PNG of a window's thumbnail (inferno colours) with the hot region's box in cyan."""
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    thumb = snapshot["thumbnail"]
    h, w = thumb["shape"]
    counts = np.frombuffer(base64.b64decode(thumb["b64"]), np.uint8).reshape(h, w)
    rgb = (colormaps["inferno"](counts / 255.0)[..., :3] * 255).astype(np.uint8)
    img = Image.fromarray(rgb).resize((w * scale, h * scale), Image.NEAREST)
    factor = 120 // h
    r0, c0, r1, c1 = snapshot["bbox"]
    k = scale / factor
    ImageDraw.Draw(img).rectangle([c0 * k, r0 * k, (c1 + 1) * k - 1, (r1 + 1) * k - 1], outline=(0, 255, 255),
                                  width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return round(float(np.quantile(np.asarray(sorted_values), q)), 3)
