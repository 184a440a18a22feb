"""Static checks of a state machine definition, before anything runs.

What Step Functions' ``ValidateStateMachineDefinition`` reports for the features firesight
uses: unknown state types and fields, a missing ``StartAt`` target, ``Next`` targets that
do not exist in the same scope, states that are neither terminal nor followed, unreachable
states, misplaced ``States.ALL``, out-of-range retrier fields, malformed paths, Task
resources without a registered task.

References
----------
1. AWS Step Functions Developer Guide, "State machine structure in Amazon States Language",
   "Common state fields", "Handling errors" (``States.ALL`` "must appear alone in its
   ErrorEquals array and must appear in the last retrier/catcher"; ``IntervalSeconds`` a
   positive integer, ``BackoffRate`` >= 1.0, ``MaxDelaySeconds`` positive, ``MaxAttempts``
   a non-negative integer).
2. AWS Step Functions API Reference, ``ValidateStateMachineDefinition``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from firesight.errors import DataError

_COMMON = {"Type", "Comment"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
FIELDS: dict[str, set[str]] = {
    "Task": _COMMON | _IO | _FLOW | {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry",
                                     "Catch", "TimeoutSeconds", "HeartbeatSeconds"},
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": _COMMON | _IO | _FLOW | {"Branches", "Parameters", "ResultSelector", "ResultPath",
                                         "Retry", "Catch"},
    "Map": _COMMON | _IO | _FLOW | {"ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "Parameters",
                                    "MaxConcurrency", "ResultSelector", "ResultPath", "Retry", "Catch"},
}
_COMPARATORS = {f"{kind}{op}{suffix}" for kind in ("String", "Numeric", "Boolean", "Timestamp")
                for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
                for suffix in ("", "Path")} | {"StringMatches", "IsNull", "IsPresent", "IsNumeric",
                                               "IsString", "IsBoolean", "IsTimestamp"}


class DefinitionError(DataError):
    """A state machine definition is invalid; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid state machine definition: " + "; ".join(self.problems))


def validate_definition(definition: Any, *, resources: Iterable[str] | None = None) -> None:
    """Raise :class:`DefinitionError` listing every problem of ``definition``.

    ``resources``: the Task resources that have a registered task (None: not checked).
    """
    problems: list[str] = []
    _machine(definition, "", problems, set(resources) if resources is not None else None)
    if problems:
        raise DefinitionError(problems)


def definition_problems(definition: Any, *, resources: Iterable[str] | None = None) -> list[str]:
    try:
        validate_definition(definition, resources=resources)
    except DefinitionError as exc:
        return exc.problems
    return []


def _machine(machine: Any, where: str, problems: list[str], resources: set[str] | None) -> None:
    if not isinstance(machine, Mapping):
        problems.append(f"{where or 'definition'}: must be a JSON object")
        return
    states = machine.get("States")
    if not isinstance(states, Mapping) or not states:
        problems.append(f"{where or 'definition'}: States must be a non-empty object")
        return
    start = machine.get("StartAt")
    if start not in states:
        problems.append(f"{where or 'definition'}: StartAt {start!r} is not a state")
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        at = f"{where}{name}"
        if not isinstance(state, Mapping) or state.get("Type") not in FIELDS:
            problems.append(f"{at}: Type must be one of {sorted(FIELDS)}")
            continue
        edges[name] = _state(state, at, states, problems, resources)
    seen, todo = set(), [start] if start in states else []
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(t for t in edges.get(name, []) if t in states)
    for name in states:
        if name not in seen and start in states:
            problems.append(f"{where}{name}: not reachable from StartAt {start!r}")
    if not any(s.get("Type") in ("Succeed", "Fail") or s.get("End") is True
               for s in states.values() if isinstance(s, Mapping)):
        problems.append(f"{where or 'definition'}: no terminal state (Succeed, Fail or End: true)")


