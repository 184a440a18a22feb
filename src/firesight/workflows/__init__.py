"""Workflows: Amazon States Language state machines, defined once, run locally or on Step
Functions.

``definitions/NAME.asl.json`` holds each definition. Locally, :func:`run_workflow` runs it
with :class:`~firesight.workflows.runner.StateMachine` and firesight's tasks; on AWS the
same file is deployed with ``DefinitionSubstitutions`` (``${TrainingPipelineArn}``) and
:func:`aws_definition` maps each ``arn:aws:states:::firesight:NAME`` resource to a Lambda
function ARN (a Lambda ARN as ``Resource`` has the same input and output semantics as a
local task: the effective input in, the function's return value out).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from firesight.config import Config, load_config
from firesight.errors import NotFoundError
from firesight.workflows.paths import StatesError
from firesight.workflows.runner import Execution, StateMachine
from firesight.workflows.tasks import RESOURCE_PREFIX, default_tasks
from firesight.workflows.validate import DefinitionError, definition_problems, validate_definition

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
SUFFIX = ".asl.json"
#: Local ARN of each definition (the ``${...Arn}`` substitutions of nested executions).
LOCAL_ARN = "arn:aws:states:local:000000000000:stateMachine:{name}"

__all__ = ["DefinitionError", "Execution", "StateMachine", "StatesError", "aws_definition",
           "definition_problems", "list_workflows", "load_definition", "run_workflow",
           "validate_definition", "workflow_runner"]


def list_workflows() -> list[str]:
    """Names of the shipped definitions (``training-pipeline``, ``retraining``)."""
    return sorted(p.name[: -len(SUFFIX)] for p in DEFINITIONS_DIR.glob(f"*{SUFFIX}"))


def substitutions() -> dict[str, str]:
    """``${Name}`` placeholders of the definitions and their local values."""
    return {"TrainingPipelineArn": LOCAL_ARN.format(name="training-pipeline"),
            "RetrainingArn": LOCAL_ARN.format(name="retraining")}


def _substitute(value: Any, subs: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, subs) for v in value]
    if isinstance(value, str) and "${" in value:
        for key, sub in subs.items():
            value = value.replace("${" + key + "}", sub)
    return value


def load_definition(name_or_path: str, *, substitute: bool = True) -> dict:
    """A shipped definition by name, or a definition file by path (JSON)."""
    path = Path(name_or_path)
    if not path.is_file():
        path = DEFINITIONS_DIR / f"{name_or_path}{SUFFIX}"
    if not path.is_file():
        raise NotFoundError(f"workflow {name_or_path!r}: not among {list_workflows()} and no such file")
    try:
        definition = json.loads(path.read_text())
    except ValueError as exc:
        raise DefinitionError([f"{path}: not JSON ({exc})"]) from None
    return _substitute(definition, substitutions()) if substitute else definition


def workflow_runner(config: Config | None = None, *, tasks: Mapping[str, Callable] | None = None,
                    sleep: Callable[[float], None] | None = None) -> Callable[[str, Any], Execution]:
    """``run(name, input) -> Execution`` over firesight's tasks (or ``tasks``), with nested
    executions (``states:startExecution.sync:2``) running the named child definition."""
    cfg = (config or load_config()).resolved()
    extra = {"sleep": sleep} if sleep is not None else {}

    def child(arn_name: str, child_input: Any) -> Any:
        execution = run(arn_name, child_input)
        if execution.status != "SUCCEEDED":
            raise StatesError("States.TaskFailed", json.dumps(
                {"child": arn_name, "error": execution.error, "cause": execution.cause}))
        return execution.output

    registry = dict(default_tasks(cfg, runner=child))
    registry.update(tasks or {})

    def run(name: str, execution_input: Any = None) -> Execution:
        definition = load_definition(name)
        validate_definition(definition, resources=registry)
        return StateMachine(definition, registry, name=name, **extra).run(execution_input)

    return run


def run_workflow(name: str, execution_input: Any = None, *, config: Config | None = None,
                 tasks: Mapping[str, Callable] | None = None,
                 sleep: Callable[[float], None] | None = None) -> Execution:
    """Validate and run a shipped workflow (or a definition file) locally."""
    return workflow_runner(config, tasks=tasks, sleep=sleep)(name, execution_input)


def aws_definition(definition: Mapping, lambda_arns: Mapping[str, str]) -> dict:
    """The definition for Step Functions: each ``arn:aws:states:::firesight:NAME`` resource
    replaced by ``lambda_arns[NAME]``; ``${...}`` placeholders are left for
    ``DefinitionSubstitutions``."""
    out = copy.deepcopy(dict(definition))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            resource = node.get("Resource")
            if node.get("Type") == "Task" and isinstance(resource, str) and resource.startswith(RESOURCE_PREFIX):
                name = resource[len(RESOURCE_PREFIX):]
                if name not in lambda_arns:
                    raise NotFoundError(f"no Lambda ARN given for task {name!r}")
                node["Resource"] = lambda_arns[name]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out

