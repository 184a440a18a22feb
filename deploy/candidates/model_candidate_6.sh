#!/bin/bash
# Candidate 6: the make model chain on the 43-family catalog and the new camera model; the
# nuisance set holds every non-fire family; written to data/cand6/model (not the shipped one).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.venv/bin
D=data/cand6
NUIS=$($B/python -c "from firesight.scenarios.families import FAMILIES; print(','.join(n for n,f in FAMILIES.items() if f.label!='fire'))")
$B/firesight generate --out $D/train-s303 --count 270 --seed 303 --frame-rate-hz 8.7 --workers 2
$B/firesight features --data $D/train-s303 --out $D/train-s303-features.parquet --workers 2
$B/firesight generate --out $D/nuisance-s505 --count 340 --seed 505 --frame-rate-hz 8.7 --workers 2 --families $NUIS
$B/firesight features --data $D/nuisance-s505 --out $D/nuisance-s505-features.parquet --workers 2
echo '{"rf": {"class_weight": null}, "xgb": {"scale_pos_weight": 1.0}}' > $D/params-base.json
$B/firesight variants --data $D/train-s303 --features $D/train-s303-features.parquet --params $D/params-base.json --out $D/params-variants.json
$B/firesight train --data $D/train-s303 --features $D/train-s303-features.parquet --out $D/validation --kind ensemble --seed 0 --test-fraction 0.3 --split-seed 0 --params $D/params-variants.json
$B/firesight policy --data $D/train-s303 --features $D/train-s303-features.parquet --model $D/validation --nuisances $D/nuisance-s505-features.parquet --out $D/policies.json
$B/python -c "import json; a = json.load(open('$D/params-variants.json')); d = json.load(open('$D/policies.json')); a.update(policies=d['policies'], guards=d['guards'], policy_selection=d['policy_selection']); json.dump(a, open('$D/params-final.json', 'w'), indent=1)"
$B/firesight train --data $D/train-s303 --features $D/train-s303-features.parquet --out $D/model --kind ensemble --seed 0 --params $D/params-final.json
# development set (fresh seed 808; not the test seed 606)
$B/firesight generate --out $D/dev-s808 --count 215 --seed 808 --frame-rate-hz 8.7 --workers 2
$B/firesight features --data $D/dev-s808 --out $D/dev-s808-features.parquet --workers 2
echo DONE
# Judge (acceptance rule in src/firesight/models/MODEL_CARD.md, candidate 6):
#   firesight evaluate --data $D/dev-s808 --features $D/dev-s808-features.parquet --model $D/model --report $D/eval-cand.json
#   firesight evaluate --data $D/dev-s808 --features $D/dev-s808-features.parquet --model default --report $D/eval-shipped.json
#   firesight realcheck --model $D/model --report $D/realcheck-cand.json
