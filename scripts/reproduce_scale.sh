#!/usr/bin/env bash
# Strong scaling of the commands that split over MPI ranks (docs/scale.md): the EBE-DNN fit of the 60,000
# Fashion-MNIST training images, the explanation of 1,000 test images, and ROAR (saliency and the random control at
# two fractions: five retrainings on 10,000 images), over 1, 2 and 4 ranks of this machine (4 oversubscribes a
# 2-core machine), each rank's peak memory beside the wall time. Writes runs/scale/scaling.md.
#   scripts/reproduce_scale.sh [prism binary, default build/prism]
set -euo pipefail
cd "$(dirname "$0")/.."
prism=$(realpath "${1:-build/prism}")
work=runs/scale
mkdir -p $work
[ -x /usr/bin/time ] || { echo "reproduce_scale: needs GNU time (apt-get install time)" >&2; exit 1; }
# The model: the zoo cnn after one epoch on 10,000 images (the cost of a pass does not depend on its accuracy).
[ -f $work/run/model.prism ] || "$prism" -q train --data fashion-mnist --train-size 10000 --epochs 1 --out $work/run
as_root=""
if [ "$(id -u)" -eq 0 ]; then as_root=--allow-run-as-root; fi
# Unbound ranks compute what one process computes (a rank bound to one core can take other kernels).
mpirun_n() { mpirun --bind-to none --oversubscribe $as_root -n "$@"; }
# Each rank under GNU time, its peak resident memory (KiB) in $work/memory.RANK.
timed() { echo "/usr/bin/time -f %M -o $work/memory.\${OMPI_COMM_WORLD_RANK:-0} $prism -q $*"; }

table=$work/scaling.md
echo "| ranks | step | wall time (s) | peak memory per rank (MiB) |" > $table
echo "| --- | --- | --- | --- |" >> $table
for ranks in 1 2 4; do
  for step in fit explain roar; do
    rm -f $work/memory.*
    if [ $step = fit ]; then
      command=$(timed examples fit --model $work/run/model.prism --train fashion-mnist --out $work/fit-$ranks)
    elif [ $step = explain ]; then
      command=$(timed examples explain --fit $work/fit-1 --data fashion-mnist --indices 0:1000 --out $work/explain-$ranks)
    else
      rm -rf $work/roar-$ranks  # no cache: every retraining runs
      command=$(timed evaluate roar --model $work/run/model.prism --data fashion-mnist --train-size 10000 \
        --test-size 2000 --methods saliency --fractions 50,90 --modes roar --epochs 1 --out $work/roar-$ranks)
    fi
    start=$(date +%s%N)
    mpirun_n $ranks sh -c "$command" > /dev/null
    seconds=$(awk "BEGIN { print ($(date +%s%N) - $start) / 1e9 }")
    memory=$(for f in $work/memory.*; do echo $(( $(cat $f) / 1024 )); done | sort -n | paste -sd/ -)
    printf "| %d | %s | %.1f | %s |\n" $ranks $step "$seconds" "$memory" >> $table
  done
  cmp $work/fit-1/embeddings.npy $work/fit-$ranks/embeddings.npy
  diff <(grep '^|' $work/roar-1/roar.md) <(grep '^|' $work/roar-$ranks/roar.md)
done
echo "the embeddings and the ROAR accuracies of every rank count are those of one process" >> $table
cat $table
