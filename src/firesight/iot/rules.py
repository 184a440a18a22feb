"""Rules engine: AWS IoT SQL over MQTT messages, with actions, defined as data.

A rule is ``{"name", "sql", "actions", "enabled"}``. The parts live in one module each:

- :mod:`firesight.iot.rules_sql`: the SQL parser and evaluator (``parse_sql``, ``Query``,
  ``evaluate``, ``render_template``, ``MessageContext``, ``UNDEFINED``);
- :mod:`firesight.iot.rules_actions`: rules as data and their actions (``TopicRule``,
  ``load_rules``, ``save_rules``, ``stored_rules``, ``ActionRunner``,
  ``to_aws_topic_rule``);
- :mod:`firesight.iot.rules_engine`: ``RulesEngine``, which runs the rules on a message;
- this module: :class:`RulesService`, which runs an engine on a broker, and the names
  above, re-exported so ``from firesight.iot.rules import ...`` keeps working.

References
----------
1. AWS IoT Core Developer Guide, "AWS IoT SQL reference" and "Rules for AWS IoT".
2. AWS IoT API Reference, ``CreateTopicRule`` / ``TopicRulePayload``.
"""

from __future__ import annotations

import logging
from typing import Any

from firesight.iot.rules_actions import (
    ACTION_TYPES,
    ActionRunner,
    Message,
    TopicRule,
    load_rules,
    save_rules,
    stored_rules,
    to_aws_topic_rule,
)
from firesight.iot.rules_engine import RulesEngine
from firesight.iot.rules_sql import (
    UNDEFINED,
    MessageContext,
    Query,
    RuleSyntaxError,
    evaluate,
    parse_sql,
    render_template,
)
from firesight.iot.worker import ServiceWorker, publish_with_backpressure, unsubscribe_and_drain

__all__ = ["ACTION_TYPES", "UNDEFINED", "ActionRunner", "Message", "MessageContext", "Query", "RuleSyntaxError",
           "RulesEngine", "RulesService", "TopicRule", "evaluate", "load_rules", "parse_sql", "render_template",
           "save_rules", "stored_rules", "to_aws_topic_rule"]

log = logging.getLogger(__name__)


class RulesService:
    """Runs a :class:`RulesEngine` on a broker: subscribes to the rules' filters and
    publishes what republish actions produce.

    The MQTT network thread only queues each message (bounded: ``max_queue`` messages, then
    new ones are shed and counted); a supervised worker thread runs the engine, whose
    actions do the blocking I/O (object store, SQLite queue), and publishes.

    Parameters
    ----------
    engine : RulesEngine
    client : MQTT client with ``subscribe(topic_filter, callback, qos=...)`` calling
        ``callback(topic, payload)``, ``unsubscribe(topic_filter)`` and
        ``publish(topic, payload, qos=...)`` (:class:`firesight.iot.client.ServiceClient`).
    qos : int
        Subscription and republish QoS.
    max_queue : int
        Messages held between the network thread and the worker [-].
    """

    def __init__(self, engine: RulesEngine, client: Any, *, qos: int = 0, max_queue: int = 10_000):
        self.engine, self.client, self.qos = engine, client, qos
        self.worker = ServiceWorker("firesight-rules", self._handle, max_queue=max_queue)
        self._filters: list[str] = []

    def start(self) -> "RulesService":
        self.worker.start()
        for topic_filter in self.engine.topic_filters():
            self.client.subscribe(topic_filter, self._on_message, qos=self.qos)
            self._filters.append(topic_filter)
        return self

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Staged stop: unsubscribe (stop accepting), let the worker finish the queued
        messages for up to ``drain_timeout_s`` [s], end it. The client stays open (its
        owner closes it)."""
        unsubscribe_and_drain(self.client, self._filters, self.worker, drain_timeout_s)

    def stats(self) -> dict[str, Any]:
        """The worker's queue and counters, and the engine's counts."""
        return {"worker": self.worker.stats(), "engine": self.engine.counts_snapshot()}

    def _on_message(self, topic: str, payload: bytes) -> None:
        self.worker.submit((topic, payload))

    def _handle(self, item: tuple[str, bytes]) -> None:
        topic, payload = item
        for out_topic, out_payload in self.engine.process(topic, payload):
            publish_with_backpressure(self.client, out_topic, out_payload, qos=self.qos)
