"""Alarm rules with CloudWatch's semantics: M of N, the four missing-data treatments, state
changes into and out of ALARM as trouble AlertEvents on the durable queue.

Expected states follow the CloudWatch User Guide, "Configuring how CloudWatch alarms treat
missing data": notBreaching = missing counts as good, breaching = as bad, ignore = keep the
current state, missing = INSUFFICIENT_DATA when every datapoint of the range is missing.
"""

from __future__ import annotations

import pytest

from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.errors import InvalidParameterError
from firesight.ops import metrics
from firesight.ops.alarms import (ALARM, INSUFFICIENT_DATA, OK, AlarmEvaluator, AlarmRule, AlarmService,
                                  RegistrySampler, default_rules, evaluate_datapoints)

X, O, _ = 5.0, 0.0, None  # breaching (> 1), within, missing


def rule(m=3, n=3, treat="missing"):
    return AlarmRule("r", "Maximum", 60.0, n, m, 1.0, "GreaterThanThreshold", treat)


@pytest.mark.parametrize("points, state, expected", [
    ([X, X, X], OK, ALARM),
    ([O, X, X], OK, OK),                      # 2 of 3 breaching, 3 needed
    ([O, X, X], ALARM, OK),
])
def test_m_of_n(points, state, expected):
    assert evaluate_datapoints(rule(), points, state) == expected


def test_datapoints_to_alarm_below_evaluation_periods():
    r = rule(m=2, n=5)
    assert evaluate_datapoints(r, [O, X, O, O, X], OK) == ALARM
    assert evaluate_datapoints(r, [O, X, O, O, O], ALARM) == OK


@pytest.mark.parametrize("treat, points, state, expected", [
    # every datapoint missing
    ("missing", [_, _, _], OK, INSUFFICIENT_DATA),
    ("missing", [_, _, _], ALARM, INSUFFICIENT_DATA),
    ("ignore", [_, _, _], ALARM, ALARM),
    ("ignore", [_, _, _], OK, OK),
    ("breaching", [_, _, _], OK, ALARM),
    ("notBreaching", [_, _, _], ALARM, OK),
    # some missing
    ("breaching", [X, _, X], OK, ALARM),
    ("notBreaching", [X, _, X], OK, OK),
    ("missing", [O, _, X], ALARM, OK),        # one good datapoint: 3 of 3 can no longer breach
    ("missing", [_, X, X], OK, OK),           # undecided: the state is kept
    ("missing", [_, X, X], ALARM, ALARM),
    ("ignore", [_, _, O], ALARM, OK),
])
def test_missing_data_treatments(treat, points, state, expected):
    assert evaluate_datapoints(rule(treat=treat), points, state) == expected


def test_rule_validation_names_the_parameter():
    with pytest.raises(InvalidParameterError, match="datapoints_to_alarm"):
        AlarmRule("r", "Sum", 60, 2, 3, 0, "GreaterThanThreshold")
    with pytest.raises(InvalidParameterError, match="treat_missing_data"):
        AlarmRule("r", "Sum", 60, 2, 1, 0, "GreaterThanThreshold", "zero")


def test_periods_statistics_and_events_on_the_queue(tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    r = AlarmRule("queue_backing_up", "Average", 10.0, 2, 2, 100.0, "GreaterThanThreshold",
                  "missing", "depth")
    ev = AlarmEvaluator([r], queue=queue, site="hq")
    assert ev.state("queue_backing_up") == INSUFFICIENT_DATA
    # period [0,10): mean 150 > 100; period [10,20): mean 90 -> not yet two breaching
    for t, v in [(1, 100), (5, 200), (12, 80), (15, 100)]:
        ev.put("queue_backing_up", t, v)
    assert ev.evaluate(20.0) == [] and ev.state("queue_backing_up") == OK
    for t, v in [(21, 300), (31, 300)]:
        ev.put("queue_backing_up", t, v)
    events = ev.evaluate(40.0)
    assert ev.state("queue_backing_up") == ALARM
    assert [(e.signal, e.state, e.level, e.previous) for e in events] == [("trouble", "active", "queue_backing_up", OK)]
    msgs = queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)
    assert len(msgs) == 1 and AlertEvent.from_json(msgs[0]["body"]) == events[0]
    ev.put("queue_backing_up", 41, 10.0)
    ev.put("queue_backing_up", 51, 10.0)
    cleared = ev.evaluate(60.0)
    assert [(e.state, e.previous) for e in cleared] == [("cleared", ALARM)]


