#!/usr/bin/env bash
# Regenerates docs/feature-evaluation/: the seed-003 comparison (pruned gradient against saliency,
# gradient x input, integrated gradients, SmoothGrad, Grad-CAM, LRP and the random control) on Fashion-MNIST
# with sanity checks, pixel perturbation, ROAD, single-map measures, the localisation benchmark and ROAR / KAR. Working files (caches,
# retrained models) go to runs/feature-evaluation/; only tables, plots and grids are copied to docs/.
#   scripts/reproduce_feature_evaluation.sh [prism binary, default build/prism]
# About 110 minutes on 2 cores in all (localisation of every method: about 23 of them). A step whose results exist is skipped (FORCE=1 recomputes every step);
# ROAR keeps its own cache, so a second run of it only reads.
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
work=runs/feature-evaluation
docs=docs/feature-evaluation

[ -f runs/fmnist-cnn/model.prism ] || "$prism" train --data fashion-mnist --model-arch cnn --epochs 3 --out runs/fmnist-cnn
[ -f runs/fmnist-resnet18/model.prism ] ||
  "$prism" train --data fashion-mnist --model-arch resnet18 --epochs 3 --out runs/fmnist-resnet18
# The localisation benchmark's model: every training T-shirt carries the shortcut mark (a square outline).
[ -f runs/fmnist-marked/model.prism ] ||
  "$prism" train --data fashion-mnist --model-arch cnn --epochs 2 --mark-class 0 --mark-fraction 1 \
    --out runs/fmnist-marked

mkdir -p $work $docs
touch $work/timings.txt
# step OUT COMMAND...: runs the command (which writes OUT) unless OUT already holds results; logs its time.
step() {
  local out=$1; shift
  if [ -z "${FORCE:-}" ] && compgen -G "$out/*.json" > /dev/null; then return; fi
  local start=$SECONDS
  "$@" --out "$out"
  echo "$(( SECONDS - start )) s: $* --out $out" >> $work/timings.txt
}

cnn=runs/fmnist-cnn/model.prism
# Sanity checks on 64 test images; the data-randomisation test retrains the cnn on permuted labels (3 epochs).
step $work/cnn/sanity-cascading "$prism" -q evaluate sanity --model $cnn --data fashion-mnist --samples 64 \
  --mode cascading --data-randomization 3
step $work/cnn/sanity-independent "$prism" -q evaluate sanity --model $cnn --data fashion-mnist --samples 64 \
  --mode independent
# Pixel perturbation on 500 test images, ranking by the signed map and by its magnitude.
for reduce in sum abs-sum; do
  step $work/cnn/perturbation-$reduce "$prism" -q evaluate perturbation --model $cnn --data fashion-mnist \
    --samples 500 --reduce $reduce --ranking signed
done
# ROAD on the same 500 images: each method ranked by its paper's convention, then every one by magnitude.
step $work/cnn/road "$prism" -q evaluate road --model $cnn --data fashion-mnist --samples 500
step $work/cnn/road-magnitude "$prism" -q evaluate road --model $cnn --data fashion-mnist --samples 500 \
  --ranking magnitude
# The pruned gradient's one parameter: the share of neurons pruned (the paper used 70-90 %).
for sparsity in 70 95 99; do
  step $work/cnn/perturbation-pruned-$sparsity "$prism" -q evaluate perturbation --model $cnn --data fashion-mnist \
    --samples 500 --reduce abs-sum --methods pruned-gradient --no-random \
    --method-options "{\"pruned-gradient\":{\"sparsity\":$sparsity}}"
done
step $work/cnn/measures "$prism" -q evaluate measures --model $cnn --data fashion-mnist --samples 100
# Localisation: marked test images of other classes that the marked model calls a T-shirt; how much of each map
# falls on the mark (every method, the perturbation ones included).
step $work/cnn/localisation "$prism" -q evaluate localisation --model runs/fmnist-marked/model.prism \
  --data fashion-mnist --mark-class 0 --samples 200 --methods all

# The small resnet18 (41 weighted layers, so fewer images): cascading sanity check, perturbation, measures.
resnet=runs/fmnist-resnet18/model.prism
step $work/resnet18/sanity-cascading "$prism" -q evaluate sanity --model $resnet --data fashion-mnist --samples 16 \
  --mode cascading
for reduce in sum abs-sum; do
  step $work/resnet18/perturbation-$reduce "$prism" -q evaluate perturbation --model $resnet --data fashion-mnist \
    --samples 200 --reduce $reduce --ranking signed
done
step $work/resnet18/measures "$prism" -q evaluate measures --model $resnet --data fashion-mnist --samples 32

# ROAR / KAR on a budget: a 10,000-image training subset, 2,000 test images, fractions 10, 50 and 90 %, one
# epoch per retraining, one seed; pixels ranked by |map| (channel sum of magnitudes). Run twice: the second run
# only reads the cache.
roar=("$prism" -q evaluate roar --model $cnn --data fashion-mnist --train-size 10000 --test-size 2000
      --fractions 10,50,90 --epochs 1 --reduce abs-sum)
FORCE=1 step $work/cnn/roar "${roar[@]}"
FORCE=1 step $work/cnn/roar "${roar[@]}"

for model in cnn resnet18; do
  for run in $work/$model/*/; do
    name=$(basename "$run")
    mkdir -p $docs/$model/$name
    cp "$run"/*.md "$run"/*.json $docs/$model/$name/
    cp "$run"/*.svg "$run"/*.csv $docs/$model/$name/ 2>/dev/null || true
    cp "$run"/sanity-*.png "$run"/localisation.png "$run"/grid-000.png "$run"/grid-001.png $docs/$model/$name/ 2>/dev/null || true
  done
done
cp $work/timings.txt $docs/timings.txt
