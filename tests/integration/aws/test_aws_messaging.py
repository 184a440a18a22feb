"""SNS fan-out with filter policies, CloudWatch metrics and alarms, Step Functions
executed by moto's state machine interpreter."""

from __future__ import annotations

import json
import urllib.request

import pytest

from firesight.adapters.aws.cloudwatch import CloudWatchMetrics, Metric, embedded_metric_format
from firesight.adapters.aws.sns import SNSNotifier, SNSTopics
from firesight.adapters.aws.stepfunctions import StepFunctions
from firesight.errors import DeliveryError, InvalidParameterError
from firesight.ports import Notification
from support.moto import unique_name


def _queue(boto_client, name):
    sqs = boto_client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _drain(boto_client, url):
    sqs, out = boto_client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_sns_fan_out_honours_filter_policies(moto_settings, boto_client):
    topics = SNSTopics(moto_settings)
    topic = topics.create_topic(unique_name("alerts"))
    all_url, all_arn = _queue(boto_client, unique_name("ops"))
    alarm_url, alarm_arn = _queue(boto_client, unique_name("brigade"))
    topics.subscribe(topic, "sqs", all_arn)
    topics.subscribe(topic, "sqs", alarm_arn, filter_policy={"severity": ["alarm"]})
    assert len(topics.subscriptions(topic)) == 2
    notifier = SNSNotifier(topic, settings=moto_settings)
    for severity in ("watch", "alarm"):
        notifier.send(Notification(delivery_key=f"a1:{severity}:sns", subject=f"{severity.upper()} kitchen\nhq",
                                   text=f"{severity} in the kitchen", severity=severity,
                                   data={"site": "hq", "thing": "kitchen", "probability": 0.93}))
    everything, alarms = _drain(boto_client, all_url), _drain(boto_client, alarm_url)
    assert sorted(json.loads(m["Message"])["severity"] for m in everything) == ["alarm", "watch"]
    assert [json.loads(m["Message"])["severity"] for m in alarms] == ["alarm"]
    facts = json.loads(alarms[0]["Message"])
    assert facts["delivery_key"] == "a1:alarm:sns" and facts["probability"] == 0.93
    assert alarms[0]["Subject"] == "ALARM kitchen hq"                    # one line
    assert alarms[0]["MessageAttributes"]["thing"]["Value"] == "kitchen"


def test_sns_failures_are_delivery_errors(moto_settings):
    missing = SNSNotifier("arn:aws:sns:eu-west-1:123456789012:nope", settings=moto_settings)
    with pytest.raises(DeliveryError) as info:
        missing.send(Notification(delivery_key="k", subject="s", text="t", severity="alarm"))
    assert info.value.transient is False
    with pytest.raises(InvalidParameterError):
        SNSNotifier("not-an-arn")


def test_cloudwatch_metrics_and_alarms(moto_settings, boto_client):
    namespace = unique_name("Firesight")
    cw = CloudWatchMetrics(namespace, settings=moto_settings)
    sent = cw.put([Metric("IngestRejected", 3, dimensions={"site": "hq"}),
                   Metric("IngestRejected", 4, dimensions={"site": "hq"}),
                   Metric("AlertLatency", 7.5, unit="Seconds", dimensions={"site": "hq"})])
    assert sent == 3
    names = {m["MetricName"] for m in boto_client("cloudwatch").list_metrics(Namespace=namespace)["Metrics"]}
    assert names == {"IngestRejected", "AlertLatency"}
    cw.put_alarm(f"{namespace}-rejects", metric="IngestRejected", threshold=5,
                 comparison="GreaterThanThreshold", dimensions={"site": "hq"}, period_s=60)
    [alarm] = cw.alarms(namespace)     # its state is moto's guess, not CloudWatch's evaluation
    assert (alarm["name"], alarm["metric"], alarm["threshold"]) == (f"{namespace}-rejects", "IngestRejected", 5.0)
    assert alarm["state"] in ("OK", "ALARM", "INSUFFICIENT_DATA")
    with pytest.raises(InvalidParameterError, match="value"):
        Metric("x", float("nan"))
    with pytest.raises(InvalidParameterError, match="period_s"):
        cw.put_alarm("a", metric="m", threshold=1, comparison="GreaterThanThreshold", period_s=45)


def test_embedded_metric_format_is_what_cloudwatch_logs_parses():
    line = embedded_metric_format("Firesight", [Metric("Alarms", 1, dimensions={"site": "hq"}),
                                                Metric("Latency", 2.5, "Seconds", {"site": "hq"})],
                                  timestamp_ms=1_700_000_000_000)
    doc = json.loads(line)
    spec = doc["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "Firesight" and spec["Dimensions"] == [["site"]]
    assert {m["Name"] for m in spec["Metrics"]} == {"Alarms", "Latency"}
    assert doc["site"] == "hq" and doc["Latency"] == 2.5 and doc["_aws"]["Timestamp"] == 1_700_000_000_000
    with pytest.raises(InvalidParameterError):
        embedded_metric_format("F", [Metric("a", 1, dimensions={"site": "x"}), Metric("b", 1)], timestamp_ms=0)


@pytest.fixture()
def executing_state_machines(moto_endpoint):
    """Ask the moto server to run state machines with its interpreter (off by default)."""
    def set_config(value: bool) -> None:
        req = urllib.request.Request(f"{moto_endpoint}/moto-api/config", method="POST",
                                     data=json.dumps({"stepfunctions": {"execute_state_machine": value}}).encode())
        urllib.request.urlopen(req, timeout=10).read()

    set_config(True)
    yield
    set_config(False)


def test_step_functions_run_a_workflow_that_writes_to_dynamodb(moto_settings, boto_client,
                                                               executing_state_machines):
    table = unique_name("incidents")
    boto_client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    definition = {
        "StartAt": "Classify",
        "States": {
            "Classify": {"Type": "Choice", "Choices": [
                {"Variable": "$.probability", "NumericGreaterThanEquals": 0.8, "Next": "Record"}],
                "Default": "Ignore"},
            "Record": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                       "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.thing"},
                                                                  "level": {"S": "alarm"}}},
                       "ResultPath": None, "Next": "Done"},
            "Ignore": {"Type": "Fail", "Error": "BelowThreshold", "Cause": "probability under 0.8"},
            "Done": {"Type": "Succeed"},
        }}
    sfn = StepFunctions(settings=moto_settings)
    role = "arn:aws:iam::123456789012:role/firesight-workflows"
    name = unique_name("incident")
    arn = sfn.deploy(name, definition, role_arn=role)
    assert sfn.deploy(name, definition, role_arn=role) == arn          # an update, same machine
    ok = sfn.wait(sfn.start(arn, {"thing": "kitchen", "probability": 0.93}))
    assert ok["status"] == "SUCCEEDED" and ok["output"]["thing"] == "kitchen"
    item = boto_client("dynamodb").get_item(TableName=table, Key={"id": {"S": "kitchen"}})["Item"]
    assert item["level"] == {"S": "alarm"}
    low = sfn.wait(sfn.start(arn, {"thing": "hall", "probability": 0.1}))
    assert (low["status"], low["error"]) == ("FAILED", "BelowThreshold")
    assert "Item" not in boto_client("dynamodb").get_item(TableName=table, Key={"id": {"S": "hall"}})
