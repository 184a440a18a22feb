"""Response agent policy on real SQLite stores with an injected clock: escalation timing,
acknowledgement, de-duplication, clearing and latching, maintenance suppression and the
never-suppress rule, idempotent redelivery, malformed events, failed and uncertain
deliveries."""

from __future__ import annotations

import json
import threading
import time

import pytest

from firesight.adapters.local import SQLiteMessageQueue, SQLiteMetadataStore
from firesight.agents.alert_store import AlertStore, alert_id_for
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import ResponsePolicy, Route
from firesight.errors import DeliveryError, InvalidParameterError
from firesight.notify import RetryPolicy
from firesight.ports import Notification, Notifier


class Recorder(Notifier):
    """A channel that keeps what it is asked to send; fails while ``fail`` says so."""

    kind = "recorder"

    def __init__(self, fail: str = ""):
        self.sent: list[Notification] = []
        self.fail = fail  # "", "transient", "permanent"
        self.calls = 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.fail:
            raise DeliveryError("channel down", transient=self.fail == "transient")
        self.sent.append(notification)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _policy(**kw):
    routes = {"watch": Route((("console",), ("email",)), ack_deadline_s=120.0),
              "alarm": Route((("console", "email", "webhook"), ("escalation",), ("chief",)), ack_deadline_s=60.0),
              "supervisory": Route((("maintenance",),)), "trouble": Route((("maintenance",),))}
    return ResponsePolicy(routes=routes, retry=RetryPolicy(max_attempts=2, initial_delay_s=0.0, max_delay_s=0.0),
                          **kw)


@pytest.fixture()
def env():
    clock = Clock()
    queue = SQLiteMessageQueue(":memory:", clock=clock)
    store = AlertStore(SQLiteMetadataStore(":memory:"), clock)
    channels = {n: Recorder() for n in ("console", "email", "webhook", "escalation", "chief", "maintenance")}
    agent = ResponseAgent(queue, store, channels, _policy(), clock=clock, sleep=lambda s: None)
    return clock, queue, store, channels, agent


def _event(n=1, thing="kitchen", signal="alarm", state="active", level=None, p=0.85, **kw):
    level = level or (signal if signal in ("alarm", "watch") else "offline")
    return AlertEvent(event_id=f"{thing}:{signal}:{n}", site="hq", thing=thing, signal=signal, state=state,
                      level=level, previous="normal", ts_ms=1_800_000_000_000 + n, probability=p, **kw)


def _send(queue, *events):
    for e in events:
        queue.send(ALERT_EVENTS_QUEUE, e.to_json())


def _keys(ch):
    return [n.delivery_key.split(":", 1)[1] for n in ch.sent]


def test_alarm_notifies_tier0_then_escalates_only_after_the_deadline(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event())
    assert agent.process_available(10) == 1
    assert [len(ch[c].sent) for c in ("console", "email", "webhook", "escalation")] == [1, 1, 1, 0]
    [alert] = store.list()
    assert alert["state"] == "active" and alert["next_deadline_s"] == clock.t + 60.0
    clock.t += 59.9
    assert agent.check_deadlines(clock.t) == 0 and not ch["escalation"].sent
    clock.t += 0.2
    assert agent.check_deadlines(clock.t) == 1
    assert _keys(ch["escalation"]) == ["escalation-1:escalation"]
    assert ch["escalation"].sent[0].subject.startswith("[ESCALATION 1: FIRE ALARM] hq/kitchen")
    assert agent.check_deadlines(clock.t) == 0  # the next deadline is 60 s later
    clock.t += 60.0
    assert agent.check_deadlines(clock.t) == 1 and _keys(ch["chief"]) == ["escalation-2:chief"]
    clock.t += 600.0
    assert agent.check_deadlines(clock.t) == 0  # tiers exhausted
    assert store.get(alert["alert_id"])["tier"] == 2


def test_acknowledgement_stops_escalation(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event())
    agent.process_available()
    alert_id = store.list()[0]["alert_id"]
    clock.t += 30
    store.acknowledge(alert_id[:6], by="alice", note="on my way")
    clock.t += 300
    assert agent.check_deadlines(clock.t) == 0 and not ch["escalation"].sent
    alert = store.get(alert_id)
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "alice"
    assert [h["action"] for h in alert["history"]][-1] == "acknowledged"
    assert store.acknowledgements(alert_id)[0]["by"] == "alice"


