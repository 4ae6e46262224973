#!/usr/bin/env bash
# Regenerates docs/sequences/: a classifier of sequences explained by every family that applies, on row-sequential
# Fashion-MNIST (each image read top to bottom: 28 steps of a row's 28 pixels, [N, 28, 28] as [N, C, T]), trained
# as the built-in cnn1d. A few minutes on 2 cores.
#   scripts/reproduce_sequences.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
work=runs/sequences
docs=docs/sequences
mkdir -p $work $docs
data=fashion-mnist:rows
"$prism" train --data $data --epochs 6 --out $work/run | tail -1 | tee $docs/train.txt
model=$work/run/model.prism
"$prism" -q attribute --model $model --data $data --indices 0:4 \
  --methods integrated-gradients,occlusion,grad-cam,lrp,kernel-shap,saliency --out $work/attributions
"$prism" -q examples fit --model $model --train $data --out $work/examples
"$prism" -q examples explain --fit $work/examples --data $data --indices 0:4 --k 5 --out $work/examples-out
"$prism" -q influence fit --model $model --train $data --train-size 10000 --out $work/dualview
"$prism" -q influence explain --fit $work/dualview --data $data --indices 0:4 --top 5 --out $work/influence-out
"$prism" -q flint posthoc --model $model --data $data --train-size 10000 --epochs 12 --out $work/flint
"$prism" -q flint interpret --flint $work/flint --data $data --indices 0:4 --out $work/flint-out
"$prism" -q evaluate perturbation --model $model --data $data --samples 500 --methods \
  integrated-gradients,gradient-x-input,saliency,occlusion,grad-cam,lrp,pruned-gradient --out $work/perturbation \
  > $docs/perturbation.md
"$prism" -q evaluate sanity --model $model --data $data --samples 32 \
  --methods integrated-gradients,saliency,smoothgrad,occlusion,grad-cam,lrp,pruned-gradient --out $work/sanity > /dev/null
cp $work/sanity/sanity.md $docs/sanity.md
"$prism" -q evaluate roar --model $model --data $data --train-size 5000 --test-size 1000 --modes kar \
  --methods integrated-gradients,occlusion,grad-cam --fractions 10,30 --out $work/roar > /dev/null
cp $work/roar/roar.md $docs/roar.md
"$prism" -q evaluate measures --model $model --data $data --samples 32 \
  --methods integrated-gradients,saliency,occlusion,grad-cam,kernel-shap,lrp --out $work/measures > /dev/null
cp $work/measures/measures.md $docs/measures.md
"$prism" -q report --model $model --data $data --indices 0:2 --examples $work/examples --k 5 \
  --influence $work/dualview --top 5 --flint $work/flint --evaluations $work/perturbation --out $docs/report.html
chromium --headless=new --no-sandbox --disable-gpu --window-size=1100,2400 --screenshot=$PWD/$docs/report.png \
  "file://$PWD/$docs/report.html" 2> /dev/null
cp $work/attributions/compare-000.png $work/attributions/compare-001.png $docs/
cp $work/examples-out/examples-000.png $work/influence-out/influence-000.png $docs/
cp $work/flint-out/attribute-00.png $docs/flint-attribute-00.png
