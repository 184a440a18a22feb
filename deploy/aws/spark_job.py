"""firesight's Spark job, unchanged as an AWS Glue job (``glueetl``) or an EMR Serverless
job run: generate a dataset and/or compute its feature table with the Spark engine, on the
session the platform provides.

    --out s3://BUCKET/datasets/NAME --count 270 --seed 101 [--duration-s 300]
    [--features-out s3://BUCKET/datasets/NAME-features.parquet]

Glue adds its own arguments (``--JOB_NAME`` ...); unknown arguments are ignored. The firesight
package comes with the job (Glue ``--additional-python-modules``, EMR ``--py-files`` or a
custom image). Limitation: generation stages each scenario on the executor's disk and the
driver uploads it, so a multi-node cluster needs a filesystem shared by driver and executors
(see docs/aws.md); features read and write S3 only.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="dataset URL (s3://...)")
    parser.add_argument("--count", type=int, default=0, help="scenarios to generate (0: none)")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--features-out", default="", help="feature table URL (empty: no features)")
    args, _unknown = parser.parse_known_args(argv)

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("firesight").getOrCreate()  # the platform's cluster
    result: dict = {"out": args.out}
    if args.count > 0:
        from firesight.datasets import generate_dataset

        gen = generate_dataset(args.out, count=args.count, seed=args.seed, duration_s=args.duration_s,
                               engine="spark")
        result["generated"] = len(gen["generated"])
        result["count"] = gen["count"]
    if args.features_out:
        from firesight.features.dataset import compute_dataset_features

        result["features"] = compute_dataset_features(args.out, args.features_out, engine="spark")
    print(json.dumps(result, default=str))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