def test_watch_verification_deadline_escalates_to_email(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event(signal="watch", p=0.4))
    agent.process_available()
    assert _keys(ch["console"]) == ["open:console"] and not ch["email"].sent
    assert "PRE-ALARM" in ch["console"].sent[0].subject
    clock.t += 121
    assert agent.check_deadlines(clock.t) == 1 and _keys(ch["email"]) == ["escalation-1:email"]


def test_alarm_supersedes_the_watch_of_the_same_device(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event(signal="watch", p=0.4))
    agent.process_available()
    clock.t += 10
    _send(queue, _event(n=2, signal="alarm", p=0.9))
    agent.process_available()
    watch = store.list(signal="watch")[0]
    assert watch["state"] == "cleared" and watch["next_deadline_s"] is None
    clock.t += 200
    agent.check_deadlines(clock.t)
    assert [n.data["signal"] for n in ch["email"].sent] == ["alarm"]


def test_same_thing_and_signal_while_active_updates_instead_of_notifying(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event(1, p=0.82), _event(2, p=0.97), _event(3, p=0.88))
    assert agent.process_available(10) == 3
    [alert] = store.list()
    assert alert["updates"] == 2 and alert["probability"] == 0.88 and alert["max_probability"] == 0.97
    assert len(ch["email"].sent) == 1
    # another device is another alert
    _send(queue, _event(1, thing="lobby"))
    agent.process_available()
    assert len(store.list()) == 2 and len(ch["email"].sent) == 2


def test_clear_notifies_and_the_next_event_opens_a_new_alert(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event(1))
    agent.process_available()
    store.acknowledge(store.list()[0]["alert_id"], by="bob")
    _send(queue, _event(2, state="cleared", level="normal", p=0.1))
    agent.process_available()
    first = store.list()[0]
    assert first["state"] == "cleared" and first["cleared_s"] == clock.t
    assert _keys(ch["email"]) == ["open:email", "cleared:email"]
    assert ch["email"].sent[1].subject.startswith("[CLEARED: FIRE ALARM]")
    _send(queue, _event(3))
    agent.process_available()
    assert len(store.list()) == 2 and len(ch["email"].sent) == 3


def test_unacknowledged_alarm_latches_after_clear(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event(1), _event(2, state="cleared", level="normal", p=0.1))
    agent.process_available()
    clock.t += 61
    assert agent.check_deadlines(clock.t) == 1 and ch["escalation"].sent
    assert store.list()[0]["state"] == "cleared"


def test_redelivered_event_is_applied_once(env):
    clock, queue, store, ch, agent = env
    event = _event()
    _send(queue, event, event)
    agent.process_available()
    assert agent.apply_event(event) == []
    assert len(store.list()) == 1 and len(ch["email"].sent) == 1
    assert agent.counters["events_duplicate"] == 2


def test_maintenance_window_suppresses_and_records(env):
    clock, queue, store, ch, agent = env
    store.add_maintenance(site="hq", from_s=clock.t - 10, until_s=clock.t + 3600, reason="sprinkler works")
    _send(queue, _event(p=0.6), _event(1, thing="boiler", signal="trouble"))
    agent.process_available()
    assert not any(c.sent for c in ch.values())
    states = {d["delivery_key"].split(":", 1)[1]: d["state"] for d in store.deliveries()}
    assert set(states.values()) == {"suppressed"} and "open:email" in states and "open:maintenance" in states
    alarm = store.list(signal="alarm")[0]
    assert alarm["suppressed_by"] and any(h["action"] == "suppressed open" for h in alarm["history"])
    # suppressed stages do not escalate; once the window ends the open alarm is notified
    clock.t += 120
    agent.check_deadlines(clock.t)
    assert not ch["escalation"].sent
    clock.t += 3600
    agent.check_deadlines(clock.t)
    assert _keys(ch["email"]) == ["open-after-suppression:email"]


