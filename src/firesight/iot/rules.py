"""Rules engine: AWS IoT SQL over MQTT messages, with actions, defined as data.

A rule is ``{"name", "sql", "actions", "enabled"}``; its SQL is the AWS IoT SQL subset

``SELECT <* | expr [AS name], ...> FROM '<topic filter>' [WHERE <condition>]``

with nested JSON fields (``a.b.c``, ``a[0]``), arithmetic (``+ - * / %``), comparisons
(``= <> != < <= > >=``), ``AND`` / ``OR`` / ``NOT``, string / number / boolean literals, and
the functions ``topic(n)``, ``timestamp()``, ``clientid()``, ``abs``, ``floor``, ``ceil``,
``round``, ``lower``, ``upper``, ``concat``, ``isUndefined``. A missing field is
*Undefined*: comparisons with it are false and it is left out of the selected object.

Actions run when a message matches (topic filter and WHERE):

- ``{"republish": {"topic": "firesight/v1/${topic(3)}/alerts", "qos": 0}}``
- ``{"object_store": {"key": "raw/${topic(3)}/${topic(4)}/${timestamp()}.json"}}``
- ``{"queue": {"queue": "readings"}}`` (the :class:`~firesight.ports.MessageQueue` port)
- ``{"handler": {"name": "monitoring"}}`` (a registered Python callable)

``${...}`` templates hold any expression. :func:`to_aws_topic_rule` emits the same rule as an
AWS IoT ``TopicRulePayload``.

References
----------
1. AWS IoT Core Developer Guide, "AWS IoT SQL reference" (SELECT, FROM, WHERE, data types,
   operators, functions, "Substitution templates") and "Rules for AWS IoT" (actions).
2. AWS IoT API Reference, ``CreateTopicRule`` / ``TopicRulePayload``.
"""

from __future__ import annotations

import json
import math
import operator
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paho.mqtt.client import topic_matches_sub

from firesight.errors import DataError, InvalidParameterError, NotFoundError, require
from firesight.ports import MessageQueue, ObjectStore

Message = tuple[str, bytes]
_RULE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
ACTION_TYPES = ("republish", "object_store", "queue", "handler")


class RuleSyntaxError(InvalidParameterError):
    """The SQL of a rule does not parse; the message says where."""

    def __init__(self, sql: str, pos: int, expected: str):
        super().__init__("sql", f"{expected} at character {pos}", sql)


class _Undefined:
    """AWS IoT SQL's Undefined: the value of a missing field."""

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED: Any = _Undefined()

