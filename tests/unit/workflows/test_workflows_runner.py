"""The local ASL runner against the behaviour the AWS Step Functions Developer Guide documents.

Each test names the guide's section it is pinned to. Tasks are plain callables that raise
or return as a Lambda function would; sleeps are recorded instead of slept.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from firesight.workflows.runner import StateMachine


class FlakyTask:
    """Raises the given exceptions in turn, then returns ``result``; counts its calls."""

    def __init__(self, errors, result=None):
        self.errors, self.result, self.calls = list(errors), result, 0

    def __call__(self, payload):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result if self.result is not None else payload


def named(name):
    return type(name, (Exception,), {})


def machine(states, start="T"):
    return {"StartAt": start, "States": states}


def run(definition, tasks, payload=None, **kw):
    sleeps = []
    sm = StateMachine(definition, tasks, sleep=sleeps.append, **kw)
    return sm.run(payload), sleeps


def test_complex_retry_scenario_from_the_guide():
    """Guide, "Handling errors in Step Functions workflows", "Complex retry scenarios":
    retriers [{ErrorA, ErrorB; Interval 1, Backoff 2, MaxAttempts 2}, {ErrorC; Interval 5}];
    errors ErrorA, ErrorB, ErrorC, ErrorB: waits of 1 and 2 s, then 5 s, and the fourth error
    goes to Catch because the first retrier has used its two attempts."""
    task = FlakyTask([named("ErrorA")("a"), named("ErrorB")("b"), named("ErrorC")("c"), named("ErrorB")("b2")])
    definition = machine({
        "T": {"Type": "Task", "Resource": "r", "Next": "Ok",
              "Retry": [{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0,
                         "MaxAttempts": 2},
                        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Ok": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": True}})
    ex, sleeps = run(definition, {"r": task}, {"x": 1})
    assert sleeps == [1.0, 2.0, 5.0]
    assert task.calls == 4
    assert ex.status == "SUCCEEDED"
    assert ex.output["Error"] == "ErrorB"
    assert json.loads(ex.output["Cause"]) == {"errorMessage": "b2", "errorType": "ErrorB"}


def test_retry_defaults_and_failure_after_max_attempts():
    """Guide, "Retrying after an error": IntervalSeconds defaults to 1, MaxAttempts to 3,
    BackoffRate to 2.0; after MaxAttempts retries the error fails the state (no Catch:
    the execution fails with the task's error name)."""
    task = FlakyTask([OSError("disk")] * 10)
    ex, sleeps = run(machine({"T": {"Type": "Task", "Resource": "r", "End": True,
                                    "Retry": [{"ErrorEquals": ["OSError"]}]}}), {"r": task})
    assert sleeps == [1.0, 2.0, 4.0]
    assert task.calls == 4
    assert (ex.status, ex.error) == ("FAILED", "OSError")


def test_max_delay_seconds_caps_the_backoff_and_max_attempts_zero_never_retries():
    """Guide, "Retrying after an error": MaxDelaySeconds caps IntervalSeconds x BackoffRate^n;
    MaxAttempts 0 means the error is never retried."""
    task = FlakyTask([OSError()] * 4, result={"ok": True})
    ex, sleeps = run(machine({"T": {"Type": "Task", "Resource": "r", "End": True,
                                    "Retry": [{"ErrorEquals": ["OSError"], "IntervalSeconds": 2, "BackoffRate": 3.0,
                                               "MaxAttempts": 4, "MaxDelaySeconds": 10}]}}), {"r": task})
    assert sleeps == [2.0, 6.0, 10.0, 10.0]
    assert ex.output == {"ok": True}
    never = FlakyTask([ValueError("bad")])
    ex, sleeps = run(machine({"T": {"Type": "Task", "Resource": "r", "End": True,
                                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]}}), {"r": never})
    assert (sleeps, never.calls, ex.error) == ([], 1, "ValueError")