def test_maintenance_never_suppresses_a_probable_or_flaming_fire(env):
    clock, queue, store, ch, agent = env
    store.add_maintenance(site="hq", thing="kitchen", from_s=clock.t - 10, until_s=clock.t + 3600)
    store.add_maintenance(site="hq", thing="lab", from_s=clock.t - 10, until_s=clock.t + 3600)
    store.add_maintenance(site="hq", thing="shed", from_s=clock.t - 10, until_s=clock.t + 3600)
    _send(queue, _event(thing="kitchen", p=0.95),  # >= never_suppress_probability (0.9)
          _event(thing="lab", p=0.5, explanation={"sensor": "thermal", "fire_type": "flaming"}),
          _event(thing="shed", p=0.5))
    agent.process_available()
    assert sorted(n.data["thing"] for n in ch["email"].sent) == ["kitchen", "lab"]
    shed = store.list(thing="shed")[0]
    assert shed["suppressed_by"]
    # the suppressed alarm is notified as soon as its probability rises past the limit
    _send(queue, _event(2, thing="shed", p=0.93))
    agent.process_available()
    assert sorted(n.data["thing"] for n in ch["email"].sent) == ["kitchen", "lab", "shed"]


def test_failed_delivery_is_recorded_and_escalated_as_trouble(env):
    clock, queue, store, ch, agent = env
    ch["webhook"].fail = "transient"
    _send(queue, _event())
    agent.process_available()
    failed = store.deliveries(state="failed")
    assert [d["channel"] for d in failed] == ["webhook"] and failed[0]["attempts"] == 2
    assert "channel down" in failed[0]["error"]
    [trouble] = store.list(signal="trouble")
    assert trouble["level"] == "notification_failed" and trouble["thing"] == "kitchen"
    assert _keys(ch["maintenance"]) == ["open:maintenance"]
    assert "webhook" in ch["maintenance"].sent[0].text
    # a second failure updates the open trouble alert; a failing trouble channel does not loop
    ch["maintenance"].fail = "permanent"
    _send(queue, _event(1, thing="lobby"))
    agent.process_available()
    assert len(store.list(signal="trouble")) == 2  # per device
    assert agent.counters["failed"] == 3  # kitchen webhook, lobby webhook, lobby trouble mail


def test_malformed_event_goes_to_the_dead_letter_queue(env):
    clock, queue, store, ch, agent = env
    queue.send(ALERT_EVENTS_QUEUE, '{"event_id": "x", "signal": "fire!"}')
    queue.send(ALERT_EVENTS_QUEUE, "not json")
    assert agent.process_available() == 2
    assert agent.counters["events_malformed"] == 2 and not store.list(signal="alarm")
    [trouble] = store.list(signal="trouble")  # one open trouble per device ("unknown" here), updated
    assert trouble["thing"] == "unknown" and trouble["updates"] == 1
    assert queue.counts(ALERT_EVENTS_QUEUE + "-dlq")["visible"] == 2
    assert queue.counts(ALERT_EVENTS_QUEUE) == {"visible": 0, "in_flight": 0}


@pytest.mark.parametrize("mode", ["report", "resend"])
def test_delivery_interrupted_while_sending_is_settled_on_restart(env, mode):
    clock, queue, store, ch, agent = env
    ch["email"].fail = "permanent"  # keep email out of the way
    _send(queue, _event())
    agent.process_available()
    key = next(d["delivery_key"] for d in store.deliveries(channel="console"))
    # what a SIGKILL between "sending" and "sent" leaves behind
    store.update_delivery(key, lambda d: {**d, "state": "sending", "worker": "response"})
    fresh = {n: Recorder() for n in ch}
    restarted = ResponseAgent(queue, store, fresh, _policy(uncertain=mode), clock=clock, sleep=lambda s: None)
    restarted.process_available()
    if mode == "report":
        assert store.delivery(key)["state"] == "uncertain" and not fresh["console"].sent
        assert any(t["level"] == "notification_uncertain" for t in store.list(signal="trouble"))
        assert fresh["maintenance"].sent
    else:
        assert store.delivery(key)["state"] == "sent" and _keys(fresh["console"]) == ["open:console"]


