"""Serving speed: single-window p50/p99 latency in process and over HTTP, batch windows/s per
core. Prints JSON.

Same as ``firesight bench serve``; run ``python benchmarks/serve_bench.py --help``.
"""

from __future__ import annotations

import argparse
import json

from firesight.serving.benchmark import run_serve_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default", help="model reference")
    parser.add_argument("--requests", type=int, default=2000, help="timed single-window calls [-]")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="windows per batch call [-]")
    parser.add_argument("--repeats", type=int, default=3, help="batch calls timed (median) [-]")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP figure")
    args = parser.parse_args()
    result = run_serve_benchmark(model=args.model, requests=args.requests, batch_rows=args.batch_rows,
                                 repeats=args.repeats, http=not args.no_http)
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
