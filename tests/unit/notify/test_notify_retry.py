"""Retries with capped exponential backoff and the typed delivery result."""

from __future__ import annotations

import numpy as np
import pytest

from firesight.errors import DeliveryError, InvalidParameterError
from firesight.notify import ConsoleNotifier, RetryPolicy, build_notifier, deliver
from firesight.ports import Notification, Notifier


class Flaky(Notifier):
    def __init__(self, failures: list[Exception]):
        self.failures, self.calls = list(failures), 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


NOTE = Notification("a:open:x", "subject", "text", "alarm")


def test_delays_grow_exponentially_up_to_the_cap():
    policy = RetryPolicy(max_attempts=6, initial_delay_s=0.5, multiplier=2.0, max_delay_s=3.0, jitter=False)
    assert [policy.delay_s(a) for a in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.budget_s() == pytest.approx(9.5)


def test_jitter_stays_within_half_and_full_delay():
    policy = RetryPolicy(initial_delay_s=1.0, multiplier=2.0, max_delay_s=8.0)
    rng = np.random.default_rng(7)
    delays = [policy.delay_s(3, rng) for _ in range(200)]
    assert min(delays) >= 2.0 and max(delays) <= 4.0 and np.std(delays) > 0.1


def test_transient_failures_are_retried_until_success():
    sleeps: list[float] = []
    channel = Flaky([DeliveryError("503"), DeliveryError("timeout")])
    result = deliver("hook", channel, NOTE, RetryPolicy(max_attempts=4, initial_delay_s=0.1, jitter=False),
                     sleep=sleeps.append)
    assert result.ok and result.attempts == 3 and result.channel == "hook" and result.delivery_key == "a:open:x"
    assert sleeps == [0.1, 0.2]


def test_permanent_failure_stops_at_once():
    channel = Flaky([DeliveryError("400 bad request", transient=False)])
    result = deliver("hook", channel, NOTE, RetryPolicy(max_attempts=5), sleep=lambda s: None)
    assert not result.ok and result.permanent and result.attempts == 1 and channel.calls == 1
    assert "400" in result.error


def test_exhausted_retries_and_channel_bugs_become_failed_results():
    channel = Flaky([RuntimeError("bug")] * 3)
    result = deliver("hook", channel, NOTE, RetryPolicy(max_attempts=3, initial_delay_s=0.0), sleep=lambda s: None)
    assert not result.ok and not result.permanent and result.attempts == 3
    assert result.error == "RuntimeError: bug"


def test_stopping_interrupts_the_retry_loop():
    channel = Flaky([DeliveryError("503")] * 5)
    result = deliver("hook", channel, NOTE, RetryPolicy(max_attempts=5), sleep=lambda s: None,
                     should_stop=lambda: True)
    assert not result.ok and result.attempts == 1 and "stopped before retry" in result.error


def test_invalid_settings_are_named():
    with pytest.raises(InvalidParameterError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(InvalidParameterError, match="max_delay_s"):
        RetryPolicy(initial_delay_s=5.0, max_delay_s=1.0)
    with pytest.raises(InvalidParameterError, match="channel type"):
        build_notifier("pager", {})
    with pytest.raises(InvalidParameterError, match="email channel options"):
        build_notifier("email", {"host": "h", "recipients": ["a@b"], "pasword": "x"})
    with pytest.raises(InvalidParameterError, match="url"):
        build_notifier("webhook", {"url": "ftp://x"})


def test_console_writes_subject_and_text(capsys):
    ConsoleNotifier().send(Notification("k", "[FIRE ALARM] hq/a", "body line\n", "alarm"))
    out = capsys.readouterr().out
    assert "[FIRE ALARM] hq/a" in out and "body line" in out


@pytest.mark.parametrize("address", ["nobody@", "@example.org", "a b@example.org", "a@b@c", "Ops <ops@x.org>"])
def test_email_addresses_are_checked(address):
    with pytest.raises(InvalidParameterError, match="recipients"):
        build_notifier("email", {"host": "h", "recipients": [address]})
