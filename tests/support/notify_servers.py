"""Real servers that notification tests deliver to: an aiosmtpd SMTP server (plain,
STARTTLS, implicit TLS, AUTH) whose mailbox the test reads, and a threaded HTTP server on
127.0.0.1 that records every request and answers by a script of status codes."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps every accepted message; refuses ``*@refused.example``."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self.arrived = threading.Condition(self._lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[email.message.EmailMessage]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout_s)
            return list(self.messages)


@dataclass
class SMTPServer:
    controller: Controller
    mailbox: Mailbox
    port: int

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(*, tls: str = "none", cert: tuple[Path, Path] | None = None,
               credentials: tuple[str, str] | None = None) -> SMTPServer:
    """Start an SMTP server on 127.0.0.1: ``tls`` ``none``, ``starttls`` (required when
    ``credentials``) or ``ssl`` (implicit TLS); ``credentials`` require AUTH."""
    mailbox = Mailbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    context = None
    if tls != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    if tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if credentials is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False)
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls != "none")
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            ssl_context=context if tls == "ssl" else None, **kwargs)
    controller.start()
    return SMTPServer(controller, mailbox, port)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HTTPRecorder:
    """A real HTTP server; ``statuses`` is consumed one per request (the last one repeats)."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    statuses: list[int]
    requests: list[Request] = field(default_factory=list)
    on_request: Callable[[Request], None] | None = None
    answers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def accepted(self) -> list[Request]:
        """Requests answered with 2xx."""
        return [r for r, s in zip(self.requests, self.answers) if 200 <= s < 300]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_http(statuses: list[int] | None = None, *, delay_s: float = 0.0) -> HTTPRecorder:
    """Start a recording HTTP server; each request is answered after ``delay_s`` [s]."""
    lock = threading.Lock()
    recorder: HTTPRecorder

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", "0"))
            request = Request(self.path, {k: v for k, v in self.headers.items()}, self.rfile.read(length))
            with lock:
                status = recorder.statuses.pop(0) if len(recorder.statuses) > 1 else recorder.statuses[0]
                recorder.requests.append(request)
                recorder.answers.append(status)
            if recorder.on_request is not None:
                recorder.on_request(request)
            if delay_s:
                time.sleep(delay_s)
            body = b"ok" if status < 300 else b"server error"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    recorder = HTTPRecorder(server, thread, list(statuses or [200]))
    thread.start()
    return recorder
