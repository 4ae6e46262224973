#!/usr/bin/env bash
# Regenerates docs/flint/: FLINT (Parekh et al. 2021) on Fashion-MNIST with the paper's recipe for MNIST-like
# data (the zoo cnn, 25 attributes read from relu2, Adam 1e-4, batch 16, 12 epochs, warm-up γ → β, η → δ),
# trained jointly and post hoc for the cnn that prism train made alone (runs/fmnist-cnn, trained here if
# missing). Each step is skipped when its result exists (FORCE=1 redoes them); interrupted training resumes.
# About 25 minutes for the joint run and 10 for the post-hoc one on 2 cores.
#   scripts/reproduce_flint.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
docs=docs/flint
mkdir -p $docs
fresh() { [[ "${FORCE:-0}" == 1 || ! -e "$1" ]]; }

if fresh runs/fmnist-cnn/model.prism; then
  "$prism" train --data fashion-mnist --model-arch cnn --epochs 3 --out runs/fmnist-cnn
fi
if fresh runs/flint-cnn/flint.json; then
  "$prism" flint train --data fashion-mnist --model-arch cnn --attributes 25 --out runs/flint-cnn
fi
if fresh runs/flint-posthoc/flint.json; then
  "$prism" flint posthoc --model runs/fmnist-cnn/model.prism --data fashion-mnist --attributes 25 --out runs/flint-posthoc
fi
# The same network trained alone with FLINT's recipe (Adam 1e-4, batch 16, 12 epochs), for the accuracy cost.
if fresh runs/flint-alone/model.prism; then
  "$prism" train --data fashion-mnist --model-arch cnn --lr 1e-4 --batch-size 16 --epochs 12 --out runs/flint-alone
fi
for mode in cnn posthoc; do
  "$prism" -q flint evaluate --flint runs/flint-$mode --data fashion-mnist --out $docs/$mode
  "$prism" -q flint interpret --flint runs/flint-$mode --data fashion-mnist --indices 0:6 --out runs/flint-$mode/interpret \
    > $docs/$mode/interpret.txt
  cp runs/flint-$mode/interpret/{global-relevance.png,attributes.png,sample-000.png,sample-001.png,sample-002.png} \
    runs/flint-$mode/interpret/interpretation.json $docs/$mode/
  cp runs/flint-$mode/flint.json $docs/$mode/flint.json
done
# f trained alone, for comparison: test accuracy after the last epoch of each recipe.
for run in fmnist-cnn flint-alone; do
  python3 -c 'import json, sys; h = json.load(open(sys.argv[1])); r = h["run"]; print("%s: cnn alone, Adam %g, batch %d, %d epochs: test accuracy %.2f %%" % (sys.argv[2], r["learning_rate"], r["batch_size"], h["epochs"][-1]["epoch"], 100 * h["epochs"][-1]["test_accuracy"]))' \
    runs/$run/history.json $run
done > $docs/alone.txt
# Each run's loss terms and test figures per epoch, as a markdown table.
for mode in cnn posthoc; do
  python3 - runs/flint-$mode/flint.json > $docs/$mode/history.md <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
print("| epoch | CE(f) | L_of | L_if | E(Φ(x)) | E(mean Φ) | mean Φ | total | test f | test g | fidelity | s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for h in record["history"]:
    print("| %d | %.3f | %.3f | %.4f | %.3f | %.3f | %.3f | %.3f | %.2f %% | %.2f %% | %.2f %% | %.0f |" % (
        h["epoch"], h["prediction"], h["output_fidelity"], h["input_fidelity"], h["conciseness"], h["diversity"],
        h["sparsity"], h["total"], 100 * h["test_predictor_accuracy"], 100 * h["test_interpreter_accuracy"],
        100 * h["test_fidelity"], h["seconds"]))
PY
done
