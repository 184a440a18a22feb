"""``firesight audit verify|list|digest``, ``firesight tokens create|revoke|list`` and
``firesight dashboard``."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Optional

import typer

from firesight.errors import InvalidParameterError


def _echo(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2026-12-03T08:00:00Z``, ``2026-12-03`` or a span back from now: ``30m``, ``2h``, ``7d``."""
    now = now or datetime.now(timezone.utc)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - timedelta(**{unit: float(m.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterError("--since", "an ISO 8601 time or a span like 30m, 2h, 7d",
                                    text) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _tokens():
    from firesight.bootstrap import metadata_store
    from firesight.ops.tokens import TokenStore

    return TokenStore(metadata_store())


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the audit, token and dashboard commands."""
    audit = typer.Typer(help="Audit trail of administrative actions (hash-chained, signed digests).",
                        no_args_is_help=True)
    tokens = typer.Typer(help="API tokens with roles (viewer, operator, admin) for the HTTP surface.",
                         no_args_is_help=True)
    app.add_typer(audit, name="audit")
    app.add_typer(tokens, name="tokens")

    @audit.command("verify")
    def audit_verify() -> None:
        """Check every record, the hash chain and the signed digests; exit 1 naming each
        edited, deleted, inserted or reordered record."""
        from firesight.ops.audit import default_trail

        report = default_trail().verify()
        _echo(report)
        if not report["ok"]:
            for p in report["problems"]:
                typer.echo(f"{p['kind']}: record {p['sequence']} ({p['eventID']}): {p['detail']}",
                           err=True)
            sys.exit(1)

    @audit.command("list")
    def audit_list(
        actor: Optional[str] = typer.Option(None, "--actor", help="Only this user name or principal id."),
        action: Optional[str] = typer.Option(None, "--action", help="Only this eventName (e.g. RevokeDevice)."),
        since: Optional[str] = typer.Option(None, "--since", help="Only records at or after this time: "
                                            "ISO 8601 or a span back from now (30m, 2h, 7d)."),
    ) -> None:
        """List audit records (JSON lines, oldest first)."""
        from firesight.ops.audit import default_trail

        for rec in default_trail().records(actor=actor, action=action,
                                           since=parse_since(since) if since else None):
            typer.echo(json.dumps(rec, sort_keys=True))

    @audit.command("digest")
    def audit_digest() -> None:
        """Sign a digest of the records written since the last digest now."""
        from firesight.ops.audit import default_trail

        path = default_trail().write_digest()
        _echo({"digest": str(path) if path else None})

    @tokens.command("create")
    def tokens_create(
        name: str = typer.Argument(..., help="Who or what the token is for."),
        role: str = typer.Option("viewer", "--role", help="viewer (default), operator or admin."),
        ttl_days: Optional[float] = typer.Option(None, "--ttl-days", help="Days until it expires "
                                                 "(default: never)."),
    ) -> None:
        """Create a token; its secret is printed once and stored only as a hash."""
        from firesight.ops.audit import record

        token, info = _tokens().create(name, role, ttl_s=None if ttl_days is None else ttl_days * 86400.0)
        record("CreateApiToken", None, {"name": name, "role": role, "ttl_days": ttl_days},
               response={"token_id": info["token_id"]}, source="tokens")
        _echo({"token": token, **info})

    @tokens.command("revoke")
    def tokens_revoke(token_id: str = typer.Argument(..., help="Token id (from `tokens list`).")) -> None:
        """Revoke a token (it is refused from now on)."""
        from firesight.ops.audit import record

        info = _tokens().revoke(token_id)
        record("RevokeApiToken", None, {"token_id": token_id}, source="tokens")
        _echo(info)

    @tokens.command("list")
    def tokens_list() -> None:
        """List tokens (never their secrets)."""
        _echo(_tokens().list())

    @app.command("dashboard")
    def dashboard(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface (default 127.0.0.1: loopback only)."),
        port: int = typer.Option(8090, "--port", help="TCP port (default 8090)."),
        broker: Optional[str] = typer.Option(None, "--broker", help="Also subscribe to this broker's device "
                                             "and alert topics (mqtt://host:port or mqtts://...; default: "
                                             "no broker, only the alert store)."),
        ssl_certfile: Optional[str] = typer.Option(None, "--ssl-certfile", help="PEM certificate: serve HTTPS."),
        ssl_keyfile: Optional[str] = typer.Option(None, "--ssl-keyfile", help="PEM key of --ssl-certfile."),
    ) -> None:
        """Serve the operator dashboard (sign in with a token from `firesight tokens create`)."""
        from firesight.web.server import DashboardConfig, DashboardServer

        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise InvalidParameterError("--ssl-certfile/--ssl-keyfile", "both or neither",
                                        (ssl_certfile, ssl_keyfile))
        server = DashboardServer.from_config(DashboardConfig(host=host, port=port, ssl_certfile=ssl_certfile,
                                                             ssl_keyfile=ssl_keyfile))
        bridge = None
        if broker:
            from firesight.agents.system import service_client
            from firesight.iot import open_registry
            from firesight.web.bridge import BrokerBridge

            bridge = BrokerBridge(server.feed, service_client("dashboard", broker, open_registry())).start()
        scheme = "https" if ssl_certfile else "http"
        typer.echo(json.dumps({"event": "dashboard", "url": f"{scheme}://{host}:{port}/",
                               "broker": broker}), err=True)
        try:
            server.run()
        finally:
            if bridge is not None:
                bridge.stop()
