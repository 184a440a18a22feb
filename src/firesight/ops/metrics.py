"""Prometheus metrics of firesight, defined once so that every part imports the same objects.

Names follow Prometheus' naming practice (https://prometheus.io/docs/practices/naming/):
prefix ``firesight_``, base units in the name (``_seconds``, ``_bytes``), counters end in
``_total``. All of them live in :data:`REGISTRY` (not the client's global registry), which
:func:`exposition` renders for ``GET /metrics``.

Use::

    from firesight.ops import metrics
    metrics.MESSAGES_RECEIVED.labels(kind="scd41").inc()
    metrics.MESSAGES_REJECTED.labels(kind="thermal", reason="schema").inc()
    with metrics.INFERENCE_LATENCY.labels(path="agent", variant="full").time(): ...
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(namespace="firesight", registry=REGISTRY)

#: Latency buckets [s] from 100 µs to 10 s (inference of one window is well under 1 ms).
LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                     0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

MESSAGES_RECEIVED = Counter(
    "firesight_messages_received", "Device messages received, by kind (thermal, scd41, status, "
    "features).", ["kind"], registry=REGISTRY)
MESSAGES_REJECTED = Counter(
    "firesight_messages_rejected", "Device messages refused, by kind and reason (schema, policy, "
    "stale, duplicate, too_large, ...).", ["kind", "reason"], registry=REGISTRY)
MESSAGES_SHED = Counter(
    "firesight_messages_shed", "Sensor messages dropped by a full bounded queue (oldest first), "
    "by queue.", ["queue"], registry=REGISTRY)
QUEUE_DEPTH = Gauge(
    "firesight_queue_depth_messages", "Messages waiting in a queue, by queue.", ["queue"],
    registry=REGISTRY)
INFERENCE_LATENCY = Histogram(
    "firesight_inference_latency_seconds", "Time to score windows, by path (http, batch, agent) "
    "and model variant.", ["path", "variant"], buckets=LATENCY_BUCKETS_S, registry=REGISTRY)
INFERENCE_ROWS = Counter(
    "firesight_inference_rows", "Windows scored, by path and model variant.", ["path", "variant"],
    registry=REGISTRY)
ALERTS = Counter(
    "firesight_alerts", "Alert events raised, by signal (alarm, watch, supervisory, trouble) and "
    "level or condition.", ["signal", "level"], registry=REGISTRY)
NOTIFICATION_FAILURES = Counter(
    "firesight_notification_failures", "Notifications that could not be delivered, by channel.",
    ["channel"], registry=REGISTRY)
NOTIFICATIONS_SENT = Counter(
    "firesight_notifications_sent", "Notifications delivered, by channel.", ["channel"],
    registry=REGISTRY)
DEVICES = Gauge(
    "firesight_devices", "Devices by state (online, offline, degraded, revoked, ...).", ["state"],
    registry=REGISTRY)
DEFENDER_VIOLATIONS = Gauge(
    "firesight_defender_violations", "Active Device Defender violations, by behaviour.",
    ["behavior"], registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "firesight_http_requests", "HTTP requests served, by route and status code.",
    ["route", "status"], registry=REGISTRY)
REQUEST_BYTES = Counter(
    "firesight_http_request_bytes", "Bytes of HTTP request bodies received, by route.", ["route"],
    registry=REGISTRY)
INVOCATIONS_REJECTED = Counter(
    "firesight_invocations_rejected", "Inference requests refused, by reason (columns, "
    "not_numeric, not_finite, content_type, too_large, json, accept, ...).", ["reason"],
    registry=REGISTRY)
AUTH_REFUSED = Counter(
    "firesight_auth_refused", "HTTP requests refused by authentication or authorisation, by reason "
    "(missing, unknown, expired, revoked, role).", ["reason"], registry=REGISTRY)
AUDIT_RECORDS = Counter(
    "firesight_audit_records", "Audit records written, by action.", ["action"], registry=REGISTRY)
ALARM_TRANSITIONS = Counter(
    "firesight_alarm_transitions", "Alarm rule state changes, by alarm and new state.",
    ["alarm", "state"], registry=REGISTRY)
LAST_READING_TIME = Gauge(
    "firesight_last_reading_timestamp_seconds", "Wall-clock time of the newest device reading "
    "received [s since epoch].", registry=REGISTRY)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def exposition() -> bytes:
    """The text exposition format of :data:`REGISTRY` (Prometheus 0.0.4)."""
    return generate_latest(REGISTRY)


def sample_value(name: str, labels: dict[str, str] | None = None) -> float:
    """Current value of one sample of :data:`REGISTRY` (0.0 if it has not been observed)."""
    value = REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else float(value)
