"""AWS IoT SQL subset and rule actions (AWS IoT Core Developer Guide, "AWS IoT SQL reference")."""

import json

import pytest

from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.errors import InvalidParameterError
from firesight.iot.rules import (UNDEFINED, MessageContext, RulesEngine, RuleSyntaxError, TopicRule, load_rules,
                                 parse_sql, render_template, to_aws_topic_rule)

TOPIC = "firesight/v1/site-a/node-7/scd41"
READING = {"co2_ppm": 1450, "temperature_c": 23.5, "humidity_rh": 41.0, "ts_ms": 1000, "seq": 3,
           "diag": {"sensor": {"status": "ok", "codes": [7, 9]}}}


def _apply(sql, doc=READING, topic=TOPIC, client_id="node-7"):
    return parse_sql(sql).apply(doc, MessageContext(topic, client_id, 1_700_000_000_123))


def test_select_nested_fields_functions_and_aliases():
    out = _apply("SELECT co2_ppm, diag.sensor.status, diag.sensor.codes[1] AS code, topic(3) AS site, "
                 "topic(4) AS thing, timestamp() AS t_ms, clientid() AS cid, co2_ppm - 400 AS excess_ppm "
                 "FROM 'firesight/v1/+/+/scd41'")
    assert out == {"co2_ppm": 1450, "status": "ok", "code": 9, "site": "site-a", "thing": "node-7",
                   "t_ms": 1_700_000_000_123, "cid": "node-7", "excess_ppm": 1050}


def test_star_merges_with_extra_columns_and_missing_fields_are_left_out():
    out = _apply("SELECT *, topic(4) AS thing, nothing.here AS gone FROM 'firesight/#'")
    assert out["thing"] == "node-7" and out["co2_ppm"] == 1450 and "gone" not in out


@pytest.mark.parametrize("where, expected", [
    ("co2_ppm > 1000", True),
    ("co2_ppm > 1000 AND temperature_c < 20", False),
    ("co2_ppm > 5000 OR diag.sensor.status = 'ok'", True),
    ("NOT (humidity_rh >= 41)", False),
    ("(co2_ppm - 400) * 2 / 3 > 699", True),
    ("co2_ppm % 100 = 50", True),
    ("missing > 3", False),  # Undefined compares false
    ("NOT missing > 3", False),  # and NOT Undefined is still not true
    ("topic(5) = 'scd41' AND topic(2) <> 'v2'", True),
    ("upper(diag.sensor.status) = 'OK'", True),
    ("isUndefined(missing)", True),
    ("seq = '3'", False),  # no implicit string/number equality
    ("'abc' < 'abd'", True),
])
def test_where_conditions(where, expected):
    assert (_apply(f"SELECT seq FROM 'firesight/v1/+/+/scd41' WHERE {where}") is not None) is expected


def test_arithmetic_on_undefined_and_division_by_zero_is_undefined():
    out = _apply("SELECT missing + 1 AS a, co2_ppm / 0 AS b, -temperature_c AS c FROM '#'")
    assert out == {"c": -23.5}


@pytest.mark.parametrize("sql", [
    "SELECT FROM 'a'",
    "SELECT * FROM a/b",
    "SELECT * 'a'",
    "SELECT a FROM 'x' WHERE",
    "SELECT nosuchfn(a) FROM 'x'",
    "SELECT a FROM 'x/#/y'",
    "SELECT a FROM 'x' WHERE a = 1 extra",
])
def test_bad_sql_is_refused_with_position(sql):
    with pytest.raises(InvalidParameterError):
        parse_sql(sql)


def test_syntax_error_names_the_position():
    with pytest.raises(RuleSyntaxError, match="FROM at character 9"):
        parse_sql("SELECT a b FROM 'x'")


def test_topic_filter_matching():
    q = parse_sql("SELECT * FROM 'firesight/v1/+/+/thermal'")
    assert q.matches("firesight/v1/s/n/thermal") and not q.matches("firesight/v1/s/n/scd41")
    assert parse_sql("SELECT * FROM 'firesight/#'").matches("firesight/v1/s/n/thermal")


def test_templates():
    ctx = MessageContext(TOPIC, "node-7", 42)
    assert render_template("alerts/${topic(3)}/${topic(4)}-${seq}-${timestamp()}.json", READING, ctx) == \
        "alerts/site-a/node-7-3-42.json"
    assert render_template("x/${nothing}", READING, ctx) == "x/"