# -- tokenizer ------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|=|<|>|\+|-|\*|/|%|\(|\)|,|\.|\[|\])
""", re.VERBOSE)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "TRUE", "FALSE", "NULL"}


def _tokenize(sql: str) -> list[tuple[str, Any, int]]:
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match:
            raise RuleSyntaxError(sql, pos, "a token")
        kind, text = match.lastgroup, match.group()
        if kind == "number":
            tokens.append(("num", float(text) if any(c in text for c in ".eE") else int(text), pos))
        elif kind == "string":
            tokens.append(("str", text[1:-1].replace("''", "'"), pos))
        elif kind == "quoted":
            tokens.append(("ident", text[1:-1].replace('""', '"'), pos))
        elif kind == "ident":
            upper = text.upper()
            tokens.append(("kw", upper, pos) if upper in _KEYWORDS else ("ident", text, pos))
        elif kind == "op":
            tokens.append(("op", text, pos))
        pos = match.end()
    tokens.append(("end", None, len(sql)))
    return tokens


# -- syntax tree: tuples ("lit", v) ("field", name) ("get", base, name) ("index", base, i)
# ("call", fname, args) ("neg", e) ("not", e) ("bin", op, a, b) ("and", a, b) ("or", a, b)
class _Parser:
    def __init__(self, sql: str):
        self.sql, self.tokens, self.i = sql, _tokenize(sql), 0

    def peek(self, kind: str, value: Any = None) -> bool:
        tok = self.tokens[self.i]
        return tok[0] == kind and (value is None or tok[1] == value)

    def take(self, kind: str, value: Any = None, expected: str | None = None) -> Any:
        if not self.peek(kind, value):
            raise RuleSyntaxError(self.sql, self.tokens[self.i][2], expected or repr(value or kind))
        tok = self.tokens[self.i]
        self.i += 1
        return tok[1]

    def accept(self, kind: str, value: Any = None) -> bool:
        if self.peek(kind, value):
            self.i += 1
            return True
        return False

    def statement(self) -> tuple[list, str, Any]:
        self.take("kw", "SELECT", "SELECT")
        select = [self.select_item()]
        while self.accept("op", ","):
            select.append(self.select_item())
        self.take("kw", "FROM", "FROM")
        topic = self.take("str", expected="a quoted topic filter after FROM")
        where = None
        if self.accept("kw", "WHERE"):
            where = self.expr()
        self.take("end", expected="end of statement")
        return select, topic, where

    def select_item(self) -> tuple[Any, str | None]:
        if self.accept("op", "*"):
            return ("star",), None
        node = self.expr()
        alias = None
        if self.accept("kw", "AS"):
            alias = self.take("ident", expected="a name after AS")
        return node, alias

    def expr(self) -> Any:
        node = self.conjunction()
        while self.accept("kw", "OR"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.negation()
        while self.accept("kw", "AND"):
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Any:
        if self.accept("kw", "NOT"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        node = self.additive()
        for op in ("=", "<>", "!=", "<=", ">=", "<", ">"):
            if self.accept("op", op):
                return ("bin", "<>" if op == "!=" else op, node, self.additive())
        return node

    def additive(self) -> Any:
        return self._left_assoc(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Any:
        return self._left_assoc(("*", "/", "%"), self.unary)

    def _left_assoc(self, ops: tuple[str, ...], operand: Callable[[], Any]) -> Any:
        node = operand()
        while any(self.peek("op", op) for op in ops):
            node = ("bin", self.take("op"), node, operand())
        return node

    def unary(self) -> Any:
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        node = self.primary()
        while True:
            if self.accept("op", "."):
                node = ("get", node, self.take("ident", expected="a field name after '.'"))
            elif self.accept("op", "["):
                node = ("index", node, self.expr())
                self.take("op", "]", "']'")
            else:
                return node

    def primary(self) -> Any:
        tok_kind, value, pos = self.tokens[self.i]
        if tok_kind in ("num", "str"):
            self.i += 1
            return ("lit", value)
        if tok_kind == "kw" and value in ("TRUE", "FALSE", "NULL"):
            self.i += 1
            return ("lit", {"TRUE": True, "FALSE": False, "NULL": None}[value])
        if self.accept("op", "("):
            node = self.expr()
            self.take("op", ")", "')'")
            return node
        if tok_kind == "ident":
            self.i += 1
            if self.accept("op", "("):
                if value.lower() not in _FUNCTIONS:
                    raise RuleSyntaxError(self.sql, pos, f"a known function ({', '.join(sorted(_FUNCTIONS))})")
                args = []
                if not self.peek("op", ")"):
                    args.append(self.expr())
                    while self.accept("op", ","):
                        args.append(self.expr())
                self.take("op", ")", "')'")
                return ("call", value.lower(), args)
            return ("field", value)
        raise RuleSyntaxError(self.sql, pos, "a value, field, function or '('")


# -- evaluation --------------------------------------------------------------------------------------
@dataclass
class MessageContext:
    """What functions see besides the payload: the topic, client id and arrival time."""

    topic: str
    client_id: str = ""
    timestamp_ms: int = 0


def _num(value: Any) -> Any:
    if isinstance(value, bool):
        return UNDEFINED
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):  # AWS IoT SQL converts numeric strings for arithmetic
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return UNDEFINED
    return UNDEFINED


def _topic_fn(ctx: MessageContext, *args: Any) -> Any:
    if not args:
        return ctx.topic
    n = args[0]
    if isinstance(n, bool) or not isinstance(n, int):
        return UNDEFINED
    parts = ctx.topic.split("/")
    return parts[n - 1] if 1 <= n <= len(parts) else UNDEFINED


def _rounding(fn: Callable[[float], Any]) -> Callable[..., Any]:
    def apply(ctx: MessageContext, x: Any) -> Any:
        x = _num(x)
        return UNDEFINED if x is UNDEFINED else fn(x)
    return apply


def _string_fn(fn: Callable[[str], str]) -> Callable[..., Any]:
    return lambda ctx, s: fn(s) if isinstance(s, str) else UNDEFINED


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "topic": _topic_fn,
    "timestamp": lambda ctx: ctx.timestamp_ms,
    "clientid": lambda ctx: ctx.client_id or UNDEFINED,
    "abs": _rounding(abs),
    "floor": _rounding(math.floor),
    "ceil": _rounding(math.ceil),
    "round": _rounding(lambda x: int(math.floor(x + 0.5))),
    "lower": _string_fn(str.lower),
    "upper": _string_fn(str.upper),
    "concat": lambda ctx, *a: (UNDEFINED if any(x is UNDEFINED for x in a)
                               else "".join(x if isinstance(x, str) else json.dumps(x) for x in a)),
    "isundefined": lambda ctx, x: x is UNDEFINED,
}


def _compare(op: str, a: Any, b: Any) -> Any:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    if op in ("=", "<>"):
        same_kind = (isinstance(a, bool) == isinstance(b, bool))
        equal = same_kind and a == b
        return equal if op == "=" else not equal
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    if not (numeric or (isinstance(a, str) and isinstance(b, str))):
        return UNDEFINED
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": math.fmod}


def _arith(op: str, a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    if a is UNDEFINED or b is UNDEFINED or (op in ("/", "%") and b == 0):
        return UNDEFINED
    return _ARITHMETIC[op](a, b)


def evaluate(node: Any, doc: Any, ctx: MessageContext) -> Any:
    """Value of an expression tree over a payload ``doc`` (may return :data:`UNDEFINED`)."""
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        return doc.get(node[1], UNDEFINED) if isinstance(doc, dict) else UNDEFINED
    if kind == "get":
        base = evaluate(node[1], doc, ctx)
        return base.get(node[2], UNDEFINED) if isinstance(base, dict) else UNDEFINED
    if kind == "index":
        base, idx = evaluate(node[1], doc, ctx), evaluate(node[2], doc, ctx)
        if isinstance(base, list) and isinstance(idx, int) and not isinstance(idx, bool) \
                and -len(base) <= idx < len(base):
            return base[idx]
        return UNDEFINED
    if kind == "call":
        args = [evaluate(a, doc, ctx) for a in node[2]]
        try:
            return _FUNCTIONS[node[1]](ctx, *args)
        except TypeError:  # wrong number of arguments
            return UNDEFINED
    if kind == "neg":
        value = _num(evaluate(node[1], doc, ctx))
        return UNDEFINED if value is UNDEFINED else -value
    if kind == "not":
        value = evaluate(node[1], doc, ctx)
        return (not value) if isinstance(value, bool) else UNDEFINED
    if kind in ("and", "or"):
        a, b = evaluate(node[1], doc, ctx), evaluate(node[2], doc, ctx)
        if kind == "and":
            return a is True and b is True
        return a is True or b is True
    if kind == "bin":
        a, b = evaluate(node[2], doc, ctx), evaluate(node[3], doc, ctx)
        if node[1] in ("=", "<>", "<", "<=", ">", ">="):
            return _compare(node[1], a, b)
        return _arith(node[1], a, b)
    raise DataError(f"unknown expression node {kind!r}")


@dataclass(frozen=True)
class Query:
    """A parsed AWS IoT SQL statement."""

    sql: str
    select: tuple
    topic_filter: str
    where: Any

    def matches(self, topic: str) -> bool:
        return topic_matches_sub(self.topic_filter, topic)

    def apply(self, doc: Any, ctx: MessageContext) -> dict[str, Any] | None:
        """The selected object, or ``None`` when WHERE is not true."""
        if self.where is not None and evaluate(self.where, doc, ctx) is not True:
            return None
        out: dict[str, Any] = {}
        for n, (node, alias) in enumerate(self.select, start=1):
            if node[0] == "star":
                if isinstance(doc, dict):
                    out.update(doc)
                continue
            value = evaluate(node, doc, ctx)
            if value is not UNDEFINED:
                out[alias or _default_name(node, n)] = value
        return out


def _default_name(node: Any, n: int) -> str:
    if node[0] == "field":
        return node[1]
    if node[0] == "get":
        return node[2]
    if node[0] == "call":
        return node[1]
    return f"_{n}"


def parse_sql(sql: str) -> Query:
    """Parse an AWS IoT SQL statement; raise :class:`RuleSyntaxError` saying where it fails."""
    require(isinstance(sql, str) and sql.strip() != "", "sql", "a SELECT statement", sql)
    select, topic, where = _Parser(sql).statement()
    _check_topic_filter(topic)
    return Query(sql, tuple(select), topic, where)


def _check_topic_filter(topic_filter: str) -> None:
    levels = topic_filter.split("/")
    ok = topic_filter != "" and all(
        lvl in ("+", "#") or ("+" not in lvl and "#" not in lvl) for lvl in levels
    ) and "#" not in levels[:-1]
    if not ok:
        raise InvalidParameterError("FROM", "an MQTT topic filter ('+' or '#' as whole levels, '#' last)",
                                    topic_filter)


_TEMPLATE = re.compile(r"\$\{([^}]*)\}")


def render_template(template: str, doc: Any, ctx: MessageContext) -> str:
    """Substitute every ``${expr}`` with the expression's value (empty if Undefined)."""
    def one(match: re.Match) -> str:
        node = _Parser(match.group(1)).expr()
        value = evaluate(node, doc, ctx)
        if value is UNDEFINED or value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)
    return _TEMPLATE.sub(one, template)


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


