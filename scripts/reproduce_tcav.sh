#!/usr/bin/env bash
# TCAV on Fashion-MNIST (docs/concepts.md): two cnns trained alike on 20,000 training images for 2 epochs, one with
# the shortcut mark stamped on half its T-shirts; the mark's and three classes' TCAV scores for every class at the
# default layer (relu2) and at the penultimate features (dropout2, where each CAV scores 0 or 1), with 20 random
# sets, and of the classes' log-probability at relu2; then a post-hoc FLINT interpreter of the marked model scored
# against the same concepts. About 8 minutes on 2 cores.
set -euo pipefail
prism=${1:-build/prism}
work=runs/tcav
data=(--data fashion-mnist --train-size 20000)
concepts=mark,class:Trouser,class:Sneaker,class:Bag
mkdir -p $work
[ -f $work/plain/model.prism ] || "$prism" -q train "${data[@]}" --epochs 2 --out $work/plain
[ -f $work/marked/model.prism ] || "$prism" -q train "${data[@]}" --epochs 2 --mark-class 0 --mark-fraction 0.5 \
  --out $work/marked
[ -f $work/flint/flint.json ] || "$prism" -q flint posthoc --model $work/marked/model.prism "${data[@]}" --epochs 3 \
  --batch-size 32 --lr 1e-3 --beta-from 1 --eta-from 2 --delta-from 2 --attributes 10 --out $work/flint
for model in plain marked; do
  for layer in relu2 dropout2; do
    "$prism" -q concepts tcav --model $work/$model/model.prism "${data[@]}" --concepts $concepts --layer $layer \
      --random-sets 20 --out $work/$model-$layer > $work/$model-$layer.txt
  done
  "$prism" -q concepts tcav --model $work/$model/model.prism "${data[@]}" --concepts $concepts --output log-probability \
    --random-sets 20 --out $work/$model-relu2-logp > $work/$model-relu2-logp.txt
done
"$prism" -q concepts tcav --model $work/marked/model.prism "${data[@]}" --concepts $concepts --random-sets 20 \
  --flint $work/flint --out $work/marked-flint > $work/marked-flint.txt
for run in plain-relu2 marked-relu2 plain-relu2-logp marked-relu2-logp plain-dropout2 marked-dropout2; do
  echo "== $run"; grep -E "^\| (mark|class:Trouser \| Trouser|class:Sneaker \| Sneaker|class:Bag \| Bag)" $work/$run.txt \
    | grep -E "T-shirt|Trouser \| Trouser|Sneaker \| Sneaker|Bag \| Bag|mark \| (Trouser|Sneaker|Bag)"
done
echo "== FLINT's attributes (marked model)"; sed -n '/FLINT/,$p' $work/marked-flint.txt | grep -E "\| yes \|"
