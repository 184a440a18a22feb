"""The response agent end to end through real servers: an alarm event on the durable queue
arrives in an aiosmtpd mailbox, at a webhook and at a Slack-compatible webhook (http.server
on 127.0.0.1) with the facts an operator needs; a webhook that fails twice is retried; an
always-failing webhook is recorded as failed and escalated as a trouble e-mail to
maintenance."""

from __future__ import annotations

import time

import pytest

from firesight.adapters.local import SQLiteMessageQueue, SQLiteMetadataStore
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import ResponsePolicy
from firesight.bootstrap import notifier_channels
from support.notify_servers import start_http, start_smtp


@pytest.fixture()
def servers():
    ops, maint = start_smtp(), start_smtp()
    hook, slack = start_http([200]), start_http([200])
    yield ops, maint, hook, slack
    for s in (ops, maint, hook, slack):
        s.stop()


def _agent(tmp_path, ops, maint, hook, slack, **policy):
    channels = notifier_channels({
        "email": {"type": "email", "host": "127.0.0.1", "port": ops.port, "sender": "firesight@hq.example",
                  "recipients": ["ops@hq.example"]},
        "maintenance": {"type": "email", "host": "127.0.0.1", "port": maint.port,
                        "recipients": ["facilities@hq.example"]},
        "webhook": {"type": "webhook", "url": hook.url},
        "slack": {"type": "slack", "url": slack.url},
    })
    spec = {"routes": {"alarm": {"tiers": [["email", "webhook", "slack"]]},
                       "trouble": {"tiers": [["maintenance"]]}},
            "retry": {"max_attempts": 3, "initial_delay_s": 0.01, "max_delay_s": 0.02},
            "ack_url_template": "https://fire.hq.example/alerts/{alert_id}/ack", **policy}
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    return queue, ResponseAgent(queue, SQLiteMetadataStore(str(tmp_path / "metadata.db")), channels,
                                ResponsePolicy.from_dict(spec))


def _alarm(thing="kitchen-3"):
    return AlertEvent(event_id=f"{thing}:alarm:7", site="hq", thing=thing, signal="alarm", state="active",
                      level="alarm", previous="watch", ts_ms=1_764_750_012_000, scenario_time_s=312.5,
                      probability=0.93, variant="full", model_version="3",
                      explanation={"sensor": "thermal", "features": {"t_max_c": 287.0, "hot_px": 14}},
                      published_ns=time.time_ns())


def test_alarm_reaches_mailbox_webhook_and_slack(tmp_path, servers):
    ops, maint, hook, slack = servers
    queue, agent = _agent(tmp_path, *servers)
    queue.send(ALERT_EVENTS_QUEUE, _alarm().to_json())
    assert agent.process_available() == 1
    [mail] = ops.mailbox.wait_for(1)
    alert = agent.store.list()[0]
    assert mail["Subject"] == "[FIRE ALARM] hq/kitchen-3 p=0.93"
    body = mail.get_content()
    for fact in ("site hq, device kitchen-3", "Fire probability: 0.93 (model full 3)", "sensor thermal",
                 "t_max_c=287", "Stream time: 312.5 s", f"firesight alerts ack {alert['alert_id']}",
                 f"https://fire.hq.example/alerts/{alert['alert_id']}/ack"):
        assert fact in body, fact
    [req] = hook.requests
    assert req.json()["alert_id"] == alert["alert_id"] and req.json()["probability"] == 0.93
    assert req.headers["Idempotency-Key"] == f"{alert['alert_id']}:open:webhook"
    assert "kitchen-3" in slack.requests[0].json()["text"]
    sent = agent.store.deliveries(state="sent")
    assert sorted(d["channel"] for d in sent) == ["email", "slack", "webhook"]
    # publish-to-notification latency recorded per delivery (a sanity bound, not a speed test)
    assert all(0 < d["latency_s"] < 120 for d in sent)
    assert not maint.mailbox.messages
    agent.stop(2.0)


def test_webhook_500_then_200_is_retried_and_recorded_once(tmp_path, servers):
    ops, maint, hook, slack = servers
    hook.statuses[:] = [500, 500, 200]
    queue, agent = _agent(tmp_path, *servers)
    queue.send(ALERT_EVENTS_QUEUE, _alarm().to_json())
    agent.process_available()
    [d] = agent.store.deliveries(channel="webhook")
    assert d["state"] == "sent" and d["attempts"] == 3
    assert len(hook.requests) == 3 and len(hook.accepted()) == 1
    assert not agent.store.list(signal="trouble") and not maint.mailbox.messages


def test_always_500_is_recorded_as_failed_and_escalated_to_maintenance(tmp_path, servers):
    ops, maint, hook, slack = servers
    hook.statuses[:] = [500]
    queue, agent = _agent(tmp_path, *servers)
    queue.send(ALERT_EVENTS_QUEUE, _alarm().to_json())
    agent.process_available()
    [d] = agent.store.deliveries(channel="webhook")
    assert d["state"] == "failed" and d["attempts"] == 3 and "HTTP 500" in d["error"]
    assert len(hook.requests) == 3
    [trouble] = agent.store.list(signal="trouble")
    assert trouble["level"] == "notification_failed"
    [mail] = maint.mailbox.wait_for(1)
    assert mail["Subject"] == "[TROUBLE] hq/kitchen-3 notification_failed"
    assert "webhook notification failed for alert" in mail.get_content()
    assert mail["To"] == "facilities@hq.example"
    # the other channels still delivered
    assert len(ops.mailbox.messages) == 1 and len(slack.requests) == 1


def test_background_loop_escalates_unacknowledged_alarm_but_not_one_acknowledged_from_another_store(
        tmp_path, servers):
    from firesight.agents.alert_store import AlertStore

    ops, maint, hook, slack = servers
    queue, agent = _agent(tmp_path, *servers, routes={
        "alarm": {"tiers": [["email"], ["maintenance"]], "ack_deadline_s": 1.5}})
    agent.policy = ResponsePolicy.from_dict({**agent.policy.to_dict(), "poll_interval_s": 0.02,
                                             "deadline_interval_s": 0.05})
    shell = AlertStore(SQLiteMetadataStore(str(tmp_path / "metadata.db")))  # `firesight alerts ack` elsewhere
    agent.start()
    try:
        queue.send(ALERT_EVENTS_QUEUE, _alarm("kitchen-3").to_json())
        queue.send(ALERT_EVENTS_QUEUE, _alarm("lobby").to_json())
        ops.mailbox.wait_for(2)
        lobby = shell.list(thing="lobby")[0]
        shell.acknowledge(lobby["alert_id"], by="alice")
        [escalation] = maint.mailbox.wait_for(1)
        assert escalation["Subject"] == "[ESCALATION 1: FIRE ALARM] hq/kitchen-3 p=0.93"
        while time.time() < lobby["opened_s"] + 1.5 + 0.5:  # the lobby's deadline passes too
            time.sleep(0.05)
        assert [m["Subject"] for m in maint.mailbox.messages] == [escalation["Subject"]]
        assert shell.get(lobby["alert_id"])["tier"] == 0
    finally:
        assert agent.stop(5.0)
