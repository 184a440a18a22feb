"""A local interpreter of Amazon States Language state machines.

Runs the same definitions that Step Functions runs, with each Task ``Resource`` mapped to a
Python callable (input -> JSON-serialisable result). Implemented: Task, Pass, Choice,
Parallel, Map (inline), Wait, Succeed, Fail; InputPath, Parameters, ResultSelector,
ResultPath, OutputPath, ItemsPath, ItemSelector; Retry (ErrorEquals, IntervalSeconds,
MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy) and Catch; TimeoutSeconds;
the context object (``$$``). Sleeping is injected so tests observe the retry delays.

Why not moto's interpreter: moto 5's Step Functions parser (LocalStack's) runs Task states
only as AWS service integrations (Lambda through the Lambda API, which executes functions
in Docker; activities cannot be polled: moto has no ``GetActivityTask``), so it cannot call
a local Python task. It is still used in the tests to parse firesight's definitions as an
independent check of their ASL syntax.

References
----------
1. AWS Step Functions Developer Guide: "Amazon States Language", "Task", "Choice",
   "Parallel", "Map" (inline), "Wait", "Pass", "Fail"; "Handling errors in Step Functions
   workflows" (retriers, catchers, error names, "Complex retry scenarios");
   "Processing input and output"; "Context object".
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firesight.workflows.paths import StatesError, apply_template, read_path, write_path

#: Errors that no retrier or catcher handles, not even ``States.ALL`` (guide: error names).
UNCATCHABLE = ("States.Runtime", "States.DataLimitExceeded")
#: Defaults of a retrier (guide: "Retrying after an error").
RETRY_DEFAULTS = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}


@dataclass
class Execution:
    """The result of one run: ``status`` SUCCEEDED or FAILED, the output or the error."""

    execution_id: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict] = field(default_factory=list)


def error_matches(name: str, error_equals: list[str]) -> bool:
    """Whether error ``name`` is handled by a retrier or catcher's ``ErrorEquals``.

    ``States.ALL`` matches every error but the uncatchable ones; ``States.TaskFailed``
    matches every error but ``States.Timeout`` (and the uncatchable ones).
    """
    if name in UNCATCHABLE:
        return False
    for wanted in error_equals:
        if wanted == name or wanted == "States.ALL":
            return True
        if wanted == "States.TaskFailed" and name != "States.Timeout":
            return True
    return False


def task_error(exc: BaseException) -> StatesError:
    """A task's exception as Step Functions reports a Lambda function's error: the error
    name is the exception's class name, the cause a JSON ``errorMessage`` / ``errorType``."""
    if isinstance(exc, StatesError):
        return exc
    return StatesError(type(exc).__name__, json.dumps({"errorMessage": str(exc),
                                                       "errorType": type(exc).__name__}))


class StateMachine:
    """Run one state machine definition locally.

    Parameters
    ----------
    definition : dict
        The ASL definition (``StartAt``, ``States``, ...).
    tasks : mapping
        ``Resource`` ARN -> callable taking the task's effective input and returning its result.
    sleep : callable
        Waits [s] (Retry intervals, Wait states); ``time.sleep`` by default.
    rng : numpy.random.Generator, optional
        Draws of ``JitterStrategy: FULL`` (default: seeded 0).
    max_workers : int
        Threads for Parallel branches and Map iterations (``MaxConcurrency`` caps it per state).
    name : str
        State machine name (context object).
    """

    def __init__(self, definition: Mapping, tasks: Mapping[str, Callable[[Any], Any]], *,
                 sleep: Callable[[float], None] = time.sleep, rng: np.random.Generator | None = None,
                 max_workers: int = 4, name: str = "firesight"):
        self.definition = dict(definition)
        self.tasks = dict(tasks)
        self.sleep = sleep
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.max_workers = max(1, int(max_workers))
        self.name = name
        self._lock = threading.Lock()

    def run(self, execution_input: Any = None, *, execution_id: str | None = None) -> Execution:
        """Run to the end; a failure is returned as ``status="FAILED"``, never raised."""
        eid = execution_id or uuid.uuid4().hex
        data = {} if execution_input is None else copy.deepcopy(execution_input)
        ex = Execution(execution_id=eid, status="RUNNING")
        context = {"Execution": {"Id": eid, "Input": copy.deepcopy(data), "Name": eid,
                                 "StartTime": _now_iso()},
                   "StateMachine": {"Name": self.name}}
        try:
            ex.output = self._run_machine(self.definition, data, context, ex)
            ex.status = "SUCCEEDED"
        except StatesError as err:
            ex.status, ex.error, ex.cause = "FAILED", err.name, err.cause
        except (ValueError, TypeError, KeyError) as exc:  # malformed input a check let through
            ex.status, ex.error, ex.cause = "FAILED", "States.Runtime", f"{type(exc).__name__}: {exc}"
        self._event(ex, "Execution" + ex.status.title(), error=ex.error)
        return ex

    # -- machinery ---------------------------------------------------------------------
    def _event(self, ex: Execution, kind: str, **details) -> None:
        with self._lock:
            ex.history.append({"type": kind, "ts_ms": int(time.time() * 1000),
                               **{k: v for k, v in details.items() if v is not None}})

    def _run_machine(self, machine: Mapping, data: Any, context: dict, ex: Execution,
                     cancel: threading.Event | None = None) -> Any:
        name = machine["StartAt"]
        while True:
            if cancel is not None and cancel.is_set():  # a sibling branch failed: stop here
                raise StatesError("States.BranchFailed", "stopped: another branch failed")
            state = machine["States"][name]
            ctx = {**context, "State": {"Name": name, "EnteredTime": _now_iso(), "RetryCount": 0}}
            self._event(ex, "StateEntered", state=name)
            data, nxt = self._run_state(name, state, data, ctx, ex)
            self._event(ex, "StateExited", state=name)
            if nxt is None:
                return data
            name = nxt

    def _run_state(self, name: str, state: Mapping, raw: Any, ctx: dict, ex: Execution):
        kind = state["Type"]
        if kind == "Fail":
            error = (read_path(state["ErrorPath"], raw, ctx) if "ErrorPath" in state
                     else state.get("Error", "States.Fail"))
            cause = read_path(state["CausePath"], raw, ctx) if "CausePath" in state else state.get("Cause", "")
            raise StatesError(str(error), str(cause))
        effective = _input_path(state, raw, ctx)
        if kind == "Choice":
            return _output_path(state, effective, ctx), _choose(name, state, effective, ctx)
        if kind in ("Succeed", "Wait"):
            if kind == "Wait":
                self.sleep(_wait_seconds(state, effective, ctx))
            return _output_path(state, effective, ctx), state.get("Next")
        try:
            if "Parameters" in state and kind != "Map":
                effective = apply_template(state["Parameters"], effective, ctx)
            if kind == "Pass":
                result = copy.deepcopy(state["Result"]) if "Result" in state else effective
                return self._finish(state, raw, result, ctx), state.get("Next")
            result = self._attempts(name, state, effective, ctx, ex)
            return self._finish(state, raw, result, ctx), state.get("Next")
        except StatesError as err:
            catcher = next((c for c in state.get("Catch", []) if error_matches(err.name, c["ErrorEquals"])),
                           None)
            if catcher is None:
                raise
            self._event(ex, "Caught", state=name, error=err.name, next=catcher["Next"])
            out = write_path(catcher.get("ResultPath", "$"), raw, {"Error": err.name, "Cause": err.cause})
            return out, catcher["Next"]

    def _finish(self, state: Mapping, raw: Any, result: Any, ctx: dict) -> Any:
        if "ResultSelector" in state:
            result = apply_template(state["ResultSelector"], result, ctx)
        return _output_path(state, write_path(state.get("ResultPath", "$"), raw, result), ctx)

    def _attempts(self, name: str, state: Mapping, effective: Any, ctx: dict, ex: Execution) -> Any:
        """Run the state's work, retrying as its retriers say (each keeps its own count)."""
        retriers = [{**RETRY_DEFAULTS, **r} for r in state.get("Retry", [])]
        used = [0] * len(retriers)
        while True:
            try:
                return self._work(name, state, effective, ctx, ex)
            except StatesError as err:
                index = next((i for i, r in enumerate(retriers)
                              if error_matches(err.name, r["ErrorEquals"])), None)
                if index is None or used[index] >= int(retriers[index]["MaxAttempts"]):
                    raise
                r = retriers[index]
                delay = float(r["IntervalSeconds"]) * float(r["BackoffRate"]) ** used[index]
                if "MaxDelaySeconds" in r:
                    delay = min(delay, float(r["MaxDelaySeconds"]))
                if r.get("JitterStrategy", "NONE") == "FULL":
                    delay = float(self.rng.uniform(0.0, delay))
                used[index] += 1
                ctx["State"]["RetryCount"] = sum(used)
                self._event(ex, "Retry", state=name, error=err.name, attempt=used[index], delay_s=delay)
                self.sleep(delay)

    def _work(self, name: str, state: Mapping, effective: Any, ctx: dict, ex: Execution) -> Any:
        kind = state["Type"]
        if kind == "Task":
            return self._task(name, state, effective, ex)
        if kind == "Parallel":
            jobs = [(branch, effective, ctx) for branch in state["Branches"]]
            return self._fan_out(jobs, state, ex)
        items = read_path(state["ItemsPath"], effective, ctx) if "ItemsPath" in state else effective
        if not isinstance(items, list):
            raise StatesError("States.Runtime", f"Map state {name!r}: items must be an array, "
                              f"got {type(items).__name__}")
        processor = state.get("ItemProcessor") or state["Iterator"]
        selector = state.get("ItemSelector", state.get("Parameters"))
        jobs = []
        for index, item in enumerate(items):
            item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
            value = apply_template(selector, effective, item_ctx) if selector is not None else item
            jobs.append((processor, value, item_ctx))
        return self._fan_out(jobs, state, ex)

    def _fan_out(self, jobs: list, state: Mapping, ex: Execution) -> list:
        """Run sub-machines concurrently; results in order; the first failure fails the state."""
        if not jobs:
            return []
        limit = int(state.get("MaxConcurrency", 0)) or self.max_workers
        cancel = threading.Event()
        with cf.ThreadPoolExecutor(max_workers=max(1, min(limit, self.max_workers, len(jobs)))) as pool:
            futures = [pool.submit(self._run_machine, m, copy.deepcopy(d), c, ex, cancel) for m, d, c in jobs]
            cf.wait(futures, return_when=cf.FIRST_EXCEPTION)
            failed = [f for f in futures if f.done() and not f.cancelled() and f.exception() is not None]
            if failed:  # the others stop at their next state; unstarted ones never start
                cancel.set()
                for f in futures:
                    f.cancel()
                raise failed[0].exception()
            return [f.result() for f in futures]

    def _task(self, name: str, state: Mapping, effective: Any, ex: Execution) -> Any:
        resource = state["Resource"]
        fn = self.tasks.get(resource)
        if fn is None:
            raise StatesError("States.Runtime", f"state {name!r}: no task is registered for {resource!r}")
        self._event(ex, "TaskScheduled", state=name, resource=resource)
        timeout = state.get("TimeoutSeconds")
        try:
            if timeout is None:
                result = fn(copy.deepcopy(effective))
            else:  # the thread cannot be killed: it finishes in the background, its result dropped
                pool = cf.ThreadPoolExecutor(max_workers=1)
                try:
                    result = pool.submit(fn, copy.deepcopy(effective)).result(timeout=float(timeout))
                except cf.TimeoutError:
                    raise StatesError("States.Timeout", f"task {name!r} ran over {timeout} s") from None
                finally:
                    pool.shutdown(wait=False)
        except Exception as exc:  # noqa: BLE001 - every task error becomes a States error
            err = task_error(exc)
            self._event(ex, "TaskFailed", state=name, error=err.name)
            raise err from None
        try:
            result = json.loads(json.dumps(result, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise StatesError("States.Runtime", f"task {name!r} returned a non-JSON result: {exc}") from None
        self._event(ex, "TaskSucceeded", state=name)
        return result


def _input_path(state: Mapping, raw: Any, ctx: dict) -> Any:
    if "InputPath" not in state:
        return raw
    return {} if state["InputPath"] is None else read_path(state["InputPath"], raw, ctx)


def _output_path(state: Mapping, data: Any, ctx: dict) -> Any:
    if "OutputPath" not in state:
        return data
    return {} if state["OutputPath"] is None else read_path(state["OutputPath"], data, ctx)


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wait_seconds(state: Mapping, data: Any, ctx: dict) -> float:
    if "Seconds" in state:
        return float(state["Seconds"])
    if "SecondsPath" in state:
        value = read_path(state["SecondsPath"], data, ctx)
        if not isinstance(value, (int, float)) or value < 0:
            raise StatesError("States.Runtime", f"SecondsPath gave {value!r}, not a number >= 0")
        return float(value)
    stamp = state.get("Timestamp") or read_path(state["TimestampPath"], data, ctx)
    target = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return max(0.0, (target - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _choose(name: str, state: Mapping, data: Any, ctx: dict) -> str:
    for rule in state["Choices"]:
        if _rule(rule, data, ctx):
            return rule["Next"]
    if "Default" in state:
        return state["Default"]
    raise StatesError("States.NoChoiceMatched", f"Choice state {name!r}: no rule matched and no Default")


_COMPARE = {"Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
            "GreaterThan": lambda a, b: a > b, "LessThanEquals": lambda a, b: a <= b,
            "GreaterThanEquals": lambda a, b: a >= b}
_KINDS = {"String": (str,), "Numeric": (int, float), "Boolean": (bool,), "Timestamp": (str,)}


def _rule(rule: Mapping, data: Any, ctx: dict) -> bool:
    """One Choice rule (guide: "Choice Rules"); a type mismatch is False, not an error."""
    if "And" in rule:
        return all(_rule(r, data, ctx) for r in rule["And"])
    if "Or" in rule:
        return any(_rule(r, data, ctx) for r in rule["Or"])
    if "Not" in rule:
        return not _rule(rule["Not"], data, ctx)
    var = rule["Variable"]
    if "IsPresent" in rule:
        try:
            read_path(var, data, ctx)
            present = True
        except StatesError:
            present = False
        return present == bool(rule["IsPresent"])
    value = read_path(var, data, ctx)
    tests = {"IsNull": value is None, "IsString": isinstance(value, str),
             "IsBoolean": isinstance(value, bool),
             "IsNumeric": isinstance(value, (int, float)) and not isinstance(value, bool)}
    for key, outcome in tests.items():
        if key in rule:
            return outcome == bool(rule[key])
    if "StringMatches" in rule:
        import fnmatch

        return isinstance(value, str) and fnmatch.fnmatchcase(value, rule["StringMatches"])
    for op, operand in rule.items():
        if op in ("Variable", "Next"):
            continue
        path = op.endswith("Path")
        kind = next(k for k in _KINDS if op.startswith(k))
        other = read_path(operand, data, ctx) if path else operand
        compare = _COMPARE[op[len(kind):-4] if path else op[len(kind):]]
        ok_type = all(isinstance(v, _KINDS[kind]) and (kind == "Boolean" or not isinstance(v, bool))
                      for v in (value, other))
        if not ok_type:
            return False
        if kind == "Timestamp":
            value, other = (dt.datetime.fromisoformat(v.replace("Z", "+00:00")) for v in (value, other))
        return bool(compare(value, other))
    raise StatesError("States.Runtime", f"Choice rule {rule!r} has no comparison")
