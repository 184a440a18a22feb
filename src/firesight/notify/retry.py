"""Deliver one notification through one channel with retries and exponential backoff.

A delivery ends in a typed :class:`DeliveryResult`: delivered, or failed with the last
error and whether it was permanent. Nothing is dropped silently: the caller records the
result (the alert store's delivery log) and escalates a failure.

References
----------
1. AWS Architecture Blog, "Exponential Backoff And Jitter" (2015): capped exponential
   backoff; "full jitter" draws the delay uniformly in [0, cap].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firesight.errors import DeliveryError, require
from firesight.ports import Notification, Notifier


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a channel tries before a delivery counts as failed.

    Parameters
    ----------
    max_attempts : int
        Attempts in all, the first included [count] (>= 1).
    initial_delay_s : float
        Delay before the second attempt [s].
    multiplier : float
        Growth of the delay per attempt [-] (>= 1).
    max_delay_s : float
        Cap of one delay [s].
    jitter : bool
        Draw each delay uniformly in [delay/2, delay] ("equal jitter") so that many
        senders do not retry in lock-step.
    """

    max_attempts: int = 4
    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0
    jitter: bool = True

    def __post_init__(self) -> None:
        require(isinstance(self.max_attempts, int) and self.max_attempts >= 1, "max_attempts", ">= 1",
                self.max_attempts)
        require(self.initial_delay_s >= 0.0, "initial_delay_s", ">= 0", self.initial_delay_s)
        require(self.multiplier >= 1.0, "multiplier", ">= 1", self.multiplier)
        require(self.max_delay_s >= self.initial_delay_s, "max_delay_s",
                f">= initial_delay_s ({self.initial_delay_s})", self.max_delay_s)

    def delay_s(self, attempt: int, rng: np.random.Generator | None = None) -> float:
        """Delay after failed attempt number ``attempt`` (1-based) [s]."""
        base = min(self.max_delay_s, self.initial_delay_s * self.multiplier ** (attempt - 1))
        if self.jitter and rng is not None and base > 0:
            return float(rng.uniform(base / 2.0, base))
        return float(base)

    def budget_s(self) -> float:
        """Longest total wait between attempts [s] (without the attempts themselves)."""
        return float(sum(self.delay_s(a) for a in range(1, self.max_attempts)))


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one delivery (all attempts of one notification on one channel).

    Parameters
    ----------
    channel : str
        Channel name (as configured).
    delivery_key : str
        The notification's key.
    ok : bool
        Whether the channel accepted it.
    attempts : int
        Attempts made [count].
    error : str
        The last error ("" when ok).
    permanent : bool
        True when the last error was permanent (no retry could help).
    elapsed_s : float
        Time from the first attempt to the outcome [s].
    """

    channel: str
    delivery_key: str
    ok: bool
    attempts: int
    error: str = ""
    permanent: bool = False
    elapsed_s: float = 0.0


class DeliveryTaken(Exception):
    """Raised by a ``commit`` callback when the delivery is not this sender's to make any
    more (another worker took it); :func:`deliver` lets it through, nothing was sent."""


def deliver(channel: str, notifier: Notifier, notification: Notification, retry: RetryPolicy, *,
            sleep: Callable[[float], None] = time.sleep, rng: np.random.Generator | None = None,
            should_stop: Callable[[], bool] | None = None,
            commit: Callable[[], None] | None = None) -> DeliveryResult:
    """Send ``notification`` through ``notifier``, retrying transient failures.

    Parameters
    ----------
    channel : str
        Name of the channel (for the result).
    notifier : Notifier
        The channel.
    notification : Notification
        What to send.
    retry : RetryPolicy
        Attempts and backoff.
    sleep : callable
        Waits [s]; injected so tests do not wait.
    rng : numpy.random.Generator, optional
        Jitter source; no jitter without one.
    should_stop : callable, optional
        Returns True when the service is stopping: no further retry is started (the
        result is a transient failure, "stopped before retry").
    commit : callable, optional
        Passed to :meth:`Notifier.send_committing` on every attempt (it records that the
        delivery is being sent; it may raise :class:`DeliveryTaken`, which propagates).

    Returns
    -------
    DeliveryResult
    """
    start = time.monotonic()
    error, permanent = "", False
    for attempt in range(1, retry.max_attempts + 1):
        try:
            if commit is None:
                notifier.send(notification)
            else:
                notifier.send_committing(notification, commit)
            return DeliveryResult(channel, notification.delivery_key, True, attempt,
                                  elapsed_s=time.monotonic() - start)
        except DeliveryTaken:
            raise
        except DeliveryError as exc:
            error, permanent = str(exc), not exc.transient
        except Exception as exc:  # a channel bug must not lose the alert: record it as a failure
            error, permanent = f"{type(exc).__name__}: {exc}", False
        if permanent or attempt == retry.max_attempts:
            return DeliveryResult(channel, notification.delivery_key, False, attempt, error, permanent,
                                  time.monotonic() - start)
        if should_stop is not None and should_stop():
            return DeliveryResult(channel, notification.delivery_key, False, attempt,
                                  f"{error} (stopped before retry)", False, time.monotonic() - start)
        sleep(retry.delay_s(attempt, rng))
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns
