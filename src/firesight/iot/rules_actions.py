"""Rules as data and their actions: :class:`TopicRule`, loading and storing rules, running
an action, and the same rules as AWS IoT ``TopicRulePayload`` documents.

Actions run when a message matches (topic filter and WHERE):

- ``{"republish": {"topic": "firesight/v1/${topic(3)}/alerts", "qos": 0}}``
- ``{"object_store": {"key": "raw/${topic(3)}/${topic(4)}/${timestamp()}.json"}}``
- ``{"queue": {"queue": "readings"}}`` (the :class:`~firesight.ports.MessageQueue` port)
- ``{"handler": {"name": "monitoring"}}`` (a registered Python callable)

``${...}`` templates hold any expression.

References
----------
1. AWS IoT Core Developer Guide, "Rules for AWS IoT" (actions, errorAction).
2. AWS IoT API Reference, ``CreateTopicRule`` / ``TopicRulePayload``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firesight.errors import DataError, InvalidParameterError, NotFoundError, require
from firesight.ports import MessageQueue, ObjectStore
from firesight.iot import strict_json
from firesight.iot.rules_sql import MessageContext, Query, parse_sql, render_template

Message = tuple[str, bytes]
#: Deepest nesting accepted in a JSON rules file [-].
MAX_RULE_FILE_DEPTH = 64

_RULE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
ACTION_TYPES = ("republish", "object_store", "queue", "handler")

# -- rules as data ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicRule:
    """A named rule: SQL, actions and whether it runs."""

    name: str
    sql: str
    actions: tuple[dict[str, Any], ...]
    enabled: bool = True
    description: str = ""
    error_action: dict[str, Any] | None = None
    query: Query = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _RULE_NAME.match(self.name):
            raise InvalidParameterError("name", "1..128 letters, digits or _ (AWS rule names)", self.name)
        object.__setattr__(self, "query", parse_sql(self.sql))
        require(len(self.actions) >= 1, f"rule {self.name}: actions", "at least one action", list(self.actions))
        for action in (*self.actions, *([self.error_action] if self.error_action else [])):
            _check_action(self.name, action)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TopicRule":
        require(isinstance(data, Mapping) and "name" in data and "sql" in data, "rule",
                "a mapping with name, sql and actions", data)
        unknown = set(data) - {"name", "sql", "actions", "enabled", "description", "error_action"}
        require(not unknown, f"rule {data.get('name')}", "only name, sql, actions, enabled, "
                "description, error_action", sorted(unknown))
        return cls(name=data["name"], sql=data["sql"], actions=tuple(data.get("actions") or ()),
                   enabled=bool(data.get("enabled", True)), description=str(data.get("description", "")),
                   error_action=data.get("error_action"))

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "sql": self.sql, "actions": list(self.actions), "enabled": self.enabled,
               "description": self.description}
        if self.error_action:
            out["error_action"] = self.error_action
        return out


def _check_action(rule: str, action: Any) -> None:
    if not (isinstance(action, Mapping) and len(action) == 1 and next(iter(action)) in ACTION_TYPES):
        raise InvalidParameterError(f"rule {rule}: action", f"a mapping with one of {ACTION_TYPES}", action)
    kind, spec = next(iter(action.items()))
    need = {"republish": "topic", "object_store": "key", "queue": "queue", "handler": "name"}[kind]
    require(isinstance(spec, Mapping) and isinstance(spec.get(need), str) and spec[need] != "",
            f"rule {rule}: {kind}", f"a mapping with a non-empty {need!r}", spec)


class ActionRunner:
    """Runs one action of a matched rule.

    Parameters
    ----------
    object_store, queue : ports used by ``object_store`` and ``queue`` actions.
    handlers : mapping of name to ``callable(message: dict, ctx: MessageContext)``; a name of
        the form ``package.module:function`` not in the mapping is imported on first use.
    count : callable
        ``count(key)`` adds one to the engine's counters.
    """

    def __init__(self, *, object_store: ObjectStore | None, queue: MessageQueue | None,
                 handlers: Mapping[str, Callable[[dict, MessageContext], Any]] | None,
                 count: Callable[[str], None]):
        self.object_store, self.queue = object_store, queue
        self.handlers = dict(handlers or {})
        self._count = count
        self._lock = threading.Lock()

    def run(self, action: Mapping[str, Any], selected: dict, doc: Any, ctx: MessageContext) -> list[Message]:
        """Execute ``action`` on the selected object; return messages to republish."""
        kind, spec = next(iter(action.items()))
        body = json.dumps(selected, separators=(",", ":"), allow_nan=False)
        if kind == "republish":
            topic = render_template(spec["topic"], doc, ctx)
            if not topic or "+" in topic or "#" in topic:
                raise DataError(f"republish topic {topic!r} from {spec['topic']!r} is empty or has wildcards")
            return [(topic, body.encode("utf-8"))]
        if kind == "object_store":
            key = render_template(spec["key"], doc, ctx)
            if not key or key.startswith("/") or ".." in key.split("/"):
                raise DataError(f"object key {key!r} from {spec['key']!r} is not a relative key")
            self.object_store.put_bytes(key, body.encode("utf-8"))
            self._count("objects_written")
            return []
        if kind == "queue":
            self.queue.send(render_template(spec["queue"], doc, ctx), body,
                            attributes={"topic": ctx.topic, "rule_timestamp_ms": str(ctx.timestamp_ms)})
            self._count("queued")
            return []
        handler = self._handler(spec["name"])
        result = handler(selected, ctx)
        self._count("handled")
        if isinstance(result, list):  # a handler may answer with messages to publish
            return [(t, p if isinstance(p, bytes) else json.dumps(p).encode("utf-8")) for t, p in result]
        return []

    def _handler(self, name: str) -> Callable[[dict, MessageContext], Any]:
        with self._lock:
            if name not in self.handlers:
                if ":" not in name:
                    raise NotFoundError(f"no handler named {name!r}; registered: {sorted(self.handlers)}")
                import importlib

                module, _, attr = name.partition(":")
                self.handlers[name] = getattr(importlib.import_module(module), attr)
            return self.handlers[name]


def load_rules(source: str | Path | Iterable[Mapping[str, Any]]) -> list[TopicRule]:
    """Rules from a JSON or YAML file (a list, or ``{"rules": [...]}``) or from dicts.

    Names must be unique.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise NotFoundError(f"no rules file {str(path)!r}")
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            raise DataError(f"rules file {str(path)!r} cannot be read as UTF-8 text: {exc}") from None
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, RecursionError) as exc:
                where = getattr(exc, "problem_mark", None)
                raise DataError(f"rules file {str(path)!r} is not valid YAML"
                                f"{f' (line {where.line + 1})' if where else ''}: "
                                f"{getattr(exc, 'problem', None) or type(exc).__name__}") from None
        else:
            try:
                data = strict_json.loads(text, max_depth=MAX_RULE_FILE_DEPTH)
            except strict_json.JsonRejected as exc:
                raise DataError(f"rules file {str(path)!r} is not valid JSON: {exc}") from None
        if isinstance(data, Mapping):
            data = data.get("rules")
        require(isinstance(data, list), "rules file", "a list of rules or {rules: [...]}", type(data).__name__)
        source = data
    rules = [r if isinstance(r, TopicRule) else TopicRule.from_dict(r) for r in source]
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    require(not dupes, "rules", "unique names", dupes)
    return rules


