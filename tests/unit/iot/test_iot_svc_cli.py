"""The shadow, rules and defender commands on a throw-away FIRESIGHT_HOME."""

import json

import pytest
import typer
from typer.testing import CliRunner

from firesight.commands import fleet as fleet_commands


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path / "home"))
    app, bench = typer.Typer(), typer.Typer()
    fleet_commands.register(app, bench)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, list(args), catch_exceptions=True)
        return result

    return run


def _json(result):
    return json.loads(result.stdout)


def test_shadow_update_get_delete(cli):
    out = cli("shadow", "update", "node-1", "--set", "edge_mode=features", "--set", "measurement_interval_s=30")
    assert out.exit_code == 0, out.output
    assert _json(out)["version"] == 1
    doc = _json(cli("shadow", "get", "node-1"))
    assert doc["state"]["desired"] == {"edge_mode": "features", "measurement_interval_s": 30}
    assert doc["state"]["delta"] == doc["state"]["desired"]
    conflict = cli("shadow", "update", "node-1", "--desired", '{"edge_mode": "frames"}', "--version", "7")
    assert conflict.exit_code != 0 and "Version conflict" in str(conflict.exception)
    assert _json(cli("shadow", "delete", "node-1"))["version"] == 1
    assert cli("shadow", "get", "node-1").exit_code != 0


def test_rules_deploy_list_test_and_aws_payloads(cli, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "hot", "sql": "SELECT co2_ppm FROM 'firesight/v1/+/+/scd41' "
                                                        "WHERE co2_ppm > 1000",
                                  "actions": [{"queue": {"queue": "hot"}}]}]))
    aws = tmp_path / "aws.json"
    out = cli("rules", "deploy", "--file", str(rules), "--aws-out", str(aws), "--role-arn", "arn:aws:iam::1:role/r",
              "--queue-url", "hot=https://sqs.eu-west-1.amazonaws.com/1/hot")
    assert out.exit_code == 0, out.output
    assert json.loads(aws.read_text())["hot"]["actions"] == [
        {"sqs": {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/hot", "roleArn": "arn:aws:iam::1:role/r",
                 "useBase64": False}}]
    assert "hot" in cli("rules", "list").stdout
    tested = _json(cli("rules", "test", "--sql", "SELECT co2_ppm FROM 'firesight/v1/+/+/scd41' WHERE co2_ppm > 1000",
                       "--topic", "firesight/v1/a/b/scd41", "--payload", '{"co2_ppm": 1200}'))
    assert tested == {"matches_topic": True, "selected": {"co2_ppm": 1200}}


def test_defender_profile_aws_refuses_short_durations(cli, tmp_path):
    assert _json(cli("defender", "profile", "--aws"))["securityProfileName"] == "firesight-nodes"
    short = tmp_path / "p.json"
    short.write_text(json.dumps({"securityProfileName": "p", "behaviors": [
        {"name": "b", "metric": "aws:num-disconnects",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 1}, "durationSeconds": 5}}]}))
    assert cli("defender", "profile", "--file", str(short)).exit_code == 0
    assert cli("defender", "profile", "--file", str(short), "--aws").exit_code != 0
