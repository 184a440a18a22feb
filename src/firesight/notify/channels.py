"""Notification channels behind :class:`firesight.ports.Notifier`: SMTP e-mail, JSON
webhook, Slack-compatible incoming webhook, console.

Each ``send`` makes one attempt and classifies a failure: transient (a retry may help:
timeouts, refused connections, HTTP 408/429/5xx, SMTP 4xx) or permanent (HTTP 4xx, SMTP
5xx), as :class:`firesight.errors.DeliveryError` ``transient``. Retries live in
:mod:`firesight.notify.retry`.

References
----------
1. RFC 5321, Simple Mail Transfer Protocol, 4.2.1: reply codes 4yz are transient negative
   completions, 5yz permanent.
2. RFC 3207 (SMTP STARTTLS); RFC 8314 (implicit TLS for mail submission, port 465).
3. RFC 9110, HTTP Semantics, 15.5-15.6 (4xx client errors, 5xx server errors); RFC 6585, 4
   (429 Too Many Requests).
4. Slack API, "Sending messages using incoming webhooks" (``text`` plus ``blocks``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import IO, Any

import httpx

from firesight.errors import DeliveryError, InvalidParameterError, require
from firesight.ports import Notification, Notifier

SMTP_SECURITY = ("none", "starttls", "ssl")
CHANNEL_KINDS: tuple[str, ...] = ("console", "email", "webhook", "slack")


# -- e-mail --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmailConfig:
    """An SMTP submission server and who gets the mail.

    Parameters
    ----------
    host, port : str, int
        The SMTP server (587 for STARTTLS, 465 for implicit TLS, 25 plain).
    sender : str
        ``From`` address.
    recipients : tuple of str
        ``To`` addresses (at least one).
    security : str
        ``none``, ``starttls`` (RFC 3207) or ``ssl`` (implicit TLS, RFC 8314).
    username, password : str
        SMTP AUTH credentials; no AUTH when ``username`` is empty.
    timeout_s : float
        Socket timeout of one attempt [s].
    ca_file : str
        CA bundle that verifies the server's certificate ("" = the system's).
    verify_tls : bool
        Verify the server certificate and host name (keep True outside tests).
    """

    host: str
    port: int = 25
    sender: str = "firesight@localhost"
    recipients: tuple[str, ...] = ()
    security: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 10.0
    ca_file: str = ""
    verify_tls: bool = True

    def __post_init__(self) -> None:
        require(bool(self.host), "host", "an SMTP host name", self.host)
        require(isinstance(self.port, int) and 0 < self.port < 65536, "port", "a TCP port", self.port)
        require(self.security in SMTP_SECURITY, "security", f"one of {SMTP_SECURITY}", self.security)
        require(len(self.recipients) > 0 and all(_is_address(r) for r in self.recipients), "recipients",
                "one or more e-mail addresses (local@domain)", self.recipients)
        require(_is_address(self.sender), "sender", "an e-mail address (local@domain)", self.sender)
        require(self.timeout_s > 0, "timeout_s", "> 0", self.timeout_s)


def _is_address(text: str) -> bool:
    """A bare ``local@domain`` address as the ``To``/``From`` headers will accept it."""
    if not isinstance(text, str) or parseaddr(text)[1] != text or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    return bool(local) and bool(domain) and not any(c.isspace() for c in text)


class EmailNotifier(Notifier):
    """Sends each notification as one plain-text mail over SMTP (``smtplib``).

    The ``Message-ID`` is derived from the delivery key, so a resend of the same
    notification carries the same id and mail clients show it once.
    """

    kind = "email"

    def __init__(self, config: EmailConfig):
        self.config = config

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.config.ca_file or None)
        if not self.config.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def message(self, notification: Notification) -> EmailMessage:
        """The mail that :meth:`send` submits."""
        msg = EmailMessage()
        msg["Subject"] = notification.subject
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(self.config.recipients)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        digest = hashlib.sha256(notification.delivery_key.encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@firesight>"
        msg["X-Firesight-Delivery-Key"] = notification.delivery_key
        msg["X-Firesight-Severity"] = notification.severity
        if notification.severity == "alarm":
            msg["Importance"] = "high"
            msg["X-Priority"] = "1"
        msg.set_content(notification.text)
        return msg

    def send(self, notification: Notification) -> None:
        self.send_committing(notification, lambda: None)

    def send_committing(self, notification: Notification, commit: Callable[[], None]) -> None:
        """Submit the mail; ``commit()`` runs after MAIL FROM and RCPT TO were accepted,
        right before DATA, the one step after which the server may have the mail."""
        cfg = self.config
        msg = self.message(notification)
        payload = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        try:
            if cfg.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s,
                                                        context=self._tls_context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
            with client:
                client.ehlo()
                if cfg.security == "starttls":
                    client.starttls(context=self._tls_context())
                    client.ehlo()
                if cfg.username:
                    client.login(cfg.username, cfg.password)
                code, reply = client.mail(cfg.sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, cfg.sender)
                refused = {}
                for rcpt in cfg.recipients:
                    code, reply = client.rcpt(rcpt)
                    if code not in (250, 251):
                        refused[rcpt] = (code, reply)
                if len(refused) == len(cfg.recipients):
                    raise smtplib.SMTPRecipientsRefused(refused)
                commit()
                code, reply = client.data(payload)
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port} refused every recipient: {exc.recipients}",
                                transient=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port} answered {exc.smtp_code}: "
                                f"{exc.smtp_error!r}", transient=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused, timeouts, TLS
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port} failed: {type(exc).__name__}: {exc}",
                                transient=True) from None
        if refused:  # some recipients refused: the mail went to the others
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port} refused recipients {sorted(refused)}",
                                transient=False)


# -- webhooks ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookConfig:
    """An HTTP endpoint that receives a JSON POST per notification.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    headers : mapping
        Extra request headers (e.g. an ``Authorization`` token).
    secret : str
        When set, the body is signed: ``X-Firesight-Signature: sha256=<HMAC-SHA256 hex>``.
    timeout_s : float
        Timeout of one attempt [s].
    verify_tls : bool or str
        Verify the server certificate (True), not (False), or with this CA bundle path.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    secret: str = field(default="", repr=False)
    timeout_s: float = 10.0
    verify_tls: bool | str = True

    def __post_init__(self) -> None:
        require(self.url.startswith(("http://", "https://")), "url", "an http:// or https:// URL", self.url)
        require(self.timeout_s > 0, "timeout_s", "> 0", self.timeout_s)