def test_actions_republish_object_store_queue_and_handler(tmp_path):
    store = FsspecObjectStore(str(tmp_path / "objects"))
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    seen = []
    rules = load_rules([
        {"name": "co2_high", "sql": "SELECT co2_ppm, topic(4) AS thing FROM 'firesight/v1/+/+/scd41' "
                                    "WHERE co2_ppm > 1000",
         "actions": [{"republish": {"topic": "firesight/v1/${topic(3)}/alerts"}},
                     {"object_store": {"key": "co2/${topic(4)}/${seq}.json"}},
                     {"queue": {"queue": "co2-events"}},
                     {"handler": {"name": "collect"}}]},
        {"name": "disabled_rule", "sql": "SELECT * FROM '#'", "enabled": False,
         "actions": [{"queue": {"queue": "everything"}}]},
    ])
    engine = RulesEngine(rules, object_store=store, queue=queue,
                         handlers={"collect": lambda msg, ctx: seen.append((msg, ctx.topic))})
    out = engine.process(TOPIC, json.dumps(READING).encode())
    assert out == [("firesight/v1/site-a/alerts", b'{"co2_ppm":1450,"thing":"node-7"}')]
    assert json.loads(store.get_bytes("co2/node-7/3.json")) == {"co2_ppm": 1450, "thing": "node-7"}
    (msg,) = queue.receive("co2-events")
    assert json.loads(msg["body"])["thing"] == "node-7" and msg["attributes"]["topic"] == TOPIC
    assert seen == [({"co2_ppm": 1450, "thing": "node-7"}, TOPIC)]
    assert queue.receive("everything") == []
    # WHERE false: nothing happens
    assert engine.process(TOPIC, json.dumps({**READING, "co2_ppm": 500}).encode()) == []
    assert engine.counts["matched:co2_high"] == 1
    # non-JSON payloads are counted, not crashed on
    assert engine.process(TOPIC, b"\xff\x00garbage") == []
    assert engine.counts["payload_not_json"] == 1


def test_failing_action_runs_error_action_and_others_continue(tmp_path):
    def boom(msg, ctx):
        raise RuntimeError("handler down")

    rule = TopicRule.from_dict({
        "name": "r", "sql": "SELECT co2_ppm FROM 'firesight/#'",
        "actions": [{"handler": {"name": "boom"}}, {"republish": {"topic": "out/${topic(4)}"}}],
        "error_action": {"republish": {"topic": "firesight/errors/${ruleName}"}}})
    engine = RulesEngine([rule], handlers={"boom": boom})
    out = dict(engine.process(TOPIC, json.dumps(READING).encode()))
    assert json.loads(out["out/node-7"]) == {"co2_ppm": 1450}
    err = json.loads(out["firesight/errors/r"])
    assert err["failures"][0]["errorMessage"] == "handler down" and engine.counts["errors"] == 1


def test_rules_as_yaml_and_aws_payload(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: archive\n    sql: SELECT * FROM 'firesight/v1/+/+/scd41'\n"
                    "    actions:\n      - object_store: {key: 'raw/${topic(4)}/${timestamp()}.json'}\n"
                    "      - queue: {queue: readings}\n")
    (rule,) = load_rules(path)
    payload = to_aws_topic_rule(rule, role_arn="arn:aws:iam::123456789012:role/rules", bucket="fs-raw",
                                queue_urls={"readings": "https://sqs.eu-west-1.amazonaws.com/123/readings"})
    assert payload["sql"] == "SELECT * FROM 'firesight/v1/+/+/scd41'"
    assert payload["awsIotSqlVersion"] == "2016-03-23" and payload["ruleDisabled"] is False
    assert payload["actions"][0] == {"s3": {"bucketName": "fs-raw", "key": "raw/${topic(4)}/${timestamp()}.json",
                                            "roleArn": "arn:aws:iam::123456789012:role/rules"}}
    assert payload["actions"][1]["sqs"]["queueUrl"].endswith("/readings")


@pytest.mark.parametrize("bad", [
    {"name": "bad-name", "sql": "SELECT * FROM 'a'", "actions": [{"queue": {"queue": "q"}}]},
    {"name": "r", "sql": "SELECT * FROM 'a'", "actions": []},
    {"name": "r", "sql": "SELECT * FROM 'a'", "actions": [{"email": {"to": "x"}}]},
    {"name": "r", "sql": "SELECT * FROM 'a'", "actions": [{"republish": {}}]},
])
def test_bad_rule_definitions(bad):
    with pytest.raises(InvalidParameterError):
        load_rules([bad])


def test_undefined_repr():
    assert repr(UNDEFINED) == "Undefined"
