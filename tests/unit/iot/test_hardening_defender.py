"""Device Defender failure paths: a failing evaluation, alert publisher or quarantine is
counted and logged, the loop goes on with capped backoff, and stop() ends it. Each test
ends with a violation that must still be delivered (positive control)."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.errors import InvalidParameterError
from firesight.iot.defender import Defender, DefenderService
from support.waiting import wait_until

PROFILE = {
    "securityProfileName": "p",
    "behaviors": [{"name": "probing", "metric": "aws:num-authorization-failures",
                   "criteria": {"comparisonOperator": "greater-than", "value": {"count": 0},
                                "durationSeconds": 3600}}],
    "quarantineBehaviors": ["probing"],
}


class FlakyClock:
    """A clock that fails its first ``failures`` reads (e.g. a broken time source)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def __call__(self) -> float:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("clock unavailable")
        return time.time()


def test_loop_survives_failing_evaluations_with_capped_backoff():
    clock = FlakyClock(failures=3)
    events: list[dict] = []
    defender = Defender([PROFILE], clock=clock, on_violation=[events.append])
    service = DefenderService(defender, period_s=0.01, backoff_s=(0.01, 0.02)).start()
    assert wait_until(lambda: service.failures == 3)
    defender.record_auth_failure("node-x", time_s=time.time())
    assert wait_until(lambda: any(e["violationEventType"] == "in-alarm" for e in events))
    assert service.counts == {"evaluate_failures:OSError": 3}
    assert service.alive and service.evaluations >= 1
    service.stop()
    assert not service.alive


def test_a_failing_quarantine_and_callback_do_not_stop_the_evaluation():
    calls: list[str] = []
    good: list[dict] = []

    def quarantine(thing: str) -> None:
        calls.append(thing)
        if len(calls) == 1:
            raise ConnectionError("registry unreachable")

    def broken_callback(event: dict) -> None:
        raise RuntimeError("alert sink down")

    defender = Defender([PROFILE], quarantine=quarantine, on_violation=[broken_callback, good.append])
    now = time.time()
    defender.record_auth_failure("node-a", time_s=now)
    defender.record_auth_failure("node-b", time_s=now)
    events = defender.evaluate(now_s=now + 1)
    assert {e["thingName"] for e in events} == {"node-a", "node-b"}
    assert len(good) == 2                                   # the second callback still got both
    assert defender.counts["callback_failures"] == 2
    assert defender.counts["quarantine_failures"] == 1
    assert defender.quarantined == {"node-b"}               # node-a's failed; node-b still went
    defender.quarantine("node-a")                           # retried later: it is applied
    assert defender.quarantined == {"node-a", "node-b"}


def test_alert_publisher_failure_is_counted_by_the_service():
    class DownClient:
        def __init__(self) -> None:
            self.tries = 0

        def publish(self, topic, payload, qos=0):  # noqa: ANN001
            self.tries += 1
            raise ConnectionError("broker down")

    client = DownClient()
    seen: list[dict] = []
    defender = Defender([PROFILE])
    service = DefenderService(defender, client, period_s=0.01)
    defender.on_violation.append(seen.append)
    service.start()
    defender.record_auth_failure("node-z", time_s=time.time())
    assert wait_until(lambda: len(seen) == 1)
    assert client.tries == 1 and defender.counts["callback_failures"] == 1
    assert service.alive
    stopper = threading.Thread(target=service.stop)
    stopper.start()
    stopper.join(10)
    assert not service.alive


def test_backoff_settings_are_checked():
    with pytest.raises(InvalidParameterError):
        DefenderService(Defender([PROFILE]), backoff_s=(2.0, 1.0))