# -- AWS IoT topic rules -----------------------------------------------------------------------------------
def to_aws_topic_rule(rule: TopicRule, *, role_arn: str, bucket: str = "",
                      queue_urls: Mapping[str, str] | None = None,
                      function_arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The rule as an AWS IoT ``TopicRulePayload`` (``CreateTopicRule``'s body).

    ``object_store`` becomes an ``s3`` action on ``bucket``; ``queue`` an ``sqs`` action on
    ``queue_urls[name]``; ``handler`` a ``lambda`` action on ``function_arns[name]``;
    ``republish`` a ``republish`` action. Substitution templates carry over unchanged, since
    AWS IoT evaluates the same ``${...}`` expressions.
    """
    queue_urls, function_arns = dict(queue_urls or {}), dict(function_arns or {})

    def convert(action: Mapping[str, Any]) -> dict[str, Any]:
        kind, spec = next(iter(action.items()))
        if kind == "republish":
            return {"republish": {"topic": spec["topic"], "qos": int(spec.get("qos", 0)), "roleArn": role_arn}}
        if kind == "object_store":
            require(bucket != "", "bucket", "an S3 bucket name for object_store actions", bucket)
            return {"s3": {"bucketName": bucket, "key": spec["key"], "roleArn": role_arn}}
        if kind == "queue":
            if spec["queue"] not in queue_urls:
                raise NotFoundError(f"no SQS queue URL for queue {spec['queue']!r}")
            return {"sqs": {"queueUrl": queue_urls[spec["queue"]], "roleArn": role_arn, "useBase64": False}}
        if spec["name"] not in function_arns:
            raise NotFoundError(f"no Lambda function ARN for handler {spec['name']!r}")
        return {"lambda": {"functionArn": function_arns[spec["name"]]}}

    payload: dict[str, Any] = {"sql": rule.sql, "description": rule.description,
                               "ruleDisabled": not rule.enabled, "awsIotSqlVersion": "2016-03-23",
                               "actions": [convert(a) for a in rule.actions]}
    if rule.error_action:
        payload["errorAction"] = convert(rule.error_action)
    return payload


def save_rules(store: Any, rules: Iterable[TopicRule], *, table: str = "topic_rules") -> int:
    """Store rules in a :class:`~firesight.ports.MetadataStore` (``firesight rules deploy``);
    return how many. Rules of the same name are replaced."""
    n = 0
    for rule in rules:
        store.put(table, rule.to_dict(), key="name")
        n += 1
    return n


def stored_rules(store: Any, *, table: str = "topic_rules") -> list[TopicRule]:
    """The rules deployed to a metadata store."""
    return load_rules(store.query(table))