def test_pending_deliveries_left_by_a_crash_are_sent_on_restart(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event())
    [message] = queue.receive(ALERT_EVENTS_QUEUE)
    agent.apply_event(AlertEvent.from_json(message["body"]))  # recorded, then "killed" before sending
    assert {d["state"] for d in store.deliveries()} == {"pending"}
    fresh = {n: Recorder() for n in ch}
    restarted = ResponseAgent(queue, store, fresh, _policy(), clock=clock, sleep=lambda s: None)
    clock.t += 31  # the message becomes visible again
    restarted.process_available()
    assert [len(fresh[c].sent) for c in ("console", "email", "webhook")] == [1, 1, 1]
    assert {d["state"] for d in store.deliveries()} == {"sent"}


def test_policy_must_name_configured_channels():
    clock = Clock()
    with pytest.raises(InvalidParameterError, match="missing"):
        ResponseAgent(SQLiteMessageQueue(":memory:"), SQLiteMetadataStore(":memory:"), {"console": Recorder()},
                      _policy(), clock=clock)


def test_background_loop_processes_and_stops_in_stages():
    queue = SQLiteMessageQueue(":memory:")
    store = AlertStore(SQLiteMetadataStore(":memory:"))
    ch = {n: Recorder() for n in ("console", "email", "webhook", "escalation", "chief", "maintenance")}
    agent = ResponseAgent(queue, store, ch, _policy(poll_interval_s=0.02)).start()
    try:
        _send(queue, _event())
        for _ in range(500):
            if ch["email"].sent:
                break
            time.sleep(0.01)
        assert agent.health()["running"] and len(ch["email"].sent) == 1
    finally:
        assert agent.stop(5.0)
    assert not agent.health()["running"]


def test_another_workers_sending_delivery_is_settled_only_after_its_lease(env):
    clock, queue, store, ch, agent = env
    _send(queue, _event())
    agent.process_available()
    key = next(d["delivery_key"] for d in store.deliveries(channel="webhook"))
    store.update_delivery(key, lambda d: {**d, "state": "sending", "worker": "response-b",
                                          "lease_until_s": clock.t + 100})
    agent.check_deadlines(clock.t)
    assert store.delivery(key)["state"] == "sending"  # response-b may still be sending it
    clock.t += 101
    agent.check_deadlines(clock.t)
    assert store.delivery(key)["state"] == "uncertain"
    assert [t["level"] for t in store.list(signal="trouble")] == ["notification_uncertain"]


def test_stop_between_retries_hands_the_delivery_back_to_pending():
    queue = SQLiteMessageQueue(":memory:")
    store = AlertStore(SQLiteMetadataStore(":memory:"))
    ch = {n: Recorder() for n in ("console", "email", "webhook", "escalation", "chief", "maintenance")}
    ch["webhook"].fail = "transient"
    policy = ResponsePolicy(routes={"alarm": Route((("webhook",),))},
                            retry=RetryPolicy(max_attempts=50, initial_delay_s=0.05, max_delay_s=0.05, jitter=False),
                            poll_interval_s=0.02)
    agent = ResponseAgent(queue, store, ch, policy).start()
    _send(queue, _event())
    for _ in range(500):
        if ch["webhook"].calls >= 2:
            break
        time.sleep(0.01)
    assert agent.stop(0.1)
    [d] = store.deliveries()
    assert d["state"] == "pending" and 2 <= d["attempts"] < 50 and "stopped before retry" in d["error"], d
    assert not store.list(signal="trouble")  # not a failure: the next start sends it


@pytest.mark.parametrize("body", [
    '{"event_id": "a:alarm:1", "site": 5, "thing": "a", "signal": "alarm", "state": "active", "level": "alarm",'
    ' "previous": "", "ts_ms": 1}',
    '{"event_id": "a:alarm:1", "site": "hq", "thing": "a", "signal": "alarm", "state": "active", "level": "alarm",'
    ' "previous": "", "ts_ms": "yesterday"}',
    '{"event_id": "a:alarm:1", "site": "hq", "thing": "a", "signal": "fire!", "state": "active", "level": "alarm",'
    ' "previous": "", "ts_ms": 1}',
])
def test_unreadable_events_are_dead_lettered_and_raise_trouble(env, body):
    clock, queue, store, ch, agent = env
    queue.send(ALERT_EVENTS_QUEUE, body)
    _send(queue, _event(thing="after"))
    assert agent.process_available() == 2
    assert agent.counters["events_malformed"] == 1 and queue.counts(ALERT_EVENTS_QUEUE + "-dlq")["visible"] == 1
    assert [a["thing"] for a in store.list(signal="alarm")] == ["after"]  # the next event is handled normally
    [trouble] = store.list(signal="trouble")
    assert trouble["level"] == "malformed_event" and "could not be read" in trouble["explanation"]["reason"]
    assert _keys(ch["maintenance"]) == ["open:maintenance"]


