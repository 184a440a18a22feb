"""Commands of the alert history: ``alerts list|show|ack|resolve|feedback`` and
``maintenance add|list|remove``.

They work on the alert store and the durable queue of the configured ``FIRESIGHT_HOME``
(the same files the response agent uses), from any shell, while the agent runs: every
change is a conditional write, so nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import time
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from firesight.errors import InvalidParameterError
from firesight.ops.audit import record as audit_record

console = Console()

alerts_app = typer.Typer(help="Alert history: list, show, acknowledge, resolve, give feedback.",
                         no_args_is_help=True)
maintenance_app = typer.Typer(help="Maintenance windows: notifications of a site or device are recorded "
                              "as suppressed meanwhile (never a flaming-fire or probable-fire alarm).",
                              no_args_is_help=True)

_RELATIVE = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_time(text: str, *, now_s: float, default_sign: int, name: str) -> float:
    """A time [s since epoch] from ``now``, a duration relative to now (``90s``, ``15m``,
    ``2h``, ``1d``; ``-`` ago, ``+`` ahead, unsigned: ``default_sign``) or ISO 8601
    (UTC unless it names its zone)."""
    value = text.strip()
    if value.lower() == "now":
        return now_s
    match = _RELATIVE.match(value)
    if match:
        sign = {"-": -1, "+": 1}.get(match.group(1), default_sign)
        return now_s + sign * float(match.group(2)) * _UNIT_S[match.group(3)]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(name, "now, a duration such as 30m / 2h / 1d, or an ISO 8601 time",
                                    text) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _utc(time_s: Any) -> str:
    if time_s is None:
        return "-"
    return dt.datetime.fromtimestamp(float(time_s), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _store():
    from firesight import bootstrap

    return bootstrap.alert_store()


def _print_json(obj: Any) -> None:
    # plain print: rich would wrap long lines and break the JSON for other programs
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


def _who(by: Optional[str]) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- alerts --------------------------------------------------------------------------------------
@alerts_app.command("list")
def list_alerts(
    site: Optional[str] = typer.Option(None, "--site", help="Only this site."),
    thing: Optional[str] = typer.Option(None, "--thing", help="Only this device (thing name)."),
    state: Optional[str] = typer.Option(None, "--state", help="active | acknowledged | resolved | cleared."),
    signal: Optional[str] = typer.Option(None, "--signal", help="alarm | watch | supervisory | trouble."),
    since: Optional[str] = typer.Option(None, "--since", help="Opened at or after: 2h (ago), 1d, or ISO 8601 UTC."),
    limit: int = typer.Option(50, "--limit", help="Most alerts to show, newest first (default 50)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Alerts, newest first."""
    from firesight.agents.events import SIGNALS

    if signal is not None and signal not in SIGNALS:
        raise InvalidParameterError("signal", f"one of {SIGNALS}", signal)
    since_s = parse_time(since, now_s=time.time(), default_sign=-1, name="since") if since else None
    alerts = _store().list(site=site, thing=thing, state=state, signal=signal, since_s=since_s, limit=limit)
    if as_json:
        _print_json([{k: v for k, v in a.items() if k not in ("history", "event_ids")} for a in alerts])
        return
    table = Table(title=f"{len(alerts)} alert(s)")
    for col in ("id", "opened (UTC)", "site/device", "signal/level", "state", "p", "ack by", "sent"):
        table.add_column(col, no_wrap=col in ("id", "p"))
    colour = {"alarm": "bold red", "watch": "yellow", "supervisory": "magenta", "trouble": "cyan"}
    for a in alerts:
        notified = sum(len(s["channels"]) for s in a.get("stages", []) if not s["suppressed"])
        suppressed = any(s["suppressed"] for s in a.get("stages", []))
        p = a.get("max_probability")
        level = a["signal"] if a["level"] == a["signal"] else f"{a['signal']}/{a['level']}"
        table.add_row(a["alert_id"], _utc(a["opened_s"])[5:], f"{a['site']}/{a['thing']}",
                      f"[{colour.get(a['signal'], '')}]{level}[/]", a["state"],
                      "-" if p is None else f"{p:.2f}", a.get("acknowledged_by") or "-",
                      f"{notified}" + (" (suppressed)" if suppressed else ""))
    console.print(table)


