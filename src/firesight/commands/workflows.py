"""``firesight workflow list | validate [NAME|FILE] | run NAME --input JSON``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from firesight.errors import DataError, InvalidParameterError

console = Console(width=160)


def _parse_input(text: Optional[str]) -> dict:
    if text is None or text == "":
        return {}
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameterError("--input", "a JSON object or @FILE holding one", text[:80]) from exc
    if not isinstance(value, dict):
        raise InvalidParameterError("--input", "a JSON object", type(value).__name__)
    return value


def workflow_list() -> None:
    """List the shipped state machine definitions."""
    from firesight.workflows import list_workflows, load_definition

    table = Table(title="workflows (Amazon States Language)")
    for col in ("name", "states", "comment"):
        table.add_column(col)
    for name in list_workflows():
        d = load_definition(name)
        table.add_row(name, str(len(d["States"])), d.get("Comment", ""))
    console.print(table)


def workflow_validate(
    name: Optional[str] = typer.Argument(None, help="Workflow name or .asl.json file (default: every shipped one)."),
) -> None:
    """Check definitions: states, transitions, reachability, Retry/Catch, registered tasks."""
    from firesight.workflows import definition_problems, list_workflows, load_definition
    from firesight.workflows.tasks import default_tasks

    resources = set(default_tasks(runner=lambda n, payload: payload))
    bad = 0
    for item in ([name] if name else list_workflows()):
        problems = definition_problems(load_definition(item), resources=resources)
        bad += bool(problems)
        console.print(f"{item}: {'valid' if not problems else 'INVALID'}", highlight=False)
        for p in problems:
            console.print(f"  - {p}", highlight=False)
    if bad:
        raise DataError(f"{bad} definition(s) invalid")


def workflow_run(
    name: str = typer.Argument(..., help="Workflow name (see `firesight workflow list`) or .asl.json file."),
    input_json: Optional[str] = typer.Option(None, "--input", help="Execution input: a JSON object, or "
                                             "@FILE (default {}: the workflow's defaults)."),
    output: Optional[Path] = typer.Option(None, "--output", help="Also write the execution (status, "
                                          "output, error, history) as JSON to this file."),
) -> None:
    """Run a workflow locally; print its output (exit 2 if the execution fails)."""
    from firesight.commands.detect import write_json_atomic
    from firesight.workflows import run_workflow

    ex = run_workflow(name, _parse_input(input_json))
    record = {"execution_id": ex.execution_id, "status": ex.status, "output": ex.output,
              "error": ex.error, "cause": ex.cause, "history": ex.history}
    if output is not None:
        write_json_atomic(output, record)
    console.print_json(json.dumps({k: record[k] for k in ("execution_id", "status", "output", "error", "cause")}))
    if ex.status != "SUCCEEDED":
        raise DataError(f"workflow {name} failed: {ex.error}: {ex.cause}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the workflow commands to the CLI."""
    wf = typer.Typer(help="State machine workflows (training pipeline, retraining) run locally.",
                     no_args_is_help=True)
    wf.command("list")(workflow_list)
    wf.command("validate")(workflow_validate)
    wf.command("run")(workflow_run)
    app.add_typer(wf, name="workflow")
