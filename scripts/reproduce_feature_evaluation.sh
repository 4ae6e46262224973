#!/usr/bin/env bash
# Regenerates docs/feature-evaluation/: the seed-003 comparison (pruned gradient against saliency,
# gradient x input, integrated gradients, SmoothGrad, Grad-CAM, LRP and the random control) on Fashion-MNIST
# with sanity checks, pixel perturbation, single-map measures and ROAR / KAR. Working files (caches,
# retrained models) go to runs/feature-evaluation/; only tables, plots and grids are copied to docs/.
#   scripts/reproduce_feature_evaluation.sh [prism binary, default build/prism]
# About 45 minutes on 2 cores, most of it ROAR's 81 retrainings; a second run reads ROAR from its cache.
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
work=runs/feature-evaluation
docs=docs/feature-evaluation

[ -f runs/fmnist-cnn/model.prism ] || "$prism" train --data fashion-mnist --model cnn --epochs 3 --out runs/fmnist-cnn
[ -f runs/fmnist-resnet18/model.prism ] ||
  "$prism" train --data fashion-mnist --model resnet18 --epochs 3 --out runs/fmnist-resnet18

seconds() { local start=$SECONDS; "$@"; echo "$(( SECONDS - start )) s: $*" >> $work/timings.txt; }
mkdir -p $work $docs
: > $work/timings.txt

for model in cnn resnet18; do
  m=runs/fmnist-$model/model.prism
  # Sanity checks on 64 test images; the data-randomisation test retrains the cnn on permuted labels (3 epochs).
  seconds "$prism" -q evaluate sanity --model $m --data fashion-mnist --samples 64 --mode cascading \
    $([ $model = cnn ] && echo --data-randomization 3) --out $work/$model/sanity-cascading
  seconds "$prism" -q evaluate sanity --model $m --data fashion-mnist --samples 64 --mode independent \
    --out $work/$model/sanity-independent
  # Pixel perturbation on 500 test images, ranking by the signed map and by its magnitude.
  for reduce in sum abs-sum; do
    seconds "$prism" -q evaluate perturbation --model $m --data fashion-mnist --samples 500 --reduce $reduce \
      --out $work/$model/perturbation-$reduce
  done
  seconds "$prism" -q evaluate measures --model $m --data fashion-mnist --samples 100 --out $work/$model/measures
done

# ROAR / KAR on a budget: a 10,000-image training subset, 2,000 test images, one epoch per retraining, one
# seed; pixels ranked by |map| (channel sum of magnitudes). Run twice: the second run only reads the cache.
roar=("$prism" -q evaluate roar --model runs/fmnist-cnn/model.prism --data fashion-mnist --train-size 10000
      --test-size 2000 --fractions 10,30,50,70,90 --epochs 1 --reduce abs-sum --out $work/cnn/roar)
seconds "${roar[@]}"
seconds "${roar[@]}"

for model in cnn resnet18; do
  for run in $work/$model/*/; do
    name=$(basename "$run")
    mkdir -p $docs/$model/$name
    cp "$run"/*.md "$run"/*.json $docs/$model/$name/
    cp "$run"/*.svg "$run"/*.csv $docs/$model/$name/ 2>/dev/null || true
    cp "$run"/grid-000.png "$run"/grid-001.png $docs/$model/$name/ 2>/dev/null || true
  done
done
cp $work/timings.txt $docs/timings.txt
