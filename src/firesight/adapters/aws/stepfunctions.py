"""AWS Step Functions: create (or update) the workflows' state machines and run them.

References
----------
1. AWS Step Functions API Reference, ``CreateStateMachine``, ``UpdateStateMachine``,
   ``StartExecution``, ``DescribeExecution``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import DataError, InvalidParameterError, require

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class StepFunctions:
    """State machines by name."""

    def __init__(self, *, settings: AwsSettings | None = None):
        self._clients = ClientFactory(settings or AwsSettings())

    @property
    def client(self) -> Any:
        return self._clients.client("stepfunctions")

    def deploy(self, name: str, definition: Mapping[str, Any] | str, *, role_arn: str,
               kind: str = "STANDARD") -> str:
        """Create state machine ``name`` or update its definition; return its ARN."""
        require(kind in ("STANDARD", "EXPRESS"), "kind", "STANDARD or EXPRESS", kind)
        text = definition if isinstance(definition, str) else json.dumps(definition)
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError("definition", "Amazon States Language JSON", str(exc)) from exc
        try:
            return self.client.create_state_machine(name=name, definition=text, roleArn=role_arn,
                                                    type=kind)["stateMachineArn"]
        except Exception as exc:
            if error_code(exc) != "StateMachineAlreadyExists":
                raise translate(exc, f"create state machine {name}") from exc
        arn = self.arn(name)
        try:
            self.client.update_state_machine(stateMachineArn=arn, definition=text, roleArn=role_arn)
        except Exception as exc:
            raise translate(exc, f"update state machine {name}") from exc
        return arn

    def arn(self, name: str) -> str:
        paginator = self.client.get_paginator("list_state_machines")
        for page in paginator.paginate():
            for sm in page.get("stateMachines", []):
                if sm["name"] == name:
                    return sm["stateMachineArn"]
        from firesight.errors import NotFoundError

        raise NotFoundError(f"no state machine named {name!r}")

    def start(self, state_machine_arn: str, payload: Mapping[str, Any], *, execution_name: str = "") -> str:
        """Start an execution with ``payload`` as input; return the execution ARN. A given
        ``execution_name`` makes the start idempotent (Step Functions refuses a second one);
        by default a fresh one is drawn."""
        args: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(dict(payload)),
                                "name": execution_name or uuid.uuid4().hex}
        try:
            return self.client.start_execution(**args)["executionArn"]
        except Exception as exc:
            raise translate(exc, f"start {state_machine_arn}") from exc

    def wait(self, execution_arn: str, *, timeout_s: float = 60.0, poll_s: float = 0.2) -> dict[str, Any]:
        """Wait for the execution to end; return ``{"status", "output", "error", "cause"}``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                desc = self.client.describe_execution(executionArn=execution_arn)
            except Exception as exc:
                raise translate(exc, f"describe {execution_arn}") from exc
            if desc["status"] in TERMINAL:
                output = desc.get("output")
                return {"status": desc["status"], "output": json.loads(output) if output else None,
                        "error": desc.get("error", ""), "cause": desc.get("cause", "")}
            if time.monotonic() > deadline:
                raise DataError(f"execution {execution_arn} still {desc['status']} after {timeout_s} s")
            time.sleep(poll_s)


#: Resource prefix of firesight's own tasks in the workflow definitions (run by the local
#: runner); on AWS each becomes a Lambda alias of the workflow-task function.
FIRESIGHT_TASK_PREFIX = "arn:aws:states:::firesight:"


def task_substitution_key(task: str) -> str:
    """The ``DefinitionSubstitutions`` key that stands for ``task``'s Lambda alias ARN."""
    return "Task" + "".join(part.capitalize() for part in task.split("_")) + "Arn"


def firesight_tasks(definition: Any) -> list[str]:
    """Names of the firesight tasks a definition uses (``arn:aws:states:::firesight:NAME``)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            resource = node.get("Resource")
            if isinstance(resource, str) and resource.startswith(FIRESIGHT_TASK_PREFIX):
                found.add(resource[len(FIRESIGHT_TASK_PREFIX):])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(definition)
    return sorted(found)


def to_aws_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as Step Functions runs it: every firesight task resource becomes
    ``${TaskNameArn}`` (a ``DefinitionSubstitutions`` key, the task's Lambda alias ARN, which
    Step Functions invokes with the state's effective input and whose result it takes as the
    task result, exactly as the local runner calls the task); everything else is kept."""

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: convert(v) for k, v in node.items()}
            resource = out.get("Resource")
            if isinstance(resource, str) and resource.startswith(FIRESIGHT_TASK_PREFIX):
                out["Resource"] = "${" + task_substitution_key(resource[len(FIRESIGHT_TASK_PREFIX):]) + "}"
            return out
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    return convert(dict(definition))
