#!/usr/bin/env bash
# DualView's self-influence forms on mislabel detection (docs/data-evaluation.md, "Why DualView misses mislabelled
# data"): the data evaluation's setting (10,000 training images, 30 % of the labels flipped, the cnn for 2 epochs),
# every form at C = 1e-5, 1e-3 and 0.1, and the gradient-based methods beside them. One model on flipped labels,
# trained once and shared through the cache. About 15 minutes on 2 cores.
set -euo pipefail
prism=${1:-build/prism}
work=runs/dualview-self-influence
mkdir -p $work/cache
common=(-q evaluate data-attribution --data fashion-mnist --train-size 10000 --test-size 1000 --model-arch cnn
        --epochs 2 --metrics mislabel)
for C in 1e-5 1e-3 0.1; do
  for form in alpha-norm2 alpha-norm alpha slack; do
    out=$work/C$C-$form
    mkdir -p $out && ln -sfn ../cache $out/cache
    "$prism" "${common[@]}" --methods dualview --method-options "{\"dualview\":{\"C\":$C,\"self_influence\":\"$form\"}}" \
      --out $out > /dev/null
  done
done
out=$work/others
mkdir -p $out && ln -sfn ../cache $out/cache
"$prism" "${common[@]}" --methods representer,tracin,influence,trak,similarity,random --out $out > /dev/null
# One row per run: the normalised score (random 0, optimal 1) and the raw area (random 0.5, quanda's scale).
for json in $work/*/data-attribution.json; do
  /usr/bin/python3 - "$json" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
run = sys.argv[1].split('/')[-2]
for method, curve in record["mislabel_curves"].items():
    print(f"{run:24s} {method:12s} normalised {curve['normalized']:.3f}  area {curve['area']:.3f}")
PY
done
