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

Usage: python deploy/candidates/slow_path_candidate.py select [--variant NAME] [--model DIR [--write]]
       python deploy/candidates/slow_path_candidate.py compare --shipped A.json --candidate B.json --detector D
       python deploy/candidates/slow_path_candidate.py accept --shipped A.json --candidate B.json --realcheck R.json

Candidate 9 (deploy/candidates/model_candidate_9.sh, a retrained model): `select --model DIR
--write` chooses the slow path of the candidate's own variant on seed 919 by the same rule and
writes it into DIR/bundle.json; `accept` applies that script's acceptance rule (written before
its results existed) to `firesight evaluate` reports of both models on a fresh seed and to the
candidate's `firesight realcheck` report.

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
from datetime import date
from pathlib import Path

import pandas as pd

from firesight.detection.bundle import DetectorBundle
from firesight.detection.policy import choose_slow_path
from firesight.detection.scoring import prepare_table
from firesight.detection.shipped_model import default_model_path


def _variant(path: str, variant: str, model: Path):
    bundle = DetectorBundle.load(model)
    table = prepare_table(pd.read_parquet(path))
    return bundle, table, bundle.variants[variant].fire_probability(table)


def _write_policy(model: Path, variant: str, policy: dict) -> None:
    """The chosen slow path into ``model``'s bundle.json, recorded as a policy amendment."""
    path = model / "bundle.json"
    doc = json.loads(path.read_text())
    before = doc["variants"][variant]["policy"]
    doc["variants"][variant]["policy"] = policy
    doc["info"].setdefault("policy_amendments", []).append({
        "variant": variant, "date": date.today().isoformat(),
        "added": {k: v for k, v in policy.items() if before.get(k) != v},
        "chosen_on": "development seed 919 by firesight.detection.policy.choose_slow_path (stated rule)"})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
    tmp.replace(path)


def _flaming(m: dict):
    return m["time_to_alarm_s"].get("by_class", {}).get("flaming_in_view", {}).get("median")


def accept(shipped: dict, candidate: dict, realcheck: dict) -> dict:
    """Candidate 9's acceptance rule (deploy/candidates/model_candidate_9.sh)."""
    def no_worse(detector: str) -> dict:
        s, c = shipped["detectors"][detector], candidate["detectors"][detector]
        return {"no_more_false_alarms": c["false_alarm_scenarios"] <= s["false_alarm_scenarios"],
                "detection_no_lower": (c["detection_rate"] or 0.0) >= (s["detection_rate"] or 0.0)}
    full = candidate["detectors"]["ensemble"]
    ordinary = [c for c in realcheck["checks"] if c["kind"] == "ordinary"]
    fires = [c for c in realcheck["checks"] if c["kind"] != "ordinary"]
    verdict = {"a_full": {**no_worse("ensemble"), "flaming_in_view_le_15s":
                          _flaming(full) is not None and _flaming(full) <= 15.0},
               "b_camera_only": no_worse("ensemble_camera_only"),
               "c_scd41_only": no_worse("ensemble_scd41_only"),
               "d_real": {"ordinary_quiet": all(c["first_alarm_s"] is None for c in ordinary),
                          "fires_ge_12_of_13": sum(c["first_alarm_s"] is not None for c in fires) >= 12}}
    figures = {name: {d: {"detection_rate": r["detectors"][d]["detection_rate"],
                          "false_alarm_scenarios": r["detectors"][d]["false_alarm_scenarios"],
                          "flaming_in_view_median_s": _flaming(r["detectors"][d])}
                      for d in ("ensemble", "ensemble_camera_only", "ensemble_scd41_only")}
               for name, r in (("shipped", shipped), ("candidate", candidate))}
    figures["candidate_real"] = {"ordinary_alarms": [c["name"] for c in ordinary if c["first_alarm_s"] is not None],
                                 "fires_alarmed": sum(c["first_alarm_s"] is not None for c in fires),
                                 "fires": len(fires)}
    return {"verdict": verdict, "ship": all(all(v.values()) for v in verdict.values()), **figures}


def main(argv: list[str]) -> None:
    variant = argv[argv.index("--variant") + 1] if "--variant" in argv else "full"
    if argv[:1] == ["select"]:
        model = Path(argv[argv.index("--model") + 1]) if "--model" in argv else default_model_path()
        bundle, table, p = _variant("data/dev/dev-s919-features.parquet", variant, model)
        out = choose_slow_path(table, p, bundle.policies[variant])
        if "--write" in argv and out["policy"] is not bundle.policies[variant]:
            _write_policy(model, variant, out["policy"].to_dict())
        print(json.dumps({"chosen": out["policy"].to_dict(), "plain": out["plain"], "sweep": out["sweep"]}, indent=1))
    elif argv[:1] == ["accept"]:
        print(json.dumps(accept(*(json.load(open(argv[argv.index(flag) + 1]))
                                  for flag in ("--shipped", "--candidate", "--realcheck"))), indent=1))
    elif argv[:1] == ["compare"]:
        detector = argv[argv.index("--detector") + 1]
        shipped, cand = (json.load(open(argv[argv.index(flag) + 1]))["detectors"][detector]
                         for flag in ("--shipped", "--candidate"))

        verdict = {"no_more_false_alarms": cand["false_alarm_scenarios"] <= shipped["false_alarm_scenarios"],
                   "more_fires": (cand["detection_rate"] or 0) > (shipped["detection_rate"] or 0),
                   "flaming_not_slower": _flaming(cand) is not None and _flaming(shipped) is not None
                   and _flaming(cand) <= _flaming(shipped)}
        print(json.dumps({"detector": detector, "verdict": verdict, "ship": all(verdict.values()),
                          **{name: {"detection_rate": m["detection_rate"], "false_alarm_scenarios":
                                    m["false_alarm_scenarios"], "flaming_in_view_median_s": _flaming(m),
                                    "smouldering_median_s": m["time_to_alarm_s"].get("by_class", {})
                                    .get("smouldering", {}).get("median")}
                             for name, m in (("shipped", shipped), ("candidate", cand))}}, indent=1))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