def test_full_jitter_draws_each_delay_below_the_backoff_delay():
    """Guide, "Retrying after an error": JitterStrategy FULL randomises each wait between 0
    and the computed backoff delay."""
    task = FlakyTask([OSError()] * 3, result={})
    definition = machine({"T": {"Type": "Task", "Resource": "r", "End": True,
                                "Retry": [{"ErrorEquals": ["OSError"], "IntervalSeconds": 4, "MaxAttempts": 3,
                                           "JitterStrategy": "FULL"}]}})
    ex, sleeps = run(definition, {"r": task}, rng=np.random.default_rng(7))
    assert ex.status == "SUCCEEDED"
    assert all(0 <= s <= cap for s, cap in zip(sleeps, [4, 8, 16]))
    assert sleeps != [4.0, 8.0, 16.0]
    again, _ = run(definition, {"r": FlakyTask([OSError()] * 3, result={})}, rng=np.random.default_rng(7))
    assert _ == sleeps  # same seed, same delays


def test_states_all_does_not_catch_states_runtime():
    """Guide, error names: States.Runtime (e.g. an InputPath that matches nothing) "is not
    retriable, and will always cause the execution to fail. A retry or catch on States.ALL
    will not catch States.Runtime errors"."""
    task = FlakyTask([])
    ex, _ = run(machine({"T": {"Type": "Task", "Resource": "r", "InputPath": "$.missing", "Next": "Ok",
                               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ok"}]},
                         "Ok": {"Type": "Succeed"}}), {"r": task}, {"present": 1})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    assert task.calls == 0


def test_task_failed_does_not_match_timeout():
    """Guide, error names: States.TaskFailed matches any task failure except States.Timeout;
    a task running past TimeoutSeconds fails with States.Timeout."""
    release = threading.Event()

    def slow(payload):
        release.wait(5)
        return {}

    definition = machine({
        "T": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 1, "Next": "Ok",
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Failed"},
                        {"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}]},
        "Ok": {"Type": "Succeed"}, "Failed": {"Type": "Succeed"}, "TimedOut": {"Type": "Succeed"}})
    try:
        ex, _ = run(definition, {"r": slow})
    finally:
        release.set()
    entered = [e["state"] for e in ex.history if e["type"] == "StateEntered"]
    assert entered == ["T", "TimedOut"]
    assert ex.output["Error"] == "States.Timeout"
    ex, _ = run(definition, {"r": FlakyTask([KeyError("k")])})
    assert [e["state"] for e in ex.history if e["type"] == "StateEntered"] == ["T", "Failed"]


def test_catch_result_path_keeps_the_input():
    """Guide, "Handling errors", catchers: without ResultPath the error output
    {Error, Cause} replaces the input; with ResultPath "$.error" it is added to the state's
    input."""
    states = {"T": {"Type": "Task", "Resource": "r", "Next": "Ok",
                    "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Ok"}]},
              "Ok": {"Type": "Succeed"}}
    ex, _ = run(machine(states), {"r": FlakyTask([ValueError("no")])}, {"keep": 1})
    assert ex.output["keep"] == 1 and ex.output["error"]["Error"] == "ValueError"


def test_input_and_output_processing_examples():
    """Guide, "Processing input and output": InputPath selects ($.dataset2), Parameters build
    the task input (paths, the context object $$, static values), ResultSelector reshapes
    the result, ResultPath "$.taskresult" adds it to the raw input, OutputPath filters."""
    seen = {}

    def task(payload):
        seen.update(payload)
        return {"Payload": {"greeting": f"Hello, {payload['who']}!"}, "StatusCode": 200}

    definition = machine({"T": {
        "Type": "Task", "Resource": "r", "InputPath": "$.dataset2",
        "Parameters": {"who.$": "$.val1", "fixed": "x", "execution.$": "$$.Execution.Id",
                       "line.$": "States.Format('{} and {}', $.val1, $.val2)"},
        "ResultSelector": {"greeting.$": "$.Payload.greeting", "code.$": "$.StatusCode"},
        "ResultPath": "$.taskresult", "OutputPath": "$.taskresult", "End": True}})
    payload = {"comment": "Example for InputPath.", "dataset1": {"val1": 1, "val2": 2},
               "dataset2": {"val1": "a", "val2": "b"}}
    ex, _ = run(definition, {"r": task}, payload)
    assert seen == {"who": "a", "fixed": "x", "execution": ex.execution_id, "line": "a and b"}
    assert ex.output == {"greeting": "Hello, a!", "code": 200}


