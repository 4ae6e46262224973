#!/usr/bin/env bash
# Regenerates docs/data-evaluation/: the DualView paper's comparison (Yolcu et al. 2024, §5) of every data
# attributor (DualView, representer points, TracIn, influence functions, Arnoldi influence, TRAK, feature and
# gradient similarity, EBE-DNN's kNN vote) and a random control on every metric (quanda's mixed datasets among
# them), on Fashion-MNIST with the zoo cnn. On a budget: a 10,000-image training subset, 1,000 test points, 2
# epochs per model, 8 LDS subsets. Models and fits are cached in runs/data-evaluation/cache (timings.txt says how
# long the first run took on 2 cores; a second run only explains and scores).
#   scripts/reproduce_data_evaluation.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
work=runs/data-evaluation
docs=docs/data-evaluation
mkdir -p $docs
start=$SECONDS
"$prism" -q evaluate data-attribution --data fashion-mnist --train-size 10000 --test-size 1000 --model-arch cnn \
  --epochs 2 --lds-subsets 8 --out $work
first=$(( SECONDS - start ))
start=$SECONDS
"$prism" -q evaluate data-attribution --data fashion-mnist --train-size 10000 --test-size 1000 --model-arch cnn \
  --epochs 2 --lds-subsets 8 --out $work > /dev/null
second=$(( SECONDS - start ))
cp $work/data-attribution.md $work/data-attribution.json $work/mislabel.svg $docs/
# DualView with a larger C (fewer samples at the bound), on the same models: its fits go into the shared cache,
# so a later run of the default comparison fits DualView again.
mkdir -p $work-C0.1
ln -sfn ../data-evaluation/cache $work-C0.1/cache
"$prism" -q evaluate data-attribution --data fashion-mnist --train-size 10000 --test-size 1000 --model-arch cnn \
  --epochs 2 --lds-subsets 8 --methods dualview --method-options '{"dualview":{"C":0.1}}' --out $work-C0.1 > /dev/null
cp $work-C0.1/data-attribution.md $docs/dualview-C0.1.md
echo "first run ${first} s, second run (cached models and fits) ${second} s" > $docs/timings.txt