def _state(state: Mapping, at: str, states: Mapping, problems: list[str],
           resources: set[str] | None) -> list[str]:
    kind = state["Type"]
    unknown = sorted(set(state) - FIELDS[kind])
    if unknown:
        problems.append(f"{at}: fields {unknown} are not allowed in a {kind} state")
    targets: list[str] = []
    if _FLOW & FIELDS[kind]:
        has_next, has_end = "Next" in state, state.get("End") is True
        if has_next == has_end:
            problems.append(f"{at}: needs exactly one of Next or End: true")
        if has_next:
            targets.append(state["Next"])
    for key in ("InputPath", "OutputPath", "ResultPath", "ItemsPath", "SecondsPath", "TimestampPath"):
        if key in state and state[key] is not None and not str(state[key]).startswith("$"):
            problems.append(f"{at}: {key} must be a path starting with '$' or null, got {state[key]!r}")
    if kind == "Task" and not isinstance(state.get("Resource"), str):
        problems.append(f"{at}: Task needs a Resource")
    elif kind == "Task" and resources is not None and state["Resource"] not in resources:
        problems.append(f"{at}: no task is registered for Resource {state['Resource']!r}")
    if kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            problems.append(f"{at}: Choices must be a non-empty array")
            choices = []
        for i, rule in enumerate(choices):
            if not isinstance(rule, Mapping) or "Next" not in rule:
                problems.append(f"{at}.Choices[{i}]: a top-level rule needs Next")
                continue
            targets.append(rule["Next"])
            _rule(rule, f"{at}.Choices[{i}]", problems)
        if "Default" in state:
            targets.append(state["Default"])
    if kind == "Wait" and sum(k in state for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")) != 1:
        problems.append(f"{at}: needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            problems.append(f"{at}: Branches must be a non-empty array")
        for i, branch in enumerate(branches or []):
            _machine(branch, f"{at}.Branches[{i}].", problems, resources)
    if kind == "Map":
        processor = state.get("ItemProcessor", state.get("Iterator"))
        _machine(processor, f"{at}.ItemProcessor.", problems, resources)
        if isinstance(processor, Mapping) and processor.get("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
            problems.append(f"{at}: only INLINE Map is run locally")
    for key in ("Retry", "Catch"):
        if key in state:
            targets.extend(_handlers(state[key], key, at, problems))
    for target in targets:
        if target not in states:
            problems.append(f"{at}: Next target {target!r} is not a state of this scope")
    return targets


def _handlers(handlers: Any, key: str, at: str, problems: list[str]) -> list[str]:
    if not isinstance(handlers, list):
        problems.append(f"{at}: {key} must be an array")
        return []
    targets = []
    for i, h in enumerate(handlers):
        where = f"{at}.{key}[{i}]"
        errors = h.get("ErrorEquals") if isinstance(h, Mapping) else None
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
            problems.append(f"{where}: ErrorEquals must be a non-empty array of error names")
            continue
        if "States.ALL" in errors and (len(errors) != 1 or i != len(handlers) - 1):
            problems.append(f"{where}: States.ALL must appear alone and in the last {key.lower()}er")
        if key == "Catch":
            if "Next" not in h:
                problems.append(f"{where}: a catcher needs Next")
            else:
                targets.append(h["Next"])
            continue
        checks = {"IntervalSeconds": lambda v: isinstance(v, int) and v >= 1,
                  "MaxAttempts": lambda v: isinstance(v, int) and v >= 0,
                  "BackoffRate": lambda v: isinstance(v, (int, float)) and v >= 1.0,
                  "MaxDelaySeconds": lambda v: isinstance(v, int) and v >= 1}
        for name, ok in checks.items():
            if name in h and (isinstance(h[name], bool) or not ok(h[name])):
                problems.append(f"{where}: {name} out of range: {h[name]!r}")
        if h.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
            problems.append(f"{where}: JitterStrategy must be NONE or FULL")
    return targets


def _rule(rule: Mapping, at: str, problems: list[str]) -> None:
    for combinator in ("And", "Or"):
        if combinator in rule:
            for i, sub in enumerate(rule[combinator]):
                _rule(sub, f"{at}.{combinator}[{i}]", problems)
            return
    if "Not" in rule:
        _rule(rule["Not"], f"{at}.Not", problems)
        return
    if not str(rule.get("Variable", "")).startswith("$"):
        problems.append(f"{at}: a comparison needs a Variable path")
    ops = [k for k in rule if k not in ("Variable", "Next", "Comment")]
    if len(ops) != 1 or ops[0] not in _COMPARATORS:
        problems.append(f"{at}: needs exactly one comparison operator, got {ops}")
