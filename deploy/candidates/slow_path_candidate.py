"""Candidate 7: the shipped model with a slow alarm path on its full variant.

Why: the bound of `firesight separability --evidence node` (docs/evaluation.md) says a single
fast rule quiet on every nuisance stops at 72 of 80 fires of seed 919 (the flambés' flares
block slow smoulders), and that rules on 1-10 minutes of sustained evidence reach six more.

How (every step stated before its result existed):
1. select: the slow path of the shipped full policy on development seed 919 by
   `firesight.detection.policy.choose_slow_path` (grid SLOW_PATH_GRID; no more false-alarm
   scenarios than the fast path alone, strictly more fires, then speed, then conservative);
2. judge on a fresh development seed 929 (never seen before this script ran; not the test
   seed 606): ship only if the full node with the slow path has (a) no more false-alarm
   scenarios than the shipped model, (b) strictly more fires detected, (c) a flaming-in-view
   median time to alarm no higher. The camera-only and SCD41-only variants are not changed,
   so the real-data checks (which use those) cannot change.

Usage: python deploy/candidates/slow_path_candidate.py select [--variant NAME]
       python deploy/candidates/slow_path_candidate.py compare --shipped A.json --candidate B.json --detector D

(Candidate 7's first judge subcommand scored a features table and could not compute the
flaming-in-view median, which needs each scenario's view from the dataset; its verdict was
taken from `firesight evaluate` reports, and that subcommand is gone in favour of `compare`,
which applies the same rule to such reports: `--detector ensemble` for candidate 7.)

Candidate 8 (the same for the camera-only variant, `thermal`; written before seed 939
existed): `select --variant thermal` on seed 919; then `firesight evaluate` of the shipped
bundle and of a copy with the amended `thermal` policy on a fresh development seed 939, and
`compare --shipped A.json --candidate B.json --detector ensemble_camera_only` applies the same
rule (no more false-alarm scenarios, strictly more fires, flaming-in-view median no higher)
to the reports of `firesight evaluate` (which know each scenario's view).
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from firesight.detection.bundle import DetectorBundle
from firesight.detection.policy import choose_slow_path
from firesight.detection.scoring import prepare_table
from firesight.detection.shipped_model import default_model_path


def _variant(path: str, variant: str):
    bundle = DetectorBundle.load(default_model_path())
    table = prepare_table(pd.read_parquet(path))
    return bundle, table, bundle.variants[variant].fire_probability(table)


def main(argv: list[str]) -> None:
    variant = argv[argv.index("--variant") + 1] if "--variant" in argv else "full"
    if argv[:1] == ["select"]:
        bundle, table, p = _variant("data/dev/dev-s919-features.parquet", variant)
        out = choose_slow_path(table, p, bundle.policies[variant])
        print(json.dumps({"chosen": out["policy"].to_dict(), "plain": out["plain"], "sweep": out["sweep"]}, indent=1))
    elif argv[:1] == ["compare"]:
        detector = argv[argv.index("--detector") + 1]
        shipped, cand = (json.load(open(argv[argv.index(flag) + 1]))["detectors"][detector]
                         for flag in ("--shipped", "--candidate"))

        def flaming(m):
            return m["time_to_alarm_s"].get("by_class", {}).get("flaming_in_view", {}).get("median")

        verdict = {"no_more_false_alarms": cand["false_alarm_scenarios"] <= shipped["false_alarm_scenarios"],
                   "more_fires": (cand["detection_rate"] or 0) > (shipped["detection_rate"] or 0),
                   "flaming_not_slower": flaming(cand) is not None and flaming(shipped) is not None
                   and flaming(cand) <= flaming(shipped)}
        print(json.dumps({"detector": detector, "verdict": verdict, "ship": all(verdict.values()),
                          **{name: {"detection_rate": m["detection_rate"], "false_alarm_scenarios":
                                    m["false_alarm_scenarios"], "flaming_in_view_median_s": flaming(m),
                                    "smouldering_median_s": m["time_to_alarm_s"].get("by_class", {})
                                    .get("smouldering", {}).get("median")}
                             for name, m in (("shipped", shipped), ("candidate", cand))}}, indent=1))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
