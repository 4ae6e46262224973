#!/usr/bin/env bash
# Regenerates docs/tabular/: a classifier of table rows explained by every family that applies, on the Wisconsin
# breast-cancer table (569 rows, 30 features) that Debian's python3-sklearn ships, written as a CSV with a header
# by the test-fixture script. About a minute on 2 cores.
#   scripts/reproduce_tabular.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=${1:-build/prism}
work=runs/tabular
docs=docs/tabular
mkdir -p $work $docs
/usr/bin/python3 scripts/make_torchscript_fixtures.py $work/fixtures --tables
data="csv:$work/fixtures/tables/breast_cancer.csv"
"$prism" train --data "$data" --epochs 30 --out $work/run | tail -1 | tee $docs/train.txt
model=$work/run/model.prism
"$prism" -q attribute --model $model --data "$data" --indices 0:8 --methods integrated-gradients,kernel-shap,occlusion,lrp \
  --baseline mean --out $work/attributions
"$prism" -q examples fit --model $model --train "$data" --out $work/examples
"$prism" -q examples explain --fit $work/examples --data "$data" --indices 0:4 --k 5 --out $work/examples-out
"$prism" -q influence fit --model $model --train "$data" --out $work/dualview
"$prism" -q influence explain --fit $work/dualview --data "$data" --indices 0:4 --top 3 --out $work/influence-out
"$prism" -q flint posthoc --model $model --data "$data" --epochs 20 --attributes 12 --out $work/flint
"$prism" -q flint interpret --flint $work/flint --data "$data" --indices 0:4 --out $work/flint-out
"$prism" -q evaluate perturbation --model $model --data "$data" --samples 113 --methods \
  integrated-gradients,gradient-x-input,saliency,occlusion,lrp,pruned-gradient --percentages 0,10,20,30,50 \
  --method-options '{"integrated-gradients":{"baseline":"mean"}}' --out $work/perturbation > $docs/perturbation.md
"$prism" -q evaluate sanity --model $model --data "$data" --samples 32 \
  --methods integrated-gradients,saliency,smoothgrad,occlusion,lrp,pruned-gradient --out $work/sanity > /dev/null
cp $work/sanity/sanity.md $docs/sanity.md
"$prism" -q evaluate roar --model $model --data "$data" --methods integrated-gradients,saliency,occlusion \
  --fractions 10,30,50,70 --out $work/roar > /dev/null
cp $work/roar/roar.md $docs/roar.md
"$prism" -q evaluate measures --model $model --data "$data" --samples 32 \
  --methods integrated-gradients,saliency,smoothgrad,occlusion,kernel-shap,lrp --out $work/measures > /dev/null
cp $work/measures/measures.md $docs/measures.md
"$prism" -q evaluate data-attribution --data "$data" --epochs 10 --out $work/data-attribution > /dev/null
cp $work/data-attribution/data-attribution.md $docs/data-attribution.md
"$prism" -q report --model $model --data "$data" --indices 0:4 --examples $work/examples --k 5 \
  --influence $work/dualview --top 3 --flint $work/flint --evaluations $work/perturbation --out $docs/report.html
# A picture of the report's first sample (headless Chromium, installed by scripts/setup).
chromium --headless=new --no-sandbox --disable-gpu --window-size=1100,2400 --screenshot=$PWD/$docs/report.png \
  "file://$PWD/$docs/report.html" 2> /dev/null
cp $work/attributions/bars/integrated-gradients/000-bars.png $docs/ig-000-bars.png
cp $work/attributions/bars/kernel-shap/000-bars.png $docs/kernel-shap-000-bars.png
cp $work/attributions/bars/integrated-gradients/mean-abs-bars.png $docs/ig-mean-abs-bars.png
cp $work/attributions/attributions-integrated-gradients.csv $docs/
cp $work/examples-out/examples-000.csv $work/influence-out/influence-000.csv $docs/
cp $work/flint-out/attributes.png $docs/flint-attributes.png
cp $work/flint-out/sample-000.png $docs/flint-sample-000.png
