"""AWS Lambda entry points around firesight's own code.

- :func:`response_handler`: SQS event source on the ``alert-events`` queue; every record
  is an :class:`~firesight.agents.events.AlertEvent` applied by the same
  :class:`~firesight.agents.response.ResponseAgent` that runs in-process locally (alert
  store on DynamoDB, notifications through SNS). Failed records are reported as
  ``batchItemFailures`` so SQS retries only those and its redrive policy dead-letters them.
- :func:`ingest_handler`: target of the IoT topic rule on device topics (the rule adds
  ``topic``); validates each reading with the same codec as the ingest gateway, forwards
  accepted readings to the ``readings`` queue and counts rejections by reason as CloudWatch
  embedded-metric-format log lines. The stateful monitoring agent (windows, presence,
  device health) runs on ECS, where it keeps its per-device state between messages.

Configuration comes from ``FIRESIGHT_*`` environment variables set by the template
(:func:`firesight.config.load_config`), read on the first invocation, never at import.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any

from firesight.adapters.aws.cloudwatch import Metric, embedded_metric_format
from firesight.errors import DataError

log = logging.getLogger("firesight.lambda")
_lock = threading.Lock()
_cached: dict[str, Any] = {}


def _response_agent() -> Any:
    with _lock:
        if "response" not in _cached:
            from firesight import bootstrap
            from firesight.agents.response import ResponseAgent
            from firesight.agents.response_policy import default_policy

            cfg = bootstrap.load_config()
            channels = {"sns": bootstrap.sns_notifier(cfg)}
            policy = default_policy(channels)
            _cached["response"] = ResponseAgent(bootstrap.message_queue(cfg), bootstrap.alert_store(cfg),
                                                channels, policy, worker_id="lambda-response")
        return _cached["response"]


def response_handler(event: dict[str, Any], context: Any = None, *, agent: Any = None) -> dict[str, Any]:
    """Apply each SQS record's alert event and send its notifications (the agent's
    ``handle_event``); return the SQS partial-batch response."""
    from firesight.agents.events import AlertEvent

    agent = agent or _response_agent()
    failures, applied, malformed = [], 0, 0
    for record in event.get("Records", []):
        message_id = record.get("messageId", "")
        try:
            agent.handle_event(AlertEvent.from_json(record.get("body", "")))
            applied += 1
        except DataError as exc:  # malformed: retrying cannot help; let the DLQ keep it
            malformed += 1
            log.warning("malformed alert event %s: %s", message_id, exc)
            failures.append({"itemIdentifier": message_id})
        except Exception as exc:  # noqa: BLE001 - report the record, keep the batch going
            log.exception("alert event %s failed: %s", message_id, exc)
            failures.append({"itemIdentifier": message_id})
    print(embedded_metric_format("Firesight", [Metric("AlertEventsApplied", applied),
                                               Metric("AlertEventsMalformed", malformed),
                                               Metric("AlertEventsFailed", len(failures) - malformed)],
                                 timestamp_ms=int(time.time() * 1000)))
    return {"batchItemFailures": failures}


def ingest_handler(event: dict[str, Any], context: Any = None, *, queue: Any = None,
                   readings_queue: str = "readings") -> dict[str, Any]:
    """Validate one device message from the IoT rule (``SELECT *, topic() AS topic``, or a
    base64 ``payload`` for binary rules) and forward it; return the counts."""
    from firesight.iot.codec import decode

    if queue is None:
        with _lock:
            if "queue" not in _cached:
                from firesight import bootstrap

                _cached["queue"] = bootstrap.message_queue()
            queue = _cached["queue"]
    messages = event if isinstance(event, list) else [event]
    accepted, rejected = 0, {}
    for message in messages:
        try:
            if not isinstance(message, dict) or not isinstance(message.get("topic"), str):
                raise DataError("event lacks the 'topic' the IoT rule adds")
            topic = message["topic"]
            if "payload" in message and isinstance(message["payload"], str):
                body = base64.b64decode(message["payload"], validate=True)
            else:
                body = json.dumps({k: v for k, v in message.items() if k != "topic"},
                                  allow_nan=False).encode()
            decode(topic, body, now_ms=int(time.time() * 1000))
            queue.send(readings_queue, json.dumps({"topic": topic, "payload": body.decode("utf-8")}),
                       attributes={"topic": topic})
            accepted += 1
        except (DataError, ValueError) as exc:
            reason = getattr(exc, "reason_code", "") or type(exc).__name__
            rejected[reason] = rejected.get(reason, 0) + 1
    print(embedded_metric_format("Firesight", [Metric("IngestAccepted", accepted),
                                               Metric("IngestRejected", sum(rejected.values()))],
                                 timestamp_ms=int(time.time() * 1000)))
    return {"accepted": accepted, "rejected": rejected}


def workflow_task_handler(event: Any, context: Any, *, tasks: Any = None) -> Any:
    """One firesight workflow task, named by the Lambda alias Step Functions invoked
    (``...:function:firesight-dev-workflow-tasks:train`` runs ``train``); the event is the
    state's effective input and the return value its result, as in the local runner."""
    from firesight.workflows.tasks import RESOURCE_PREFIX

    arn = str(getattr(context, "invoked_function_arn", ""))
    parts = arn.split(":")
    if len(parts) != 8:
        raise DataError(f"workflow task handler needs a Lambda alias ARN (one alias per task), got {arn!r}")
    if tasks is None:
        with _lock:
            if "tasks" not in _cached:
                from firesight.workflows.tasks import default_tasks

                _cached["tasks"] = default_tasks()
            tasks = _cached["tasks"]
    task = tasks.get(RESOURCE_PREFIX + parts[7])
    if task is None:
        raise DataError(f"no firesight workflow task {parts[7]!r} (alias of {arn})")
    return task(event)
