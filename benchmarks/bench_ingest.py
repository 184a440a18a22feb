"""Ingest benchmark: full-rate 38 KB Lepton 3.5 frames at 8.7 Hz per device over mTLS,
through the embedded broker or Mosquitto, to the gateway's decoded and validated reading.

Usage::

    python benchmarks/bench_ingest.py [--broker embedded|mosquitto] [--devices N] [--seconds S]

Same as ``firesight bench ingest``; prints JSON (throughput, p50/p99 latency, CPU seconds
per component, devices sustained at 8.7 Hz per core).
"""

from __future__ import annotations

import argparse
import json

from firesight.commands.iot import run_ingest_benchmark


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="embedded", choices=("embedded", "mosquitto"),
                        help="broker under test (default: embedded)")
    parser.add_argument("--devices", type=int, default=10, help="simulated devices at 8.7 Hz each (default: 10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time [s] (default: 10)")
    parser.add_argument("--publishers", type=int, default=1, help="publisher processes (default: 1)")
    args = parser.parse_args(argv)
    result = run_ingest_benchmark(args.broker, devices=args.devices, seconds=args.seconds,
                                  publishers=args.publishers)
    print(json.dumps(result, indent=2, sort_keys=True))
    return result


if __name__ == "__main__":
    main()
