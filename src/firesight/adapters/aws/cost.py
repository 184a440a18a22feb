"""Monthly AWS cost of a firesight fleet, per service, from published unit prices.

The model follows the template (``deploy/aws/template.yaml``) and the traffic a node makes:
Lepton frames (8.7 Hz, 38,400 bytes of TLinear pixels as base64 in JSON) or, in edge
feature mode, one feature message per window step; SCD41 readings every 5 s; shadow
updates; the archive rule's one S3 object per SCD41 reading; the ingest Lambda per message.
It is an estimate of list prices, not a bill: free tiers, savings plans, Spot price moves
and taxes are left out, and every assumption is a parameter of :class:`FleetProfile`.

Prices: :data:`PRICES`, us-east-1 on-demand list prices as published on the pages named in
each entry, recorded on :data:`PRICES_RECORDED` (re-check them in the AWS Pricing
Calculator before budgeting; prices change and differ by region).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from firesight.errors import require

#: When the unit prices below were copied from their pages.
PRICES_RECORDED = "2025-06 (us-east-1 list prices)"
HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


PRICES: dict[str, Price] = {
    "iot_connectivity": Price(0.08, "per million connection-minutes", "https://aws.amazon.com/iot-core/pricing/"),
    "iot_messaging": Price(1.00, "per million messages (5 KB increments)", "https://aws.amazon.com/iot-core/pricing/"),
    "iot_shadow": Price(1.25, "per million shadow/registry operations (1 KB increments)",
                        "https://aws.amazon.com/iot-core/pricing/"),
    "iot_rules": Price(0.15, "per million rules triggered", "https://aws.amazon.com/iot-core/pricing/"),
    "iot_actions": Price(0.15, "per million actions executed", "https://aws.amazon.com/iot-core/pricing/"),
    "lambda_requests": Price(0.20, "per million requests", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": Price(0.0000166667, "per GB-second (x86)", "https://aws.amazon.com/lambda/pricing/"),
    "sqs_requests": Price(0.40, "per million requests (standard queue)", "https://aws.amazon.com/sqs/pricing/"),
    "sns_publish": Price(0.50, "per million publishes", "https://aws.amazon.com/sns/pricing/"),
    "sns_email": Price(2.00, "per 100,000 e-mail notifications", "https://aws.amazon.com/sns/pricing/"),
    "ddb_write": Price(0.625, "per million write request units (on-demand)",
                       "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_read": Price(0.125, "per million read request units (on-demand)",
                      "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_storage": Price(0.25, "per GB-month", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_pitr": Price(0.20, "per GB-month of continuous backup", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "s3_standard": Price(0.023, "per GB-month (first 50 TB)", "https://aws.amazon.com/s3/pricing/"),
    "s3_infrequent": Price(0.0125, "per GB-month (Intelligent-Tiering infrequent access tier)",
                           "https://aws.amazon.com/s3/pricing/"),
    "s3_glacier": Price(0.0036, "per GB-month (Glacier Flexible Retrieval)", "https://aws.amazon.com/s3/pricing/"),
    "s3_put": Price(0.005, "per 1,000 PUT requests", "https://aws.amazon.com/s3/pricing/"),
    "s3_it_monitoring": Price(0.0025, "per 1,000 objects monitored (Intelligent-Tiering, objects >= 128 KB)",
                              "https://aws.amazon.com/s3/pricing/"),
    "s3_transition_glacier": Price(0.03, "per 1,000 lifecycle transitions to Glacier Flexible Retrieval",
                                   "https://aws.amazon.com/s3/pricing/"),
    "fargate_vcpu": Price(0.04048, "per vCPU-hour", "https://aws.amazon.com/fargate/pricing/"),
    "fargate_gb": Price(0.004445, "per GB-hour", "https://aws.amazon.com/fargate/pricing/"),
    "sagemaker_m5_large": Price(0.115, "per instance-hour (ml.m5.large, real-time inference)",
                                "https://aws.amazon.com/sagemaker/pricing/"),
    "nat_hour": Price(0.045, "per NAT gateway-hour", "https://aws.amazon.com/vpc/pricing/"),
    "nat_gb": Price(0.045, "per GB processed by a NAT gateway", "https://aws.amazon.com/vpc/pricing/"),
    "endpoint_hour": Price(0.01, "per interface endpoint-hour per AZ", "https://aws.amazon.com/privatelink/pricing/"),
    "cw_metric": Price(0.30, "per custom metric-month (first 10,000)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_alarm": Price(0.10, "per standard alarm-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_dashboard": Price(3.00, "per dashboard-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_logs_ingest": Price(0.50, "per GB ingested", "https://aws.amazon.com/cloudwatch/pricing/"),
    "kms_key": Price(1.00, "per customer managed key-month", "https://aws.amazon.com/kms/pricing/"),
    "kms_requests": Price(0.03, "per 10,000 requests", "https://aws.amazon.com/kms/pricing/"),
    "cloudtrail_data_events": Price(0.10, "per 100,000 data events", "https://aws.amazon.com/cloudtrail/pricing/"),
    "sfn_transitions": Price(0.025, "per 1,000 state transitions", "https://aws.amazon.com/step-functions/pricing/"),
    "batch_spot_vcpu_hour": Price(0.0175, "per vCPU-hour, c6i Spot (varies by hour and AZ)",
                                  "https://aws.amazon.com/ec2/spot/pricing/"),
}


@dataclass(frozen=True)
class FleetProfile:
    """What a fleet does in a month; every default names its source or assumption."""

    devices: int
    #: ``stream``: nodes send Lepton frames; ``edge``: nodes send feature windows instead
    mode: str = "stream"
    thermal_rate_hz: float = 8.7              # Lepton 3.5 export rate (ARCHITECTURE.md)
    thermal_message_bytes: int = 51_400       # 38,400 B pixels as base64 + JSON envelope
    scd41_interval_s: float = 5.0             # SCD41 periodic measurement
    scd41_message_bytes: int = 180
    feature_interval_s: float = 1.0           # one window step (edge feature mode)
    feature_message_bytes: int = 1_500
    shadow_updates_per_day: float = 24.0
    alerts_per_device_month: float = 2.0      # notifications (assumption)
    ddb_writes_per_message: float = 0.0       # the ingest path writes no item per reading
    ddb_writes_per_device_day: float = 50.0   # device state, alerts, defender (assumption)
    ddb_gb: float = 1.0
    lambda_memory_gb: float = 0.5
    lambda_ms_per_message: float = 20.0       # codec validation + one SQS send (assumption)
    devices_per_agent_task: int = 200         # agents task: 1 vCPU / 2 GB (assumption)
    endpoint_instances: int = 1               # SageMaker real-time endpoint (0: ECS serves)
    interface_endpoints: int = 11             # as in the template
    availability_zones: int = 2
    nat_gb_per_month: float = 20.0
    dataset_gb: float = 50.0                  # synthetic datasets and models in S3
    retention_months: int = 12                # raw archive kept this long (template: 365 days)
    months_in_operation: int = 36             # the month the estimate is for
    noncurrent_gb_per_month: float = 5.0      # overwritten manifests, models (versioned bucket)
    tmp_gb_per_month: float = 20.0            # staging under tmp/
    lifecycle: bool = True                    # S3 lifecycle rules of the template
    batch_vcpu_hours: float = 200.0           # dataset generation on Spot per month
    log_bytes_per_message: int = 250          # one EMF line per ingest invocation batch

    def __post_init__(self) -> None:
        require(isinstance(self.devices, int) and self.devices >= 1, "devices", "an integer >= 1", self.devices)
        require(self.mode in ("stream", "edge"), "mode", "'stream' or 'edge'", self.mode)
        require(self.retention_months >= 1, "retention_months", ">= 1", self.retention_months)
        require(self.months_in_operation >= 1, "months_in_operation", ">= 1", self.months_in_operation)


def _p(name: str) -> float:
    return PRICES[name].usd


def _units(size_bytes: int, increment_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / increment_bytes))


def monthly_messages(profile: FleetProfile) -> dict[str, float]:
    """Device messages per month for the whole fleet, by kind."""
    n = profile.devices
    out = {"scd41": n * SECONDS_PER_MONTH / profile.scd41_interval_s}
    if profile.mode == "stream":
        out["thermal"] = n * SECONDS_PER_MONTH * profile.thermal_rate_hz
    else:
        out["features"] = n * SECONDS_PER_MONTH / profile.feature_interval_s
    return out


def s3_costs(profile: FleetProfile) -> dict[str, float]:
    """S3 per month once the fleet has run ``months_in_operation`` months.

    With the template's lifecycle rules: raw readings (tiny objects, one per SCD41 reading)
    stay in Standard and expire after ``retention_months``; datasets (zarr chunks over
    128 KB) sit in Intelligent-Tiering, mostly in its infrequent tier; old versions expire
    after a year; temporary staging expires after 7 days. Without them everything stays
    in Standard for good. Moving tiny readings to Glacier would cost more than it saves
    (40 KB billed overhead per object, a transition fee per object), which is why the
    template does not; :func:`glacier_for_small_objects` shows by how much.
    """
    objects_per_month = monthly_messages(profile)["scd41"]
    gb_per_month = objects_per_month * profile.scd41_message_bytes / 1e9
    months = profile.months_in_operation
    put_usd = objects_per_month / 1000 * _p("s3_put")
    if profile.lifecycle:
        raw_gb = min(months, profile.retention_months) * gb_per_month
        dataset_usd = profile.dataset_gb * (0.2 * _p("s3_standard") + 0.8 * _p("s3_infrequent")) \
            + profile.dataset_gb * 1e3 / 1000 * _p("s3_it_monitoring")          # ~1 MB chunks monitored
        versions_gb = min(months, 12) * profile.noncurrent_gb_per_month
        tmp_gb = profile.tmp_gb_per_month * 7 / 30.4
    else:
        raw_gb = months * gb_per_month
        dataset_usd = profile.dataset_gb * _p("s3_standard")
        versions_gb = months * profile.noncurrent_gb_per_month
        tmp_gb = months * profile.tmp_gb_per_month
    return {"put": put_usd, "raw": raw_gb * _p("s3_standard"), "datasets": dataset_usd,
            "versions_and_tmp": (versions_gb + tmp_gb) * _p("s3_standard")}


def glacier_for_small_objects(profile: FleetProfile) -> dict[str, float]:
    """Monthly cost of keeping one month of raw readings in Standard vs moving them to
    Glacier Flexible Retrieval (per-object 32 KB Glacier + 8 KB Standard overhead, one
    transition request per object)."""
    objects = monthly_messages(profile)["scd41"]
    gb = objects * profile.scd41_message_bytes / 1e9
    standard = gb * _p("s3_standard")
    glacier = (gb + objects * 32e3 / 1e9) * _p("s3_glacier") + objects * 8e3 / 1e9 * _p("s3_standard")
    return {"standard_usd_per_month": round(standard, 2), "glacier_usd_per_month": round(glacier, 2),
            "one_time_transition_usd": round(objects / 1000 * _p("s3_transition_glacier"), 2)}


def estimate(profile: FleetProfile) -> dict[str, Any]:
    """Monthly cost in USD per service, with the quantities behind each figure."""
    n = profile.devices
    msgs = monthly_messages(profile)
    total_msgs = sum(msgs.values())
    sizes = {"scd41": profile.scd41_message_bytes, "thermal": profile.thermal_message_bytes,
             "features": profile.feature_message_bytes}
    billed_iot = sum(count * _units(sizes[k], 5_120) for k, count in msgs.items())
    shadow_ops = n * profile.shadow_updates_per_day * 30.4
    rules = total_msgs + msgs["scd41"]                    # ingest rule on every message, archive on SCD41
    actions = rules
    rows: dict[str, dict[str, Any]] = {}

    def row(service: str, usd: float, basis: str) -> None:
        rows[service] = {"usd": round(usd, 2), "basis": basis}

    row("IoT Core", n * HOURS_PER_MONTH * 60 / 1e6 * _p("iot_connectivity") + billed_iot / 1e6 * _p("iot_messaging")
        + shadow_ops / 1e6 * _p("iot_shadow") + rules / 1e6 * _p("iot_rules") + actions / 1e6 * _p("iot_actions"),
        f"{total_msgs / 1e6:,.1f} M messages ({billed_iot / 1e6:,.1f} M billed 5 KB units), "
        f"{rules / 1e6:,.1f} M rule runs")
    gb_s = total_msgs * profile.lambda_ms_per_message / 1000 * profile.lambda_memory_gb
    row("Lambda", total_msgs / 1e6 * _p("lambda_requests") + gb_s * _p("lambda_gb_s"),
        f"{total_msgs / 1e6:,.1f} M ingest invocations, {gb_s / 1e6:,.2f} M GB-s")
    sqs_requests = total_msgs * 3                         # send, receive, delete per forwarded reading
    row("SQS", sqs_requests / 1e6 * _p("sqs_requests"), f"{sqs_requests / 1e6:,.1f} M requests")
    alerts = n * profile.alerts_per_device_month
    row("SNS", alerts / 1e6 * _p("sns_publish") + alerts / 1e5 * _p("sns_email"), f"{alerts:,.0f} alerts")
    writes = n * profile.ddb_writes_per_device_day * 30.4 + total_msgs * profile.ddb_writes_per_message
    reads = writes * 2
    row("DynamoDB", writes / 1e6 * _p("ddb_write") + reads / 1e6 * _p("ddb_read")
        + profile.ddb_gb * (_p("ddb_storage") + _p("ddb_pitr")), f"{writes / 1e6:,.2f} M writes, PITR on")
    s3 = s3_costs(profile)
    row("S3", sum(s3.values()),
        f"{msgs['scd41'] / 1e6:,.1f} M archived readings/month, {profile.dataset_gb:g} GB datasets, "
        f"month {profile.months_in_operation} of operation, lifecycle {'on' if profile.lifecycle else 'off'}")
    tasks = max(1, math.ceil(n / profile.devices_per_agent_task))
    row("ECS Fargate", tasks * HOURS_PER_MONTH * (1 * _p("fargate_vcpu") + 2 * _p("fargate_gb")),
        f"{tasks} agents task(s) of 1 vCPU / 2 GB")
    row("SageMaker", profile.endpoint_instances * HOURS_PER_MONTH * _p("sagemaker_m5_large"),
        f"{profile.endpoint_instances} x ml.m5.large endpoint")
    row("VPC (NAT, endpoints)", HOURS_PER_MONTH * _p("nat_hour") + profile.nat_gb_per_month * _p("nat_gb")
        + profile.interface_endpoints * profile.availability_zones * HOURS_PER_MONTH * _p("endpoint_hour"),
        f"1 NAT gateway, {profile.interface_endpoints} interface endpoints x {profile.availability_zones} AZ")
    log_gb = total_msgs * profile.log_bytes_per_message / 1e9
    row("CloudWatch", 20 * _p("cw_metric") + 6 * _p("cw_alarm") + _p("cw_dashboard") + log_gb * _p("cw_logs_ingest"),
        f"20 custom metrics, 6 alarms, 1 dashboard, {log_gb:,.1f} GB logs")
    kms_requests = (sqs_requests + writes + msgs["scd41"]) / 300.0   # data keys reused (SQS 300 s, S3 bucket key)
    row("KMS", _p("kms_key") + kms_requests / 1e4 * _p("kms_requests"), "1 key with rotation")
    row("CloudTrail", 100_000 / 1e5 * _p("cloudtrail_data_events"), "management events (first trail free), model data events")
    row("Step Functions", 2 * 200 / 1000 * _p("sfn_transitions"), "2 pipeline runs/month")
    row("AWS Batch (Spot)", profile.batch_vcpu_hours * _p("batch_spot_vcpu_hour"),
        f"{profile.batch_vcpu_hours:g} vCPU-hours of generation")
    total = round(sum(r["usd"] for r in rows.values()), 2)
    return {"profile": asdict(profile), "services": rows, "total_usd": total,
            "per_device_usd": round(total / n, 3), "prices_recorded": PRICES_RECORDED}


def compare(devices: int, **overrides: Any) -> dict[str, Any]:
    """The fleet in stream and edge mode, with and without lifecycle rules, and the savings."""
    base = FleetProfile(devices=devices, **overrides)
    stream = estimate(replace(base, mode="stream"))
    edge = estimate(replace(base, mode="edge"))
    no_lifecycle = estimate(replace(base, mode="edge", lifecycle=False))
    return {"stream": stream, "edge": edge, "edge_without_lifecycle": no_lifecycle,
            "edge_saves_usd": round(stream["total_usd"] - edge["total_usd"], 2),
            "lifecycle_saves_usd": round(no_lifecycle["total_usd"] - edge["total_usd"], 2),
            "glacier_for_small_objects": glacier_for_small_objects(base),
            "prices": {k: {"usd": v.usd, "unit": v.unit, "source": v.source} for k, v in PRICES.items()}}


__all__ = ["PRICES", "PRICES_RECORDED", "FleetProfile", "compare", "estimate", "glacier_for_small_objects",
           "monthly_messages", "s3_costs"]