class WebhookNotifier(Notifier):
    """POSTs ``{"subject", "text", "severity", "delivery_key", **data}`` as JSON.

    Headers: ``Idempotency-Key`` and ``X-Firesight-Delivery-Key`` carry the delivery key.
    2xx is accepted; 408, 429 and 5xx are transient; other statuses are permanent.
    """

    kind = "webhook"

    def __init__(self, config: WebhookConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._client = httpx.Client(timeout=config.timeout_s, verify=config.verify_tls,
                                    transport=transport, follow_redirects=False)
        self._lock = threading.Lock()

    def payload(self, notification: Notification) -> dict[str, Any]:
        return {"subject": notification.subject, "text": notification.text,
                "severity": notification.severity, "delivery_key": notification.delivery_key,
                **notification.data}

    def send(self, notification: Notification) -> None:
        body = json.dumps(self.payload(notification), sort_keys=True, default=str).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": notification.delivery_key,
                   "X-Firesight-Delivery-Key": notification.delivery_key, **dict(self.config.headers)}
        if self.config.secret:
            sig = hmac.new(self.config.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Firesight-Signature"] = f"sha256={sig}"
        try:
            with self._lock:  # httpx.Client is not documented as thread-safe for concurrent use
                response = self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.kind} {self.config.url} failed: {type(exc).__name__}: {exc}",
                                transient=True) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        raise DeliveryError(f"{self.kind} {self.config.url} answered HTTP {status}: {response.text[:200]!r}",
                            transient=status in (408, 429) or status >= 500)

    def close(self) -> None:
        self._client.close()


_SLACK_EMOJI = {"alarm": ":rotating_light:", "watch": ":eyes:", "supervisory": ":warning:",
                "trouble": ":wrench:"}


class SlackNotifier(WebhookNotifier):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": ...}``
    as the notification fallback plus Block Kit ``blocks`` for the layout."""

    kind = "slack"

    def payload(self, notification: Notification) -> dict[str, Any]:
        d = notification.data
        emoji = _SLACK_EMOJI.get(notification.severity, ":bell:")
        fields = [f"*{name}:* {d[key]}" for name, key in
                  (("Site", "site"), ("Device", "thing"), ("Signal", "signal"), ("Level", "level"),
                   ("Probability", "probability_text"), ("Time", "time_utc")) if d.get(key) not in (None, "")]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": notification.subject[:150]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
        ]
        if d.get("drivers_text"):
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": f"*What drove it:* {d['drivers_text']}"[:3000]}})
        if d.get("ack_command"):
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                                                            f"Acknowledge: `{d['ack_command']}`"}]})
        return {"text": f"{emoji} {notification.subject}\n{notification.text}", "blocks": blocks}


# -- console -------------------------------------------------------------------------------------
class ConsoleNotifier(Notifier):
    """Writes each notification to a text stream (standard output by default)."""

    kind = "console"

    def __init__(self, stream: IO[str] | None = None):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        rule = "=" * 72
        try:
            with self._lock:
                stream.write(f"{rule}\n{notification.subject}\n{rule}\n{notification.text}\n")
                stream.flush()
        except (OSError, ValueError) as exc:  # closed stream, broken pipe
            raise DeliveryError(f"console write failed: {exc}", transient=False) from None


def build_notifier(kind: str, options: Mapping[str, Any]) -> Notifier:
    """One channel from its kind and options (the values of :class:`EmailConfig` or
    :class:`WebhookConfig`; ``recipients`` may be a list)."""
    opts = dict(options)
    if kind == "console":
        require(not opts, "console options", "none", sorted(opts))
        return ConsoleNotifier()
    if kind == "email":
        if isinstance(opts.get("recipients"), str):
            opts["recipients"] = (opts["recipients"],)
        elif "recipients" in opts:
            opts["recipients"] = tuple(opts["recipients"])
        return EmailNotifier(_build(EmailConfig, opts, "email"))
    if kind in ("webhook", "slack"):
        cls = WebhookNotifier if kind == "webhook" else SlackNotifier
        return cls(_build(WebhookConfig, opts, kind))
    raise InvalidParameterError("channel type", f"one of {CHANNEL_KINDS}", kind)


def _build(cls: type, opts: dict[str, Any], kind: str) -> Any:
    unknown = sorted(set(opts) - set(cls.__dataclass_fields__))
    require(not unknown, f"{kind} channel options", f"among {sorted(cls.__dataclass_fields__)}", unknown)
    return cls(**opts)
