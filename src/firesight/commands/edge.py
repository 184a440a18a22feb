"""``firesight edge run --config FILE``: the node on real hardware (Lepton 3.5 + SCD41)."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console(width=160, stderr=True)


def edge_run(
    config: Path = typer.Option(..., "--config", help="Node configuration, JSON (see docs/edge.md): thing, "
                                "site, broker_url, cert_path, key_path, ca_path, buffer_path, thermal, scd41, ..."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Stop after this long [s] "
                                               "(default: until SIGINT/SIGTERM)."),
    health_every_s: float = typer.Option(60.0, "--health-every-s", help="Print the node's health as JSON "
                                         "every this many seconds (default 60)."),
) -> None:
    """Run an edge node: read the sensors, publish over MQTT (mTLS), follow the device shadow,
    buffer to disk while offline and replay in order."""
    from firesight.edge.node import EdgeConfig, EdgeNode, open_sensors

    cfg = EdgeConfig.from_file(config)
    thermal, scd41 = open_sensors(cfg)
    node = EdgeNode(cfg, thermal=thermal, scd41=scd41).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"edge node {cfg.thing} ({cfg.site}) -> {cfg.broker_url}; buffer {cfg.buffer_path}",
                  highlight=False)
    started = time.monotonic()
    try:
        while not stop.wait(min(health_every_s, duration_s or health_every_s)):
            print(json.dumps(node.health(), sort_keys=True, default=str), flush=True)
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
    finally:
        node.stop()
        console.print(f"stopped; {json.dumps(dict(node.counts), sort_keys=True)}", highlight=False)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the edge commands to the CLI."""
    edge = typer.Typer(help="The edge node on real hardware (Lepton 3.5 + SCD41).", no_args_is_help=True)
    edge.command("run")(edge_run)
    app.add_typer(edge, name="edge")
