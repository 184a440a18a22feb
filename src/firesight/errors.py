"""Typed errors. Library code raises these; only the CLI and HTTP layers turn them into
exit codes and status codes."""

from __future__ import annotations


class FiresightError(Exception):
    """Base class of every error firesight raises on purpose."""


class InvalidParameterError(FiresightError, ValueError):
    """A parameter is out of its valid range or of the wrong kind.

    The message names the parameter, what was expected and what arrived:
    ``duration_s must be > 0, got -5``.
    """

    def __init__(self, name: str, expected: str, got: object):
        self.name, self.expected, self.got = name, expected, got
        super().__init__(f"{name} must be {expected}, got {got!r}")


class DataError(FiresightError):
    """Stored or received data is corrupt, partial or of the wrong shape."""


class NotFoundError(FiresightError, KeyError):
    """A named thing (scenario, device, model version) does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "not found"


class ConflictError(FiresightError):
    """A conditional write failed because the stored item changed or already exists."""


class DeliveryError(FiresightError):
    """A notification channel did not accept a notification.

    ``transient`` is True when a retry may succeed (timeouts, refused connections, HTTP 5xx
    and 429, SMTP 4xx) and False when it cannot (HTTP 4xx, SMTP 5xx, bad recipient).
    """

    def __init__(self, message: str, *, transient: bool = True):
        self.transient = transient
        super().__init__(message)


class AccessDeniedError(FiresightError):
    """An identity is not allowed to perform an action (policy, revoked certificate)."""


def require(condition: bool, name: str, expected: str, got: object) -> None:
    """Raise :class:`InvalidParameterError` unless ``condition`` holds."""
    if not condition:
        raise InvalidParameterError(name, expected, got)