def test_result_path_null_discards_the_result_and_parameter_path_failure_is_catchable():
    """Guide, "ResultPath": null discards the result and passes the input through;
    error names: a Parameters path that matches nothing raises States.ParameterPathFailure."""
    ex, _ = run(machine({"T": {"Type": "Task", "Resource": "r", "ResultPath": None, "End": True}}),
                {"r": lambda p: {"ignored": True}}, {"a": 1})
    assert ex.output == {"a": 1}
    ex, _ = run(machine({"T": {"Type": "Task", "Resource": "r", "Parameters": {"x.$": "$.nope"}, "Next": "Ok",
                               "Catch": [{"ErrorEquals": ["States.ParameterPathFailure"], "Next": "Ok"}]},
                         "Ok": {"Type": "Succeed"}}), {"r": lambda p: p}, {"a": 1})
    assert ex.output["Error"] == "States.ParameterPathFailure"


def test_choice_rules_default_and_no_match():
    """Guide, "Choice": rules are tried in order; And/Not combine; a comparison of
    mismatched types is false; no match and no Default fails with States.NoChoiceMatched."""
    states = {"C": {"Type": "Choice", "Choices": [
        {"And": [{"Variable": "$.n", "IsNumeric": True}, {"Variable": "$.n", "NumericGreaterThan": 10}],
         "Next": "Big"},
        {"Not": {"Variable": "$.s", "StringEquals": "x"}, "Next": "NotX"}], "Default": "Other"},
        "Big": {"Type": "Succeed"}, "NotX": {"Type": "Succeed"}, "Other": {"Type": "Succeed"}}

    def last(payload):
        ex, _ = run(machine(states, "C"), {}, payload)
        return [e["state"] for e in ex.history if e["type"] == "StateEntered"][-1]

    assert last({"n": 11, "s": "x"}) == "Big"
    assert last({"n": "11", "s": "y"}) == "NotX"  # a string is not numeric: rule 1 false
    assert last({"n": 3, "s": "x"}) == "Other"
    del states["C"]["Default"]
    ex, _ = run(machine(states, "C"), {}, {"n": 3, "s": "x"})
    assert (ex.status, ex.error) == ("FAILED", "States.NoChoiceMatched")


def test_parallel_outputs_in_branch_order_and_a_failing_branch_fails_the_state():
    """Guide, "Parallel": the output is an array of each branch's output in branch order; if
    any branch fails (unhandled error or Fail state) the whole Parallel state fails, and its
    Catch sees the branch's error."""
    def branch(name, state):
        return {"StartAt": name, "States": {name: state}}

    definition = machine({"P": {"Type": "Parallel", "Next": "Ok", "Branches": [
        branch("A", {"Type": "Pass", "Result": "a", "End": True}),
        branch("B", {"Type": "Task", "Resource": "r", "End": True})],
        "Catch": [{"ErrorEquals": ["Boom"], "Next": "Caught"}]},
        "Ok": {"Type": "Succeed"}, "Caught": {"Type": "Succeed"}}, "P")
    ex, _ = run(definition, {"r": lambda p: {"b": p["in"]}}, {"in": 2})
    assert ex.output == ["a", {"b": 2}]
    definition["States"]["P"]["Branches"][1] = branch("F", {"Type": "Fail", "Error": "Boom", "Cause": "branch"})
    ex, _ = run(definition, {})
    assert ex.output == {"Error": "Boom", "Cause": "branch"}


