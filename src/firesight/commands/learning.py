"""``firesight learning step | status``: the learning agent by hand."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console

console = Console(width=160)


def learning_step(
    feedback_threshold: int = typer.Option(5, "--feedback-threshold", help="Error feedback items (false alarms + "
                                           "missed fires) that trigger a retraining (default 5)."),
    base: Optional[str] = typer.Option(None, "--base", help="Training-run overrides as JSON, e.g. "
                                       "'{\"train\": {\"count\": 54}}' (default: the pipeline's defaults)."),
) -> None:
    """Collect queued feedback, judge drift, and retrain through the workflow if the evidence
    is enough; print what happened as JSON."""
    from firesight.agents.learning import LearningSettings, build_learning_agent

    from firesight.errors import InvalidParameterError

    try:
        overrides = json.loads(base) if base else {}
    except ValueError:
        raise InvalidParameterError("--base", "a JSON object", base) from None
    if not isinstance(overrides, dict):
        raise InvalidParameterError("--base", "a JSON object", base)
    agent = build_learning_agent(settings=LearningSettings(feedback_threshold=feedback_threshold,
                                                           base_request=overrides))
    result = agent.step()
    result["counters"] = dict(agent.counters)
    console.print_json(json.dumps(result, default=str))


def learning_status() -> None:
    """Feedback not yet used by a retraining, and the retraining runs so far."""
    from firesight import bootstrap
    from firesight.agents.learning import FEEDBACK_TABLE, RUNS_TABLE

    store = bootstrap.metadata_store()
    pending = [i for i in store.query(FEEDBACK_TABLE) if not i.get("used_by")]
    runs = [{k: r.get(k) for k in ("run_id", "status", "at_s", "evidence", "error")} for r in store.query(RUNS_TABLE)]
    console.print_json(json.dumps({"pending_feedback": len(pending),
                                   "pending_by_kind": {k: sum(1 for i in pending if i["kind"] == k)
                                                       for k in sorted({i["kind"] for i in pending})},
                                   "runs": runs}, default=str))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the learning commands to the CLI."""
    learning = typer.Typer(help="Learning agent: feedback, drift, retraining.", no_args_is_help=True)
    learning.command("step")(learning_step)
    learning.command("status")(learning_status)
    app.add_typer(learning, name="learning")