def test_readable_alarms_with_loose_types_are_kept(env):
    clock, queue, store, ch, agent = env
    big = {"sensor": "thermal", "features": {"t_max_c": 250.0}, "snapshot": {"png_base64": "A" * 50_000}}
    body = ('{"event_id": "a:alarm:1", "site": "hq", "thing": "a", "signal": "alarm", "state": "active",'
            ' "level": "alarm", "previous": "", "ts_ms": 1.8e12, "model_version": 3, "explanation": %s}'
            % json.dumps(big))
    queue.send(ALERT_EVENTS_QUEUE, body)
    queue.send(ALERT_EVENTS_QUEUE, _event(thing="b").to_json().replace('"explanation": {}', '"explanation": [1, 2]'))
    agent.process_available()
    a, b = store.get(alert_id_for("a:alarm:1")), store.list(thing="b")[0]
    assert a["ts_ms"] == 1_800_000_000_000 and a["model_version"] == "3"
    assert a["explanation"]["features"] == {"t_max_c": 250.0} and a["explanation"]["omitted"] == ["snapshot"]
    assert b["explanation"] == {"raw": "[1, 2]"}
    assert len(ch["email"].sent) == 2 and agent.counters["events_malformed"] == 0


def test_two_workers_escalate_once(env, tmp_path):
    clock, queue, store, ch, agent = env
    other_ch = {n: Recorder() for n in ch}
    other = ResponseAgent(queue, store, other_ch, _policy(), clock=clock, sleep=lambda s: None, worker_id="b")
    _send(queue, _event())
    agent.process_available()
    clock.t += 61
    # the second worker escalates between the first one's read and its write
    real_update = store.update_alert
    calls = []

    def racing_update(alert_id, change):
        if not calls:
            calls.append(1)
            assert other.check_deadlines(clock.t) == 1
        return real_update(alert_id, change)
    store.update_alert = racing_update
    assert agent.check_deadlines(clock.t) == 0
    store.update_alert = real_update
    sent = ch["escalation"].sent + other_ch["escalation"].sent
    assert [n.delivery_key.split(":", 1)[1] for n in sent] == ["escalation-1:escalation"]


def test_a_single_failing_channel_escalates_without_deadlock():
    queue = SQLiteMessageQueue(":memory:")
    store = AlertStore(SQLiteMetadataStore(":memory:"))
    console = Recorder(fail="permanent")
    policy = ResponsePolicy(routes={"alarm": Route((("console",),)), "trouble": Route((("console",),))},
                            retry=RetryPolicy(max_attempts=1))
    agent = ResponseAgent(queue, store, {"console": console}, policy)
    _send(queue, _event())
    done = threading.Event()
    worker = threading.Thread(target=lambda: (agent.process_available(), done.set()), daemon=True)
    worker.start()
    assert done.wait(20), "the agent hung sending the trouble alert of its only channel"
    assert console.calls == 2  # the alarm, then the trouble about it; the trouble's failure is not escalated
    assert {d["state"] for d in store.deliveries()} == {"failed"}


