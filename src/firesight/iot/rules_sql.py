"""AWS IoT SQL: the parser and evaluator of a rule's ``SELECT ... FROM ... WHERE``.

The subset is ``SELECT <* | expr [AS name], ...> FROM '<topic filter>' [WHERE <condition>]``
with nested JSON fields (``a.b.c``, ``a[0]``), arithmetic (``+ - * / %``), comparisons
(``= <> != < <= > >=``), ``AND`` / ``OR`` / ``NOT``, string / number / boolean literals, and
the functions ``topic(n)``, ``timestamp()``, ``clientid()``, ``abs``, ``floor``, ``ceil``,
``round``, ``lower``, ``upper``, ``concat``, ``isUndefined``. A missing field is
*Undefined*: comparisons with it are false and it is left out of the selected object. A
function given an argument it cannot take (``round`` of an infinity or NaN, a number past
what a float holds) returns Undefined too, as AWS IoT's functions do.

References
----------
1. AWS IoT Core Developer Guide, "AWS IoT SQL reference" (SELECT, FROM, WHERE, data types,
   operators, functions, "Substitution templates").
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import topic_matches_sub

from firesight.errors import DataError, InvalidParameterError, require

class RuleSyntaxError(InvalidParameterError):
    """The SQL of a rule does not parse; the message says where."""

    def __init__(self, sql: str, pos: int, expected: str):
        shown = sql if len(sql) <= 120 else f"...{sql[max(0, pos - 40):pos + 40]}..."
        super().__init__("sql", f"{expected} at character {pos}", shown)


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
#: Longest SQL statement AWS IoT accepts in a rule [characters].
MAX_SQL_CHARS = 256 * 1024
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
    if isinstance(value, str) and len(value) <= 64:  # AWS IoT SQL converts numeric strings
        try:
            number = float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            return UNDEFINED
        return number if math.isfinite(number) else UNDEFINED
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
        if x is UNDEFINED or (isinstance(x, float) and not math.isfinite(x)):
            return UNDEFINED  # round(Infinity) raised OverflowError and stopped the message
        try:
            return fn(x)
        except (OverflowError, ValueError):
            return UNDEFINED
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


#: Integers at or beyond this magnitude have no float equivalent (2**1024 overflows) [-].
_MAX_EXACT_INT = 2**1023
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": math.fmod}


def _arith(op: str, a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    if a is UNDEFINED or b is UNDEFINED or (op in ("/", "%") and b == 0):
        return UNDEFINED
    try:
        value = _ARITHMETIC[op](a, b)
    except (OverflowError, ValueError, ZeroDivisionError):  # e.g. 10**400 / 3.0, fmod(inf, 2)
        return UNDEFINED
    if isinstance(value, float) and not math.isfinite(value):
        return UNDEFINED
    if isinstance(value, int) and abs(value) >= _MAX_EXACT_INT:
        return UNDEFINED  # past 2**1023 no float holds it; AWS IoT numbers are doubles
    return value


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
    require(len(sql) <= MAX_SQL_CHARS, "sql", f"at most {MAX_SQL_CHARS} characters (AWS IoT's limit)",
            f"{len(sql)} characters")
    try:
        select, topic, where = _Parser(sql).statement()
    except RecursionError:
        raise InvalidParameterError("sql", "expressions nested less deeply", f"{sql[:40]}...") from None
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
        try:
            node = _Parser(match.group(1)).expr()
        except RecursionError:
            raise InvalidParameterError("template", "expressions nested less deeply", template[:40]) from None
        value = evaluate(node, doc, ctx)
        if value is UNDEFINED or value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)
    return _TEMPLATE.sub(one, template)
