"""Amazon States Language data paths: reference paths, payload templates, intrinsic functions.

Reading uses JSONPath (``jsonpath-ng``) as Step Functions does; a path that matches nothing
is an error, a definite path (no wildcard, filter, slice, union or recursive descent)
yields its single value, any other path the list of matches. Writing (``ResultPath``)
accepts only reference paths (``$.a.b``, ``$['a']``, ``$.a[0]``), creating missing
objects on the way.

References
----------
1. AWS Step Functions Developer Guide, "Processing input and output in Step Functions"
   (InputPath, Parameters, ResultSelector, ResultPath, OutputPath), "Reference paths",
   "Context object", and "Intrinsic functions for JSONPath states".
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from firesight.errors import FiresightError

_INDEFINITE = re.compile(r"\*|\?\(|\.\.|\[[^\]]*[:,][^\]]*\]")
_REFERENCE_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\['([^']*)'\]|\[(\d+)\]")


class StatesError(FiresightError):
    """An error raised inside a state, named as Step Functions names errors.

    ``name`` is the error name matched by ``ErrorEquals`` (``States.Timeout``,
    ``States.ParameterPathFailure``, a task's exception class name, a Fail state's
    ``Error``); ``cause`` is the human-readable description.
    """

    def __init__(self, name: str, cause: str = ""):
        self.name, self.cause = name, cause
        super().__init__(f"{name}: {cause}" if cause else name)


def _parse(path: str):
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        return parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise StatesError("States.Runtime", f"invalid JSONPath {path!r}: {exc}") from None


def is_path(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("$")


def read_path(path: str, data: Any, context: Any = None, *, error: str = "States.Runtime") -> Any:
    """The value at ``path`` (``$...`` in ``data``, ``$$...`` in ``context``).

    Raises :class:`StatesError` named ``error`` when the path matches nothing.
    """
    if not is_path(path):
        raise StatesError(error, f"{path!r} is not a path (it must start with '$')")
    root, expr = (context, path[1:]) if path.startswith("$$") else (data, path)
    if expr == "$":
        return root
    matches = [m.value for m in _parse(expr).find(root)]
    if _INDEFINITE.search(expr):
        return matches
    if not matches:
        raise StatesError(error, f"the path {path!r} matched nothing in the input")
    return matches[0]


def write_path(path: str | None, data: Any, value: Any) -> Any:
    """``data`` with ``value`` placed at reference path ``path`` (ResultPath semantics).

    ``None`` discards ``value`` (the output is ``data``); ``$`` replaces ``data`` with
    ``value``. ``data`` is not modified.
    """
    if path is None:
        return data
    if path == "$":
        return value
    steps = _reference_steps(path)
    out = copy.deepcopy(data)
    if not isinstance(out, dict):
        raise StatesError("States.ResultPathMatchFailure",
                          f"ResultPath {path!r} needs an object input, got {type(out).__name__}")
    node = out
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise StatesError("States.ResultPathMatchFailure", f"ResultPath {path!r}: no index {step}")
            if last:
                node[step] = value
            else:
                node = node[step]
            continue
        if not isinstance(node, dict):
            raise StatesError("States.ResultPathMatchFailure",
                              f"ResultPath {path!r}: {step!r} is inside a {type(node).__name__}")
        if last:
            node[step] = value
        else:
            node = node.setdefault(step, {})
    return out


def _reference_steps(path: str) -> list[str | int]:
    if not path.startswith("$"):
        raise StatesError("States.Runtime", f"ResultPath {path!r} must start with '$'")
    rest, steps = path[1:], []
    while rest:
        m = _REFERENCE_STEP.match(rest)
        if m is None:
            raise StatesError("States.Runtime", f"ResultPath {path!r} is not a reference path")
        steps.append(int(m.group(3)) if m.group(3) is not None else (m.group(1) or m.group(2)))
        rest = rest[m.end():]
    return steps


def apply_template(template: Any, data: Any, context: Any) -> Any:
    """Evaluate a payload template (Parameters, ResultSelector, ItemSelector).

    A key ending in ``.$`` takes the value of its path (``$`` / ``$$``) or intrinsic
    function (``States.Format(...)``) and loses the suffix; other values are copied,
    nested objects and arrays evaluated recursively. A path that matches nothing raises
    ``States.ParameterPathFailure``.
    """
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise StatesError("States.Runtime", f"{key!r} must hold a path or intrinsic, got {value!r}")
                out[key[:-2]] = evaluate_expression(value, data, context)
            else:
                out[key] = apply_template(value, data, context)
        return out
    if isinstance(template, list):
        return [apply_template(v, data, context) for v in template]
    return copy.deepcopy(template)


def evaluate_expression(text: str, data: Any, context: Any) -> Any:
    if text.startswith("States."):
        return _intrinsic(_Reader(text).expression(), data, context)
    return read_path(text, data, context, error="States.ParameterPathFailure")


class _Reader:
    """A tiny recursive-descent parser of intrinsic-function calls."""

    TOKEN = re.compile(r"\s*(?:(?P<call>States\.\w+)\(|(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)"
                       r"|(?P<path>\$[^,()]*)|(?P<close>\))|(?P<comma>,)|(?P<lit>true|false|null))")

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def _next(self):
        m = self.TOKEN.match(self.text, self.pos)
        if m is None:
            raise StatesError("States.IntrinsicFailure", f"cannot parse {self.text!r} at {self.pos}")
        self.pos = m.end()
        return m.lastgroup, m.group(m.lastgroup)

    def expression(self):
        kind, value = self._next()
        if kind == "call":
            args = []
            while True:
                save = self.pos
                k, v = self._next()
                if k == "close":
                    break
                if k == "comma":
                    continue
                self.pos = save
                args.append(self.expression())
            return ("call", value, args)
        if kind == "str":
            return ("value", re.sub(r"\\(.)", r"\1", value[1:-1]))
        if kind == "num":
            return ("value", float(value) if "." in value else int(value))
        if kind == "lit":
            return ("value", json.loads(value))
        if kind == "path":
            return ("path", value.strip())
        raise StatesError("States.IntrinsicFailure", f"unexpected {value!r} in {self.text!r}")


#: The intrinsic functions this runner evaluates (a subset of the AWS list [1]).
INTRINSICS = ("States.Format", "States.Array", "States.StringToJson", "States.JsonToString",
              "States.MathAdd", "States.ArrayLength", "States.JsonMerge")


def _intrinsic(node, data: Any, context: Any) -> Any:
    kind = node[0]
    if kind == "value":
        return node[1]
    if kind == "path":
        return read_path(node[1], data, context, error="States.IntrinsicFailure")
    name, args = node[1], [_intrinsic(a, data, context) for a in node[2]]
    try:
        if name == "States.Format":
            parts = args[0].split("{}")
            if len(parts) - 1 != len(args) - 1:
                raise ValueError(f"{len(parts) - 1} placeholders for {len(args) - 1} arguments")
            out = parts[0]
            for arg, part in zip(args[1:], parts[1:]):
                out += (arg if isinstance(arg, str) else json.dumps(arg)) + part
            return out
        if name == "States.Array":
            return list(args)
        if name == "States.StringToJson":
            return json.loads(args[0])
        if name == "States.JsonToString":
            return json.dumps(args[0], separators=(",", ":"))
        if name == "States.MathAdd":
            return args[0] + args[1]
        if name == "States.ArrayLength":
            return len(args[0])
        if name == "States.JsonMerge":
            return {**args[0], **args[1]}  # shallow merge, as the guide specifies
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise StatesError("States.IntrinsicFailure", f"{name}: {exc}") from None
    raise StatesError("States.IntrinsicFailure", f"{name} is not one of {INTRINSICS}")
