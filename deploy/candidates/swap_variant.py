"""Candidate 10's helpers: a model with one variant taken from another, and its acceptance rule.

    python deploy/candidates/swap_variant.py --base DIR --donor DIR --variant NAME --out DIR
    python deploy/candidates/swap_variant.py --accept --shipped A.json --candidate B.json \
        --realcheck R.json --shipped-realcheck S.json

The first copies ``--base``, replaces ``--variant``'s folder, feature list, policy and the
variant's entries of ``info.params`` with ``--donor``'s, and records the swap (with the
donor's training provenance) in ``info.variant_replacements``; the folder is written next to
``--out`` and renamed into place. The second applies the rule stated in
deploy/candidates/model_candidate_10.sh (written before any of its results existed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date
from pathlib import Path

from firesight.detection.bundle import DetectorBundle

PARAM_KEYS = ("policies", "guards", "variant_params", "exclude_features")


def swap(base: Path, donor: Path, variant: str, out: Path) -> None:
    meta, given = (json.loads((p / "bundle.json").read_text()) for p in (base, donor))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp)
    shutil.rmtree(tmp / variant)
    shutil.copytree(donor / variant, tmp / variant)
    meta["variants"][variant] = given["variants"][variant]
    params, donor_params = meta["info"].setdefault("params", {}), given["info"].get("params", {})
    for key in PARAM_KEYS:
        if variant in (donor_params.get(key) or {}):
            params.setdefault(key, {})[variant] = donor_params[key][variant]
        elif variant in (params.get(key) or {}):
            del params[key][variant]
    meta["info"].setdefault("variant_replacements", []).append({
        "variant": variant, "date": date.today().isoformat(),
        "trained": {k: given["info"].get(k) for k in ("code_version", "data", "n_train_scenarios",
                                                      "n_train_windows", "seed", "train_families")},
        "why": "see src/firesight/models/MODEL_CARD.md, candidate 10"})
    (tmp / "bundle.json").write_text(json.dumps(meta, indent=1))
    DetectorBundle.load(tmp)  # the result must load (feature lists match their detectors)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def accept(shipped: dict, candidate: dict, realcheck: dict, shipped_realcheck: dict) -> dict:
    s, c = (r["detectors"]["ensemble_scd41_only"] for r in (shipped, candidate))
    ordinary = [x for x in realcheck["checks"] if x["kind"] == "ordinary"]
    fires = [x for x in realcheck["checks"] if x["kind"] != "ordinary"]
    shipped_watch = max(x["longest_watch_s"] for x in shipped_realcheck["checks"] if x["kind"] == "ordinary")
    same = {d: all(shipped["detectors"][d][k] == candidate["detectors"][d][k]
                   for k in ("detection_rate", "false_alarm_scenarios", "roc_auc"))
            for d in ("ensemble", "ensemble_camera_only")}
    verdict = {"1_fewer_false_alarms": c["false_alarm_scenarios"] < s["false_alarm_scenarios"],
               "2_detection_within_20_points": (c["detection_rate"] or 0.0) >= (s["detection_rate"] or 0.0) - 0.20,
               "3_full_and_camera_unchanged": all(same.values()),
               "4_ordinary_quiet": all(x["first_alarm_s"] is None for x in ordinary)
               and max(x["longest_watch_s"] for x in ordinary) <= shipped_watch,
               "5_real_fires_ge_12": sum(x["first_alarm_s"] is not None for x in fires) >= 12}
    return {"verdict": verdict, "ship": all(verdict.values()),
            "scd41_only": {name: {"detection_rate": m["detection_rate"], "false_alarm_scenarios":
                                  m["false_alarm_scenarios"], "roc_auc": m.get("roc_auc"),
                                  "median_tta_s": m["time_to_alarm_s"].get("median")}
                           for name, m in (("shipped", s), ("candidate", c))},
            "real": {"ordinary_alarms": [x["name"] for x in ordinary if x["first_alarm_s"] is not None],
                     "longest_watch_s": max(x["longest_watch_s"] for x in ordinary),
                     "shipped_longest_watch_s": shipped_watch,
                     "fires_alarmed": [x["name"] for x in fires if x["first_alarm_s"] is not None]}}


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("--base", "--donor", "--variant", "--out", "--shipped", "--candidate", "--realcheck",
                 "--shipped-realcheck"):
        ap.add_argument(flag)
    ap.add_argument("--accept", action="store_true")
    a = ap.parse_args(argv)
    if a.accept:
        docs = [json.load(open(p)) for p in (a.shipped, a.candidate, a.realcheck, a.shipped_realcheck)]
        print(json.dumps(accept(*docs), indent=1))
    else:
        swap(Path(a.base), Path(a.donor), a.variant, Path(a.out))


if __name__ == "__main__":
    main(sys.argv[1:])
