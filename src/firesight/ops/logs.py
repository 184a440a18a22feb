"""Structured JSON logs with correlation ids.

One JSON object per line: ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``,
``correlation_id`` (from the context), any ``extra={...}`` fields, and ``exception`` when
there is one. The correlation id follows one reading from the device to the alert: the
monitoring agent binds the reading's id (:func:`correlation`), and everything logged while
handling it, in any module, carries it; the :class:`~firesight.agents.events.AlertEvent`
carries the same id on.

Use::

    from firesight.ops.logs import configure_logging, correlation
    configure_logging()
    with correlation(reading_id):
        log.info("window scored", extra={"thing": thing, "probability": p})
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import uuid
from datetime import datetime, timezone

CORRELATION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("firesight_correlation_id",
                                                                      default="")
#: LogRecord attributes that are not user ``extra`` fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                         "taskName"}


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def correlation(correlation_id: str | None = None):
    """Bind ``correlation_id`` (a new one if None) for the code inside; yield it."""
    cid = correlation_id or new_correlation_id()
    token = CORRELATION_ID.set(cid)
    try:
        yield cid
    finally:
        CORRELATION_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """Formats a log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": datetime.fromtimestamp(record.created, timezone.utc)
               .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage(),
               "correlation_id": getattr(record, "correlation_id", None) or CORRELATION_ID.get()}
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: int | str = logging.INFO, stream=None) -> logging.Handler:
    """Send the ``firesight`` loggers to ``stream`` (stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("firesight")
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
