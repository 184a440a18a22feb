"""Benchmark: Lepton 3.5 frames and SCD41 readings per second on ONE core, at full
fidelity. Prints JSON. Same as ``firesight bench generate``.

Run: ``.venv/bin/python benchmarks/bench_generate.py [--duration-s 600] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os

# one thread everywhere, before numpy / numba load
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

from firesight.commands.sensors import pin_to_one_core, run_generate_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=600.0, help="scene length [s] (default 600)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--chunk-frames", type=int, default=256, help="frames per chunk (default 256)")
    parser.add_argument("--scd41-devices", type=int, default=200, help="SCD41 devices, 1 h each (default 200)")
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: first allowed)")
    args = parser.parse_args()
    core = pin_to_one_core(args.cpu)
    result = run_generate_benchmark(duration_s=args.duration_s, repeats=args.repeats,
                                    chunk_frames=args.chunk_frames, scd41_devices=args.scd41_devices)
    result["cpu"] = core
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
