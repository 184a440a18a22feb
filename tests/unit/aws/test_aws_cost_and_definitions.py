"""The cost model's arithmetic against hand-computed figures, the CLI, and the conversion
of workflow definitions for Step Functions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from firesight.adapters.aws.cost import PRICES, FleetProfile, compare, estimate, monthly_messages, s3_costs
from firesight.errors import InvalidParameterError


def test_message_counts_and_iot_messaging_by_hand():
    one = FleetProfile(devices=1)
    msgs = monthly_messages(one)
    assert msgs["scd41"] == pytest.approx(730 * 3600 / 5)             # 525,600 readings
    assert msgs["thermal"] == pytest.approx(730 * 3600 * 8.7)
    edge = monthly_messages(FleetProfile(devices=1, mode="edge"))
    assert "thermal" not in edge and edge["features"] == pytest.approx(730 * 3600)
    # a 51,400-byte frame is 11 billed 5 KB messages; connectivity 43,800 min; shadows 24/day
    iot = (43_800 / 1e6 * 0.08 + (msgs["thermal"] * 11 + msgs["scd41"]) / 1e6 * 1.00
           + 24 * 30.4 / 1e6 * 1.25 + 2 * (msgs["thermal"] + 2 * msgs["scd41"]) / 1e6 * 0.15)
    assert estimate(one)["services"]["IoT Core"]["usd"] == pytest.approx(iot, abs=0.01)


def test_costs_scale_with_the_fleet_and_edge_mode_saves():
    small, large = estimate(FleetProfile(devices=10)), estimate(FleetProfile(devices=1000))
    assert large["services"]["IoT Core"]["usd"] == pytest.approx(100 * small["services"]["IoT Core"]["usd"], rel=1e-3)
    assert large["services"]["VPC (NAT, endpoints)"] == small["services"]["VPC (NAT, endpoints)"]   # fixed
    result = compare(100)
    assert result["edge"]["total_usd"] < result["stream"]["total_usd"]
    assert result["edge_saves_usd"] == pytest.approx(result["stream"]["total_usd"] - result["edge"]["total_usd"])
    assert result["lifecycle_saves_usd"] > 0
    assert set(result["prices"]) == set(PRICES) and all(p["source"].startswith("https://aws.amazon.com/")
                                                        for p in result["prices"].values())


def test_lifecycle_expiry_bounds_raw_storage():
    kept = s3_costs(FleetProfile(devices=100, months_in_operation=36))
    forever = s3_costs(FleetProfile(devices=100, months_in_operation=36, lifecycle=False))
    assert forever["raw"] == pytest.approx(3 * kept["raw"])            # 36 months vs 12 kept
    assert forever["put"] == kept["put"]
    early = compare(100, months_in_operation=1)
    assert early["lifecycle_saves_usd"] < compare(100, months_in_operation=36)["lifecycle_saves_usd"]


def test_bad_profiles_are_typed_errors():
    with pytest.raises(InvalidParameterError, match="devices"):
        FleetProfile(devices=0)
    with pytest.raises(InvalidParameterError, match="mode"):
        FleetProfile(devices=1, mode="batch")


def test_cli_prints_the_table_and_json():
    from firesight.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["cost", "estimate", "--devices", "50"])
    assert out.exit_code == 0, out.output
    assert "IoT Core" in out.output and "edge feature mode saves" in out.output
    as_json = runner.invoke(app, ["cost", "estimate", "--devices", "50", "--json"])
    data = json.loads(as_json.output)
    assert data["edge"]["profile"]["devices"] == 50
    assert runner.invoke(app, ["cost", "estimate", "--devices", "0"]).exit_code != 0


def test_workflow_definitions_convert_for_step_functions():
    from firesight.adapters.aws.stepfunctions import firesight_tasks, task_substitution_key, to_aws_definition
    from firesight.workflows import load_definition

    original = load_definition("training-pipeline", substitute=False)
    converted = to_aws_definition(original)
    text = json.dumps(converted)
    assert "arn:aws:states:::firesight:" not in text
    for task in firesight_tasks(original):
        assert "${" + task_substitution_key(task) + "}" in text
    assert task_substitution_key("plan_retraining") == "TaskPlanRetrainingArn"
    assert converted["StartAt"] == original["StartAt"] and converted["States"].keys() == original["States"].keys()


def test_workflow_task_handler_runs_the_task_its_alias_names():
    from firesight.adapters.aws.lambda_handlers import workflow_task_handler
    from firesight.errors import DataError
    from firesight.workflows.tasks import RESOURCE_PREFIX

    class Context:
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:firesight-dev-workflow-tasks:train"

    tasks = {RESOURCE_PREFIX + "train": lambda payload: {"trained": payload["n"] * 2}}
    assert workflow_task_handler({"n": 21}, Context(), tasks=tasks) == {"trained": 42}
    Context.invoked_function_arn = Context.invoked_function_arn.rsplit(":", 1)[0]      # no alias
    with pytest.raises(DataError, match="alias"):
        workflow_task_handler({}, Context(), tasks=tasks)
    Context.invoked_function_arn += ":nope"
    with pytest.raises(DataError, match="nope"):
        workflow_task_handler({}, Context(), tasks=tasks)