def load_rules(source: str | Path | Iterable[Mapping[str, Any]]) -> list[TopicRule]:
    """Rules from a JSON or YAML file (a list, or ``{"rules": [...]}``) or from dicts.

    Names must be unique.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise NotFoundError(f"no rules file {str(path)!r}")
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise DataError(f"rules file {str(path)!r} is not valid JSON: {exc}") from exc
        if isinstance(data, Mapping):
            data = data.get("rules")
        require(isinstance(data, list), "rules file", "a list of rules or {rules: [...]}", type(data).__name__)
        source = data
    rules = [r if isinstance(r, TopicRule) else TopicRule.from_dict(r) for r in source]
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    require(not dupes, "rules", "unique names", dupes)
    return rules


# -- engine -----------------------------------------------------------------------------------------------
class RulesEngine:
    """Runs rules on messages: ``process(topic, payload)`` executes the side-effect actions
    and returns the messages to republish.

    Parameters
    ----------
    rules : iterable of TopicRule
    object_store, queue : ports used by ``object_store`` and ``queue`` actions.
    handlers : mapping of name to ``callable(message: dict, ctx: MessageContext)``; a name of
        the form ``package.module:function`` not in the mapping is imported on first use.
    clock : callable returning the time [s since the epoch], for ``timestamp()``.

    Non-JSON payloads match no rule (AWS runs only ``SELECT *`` binary rules on them) and
    are counted as ``payload_not_json``; a failing action runs the rule's ``error_action``
    (AWS's errorAction) and is counted under ``errors``.
    """

    def __init__(self, rules: Iterable[TopicRule], *, object_store: ObjectStore | None = None,
                 queue: MessageQueue | None = None,
                 handlers: Mapping[str, Callable[[dict, MessageContext], Any]] | None = None,
                 clock: Callable[[], float] = time.time):
        self.rules = [r for r in rules]
        self.object_store, self.queue = object_store, queue
        self.handlers = dict(handlers or {})
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        for rule in self.rules:
            for action in rule.actions:
                kind = next(iter(action))
                if kind == "object_store" and object_store is None:
                    raise InvalidParameterError("object_store", f"a store (rule {rule.name} writes objects)", None)
                if kind == "queue" and queue is None:
                    raise InvalidParameterError("queue", f"a message queue (rule {rule.name} enqueues)", None)

    def topic_filters(self) -> list[str]:
        """The distinct FROM filters of the enabled rules."""
        return sorted({r.query.topic_filter for r in self.rules if r.enabled})

    def process(self, topic: str, payload: bytes, client_id: str = "") -> list[Message]:
        """Run every enabled rule whose filter matches ``topic``; return republished messages."""
        rules = [r for r in self.rules if r.enabled and r.query.matches(topic)]
        if not rules:
            return []
        try:
            doc = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            self.counts["payload_not_json"] += 1
            return []
        ctx = MessageContext(topic, client_id, int(self._clock() * 1000))
        out: list[Message] = []
        for rule in rules:
            selected = rule.query.apply(doc, ctx)
            if selected is None:
                continue
            self.counts[f"matched:{rule.name}"] += 1
            for action in rule.actions:
                try:
                    out.extend(self._run(action, selected, doc, ctx))
                except Exception as exc:  # an action's failure must not stop the others
                    self.counts["errors"] += 1
                    self.counts[f"errors:{rule.name}"] += 1
                    if rule.error_action:
                        failure = {"ruleName": rule.name, "topic": topic, "clientId": client_id,
                                   "failures": [{"failedAction": next(iter(action)),
                                                 "errorMessage": str(exc)}],
                                   "payload": selected}
                        try:
                            out.extend(self._run(rule.error_action, failure, failure, ctx))
                        except Exception:
                            self.counts["error_action_failures"] += 1
        return out

    def _run(self, action: Mapping[str, Any], selected: dict, doc: Any, ctx: MessageContext) -> list[Message]:
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
            self.counts["objects_written"] += 1
            return []
        if kind == "queue":
            self.queue.send(render_template(spec["queue"], doc, ctx), body,
                            attributes={"topic": ctx.topic, "rule_timestamp_ms": str(ctx.timestamp_ms)})
            self.counts["queued"] += 1
            return []
        handler = self._handler(spec["name"])
        result = handler(selected, ctx)
        self.counts["handled"] += 1
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


class RulesService:
    """Runs a :class:`RulesEngine` on a broker: subscribes to the rules' filters and
    publishes what republish actions produce. ``client`` as for
    :class:`firesight.iot.shadow.ShadowService`."""

    def __init__(self, engine: RulesEngine, client: Any, *, qos: int = 0):
        self.engine, self.client, self.qos = engine, client, qos

    def start(self) -> "RulesService":
        for topic_filter in self.engine.topic_filters():
            self.client.subscribe(topic_filter, self._on_message, qos=self.qos)
        return self

    def _on_message(self, topic: str, payload: bytes) -> None:
        for out_topic, out_payload in self.engine.process(topic, payload):
            self.client.publish(out_topic, out_payload, qos=self.qos)


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