@alerts_app.command("show")
def show(alert_id: str = typer.Argument(..., help="Alert id (or a unique prefix of 4+ characters)."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One alert: facts, explanation, deliveries and history."""
    store = _store()
    alert = store.get(alert_id)
    deliveries = store.deliveries(alert_id=alert["alert_id"])
    if as_json:
        _print_json({"alert": alert, "deliveries": deliveries})
        return
    facts = Table(show_header=False, title=f"alert {alert['alert_id']}")
    facts.add_column("field")
    facts.add_column("value")
    p = alert.get("probability")
    for name, value in (("site / device", f"{alert['site']} / {alert['thing']}"),
                        ("signal / level", f"{alert['signal']} / {alert['level']}"), ("state", alert["state"]),
                        ("probability (max)", "-" if p is None else f"{p:.2f} ({alert.get('max_probability') or 0:.2f})"),
                        ("model", f"{alert.get('variant') or '-'} {alert.get('model_version') or ''}"),
                        ("opened", _utc(alert["opened_s"])), ("acknowledged", f"{_utc(alert.get('acknowledged_s'))} "
                                                                               f"{alert.get('acknowledged_by') or ''}"),
                        ("cleared", _utc(alert.get("cleared_s"))),
                        ("resolved", f"{_utc(alert.get('resolved_s'))} {alert.get('resolved_by') or ''}"),
                        ("escalation tier", str(alert.get("tier", 0))),
                        ("next deadline", _utc(alert.get("next_deadline_s"))),
                        ("explanation", json.dumps(alert.get("explanation") or {}, sort_keys=True)[:400]),
                        ("feedback", ", ".join(f["kind"] for f in alert.get("feedback", [])) or "-")):
        facts.add_row(name, value)
    console.print(facts, highlight=False)
    dtable = Table(title="deliveries")
    for col in ("stage", "channel", "state", "attempts", "sent (UTC)", "latency [s]", "error"):
        dtable.add_column(col)
    for d in deliveries:
        lat = d.get("latency_s")
        dtable.add_row(d["stage"], d["channel"], d["state"], str(d.get("attempts", 0)), _utc(d.get("sent_s")),
                       "-" if lat is None else f"{lat:.3f}", (d.get("error") or "")[:60])
    console.print(dtable, highlight=False)
    htable = Table(title="history")
    for col in ("time (UTC)", "action", "state", "by", "note"):
        htable.add_column(col)
    for h in alert.get("history", []):
        htable.add_row(_utc(h["at_s"]), h["action"], str(h.get("state", "")), h.get("by", ""), h.get("note", ""))
    console.print(htable, highlight=False)


@alerts_app.command("ack")
def ack(alert_id: str = typer.Argument(..., help="Alert id (or a unique prefix)."),
        by: Optional[str] = typer.Option(None, "--by", help="Who acknowledges (default: the login name)."),
        note: str = typer.Option("", "--note", help="Free text for the history."),
        as_json: bool = typer.Option(False, "--json", help="Print the alert as JSON.")) -> None:
    """Acknowledge an alert: its escalation stops."""
    alert = _store().acknowledge(alert_id, by=_who(by), note=note)
    audit_record("AcknowledgeAlert", _who(by), {"alert_id": alert["alert_id"], "note": note}, source="alerts")
    if as_json:
        _print_json(alert)
    else:
        console.print(f"alert {alert['alert_id']} acknowledged by {alert['acknowledged_by']} "
                      f"at {_utc(alert['acknowledged_s'])} UTC (state {alert['state']})", highlight=False)


@alerts_app.command("resolve")
def resolve(alert_id: str = typer.Argument(..., help="Alert id (or a unique prefix)."),
            by: Optional[str] = typer.Option(None, "--by", help="Who resolves (default: the login name)."),
            note: str = typer.Option("", "--note", help="What was found and done."),
            as_json: bool = typer.Option(False, "--json", help="Print the alert as JSON.")) -> None:
    """Resolve an alert: it is closed; the next event of its condition opens a new alert."""
    alert = _store().resolve(alert_id, by=_who(by), note=note)
    audit_record("ResolveAlert", _who(by), {"alert_id": alert["alert_id"], "note": note}, source="alerts")
    if as_json:
        _print_json(alert)
    else:
        console.print(f"alert {alert['alert_id']} resolved by {alert['resolved_by']} "
                      f"at {_utc(alert['resolved_s'])} UTC", highlight=False)


@alerts_app.command("feedback")
def feedback(alert_id: str = typer.Argument(..., help="Alert id (or a unique prefix)."),
             kind: str = typer.Option(..., "--kind", help="false_alarm | confirmed_fire | missed_fire."),
             by: Optional[str] = typer.Option(None, "--by", help="Who reports (default: the login name)."),
             note: str = typer.Option("", "--note", help="Free text."),
             as_json: bool = typer.Option(False, "--json", help="Print the feedback message as JSON.")) -> None:
    """Tell the system what the alert really was; the learning agent receives it on the
    feedback queue (``missed_fire``: the alert understated a real fire, e.g. a watch that
    never became an alarm)."""
    from firesight import bootstrap
    from firesight.agents.alert_store import feedback_message
    from firesight.agents.events import FEEDBACK_QUEUE

    store = _store()
    alert = store.add_feedback(alert_id, kind=kind, by=_who(by), note=note)
    message = feedback_message(alert, kind=kind, by=_who(by), note=note, at_s=alert["updated_s"])
    queue = bootstrap.message_queue()
    message_id = queue.send(FEEDBACK_QUEUE, json.dumps(message, sort_keys=True, default=str),
                            attributes={"kind": kind, "alert_id": alert["alert_id"]})
    if as_json:
        _print_json({**message, "message_id": message_id})
    else:
        console.print(f"feedback {kind} on alert {alert['alert_id']} recorded and queued for the learning "
                      f"agent ({FEEDBACK_QUEUE}, message {message_id})", highlight=False)


# -- maintenance ---------------------------------------------------------------------------------
@maintenance_app.command("add")
def maintenance_add(
    site: str = typer.Option(..., "--site", help="Site under maintenance."),
    thing: Optional[str] = typer.Option(None, "--thing", help="Only this device (default: the whole site)."),
    from_: str = typer.Option("now", "--from", help="Start: now, +30m, or ISO 8601 UTC (default now)."),
    until: str = typer.Option(..., "--until", help="End: +2h (from now), or ISO 8601 UTC."),
    reason: str = typer.Option("", "--reason", help="Why (shown in the alert history)."),
    by: Optional[str] = typer.Option(None, "--by", help="Who (default: the login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the window as JSON."),
) -> None:
    """Open a maintenance window."""
    now_s = time.time()
    start_s = parse_time(from_, now_s=now_s, default_sign=1, name="from")
    end_s = parse_time(until, now_s=now_s, default_sign=1, name="until")
    window = _store().add_maintenance(site=site, thing=thing or "", from_s=start_s, until_s=end_s,
                                      reason=reason, by=_who(by))
    if as_json:
        _print_json(window)
    else:
        console.print(f"maintenance window {window['window_id']}: {site}/{thing or '*'} "
                      f"{_utc(start_s)} - {_utc(end_s)} UTC", highlight=False)


@maintenance_app.command("list")
def maintenance_list(active: bool = typer.Option(False, "--active", help="Only windows open now."),
                     as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Maintenance windows, by start."""
    windows = _store().maintenance_windows(at_s=time.time() if active else None)
    if as_json:
        _print_json(windows)
        return
    table = Table(title=f"{len(windows)} maintenance window(s)")
    for col in ("id", "site", "device", "from (UTC)", "until (UTC)", "by", "reason"):
        table.add_column(col)
    for w in windows:
        table.add_row(w["window_id"], w["site"], w["thing"] or "*", _utc(w["from_s"]), _utc(w["until_s"]),
                      w.get("by", ""), w.get("reason", ""))
    console.print(table, highlight=False)


@maintenance_app.command("remove")
def maintenance_remove(window_id: str = typer.Argument(..., help="Window id (from `maintenance list`).")) -> None:
    """Close a maintenance window now (delete it)."""
    _store().remove_maintenance(window_id)
    console.print(f"maintenance window {window_id} removed", highlight=False)


def bench_response(
    events: int = typer.Option(200, "--events", help="Alarm events to play [-] (default 200)."),
    rate_hz: float = typer.Option(20.0, "--rate-hz", help="Events per second offered [1/s] (default 20)."),
) -> None:
    """Response agent: alarm events at a steady rate through the durable queue (SQLite files in
    a temporary folder) to a console channel; prints throughput and publish-to-notification
    latency [s] as JSON."""
    import io
    import os
    import tempfile
    from pathlib import Path

    from firesight import bootstrap
    from firesight.config import Config
    from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
    from firesight.agents.response import ResponseAgent
    from firesight.agents.response_policy import default_policy
    from firesight.notify import ConsoleNotifier

    if events < 1 or not rate_hz > 0:
        raise InvalidParameterError("events/rate_hz", "events >= 1 and rate_hz > 0", (events, rate_hz))
    with tempfile.TemporaryDirectory() as home:
        config = Config(home=Path(home)).resolved()
        queue = bootstrap.message_queue(config)
        agent = ResponseAgent(queue, bootstrap.metadata_store(config),
                              {"console": ConsoleNotifier(io.StringIO())}, default_policy(["console"])).start()
        start = time.perf_counter()
        for i in range(events):
            time.sleep(max(0.0, start + i / rate_hz - time.perf_counter()))
            queue.send(ALERT_EVENTS_QUEUE, AlertEvent(
                event_id=f"bench-{i}:alarm:1", site="bench", thing=f"bench-{i}", signal="alarm", state="active",
                level="alarm", previous="watch", ts_ms=int(time.time() * 1000), probability=0.95,
                published_ns=time.time_ns()).to_json())
        while agent.store.latency_summary()["count"] < events and time.perf_counter() - start < events / rate_hz + 120:
            time.sleep(0.05)
        elapsed_s = time.perf_counter() - start
        summary = agent.store.latency_summary()
        agent.stop(5.0)
    _print_json({"benchmark": "response", "events": events, "offered_rate_hz": rate_hz,
                 "notified": summary["count"], "elapsed_s": round(elapsed_s, 3),
                 "latency_p50_s": summary["p50_s"], "latency_p99_s": summary["p99_s"], "latency_max_s": summary["max_s"],
                 "poll_interval_s": agent.policy.poll_interval_s, "cpu_count": os.cpu_count()})


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the alert and maintenance commands (and the response benchmark) to the firesight CLI."""
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(maintenance_app, name="maintenance")
    bench_app.command("response")(bench_response)