def test_map_item_selector_context_and_order():
    """Guide, "Map" (inline): ItemsPath selects the array; ItemSelector builds each
    iteration's input, with $$.Map.Item.Index and $$.Map.Item.Value; results keep the items'
    order whatever MaxConcurrency."""
    definition = machine({"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 3,
                                "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value",
                                                 "k.$": "$.k"},
                                "ItemProcessor": {"StartAt": "T", "States": {
                                    "T": {"Type": "Task", "Resource": "r", "End": True}}},
                                "ResultPath": "$.out", "End": True}}, "M")
    ex, _ = run(definition, {"r": lambda p: p["i"] * 10 + p["v"] + p["k"]}, {"items": [1, 2, 3, 4], "k": 100})
    assert ex.output["out"] == [101, 112, 123, 134]


def test_fail_wait_and_pass_states():
    """Guide, "Fail", "Wait", "Pass": a Fail state ends the execution with its Error and
    Cause; Wait Seconds waits; Pass Result with ResultPath adds a fixed value."""
    definition = machine({"W": {"Type": "Wait", "Seconds": 3, "Next": "P"},
                          "P": {"Type": "Pass", "Result": {"v": 1}, "ResultPath": "$.p", "Next": "F"},
                          "F": {"Type": "Fail", "Error": "Custom.Error", "Cause": "why"}}, "W")
    ex, sleeps = run(definition, {})
    assert sleeps == [3.0]
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "Custom.Error", "why")


def test_unregistered_resource_and_non_json_result_fail_the_execution():
    """A Task whose resource has no callable, or whose result is not JSON, fails with
    States.Runtime (not catchable), never raising out of ``run``."""
    ex, _ = run(machine({"T": {"Type": "Task", "Resource": "nope", "End": True}}), {})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    ex, _ = run(machine({"T": {"Type": "Task", "Resource": "r", "End": True}}), {"r": lambda p: {"x": object()}})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize("expression, expected", [
    ("States.Array($.a, 'b', 3)", [1, "b", 3]),
    ("States.MathAdd($.a, 41)", 42),
    ("States.JsonToString($.o)", '{"k":"v"}'),
    ("States.JsonMerge($.o, States.StringToJson('{\"z\": 1}'), false)", {"k": "v", "z": 1}),
])
def test_intrinsic_functions(expression, expected):
    """Guide, "Intrinsic functions": Array, MathAdd, JsonToString, JsonMerge (shallow),
    StringToJson, nested."""
    ex, _ = run(machine({"P": {"Type": "Pass", "Parameters": {"r.$": expression}, "End": True}}, "P"),
                {}, {"a": 1, "o": {"k": "v"}})
    assert ex.output == {"r": expected}


def test_a_failing_branch_stops_the_other_branches():
    """Guide, "Parallel": when a branch fails, "all its branches are stopped": a branch still
    running does not enter its next state."""
    release = threading.Event()

    def slow(payload):
        release.wait(5)
        return {}

    definition = machine({"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "slow", "Next": "After"},
                                       "After": {"Type": "Pass", "End": True}}},
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}]}}, "P")
    timer = threading.Timer(0.3, release.set)
    timer.start()
    ex, _ = run(definition, {"slow": slow})
    timer.join()
    assert (ex.status, ex.error) == ("FAILED", "Boom")
    assert "After" not in [e.get("state") for e in ex.history]


def test_a_malformed_timestamp_fails_the_execution_instead_of_raising():
    """Guide, "Wait": TimestampPath must name an ISO 8601 timestamp; anything else ends the
    execution with States.Runtime (``run`` never raises)."""
    ex, _ = run(machine({"W": {"Type": "Wait", "TimestampPath": "$.when", "End": True}}, "W"), {},
                {"when": "next tuesday"})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
