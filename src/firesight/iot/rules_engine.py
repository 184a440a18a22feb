"""The rules engine: runs every enabled rule whose topic filter matches a message.

Each message is parsed once with :func:`firesight.iot.strict_json.loads`; a payload that
is not strict JSON (deep nesting, ``NaN`` / ``Infinity``, numbers past 64 bits, duplicate
keys, UTF-16/32, lone surrogates) matches no rule and is counted as
``payload_rejected:{reason}`` (``payload_not_json`` too, AWS's wording for "not run"). Each
rule then runs on its own: an exception while evaluating one rule is counted
(``rule_failures``, ``rule_failures:{rule}:{ExceptionType}``) and the remaining rules still
run; a failing action runs the rule's ``error_action`` (AWS's errorAction) and is counted
under ``errors``.

References
----------
1. AWS IoT Core Developer Guide, "Rules for AWS IoT", "Error action".
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from firesight.errors import InvalidParameterError
from firesight.iot import strict_json
from firesight.iot.rules_actions import ActionRunner, Message, TopicRule
from firesight.iot.rules_sql import MessageContext
from firesight.ports import MessageQueue, ObjectStore

log = logging.getLogger(__name__)

#: Deepest JSON nesting of a message the engine evaluates [-].
MAX_MESSAGE_DEPTH = 32


class RulesEngine:
    """Runs rules on messages: ``process(topic, payload)`` executes the side-effect actions
    and returns the messages to republish; thread-safe counters in :attr:`counts`.

    Parameters
    ----------
    rules : iterable of TopicRule
    object_store, queue : ports used by ``object_store`` and ``queue`` actions.
    handlers : mapping of name to ``callable(message: dict, ctx: MessageContext)``; a name of
        the form ``package.module:function`` not in the mapping is imported on first use.
    clock : callable returning the time [s since the epoch], for ``timestamp()``.
    """

    def __init__(self, rules: Iterable[TopicRule], *, object_store: ObjectStore | None = None,
                 queue: MessageQueue | None = None,
                 handlers: Mapping[str, Callable[[dict, MessageContext], Any]] | None = None,
                 clock: Callable[[], float] = time.time):
        self.rules = [r for r in rules]
        self.object_store, self.queue = object_store, queue
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.actions = ActionRunner(object_store=object_store, queue=queue, handlers=handlers, count=self._count)
        for rule in self.rules:
            for action in rule.actions:
                kind = next(iter(action))
                if kind == "object_store" and object_store is None:
                    raise InvalidParameterError("object_store", f"a store (rule {rule.name} writes objects)", None)
                if kind == "queue" and queue is None:
                    raise InvalidParameterError("queue", f"a message queue (rule {rule.name} enqueues)", None)

    @property
    def handlers(self) -> dict[str, Callable[[dict, MessageContext], Any]]:
        return self.actions.handlers

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def counts_snapshot(self) -> dict[str, int]:
        """A copy of :attr:`counts`, safe while messages are being processed."""
        with self._lock:
            return dict(self.counts)

    def topic_filters(self) -> list[str]:
        """The distinct FROM filters of the enabled rules."""
        return sorted({r.query.topic_filter for r in self.rules if r.enabled})

    def process(self, topic: str, payload: bytes, client_id: str = "") -> list[Message]:
        """Run every enabled rule whose filter matches ``topic``; return republished messages."""
        rules = [r for r in self.rules if r.enabled and r.query.matches(topic)]
        if not rules:
            return []
        try:
            doc = strict_json.loads(payload, max_depth=MAX_MESSAGE_DEPTH)
        except strict_json.JsonRejected as exc:
            self._count("payload_not_json")
            self._count(f"payload_rejected:{exc.reason}")
            return []
        ctx = MessageContext(topic, client_id, int(self._clock() * 1000))
        out: list[Message] = []
        for rule in rules:
            try:
                out.extend(self._run_rule(rule, topic, client_id, doc, ctx))
            except Exception as exc:  # one rule's failure must not skip the others
                self._count("rule_failures")
                self._count(f"rule_failures:{rule.name}:{type(exc).__name__}")
                log.warning("rule %s failed on %s: %s", rule.name, topic, exc)
        return out

    def _run_rule(self, rule: TopicRule, topic: str, client_id: str, doc: Any,
                  ctx: MessageContext) -> list[Message]:
        selected = rule.query.apply(doc, ctx)
        if selected is None:
            return []
        self._count(f"matched:{rule.name}")
        out: list[Message] = []
        for action in rule.actions:
            try:
                out.extend(self.actions.run(action, selected, doc, ctx))
            except Exception as exc:  # an action's failure must not stop the others
                self._count("errors")
                self._count(f"errors:{rule.name}")
                if rule.error_action:
                    failure = {"ruleName": rule.name, "topic": topic, "clientId": client_id,
                               "failures": [{"failedAction": next(iter(action)), "errorMessage": str(exc)}],
                               "payload": _jsonable(selected)}
                    try:
                        out.extend(self.actions.run(rule.error_action, failure, failure, ctx))
                    except Exception:
                        self._count("error_action_failures")
        return out


def _jsonable(selected: dict[str, Any]) -> Any:
    """The selected object, or its ``repr`` when it holds values JSON cannot carry (the
    error action must still be able to report the failure)."""
    try:
        strict_json.dumps(selected)
    except (TypeError, ValueError):
        return repr(selected)[:1024]
    return selected
