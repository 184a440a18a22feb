"""Definition checks, and firesight's shipped definitions checked by them and by an
independent ASL parser (moto's, derived from LocalStack's ANTLR grammar)."""

from __future__ import annotations

import json

import pytest

from firesight.errors import NotFoundError
from firesight.workflows import (aws_definition, definition_problems, list_workflows, load_definition,
                                 validate_definition)
from firesight.workflows.tasks import RESOURCE_PREFIX, START_EXECUTION_SYNC, default_tasks
from firesight.workflows.validate import DefinitionError


def _ok():
    return {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Next": "B"},
                                      "B": {"Type": "Succeed"}}}


def test_a_valid_definition_has_no_problems():
    assert definition_problems(_ok(), resources=["r"]) == []


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["States"]["A"].update(Next="Z"), "Next target 'Z'"),
    (lambda d: d.update(StartAt="Q"), "StartAt 'Q'"),
    (lambda d: d["States"]["A"].update(End=True), "exactly one of Next or End"),
    (lambda d: d["States"].update(C={"Type": "Pass", "End": True}), "not reachable"),
    (lambda d: d["States"]["A"].update(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]),
     "States.ALL must appear alone and in the last"),
    (lambda d: d["States"]["A"].update(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0.5}]), "BackoffRate"),
    (lambda d: d["States"]["A"].update(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 0}]), "IntervalSeconds"),
    (lambda d: d["States"]["A"].update(Resource="other"), "no task is registered"),
    (lambda d: d["States"]["A"].update(Colour="red"), "not allowed in a Task state"),
    (lambda d: d["States"]["B"].update(Type="Teleport"), "Type must be one of"),
    (lambda d: d["States"]["A"].update(InputPath="a.b"), "InputPath must be a path"),
])
def test_each_definition_problem_is_reported(mutate, needle):
    """AWS Step Functions Developer Guide, "State machine structure" and "Common state
    fields": StartAt and every Next name a state of the same scope; a non-terminal state has
    exactly one of Next / End; States.ALL stands alone in the last retrier; IntervalSeconds
    >= 1 and BackoffRate >= 1.0; unknown fields are rejected."""
    d = _ok()
    mutate(d)
    with pytest.raises(DefinitionError) as info:
        validate_definition(d, resources=["r"])
    assert any(needle in p for p in info.value.problems), info.value.problems


def test_nested_scopes_are_checked_separately():
    """A Next inside a Parallel branch must name a state of that branch, not of the parent."""
    d = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Done"}}}]}, "Done": {"Type": "Succeed"}}}
    problems = definition_problems(d)
    assert any("P.Branches[0].X" in p and "'Done'" in p for p in problems)
    assert any("Done: not reachable" in p for p in problems)


def test_shipped_definitions_are_valid_against_the_registered_tasks():
    names = list_workflows()
    assert names == ["retraining", "training-pipeline"]
    resources = set(default_tasks(runner=lambda name, payload: payload))
    for name in names:
        definition = load_definition(name)
        assert definition_problems(definition, resources=resources) == []
        used = {s["Type"] for s in _all_states(definition)}
        if name == "training-pipeline":
            assert {"Task", "Map", "Parallel", "Choice", "Pass", "Succeed", "Fail"} <= used
            assert any("Retry" in s and "Catch" in s for s in _all_states(definition))
    with pytest.raises(NotFoundError):
        load_definition("no-such-workflow")


def _all_states(machine):
    for state in machine["States"].values():
        yield state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"])


def test_definitions_rewritten_for_aws_parse_with_an_independent_asl_parser():
    """moto's Step Functions parser (LocalStack's ANTLR grammar of ASL) accepts every shipped
    definition once firesight's task resources are Lambda ARNs and ``${...}`` substitutions
    are filled, as CloudFormation's DefinitionSubstitutions would."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    arns = {n: f"arn:aws:lambda:eu-west-1:123456789012:function:firesight-{n.replace('_', '-')}"
            for n in ("prepare", "generate", "features", "train", "evaluate", "register", "plan_retraining")}
    for name in list_workflows():
        definition = aws_definition(load_definition(name, substitute=False), arns)
        text = json.dumps(definition).replace(
            "${TrainingPipelineArn}", "arn:aws:states:eu-west-1:123456789012:stateMachine:training-pipeline")
        assert RESOURCE_PREFIX not in text
        program, _ = AmazonStateLanguageParser.parse(text)
        assert program is not None
    assert START_EXECUTION_SYNC in json.dumps(load_definition("retraining"))
    with pytest.raises(NotFoundError):
        aws_definition(load_definition("training-pipeline"), {})
