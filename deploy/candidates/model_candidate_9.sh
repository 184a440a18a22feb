#!/bin/bash
# Candidate 9: the make model chain on today's generator (43 families, node world, camera
# model of stop 13+) with a training set 2.4 times candidate 6's: 645 scenarios, 15 of each
# family, fresh seeds (training 313, nuisance 515). Issue 8 asks for a retrain "with a larger
# training set if it helps"; candidate 6 (270 scenarios, about 6 per family) lost to the
# shipped model on detection, speed and real fires. Hypothesis: with 15 flambés, stove
# reloads and smoulders per family instead of 6, the forests separate the flares from fires
# themselves and the policy rule no longer needs thresholds that real fires do not reach.
#
# Slow paths as the shipped model's (candidates 7 and 8): chosen for the candidate's full
# and thermal variants on development seed 919 by detection/policy.py:choose_slow_path.
#
# ACCEPTANCE RULE (written 2026-12-04 before any of its results existed; candidate 6's rule
# plus the camera-only mode). Judged on a FRESH development seed 949 (215 scenarios; not the
# test seed 606, not any seed used before), candidate vs shipped model, both through
# `firesight evaluate`:
#   (a) full node: false-alarm scenarios <= shipped's, detection rate >= shipped's,
#       flaming-in-view median time to alarm <= 15 s;
#   (b) camera only: false-alarm scenarios <= shipped's, detection rate >= shipped's;
#   (c) SCD41 only: false-alarm scenarios <= shipped's, detection rate >= shipped's;
#   (d) `firesight realcheck`: 13 of 13 ordinary real recordings without alarm, and at least
#       12 of the 13 real fires alarmed (the shipped model's count; a check, not a fit).
# Ship only if all four hold; otherwise the shipped model stays and the result is recorded
# in src/firesight/models/MODEL_CARD.md as candidate 9.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.venv/bin
D=data/cand9
mkdir -p $D
NUIS=$($B/python -c "from firesight.scenarios.families import FAMILIES; print(','.join(n for n,f in FAMILIES.items() if f.label!='fire'))")
step() { echo "== $(date +%T) $*"; }
step train set;    $B/firesight generate --out $D/train-s313 --count 645 --seed 313 --frame-rate-hz 8.7 --workers 2
step features;     $B/firesight features --data $D/train-s313 --out $D/train-s313-features.parquet --workers 2
step nuisance set; $B/firesight generate --out $D/nuisance-s515 --count 340 --seed 515 --frame-rate-hz 8.7 --workers 2 --families $NUIS
step features;     $B/firesight features --data $D/nuisance-s515 --out $D/nuisance-s515-features.parquet --workers 2
echo '{"rf": {"class_weight": null}, "xgb": {"scale_pos_weight": 1.0}}' > $D/params-base.json
step variants;     $B/firesight variants --data $D/train-s313 --features $D/train-s313-features.parquet --params $D/params-base.json --out $D/params-variants.json
step validation;   $B/firesight train --data $D/train-s313 --features $D/train-s313-features.parquet --out $D/validation --kind ensemble --seed 0 --test-fraction 0.3 --split-seed 0 --params $D/params-variants.json
step policy;       $B/firesight policy --data $D/train-s313 --features $D/train-s313-features.parquet --model $D/validation --nuisances $D/nuisance-s515-features.parquet --out $D/policies.json
$B/python -c "import json; a = json.load(open('$D/params-variants.json')); d = json.load(open('$D/policies.json')); a.update(policies=d['policies'], guards=d['guards'], policy_selection=d['policy_selection']); json.dump(a, open('$D/params-final.json', 'w'), indent=1)"
step final;        $B/firesight train --data $D/train-s313 --features $D/train-s313-features.parquet --out $D/model --kind ensemble --seed 0 --params $D/params-final.json
step slow paths
for V in full thermal; do
  $B/python deploy/candidates/slow_path_candidate.py select --variant $V --model $D/model --write > $D/slow-$V.json
done
step dev set;      $B/firesight generate --out $D/dev-s949 --count 215 --seed 949 --frame-rate-hz 8.7 --workers 2
step features;     $B/firesight features --data $D/dev-s949 --out $D/dev-s949-features.parquet --workers 2
step judge
$B/firesight evaluate --data $D/dev-s949 --features $D/dev-s949-features.parquet --model $D/model --report $D/eval-cand.json
$B/firesight evaluate --data $D/dev-s949 --features $D/dev-s949-features.parquet --model default --report $D/eval-shipped.json
$B/firesight realcheck --model $D/model --report $D/realcheck-cand.json
$B/python deploy/candidates/slow_path_candidate.py accept --shipped $D/eval-shipped.json --candidate $D/eval-cand.json \
  --realcheck $D/realcheck-cand.json | tee $D/verdict.json
step done