def test_two_workers_racing_for_one_delivery_send_it_once(env):
    clock, queue, store, ch, agent = env

    class Slow(Recorder):
        """Before its commit point, lets another worker send the same delivery."""

        def __init__(self, rival):
            super().__init__()
            self.rival = rival

        def send_committing(self, notification, commit):
            self.rival()
            commit()
            self.send(notification)
    other_ch = {n: Recorder() for n in ch}
    other = ResponseAgent(queue, store, other_ch, _policy(), clock=clock, sleep=lambda s: None, worker_id="b")
    slow_ch = dict(ch, webhook=Slow(lambda: other.check_deadlines(clock.t + 3600)))
    racer = ResponseAgent(queue, store, slow_ch, _policy(), clock=clock, sleep=lambda s: None)
    _send(queue, _event())
    racer.process_available()
    # the rival's sweep sent every pending delivery, the webhook one included; the racer's commit lost
    assert len(other_ch["webhook"].sent) == 1 and not slow_ch["webhook"].sent
    [d] = store.deliveries(channel="webhook")
    assert d["state"] == "sent" and d["worker"] == "b"


def test_each_channel_retries_by_its_own_policy(env):
    clock, queue, store, ch, agent = env
    ch["webhook"].fail = ch["email"].fail = "transient"
    fast = RetryPolicy(max_attempts=4, initial_delay_s=0.0, max_delay_s=0.0)
    agent.policy = ResponsePolicy.from_dict({**_policy().to_dict(), "channel_retry": {"webhook": fast}})
    _send(queue, _event())
    agent.process_available()
    attempts = {d["channel"]: d["attempts"] for d in store.deliveries(state="failed")}
    assert attempts == {"email": 2, "webhook": 4} and (ch["email"].calls, ch["webhook"].calls) == (2, 4)


def test_confirmed_fire_feedback_ends_suppression(env):
    clock, queue, store, ch, agent = env
    store.add_maintenance(site="hq", from_s=clock.t - 10, until_s=clock.t + 3600)
    _send(queue, _event(thing="store-room", p=0.6))
    agent.process_available()
    assert not ch["email"].sent
    alert_id = store.list()[0]["alert_id"]
    store.add_feedback(alert_id, kind="confirmed_fire", by="guard")  # from `firesight alerts feedback`
    clock.t += 1
    agent.check_deadlines(clock.t)
    assert _keys(ch["email"]) == ["open-after-suppression:email"]
    assert any(h["action"] == "not suppressed" for h in store.get(alert_id)["history"])


def test_handle_event_records_and_sends(env):
    clock, queue, store, ch, agent = env
    assert agent.handle_event(_event()) == 3
    assert [len(ch[c].sent) for c in ("console", "email", "webhook")] == [1, 1, 1]
    assert agent.handle_event(_event()) == 0  # the same event again: nothing new
    assert {d["state"] for d in store.deliveries()} == {"sent"}


def test_deliveries_are_counted_by_channel_and_logged_with_the_event_correlation_id(env):
    import io
    import logging

    from firesight.ops import metrics
    from firesight.ops.logs import JsonFormatter

    clock, queue, store, channels, agent = env
    channels["webhook"].fail = "permanent"

    def value(name, **labels):
        return metrics.sample_value(name, labels)

    before = {(n, ch): value(n, channel=ch) for n in ("firesight_notifications_sent_total",
                                                      "firesight_notification_failures_total")
              for ch in ("console", "email", "webhook", "maintenance")}
    troubles = value("firesight_alerts_total", signal="trouble", level="notification_failed")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("firesight.agents.response")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _send(queue, _event(correlation_id="kitchen/thermal/42"))
        agent.process_available()
        agent.process_available()  # a redelivery changes nothing
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    def moved(name, channel):
        return value(name, channel=channel) - before[(name, channel)]

    assert [moved("firesight_notifications_sent_total", c) for c in ("console", "email", "webhook")] == [1, 1, 0]
    assert moved("firesight_notification_failures_total", "webhook") == 1
    assert moved("firesight_notification_failures_total", "console") == 0
    # the failure is escalated as a trouble alert (to maintenance), counted once
    assert moved("firesight_notifications_sent_total", "maintenance") == 1
    assert value("firesight_alerts_total", signal="trouble", level="notification_failed") - troubles == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines and {line["correlation_id"] for line in lines} == {"kitchen/thermal/42"}, lines
    assert any("opened" in line["message"] for line in lines)
    assert any("failed after" in line["message"] and line["level"] == "ERROR" for line in lines)
    [trouble] = store.list(signal="trouble")
    assert trouble["correlation_id"] == "kitchen/thermal/42"
