"""Online benchmark: device publish -> monitoring -> analysis -> response -> notification,
at full rate (8.7 Hz Lepton frames + SCD41), with the embedded broker or Mosquitto, against
worker count.

Usage::

    python benchmarks/bench_online.py [--broker embedded|mosquitto] [--devices N] [--seconds S] [--workers W]

Same as ``firesight bench online``; prints JSON (publish-to-notification p50/p99, devices
sustained per core, CPU seconds per component).
"""

from __future__ import annotations

import argparse
import json

from firesight.agents.online_bench import run_online_benchmark


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="embedded", choices=("embedded", "mosquitto"),
                        help="broker under test (default: embedded)")
    parser.add_argument("--devices", type=int, default=10, help="devices at full rate (default: 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="publishing time [s] (default: 20)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    args = parser.parse_args(argv)
    result = run_online_benchmark(args.broker, devices=args.devices, seconds=args.seconds, workers=args.workers)
    print(json.dumps(result, indent=2, sort_keys=True))
    return result


if __name__ == "__main__":
    main()
