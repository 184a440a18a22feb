"""``firesight live-demo``: the running system end to end on one machine.

Starts everything embedded (the mTLS broker, the monitoring, analysis and response agents
under the coordinator, a local SMTP mailbox served by aiosmtpd), plays a simulated fleet of
fires, nuisance sources and normal rooms through the broker (accelerated; the factor is
printed), waits until every alert has been handled, and writes ``summary.json``: per
device the scenario, whether and when (scenario time) it alarmed, every notification
(channel, scenario time), false alarms, and the publish-to-notification latency measured
from each triggering reading's publish (recorded at the device client) to the delivery.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from firesight._atomic import write_text_atomic

console = Console()

#: Rooms of the live demo: two fires, three nuisance sources, one normal room.
LIVE_FAMILIES = ("tf4_flaming_polyurethane", "tf1_open_wood", "gas_stove_cooking", "people_gathering",
                 "space_heater", "normal_day")
_SEQ = re.compile(rb'"seq":(\d+)')
_TS = re.compile(rb'"ts_ms":(\d+)')


class Mailbox:
    """aiosmtpd handler keeping every message with its arrival time."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.original_content or envelope.content)
        with self._lock:
            self.messages.append({"received_s": time.time(), "subject": str(msg.get("Subject", "")),
                                  "to": list(envelope.rcpt_tos), "message_id": str(msg.get("Message-ID", ""))})
        return "250 OK"

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.messages)


def start_mailbox() -> tuple[Any, Mailbox, int]:
    """An SMTP server on 127.0.0.1 (a free port); returns (controller, mailbox, port)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, box, port


class PublishRecorder:
    """Wraps the fleet's device clients to record when each reading was published
    (wall clock [ns]) by ``thing/stream/seq``."""

    def __init__(self) -> None:
        self.published_ns: dict[str, int] = {}
        #: per thing: (publish wall clock [ns], device ts_ms) of every reading, in order
        self.clock: dict[str, list[tuple[int, int]]] = {}

    def factory(self, thing: str, broker_url: str, credentials: Any, will: tuple) -> Any:
        from firesight.iot.fleet import _default_client

        client = _default_client(thing, broker_url, credentials, will)
        publish, record = client.publish, self.published_ns
        clock = self.clock.setdefault(thing, [])

        def recorded(topic: str, payload: Any, **kw: Any) -> Any:
            info = publish(topic, payload, **kw)
            m = _SEQ.search(payload[:120]) if isinstance(payload, (bytes, bytearray)) else None
            if m is not None:
                now_ns = time.time_ns()
                record[f"{thing}/{topic.rsplit('/', 1)[-1]}/{int(m.group(1))}"] = now_ns
                ts = _TS.search(payload[:120])
                if ts is not None:
                    clock.append((now_ns, int(ts.group(1))))
            return info
        client.publish = recorded
        return client


def run_live_demo(data: str, out: str, *, speed: float, devices: int | None = None, site: str = "demo",
                  settle_s: float = 20.0, home: str | None = None, quiet: bool = False,
                  dashboard_port: int | None = None) -> dict:
    """Play ``data``'s scenarios through the running system; return (and write) the summary."""
    from firesight.agents.runtime_config import parse_run_config
    from firesight.agents.defender_agent import faster_profile
    from firesight.agents.system import start_system
    from firesight.datasets import open_dataset
    from firesight.iot.defender import DEFAULT_PROFILE
    from firesight.iot.fleet import FleetSimulator, SimulatorSettings

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = open_dataset(data)
    ids = ds.ids[:devices] if devices else ds.ids
    scenarios = [ds.load(i) for i in ids]
    controller, mailbox, smtp_port = start_mailbox()
    home = home or tempfile.mkdtemp(prefix="firesight-live-")
    cfg = parse_run_config({
        "home": home, "site": site, "model": {"poll_s": 0},
        "channels": [{"kind": "console"},
                     {"kind": "email", "options": {"host": "127.0.0.1", "port": smtp_port,
                                                   "recipients": ["operator@example.org"]}}],
        # alarms to e-mail and console, escalating after 60 s; supervisory and trouble to the
        # console; pre-alarms (watch) recorded in the alert history only
        "response": {"policy": {"poll_interval_s": 0.05, "routes": {
            "alarm": {"tiers": [["email", "console"], ["email", "console"]], "ack_deadline_s": 60.0},
            "supervisory": {"tiers": [["console"]]}, "trouble": {"tiers": [["console"]]}}}},
        "coordinator": {"health_interval_s": 0},
        # the simulated nodes play 15 min of SCD41 history before their camera's first frame
        # (the synthetic history has no frames); a real node's camera streams within seconds
        "monitoring": {"camera_start_grace_s": 1200.0},
        # Device Defender's message-rate limits are for real time; the fleet plays faster
        "defender": {"profiles": [faster_profile(DEFAULT_PROFILE, speed)]},
        "dashboard": {"enabled": dashboard_port is not None, "port": dashboard_port or 0}}, environ={})
    system = start_system(cfg)
    if system.dashboard is not None and not quiet:
        from firesight import bootstrap
        from firesight.ops.tokens import TokenStore

        token, _ = TokenStore(bootstrap.metadata_store(cfg.base_config())).create("live-demo", "operator",
                                                                                 ttl_s=3600.0)
        console.print(f"dashboard: [bold]{system.dashboard.url}/login[/] (operator token, 1 h: {token})")
    recorder = PublishRecorder()
    settings = SimulatorSettings(devices=len(scenarios), site=site, thing_prefix="room", speed=speed,
                                 status_interval_s=30.0)
    sim = FleetSimulator(settings, scenarios, system.device_url, registry=system.registry,
                         client_factory=recorder.factory)
    try:
        sim.connect()
        if not quiet:
            span = max(d.end_s - d.start_s for d in sim.devices)
            console.print(f"[bold]live[/]: {len(scenarios)} rooms, {span:.0f} s of scenario time each "
                          f"(15 min SCD41 history included) played at [bold]{speed:g}x[/] real time")
            console.print("The dataset holds SCD41 readings only before t = 0 (the node's history): each "
                          "room is scored SCD41-only until its first frame, its camera in its start-up "
                          "grace (no trouble raised).")
        wall0 = time.time()
        played = sim.run()
        _settle(system, settle_s)
        health = system.health()
    finally:
        system.coordinator.stop()  # the agents first: the rooms' goodbye is not an alert
        sim.close()
        report = system.stop()
        controller.stop()
    summary = build_summary(system, sim, scenarios, recorder, mailbox, wall0=wall0, speed=speed)
    summary["speed"] = speed
    summary["fleet"] = {k: v for k, v in played.items() if not k.startswith("bytes")}
    summary["health"] = {name: {k: a.get(k) for k in ("alive", "restarts", "windows", "events")}
                         for name, a in health["agents"].items()}
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, default=str))
    del report
    return summary


