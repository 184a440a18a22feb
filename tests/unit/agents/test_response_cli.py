"""``firesight alerts`` and ``firesight maintenance`` on a real alert store and queue under
FIRESIGHT_HOME: list with filters, show, ack by id prefix, resolve, feedback queued for the
learning agent, maintenance windows, and named errors for bad input."""

from __future__ import annotations

import io
import json
import time

import pytest
import typer
from typer.testing import CliRunner

from firesight import bootstrap
from firesight.agents.events import ALERT_EVENTS_QUEUE, FEEDBACK_QUEUE, AlertEvent
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import default_policy
from firesight.commands import alerts as alerts_cmd
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.notify import ConsoleNotifier


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path))
    app = typer.Typer()
    alerts_cmd.register(app, typer.Typer())
    runner = CliRunner()
    queue = bootstrap.message_queue()
    agent = ResponseAgent(queue, bootstrap.alert_store(), {"console": ConsoleNotifier(io.StringIO())},
                          default_policy(["console"]))
    for thing, signal, level in (("kitchen", "alarm", "alarm"), ("lobby", "watch", "watch"),
                                 ("boiler", "trouble", "offline")):
        queue.send(ALERT_EVENTS_QUEUE, AlertEvent(
            event_id=f"{thing}:{signal}:1", site="hq", thing=thing, signal=signal, state="active", level=level,
            previous="normal", ts_ms=int(time.time() * 1000), probability=0.9 if signal == "alarm" else None).to_json())
    assert agent.process_available() == 3

    def run(*args):
        return runner.invoke(app, list(args), catch_exceptions=True)
    return run


def _json(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


def test_list_filters_and_table(cli):
    assert {a["thing"] for a in _json(cli("alerts", "list", "--json"))} == {"kitchen", "lobby", "boiler"}
    assert [a["thing"] for a in _json(cli("alerts", "list", "--signal", "alarm", "--json"))] == ["kitchen"]
    assert [a["thing"] for a in _json(cli("alerts", "list", "--thing", "boiler", "--json"))] == ["boiler"]
    assert _json(cli("alerts", "list", "--since", "1h", "--json")) and not _json(cli("alerts", "list", "--since", "-1h",
                                                                                    "--site", "annex", "--json"))
    assert _json(cli("alerts", "list", "--since", "2000-01-01T00:00:00", "--state", "resolved", "--json")) == []
    table = cli("alerts", "list")
    ids = [a["alert_id"] for a in _json(cli("alerts", "list", "--json"))]
    assert table.exit_code == 0 and "3 alert(s)" in table.output and all(i in table.output for i in ids)


def test_show_ack_resolve_by_prefix(cli):
    alert_id = _json(cli("alerts", "list", "--signal", "alarm", "--json"))[0]["alert_id"]
    shown = _json(cli("alerts", "show", alert_id[:6], "--json"))
    assert shown["alert"]["alert_id"] == alert_id and shown["deliveries"][0]["state"] == "sent"
    acked = _json(cli("alerts", "ack", alert_id[:6], "--by", "alice", "--note", "on my way", "--json"))
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "alice"
    out = cli("alerts", "resolve", alert_id, "--by", "bob", "--note", "burnt toast")
    assert out.exit_code == 0 and "resolved by bob" in out.output
    text = cli("alerts", "show", alert_id)
    assert text.exit_code == 0 and "burnt toast" in text.output and "acknowledged" in text.output
    assert [a["thing"] for a in _json(cli("alerts", "list", "--state", "resolved", "--json"))] == ["kitchen"]


def test_feedback_is_recorded_and_queued_for_the_learning_agent(cli):
    alert_id = _json(cli("alerts", "list", "--signal", "alarm", "--json"))[0]["alert_id"]
    sent = _json(cli("alerts", "feedback", alert_id, "--kind", "false_alarm", "--by", "carol", "--json"))
    assert sent["kind"] == "false_alarm" and sent["thing"] == "kitchen"
    [message] = bootstrap.message_queue().receive(FEEDBACK_QUEUE)
    body = json.loads(message["body"])
    assert body["alert_id"] == alert_id and body["kind"] == "false_alarm" and body["by"] == "carol"
    assert body["site"] == "hq" and body["probability"] == 0.9 and body["ts_ms"] > 0
    assert message["attributes"] == {"kind": "false_alarm", "alert_id": alert_id}
    assert _json(cli("alerts", "show", alert_id, "--json"))["alert"]["feedback"][0]["by"] == "carol"


def test_maintenance_add_list_remove(cli):
    window = _json(cli("maintenance", "add", "--site", "hq", "--thing", "kitchen", "--until", "+2h",
                       "--reason", "hot works", "--json"))
    assert window["until_s"] - window["from_s"] == pytest.approx(7200, abs=5)
    later = _json(cli("maintenance", "add", "--site", "hq", "--from", "+1d", "--until", "+2d", "--json"))
    assert [w["window_id"] for w in _json(cli("maintenance", "list", "--active", "--json"))] == [window["window_id"]]
    assert len(_json(cli("maintenance", "list", "--json"))) == 2
    assert cli("maintenance", "remove", later["window_id"]).exit_code == 0
    assert len(_json(cli("maintenance", "list", "--json"))) == 1


@pytest.mark.parametrize("args, error, name", [
    (("alerts", "list", "--since", "yesterday-ish"), InvalidParameterError, "since"),
    (("alerts", "list", "--signal", "fire"), InvalidParameterError, "signal"),
    (("alerts", "ack", "ffffffff"), NotFoundError, "no alert"),
    (("alerts", "feedback", "ffffffff", "--kind", "maybe"), InvalidParameterError, "kind"),
    (("maintenance", "add", "--site", "hq", "--from", "+2h", "--until", "+1h"), InvalidParameterError, "until_s"),
    (("maintenance", "remove", "nope"), NotFoundError, "nope"),
])
def test_bad_input_is_a_named_error(cli, args, error, name):
    result = cli(*args)
    assert isinstance(result.exception, error) and name in str(result.exception)


def test_parse_time():
    assert alerts_cmd.parse_time("90s", now_s=1000.0, default_sign=-1, name="t") == 910.0
    assert alerts_cmd.parse_time("+2h", now_s=0.0, default_sign=-1, name="t") == 7200.0
    assert alerts_cmd.parse_time("1d", now_s=0.0, default_sign=1, name="t") == 86400.0
    assert alerts_cmd.parse_time("1970-01-01T01:00:00", now_s=0.0, default_sign=1, name="t") == 3600.0
    assert alerts_cmd.parse_time("1970-01-01T01:00:00+01:00", now_s=0.0, default_sign=1, name="t") == 0.0


def test_bench_response_prints_json_for_every_event():
    app, bench = typer.Typer(), typer.Typer()
    app.add_typer(bench, name="bench")
    alerts_cmd.register(app, bench)
    result = CliRunner().invoke(app, ["bench", "response", "--events", "5", "--rate-hz", "100"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["benchmark"] == "response" and out["notified"] == 5
    assert out["latency_p50_s"] <= out["latency_p99_s"] <= out["latency_max_s"]


def test_the_real_command_line_reports_errors_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FIRESIGHT_HOME": str(tmp_path)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "firesight.cli", *a], capture_output=True, text=True,
                                    env=env, timeout=120)
    missing = run("alerts", "ack", "deadbeef", "--by", "x")
    assert missing.returncode == 2 and "no alert 'deadbeef'" in missing.stderr and "Traceback" not in missing.stderr
    listed = run("alerts", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
