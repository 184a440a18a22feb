"""Feature throughput: Lepton frames/s per core, windows/s, SCD41 readings/s, and the local
engine versus Spark local mode on the same generated dataset. Prints JSON.

Same as ``firesight bench features``; run ``python benchmarks/bench_features.py --help``.
"""

from __future__ import annotations

import argparse
import json

from firesight.features.benchmark import run_feature_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=2000, help="frames timed in the per-frame stage [-]")
    parser.add_argument("--duration-s", type=float, default=120.0, help="length of each scenario [s]")
    parser.add_argument("--scenarios", type=int, default=4, help="scenarios in the engine comparison [-]")
    parser.add_argument("--workers", type=int, default=2, help="local processes and Spark local[K] cores [-]")
    parser.add_argument("--data", default=None, help="existing dataset for the engine comparison")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    args = parser.parse_args()
    result = run_feature_benchmark(frames=args.frames, duration_s=args.duration_s, scenarios=args.scenarios,
                                   workers=args.workers, data=args.data, spark=not args.no_spark)
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