def _settle(system: Any, settle_s: float) -> None:
    """Wait until the analysis backlog and the alert queue are empty (at most ``settle_s``)."""
    from firesight.agents.events import ALERT_EVENTS_QUEUE

    deadline = time.monotonic() + settle_s
    quiet_since = None
    while time.monotonic() < deadline:
        analysis = system.coordinator.agent("analysis")
        backlog = analysis.health()["backlog"] if analysis is not None else 0
        queued = sum(system.queue.counts(ALERT_EVENTS_QUEUE).values())
        if backlog == 0 and queued == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.5:
                return
        else:
            quiet_since = None
        time.sleep(0.2)


def build_summary(system: Any, sim: Any, scenarios: list, recorder: PublishRecorder, mailbox: Mailbox, *,
                  wall0: float, speed: float) -> dict:
    """The summary table (see module docstring)."""
    from firesight.agents.alert_store import AlertStore

    store = AlertStore(system.metadata)
    alerts = {a["alert_id"]: a for a in store.list()}
    sent = [d for d in store.deliveries(state="sent")]
    rows, latencies_ms = [], []
    for device, scenario in zip(sim.devices, scenarios):
        thing = device.thing_name

        played = recorder.clock.get(thing) or [(0, 0)]
        walls = np.asarray([w for w, _ in played], dtype=np.int64)

        def scenario_time(wall_s: float) -> float:
            """The device's scenario clock when ``wall_s`` came: its last reading published by then."""
            i = max(0, int(np.searchsorted(walls, int(wall_s * 1e9), side="right")) - 1)
            return round(device.start_s + (played[i][1] - played[0][1]) / 1000.0, 2)

        mine = [a for a in alerts.values() if a["thing"] == thing]
        alarm_times = sorted(a["scenario_time_s"] + device.start_s for a in mine
                             if a["signal"] == "alarm" and a.get("scenario_time_s") is not None)
        first_alarm = round(alarm_times[0], 2) if alarm_times else None
        ignition = scenario.ignition_time_s
        notes = []
        for d in sent:
            if d["thing"] != thing:
                continue
            alert = alerts.get(d["alert_id"], {})
            notes.append({"channel": d["channel"], "signal": d["signal"], "level": d["level"],
                          "scenario_time_s": scenario_time(d["sent_s"])})
            published = recorder.published_ns.get(alert.get("correlation_id", ""))
            if published:
                latencies_ms.append((d["sent_s"] * 1e9 - published) / 1e6)
        false_alarm = any(t < (ignition if ignition is not None else np.inf) for t in alarm_times)
        rows.append({"device": thing, "scenario_id": scenario.id, "family": scenario.family,
                     "is_fire": bool(scenario.is_fire), "ignition_s": ignition, "first_alarm_s": first_alarm,
                     "time_to_alarm_s": (round(first_alarm - ignition, 2) if first_alarm is not None
                                         and ignition is not None and first_alarm >= ignition else None),
                     "notifications": sorted(notes, key=lambda n: n["scenario_time_s"]),
                     "conditions": sorted({f"{a['signal']}:{a['level']}" for a in mine
                                           if a["signal"] in ("trouble", "supervisory")}),
                     "false_alarm": bool(false_alarm)})
    fires = [r for r in rows if r["is_fire"]]
    lat = np.asarray(latencies_ms) if latencies_ms else None
    return {"devices": rows, "totals": {
        "devices": len(rows), "fires": len(fires), "fires_alarmed": sum(r["time_to_alarm_s"] is not None for r in fires),
        "false_alarms": sum(r["false_alarm"] for r in rows),
        "notifications": len(sent), "emails_received": len(mailbox.snapshot()),
        "alerts": len(alerts)},
        "mailbox": [{"subject": m["subject"], "to": m["to"]} for m in mailbox.snapshot()],
        "latency_publish_to_notification_ms": {
            "n": len(latencies_ms),
            "p50": None if lat is None else round(float(np.percentile(lat, 50)), 1),
            "p99": None if lat is None else round(float(np.percentile(lat, 99)), 1)}}