def test_registry_sampler_raises_ingest_stopped():
    rules = [r for r in default_rules(period_s=1.0) if r.name == "ingest_stopped"]
    ev = AlarmEvaluator(rules)
    sampler = RegistrySampler(ev)
    t = 1000.0
    for _ in range(3):  # messages flowing
        metrics.MESSAGES_RECEIVED.labels(kind="scd41").inc()
        sampler.sample(t)
        t += 1.0
    ev.evaluate(t)
    assert ev.state("ingest_stopped") == OK
    for _ in range(4):  # nothing arrives
        sampler.sample(t)
        t += 1.0
    events = ev.evaluate(t)
    assert ev.state("ingest_stopped") == ALARM and events[0].level == "ingest_stopped"


def test_alarm_service_loop_raises_and_stops(tmp_path):
    import time as _time

    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    rules = [r for r in default_rules(period_s=0.05) if r.name == "notification_failures"]
    service = AlarmService(AlarmEvaluator(rules, queue=queue), interval_s=0.02).start()
    try:
        _time.sleep(0.15)
        metrics.NOTIFICATION_FAILURES.labels(channel="webhook").inc()
        deadline = _time.monotonic() + 5
        while service.evaluator.state("notification_failures") != ALARM and _time.monotonic() < deadline:
            _time.sleep(0.02)
        assert service.evaluator.state("notification_failures") == ALARM
    finally:
        assert service.stop()
    events = [AlertEvent.from_json(m["body"]) for m in queue.receive(ALERT_EVENTS_QUEUE, max_messages=10)]
    assert events and events[0].level == "notification_failures" and events[0].signal == "trouble"
    assert service.errors == 0


def test_alarm_service_probes_refresh_gauges_and_health_reports_each_alarm(tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "q.db"))
    rules = [AlarmRule("queue_backing_up", "Maximum", 1.0, 1, 1, 1000.0, "GreaterThanThreshold")]
    now = [100.0]
    depth = metrics.QUEUE_DEPTH.labels(queue="probe-test")
    calls = []

    def probe():
        calls.append(now[0])
        depth.set(5000 if now[0] >= 101.0 else 0)

    def broken():
        raise OSError("queue unreachable")

    service = AlarmService(AlarmEvaluator(rules, queue=queue), interval_s=1.0, clock=lambda: now[0],
                           probes=[probe, broken])
    assert not service.alive()
    for t in (100.0, 101.0, 102.0):
        now[0] = t
        service.tick()
    depth.set(0)
    assert calls == [100.0, 101.0, 102.0]
    health = service.health()
    assert health["alarms"]["queue_backing_up"]["state"] == ALARM
    assert health["alarms"]["queue_backing_up"]["last_change"] == f"{OK} -> {ALARM}"  # 0 at t=100, 5000 at t=101
    assert health["errors"] == 3 and "queue unreachable" in health["last_error"]


def test_periods_before_the_watch_began_are_unknown_not_missing():
    """A system just started has not had ingest_stopped's 3 periods to receive anything:
    with treat_missing_data=breaching it would alarm at once; it waits for 3 watched periods."""
    [ingest] = [r for r in default_rules(period_s=10.0) if r.name == "ingest_stopped"]
    eager, watched = AlarmEvaluator([ingest]), AlarmEvaluator([ingest], since_s=1000.0)
    for ev in (eager, watched):
        ev.evaluate(1010.0)
    assert eager.state("ingest_stopped") == ALARM  # CloudWatch's rule over unwatched periods
    assert watched.state("ingest_stopped") == INSUFFICIENT_DATA
    watched.evaluate(1029.0)
    assert watched.state("ingest_stopped") == INSUFFICIENT_DATA  # periods 1000-1030 not complete
    events = watched.evaluate(1030.0)
    assert watched.state("ingest_stopped") == ALARM and events[0].correlation_id == events[0].event_id
    service = AlarmService(AlarmEvaluator([ingest]), clock=lambda: 500.0)
    try:
        service.start()
        assert service.evaluator.since_s == 500.0 and service.alive()
    finally:
        assert service.stop()
