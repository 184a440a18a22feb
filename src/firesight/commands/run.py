"""``firesight run --config FILE``: the running system (broker, gateway, monitoring,
analysis and response agents, alarm rules, model watcher) under the coordinator, until
SIGTERM/SIGINT; and ``firesight bench online``."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer

from firesight._atomic import write_text_atomic


def _print(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()


def run(
    config: Optional[Path] = typer.Option(None, "--config", help="Run configuration, YAML or TOML (see "
                                          "docs/running.md); FIRESIGHT_* variables override it. Default: "
                                          "embedded defaults."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Stop after this long [s] "
                                               "(default: until SIGTERM or Ctrl-C)."),
    health_file: Optional[Path] = typer.Option(None, "--health-file", help="Also write the health report "
                                               "as JSON to this file at every health interval."),
    log_level: str = typer.Option("WARNING", "--log-level", help="Python log level (default WARNING)."),
    log_format: str = typer.Option("json", "--log-format", help="json: one JSON object per line on stderr with "
                                   "the correlation id (docs/operations.md); text: plain lines (default json)."),
) -> None:
    """Start the agents against the configured broker, stores and channels; print their
    health as JSON lines (at start, every coordinator.health_interval_s, at stop). SIGTERM
    or Ctrl-C stops them in stages without losing queued work."""
    from firesight.agents.runtime_config import load_run_config
    from firesight.agents.system import start_system

    _configure_logging(log_level, log_format)
    cfg = load_run_config(config)
    stop = threading.Event()

    def _terminate(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    system = start_system(cfg)
    first = system.health()
    _print({"event": "started", "device_url": system.device_url, "ca_path": system.ca_path,
            "model": system.model, "worker": cfg.workers.id, "shared_group": cfg.workers.shared_group,
            **{f"{k}_url": first[k]["url"] for k in ("dashboard", "metrics") if k in first}})

    def report(kind: str, health: dict) -> None:
        _print({"event": kind, **health})
        if health_file is not None:
            write_text_atomic(health_file, json.dumps(health, default=str, indent=2))

    deadline = None if duration_s is None else time.monotonic() + duration_s
    interval = cfg.coordinator.health_interval_s
    next_report = time.monotonic() + (interval or 1e18)
    try:
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if interval and now >= next_report:
                report("health", system.health())
                next_report = now + interval
            stop.wait(0.2)
    finally:
        report("stopped", system.stop())


def _configure_logging(log_level: str, log_format: str) -> None:
    """JSON lines (:func:`firesight.ops.logs.configure_logging`, for firesight's loggers and
    the libraries' warnings alike) or plain text, on stderr."""
    if log_format not in ("json", "text"):
        raise typer.BadParameter(f"--log-format must be json or text, got {log_format!r}")
    level = getattr(logging, log_level.upper(), logging.WARNING)
    if log_format == "text":
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        from firesight.ops.logs import configure_logging

        handler = configure_logging(level)
        logging.getLogger("firesight").propagate = False
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(max(level, logging.WARNING))
    logging.getLogger("amqtt").setLevel(logging.ERROR)


def bench_online(
    broker: str = typer.Option("embedded", "--broker", help="embedded or mosquitto (default embedded)."),
    devices: int = typer.Option(10, "--devices", help="Devices at full rate (8.7 Hz frames + SCD41 every 5 s) "
                                "[-] (default 10)."),
    seconds: float = typer.Option(20.0, "--seconds", help="Publishing time [s] (default 20)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (monitoring + analysis each); more than "
                                "one shares the devices through shared subscriptions (Mosquitto) (default 1)."),
    out: str = typer.Option("", "--out", help="Also write the JSON to this file."),
) -> None:
    """End to end from a device's publish to the alarm notification (p50/p99) and devices
    sustained per core at full rate. Prints JSON."""
    from firesight.agents.online_bench import run_online_benchmark

    result = run_online_benchmark(broker, devices=devices, seconds=seconds, workers=workers)
    text = json.dumps(result, indent=2, sort_keys=True)
    if out:
        write_text_atomic(out, text + "\n")
    typer.echo(text)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``run`` and ``bench online`` to the firesight CLI."""
    app.command("run")(run)
    bench_app.command("online")(bench_online)
