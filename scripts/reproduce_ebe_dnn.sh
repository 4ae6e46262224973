#!/usr/bin/env bash
# Regenerates docs/ebe-dnn/: the EBE-DNN per-layer sweep (seed 000) on Fashion-MNIST with the zoo cnn and
# resnet18. Trains the two models first where runs/ does not hold them yet (about 4 + 12 minutes on 2 cores).
#   scripts/reproduce_ebe_dnn.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
out=docs/ebe-dnn

[ -f runs/fmnist-cnn/model.prism ] || "$prism" train --data fashion-mnist --model-arch cnn --epochs 3 --out runs/fmnist-cnn
[ -f runs/fmnist-resnet18/model.prism ] ||
  "$prism" train --data fashion-mnist --model-arch resnet18 --epochs 3 --out runs/fmnist-resnet18

# Average pooling over space: every layer, the full training set (10 % held out to choose layer and k).
for model in cnn resnet18; do
  "$prism" examples sweep --model runs/fmnist-$model/model.prism --train fashion-mnist --layers all \
    --k 1,5,10,20 --val-fraction 0.1 --pool avg --out $out/$model-avg
done
# Flattened maps, as the paper embeds them: a 10,000-image training subset and 2,000 test images, since a
# flattened early conv map of the full set holds 54,000 x 21,632 floats per layer.
for model in cnn resnet18; do
  "$prism" examples sweep --model runs/fmnist-$model/model.prism --train fashion-mnist --train-size 10000 \
    --test-size 2000 --layers all --k 1,5,10,20 --val-fraction 0.1 --pool flatten --out $out/$model-flatten
done
