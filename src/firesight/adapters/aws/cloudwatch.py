"""Amazon CloudWatch: metrics (``PutMetricData``, or embedded metric format log lines for
Lambda) and alarms.

References
----------
1. Amazon CloudWatch API Reference, ``PutMetricData`` (up to 1,000 metrics per request),
   ``PutMetricAlarm``.
2. Amazon CloudWatch User Guide, "Specification: Embedded metric format".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, translate
from firesight.errors import InvalidParameterError, require

MAX_METRICS_PER_REQUEST = 1000
UNITS = ("Seconds", "Milliseconds", "Microseconds", "Bytes", "Kilobytes", "Megabytes", "Count",
         "Percent", "Count/Second", "Bytes/Second", "None")
COMPARISONS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold")


@dataclass(frozen=True)
class Metric:
    """One data point: ``name``, ``value`` in ``unit``, ``dimensions`` (e.g. site, thing)."""

    name: str
    value: float
    unit: str = "Count"
    dimensions: Mapping[str, str] = field(default_factory=dict)
    timestamp_s: float | None = None

    def __post_init__(self) -> None:
        require(self.unit in UNITS, "unit", f"one of {UNITS}", self.unit)
        require(isinstance(self.value, (int, float)) and math.isfinite(self.value), "value",
                "a finite number", self.value)
        require(len(self.dimensions) <= 30, "dimensions", "at most 30", len(self.dimensions))


def embedded_metric_format(namespace: str, metrics: Sequence[Metric], *, timestamp_ms: int) -> str:
    """One EMF log line: CloudWatch Logs turns it into metrics with no API call (the way a
    Lambda handler emits metrics). All metrics must share their dimension names."""
    require(len(metrics) >= 1, "metrics", "at least one", len(metrics))
    dims = sorted(metrics[0].dimensions)
    for m in metrics:
        require(sorted(m.dimensions) == dims, "metrics", f"the same dimension names {dims}", sorted(m.dimensions))
    record: dict[str, Any] = {"_aws": {"Timestamp": int(timestamp_ms), "CloudWatchMetrics": [{
        "Namespace": namespace, "Dimensions": [dims],
        "Metrics": [{"Name": m.name, "Unit": m.unit} for m in metrics]}]}}
    record.update({k: str(v) for k, v in metrics[0].dimensions.items()})
    record.update({m.name: m.value for m in metrics})
    return json.dumps(record, sort_keys=True)


class CloudWatchMetrics:
    """Publish metrics and manage alarms in one namespace (``Firesight``)."""

    def __init__(self, namespace: str = "Firesight", *, settings: AwsSettings | None = None):
        require(bool(namespace) and not namespace.startswith("AWS/"), "namespace",
                "a custom namespace (not AWS/...)", namespace)
        self.namespace = namespace
        self._clients = ClientFactory(settings or AwsSettings())

    @property
    def client(self) -> Any:
        return self._clients.client("cloudwatch")

    def put(self, metrics: Iterable[Metric]) -> int:
        """Send the data points in batches of 1,000; return how many were sent."""
        import datetime as dt

        data = []
        for m in metrics:
            datum: dict[str, Any] = {"MetricName": m.name, "Value": float(m.value), "Unit": m.unit,
                                     "Dimensions": [{"Name": k, "Value": str(v)} for k, v in sorted(m.dimensions.items())]}
            if m.timestamp_s is not None:
                datum["Timestamp"] = dt.datetime.fromtimestamp(m.timestamp_s, tz=dt.timezone.utc)
            data.append(datum)
        try:
            for start in range(0, len(data), MAX_METRICS_PER_REQUEST):
                self.client.put_metric_data(Namespace=self.namespace,
                                            MetricData=data[start:start + MAX_METRICS_PER_REQUEST])
        except Exception as exc:
            raise translate(exc, f"put metrics to {self.namespace}") from exc
        return len(data)

    def put_alarm(self, name: str, *, metric: str, threshold: float, comparison: str,
                  dimensions: Mapping[str, str] | None = None, period_s: int = 60,
                  evaluation_periods: int = 1, statistic: str = "Sum",
                  alarm_actions: Sequence[str] = (), treat_missing_data: str = "notBreaching") -> None:
        """Create or replace an alarm on one of this namespace's metrics."""
        require(comparison in COMPARISONS, "comparison", f"one of {COMPARISONS}", comparison)
        require(period_s in (10, 30) or (period_s >= 60 and period_s % 60 == 0), "period_s",
                "10, 30 or a multiple of 60", period_s)
        if treat_missing_data not in ("breaching", "notBreaching", "ignore", "missing"):
            raise InvalidParameterError("treat_missing_data", "breaching|notBreaching|ignore|missing",
                                        treat_missing_data)
        try:
            self.client.put_metric_alarm(
                AlarmName=name, Namespace=self.namespace, MetricName=metric, Statistic=statistic,
                Dimensions=[{"Name": k, "Value": str(v)} for k, v in sorted((dimensions or {}).items())],
                Period=int(period_s), EvaluationPeriods=int(evaluation_periods), Threshold=float(threshold),
                ComparisonOperator=comparison, AlarmActions=list(alarm_actions),
                TreatMissingData=treat_missing_data)
        except Exception as exc:
            raise translate(exc, f"put alarm {name}") from exc

    def alarms(self, prefix: str = "") -> list[dict[str, Any]]:
        """``{"name", "state", "metric", "threshold"}`` of the alarms whose name starts with ``prefix``."""
        out = []
        paginator = self.client.get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmNamePrefix=prefix) if prefix else paginator.paginate():
            out.extend({"name": a["AlarmName"], "state": a["StateValue"], "metric": a.get("MetricName", ""),
                        "threshold": a.get("Threshold")} for a in page.get("MetricAlarms", []))
        return out