def print_summary(summary: dict) -> None:
    console = Console(width=max(140, Console().width))
    table = Table("device", "scenario", "fire", "ignition s", "first alarm s", "notifications", "false alarm")
    for r in summary["devices"]:
        notes = ", ".join(f"{n['channel']}:{n['signal']}@{n['scenario_time_s']:.0f}" for n in r["notifications"]
                          if n["signal"] == "alarm") or "-"
        table.add_row(r["device"], r["family"], "yes" if r["is_fire"] else "no",
                      "-" if r["ignition_s"] is None else f"{r['ignition_s']:.0f}",
                      "-" if r["first_alarm_s"] is None else f"{r['first_alarm_s']:.0f}", notes,
                      "YES" if r["false_alarm"] else "no")
    console.print(table)
    console.print(json.dumps({"totals": summary["totals"],
                              "latency_publish_to_notification_ms": summary["latency_publish_to_notification_ms"]}))


def live_demo(
    out: str = typer.Option("demo-output/live", "--out", help="Folder for the live dataset and summary.json "
                            "(default demo-output/live)."),
    data: str = typer.Option("", "--data", help="Dataset to play (default: generate OUT/dataset with two "
                             "fires, three nuisance sources and a normal room)."),
    duration_s: float = typer.Option(120.0, "--duration-s", help="Scenario length when generating [s] "
                                     "(default 120)."),
    speed: float = typer.Option(12.0, "--speed", help="Playback speed [x real time] (default 12)."),
    seed: int = typer.Option(2026, "--seed", help="Dataset seed when generating (default 2026)."),
    dashboard_port: Optional[int] = typer.Option(None, "--dashboard-port", help="Also serve the dashboard "
                                                 "on 127.0.0.1:PORT (0: any free port) and print a sign-in "
                                                 "token (default: no dashboard)."),
) -> None:
    """Everything embedded: broker, fleet, agents, console and SMTP notifications; prints
    the summary table and writes OUT/summary.json."""
    import logging

    logging.getLogger("amqtt").setLevel(logging.ERROR)
    logging.getLogger("firesight.iot.broker").setLevel(logging.ERROR)
    if not data:
        from firesight.datasets.generate import generate_dataset

        data = str(Path(out) / "dataset")
        generate_dataset(data, count=len(LIVE_FAMILIES), seed=seed, duration_s=duration_s,
                         families=list(LIVE_FAMILIES), workers=2)
    summary = run_live_demo(data, out, speed=speed, dashboard_port=dashboard_port)
    print_summary(summary)
    console.print(f"summary: [bold]{Path(out) / 'summary.json'}[/]")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``live-demo`` to the firesight CLI."""
    app.command("live-demo")(live_demo)
