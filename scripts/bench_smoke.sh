#!/usr/bin/env bash
# Builds every benchmark in bench/ and runs the quick ones once on the smallest inputs they take, so that a change that breaks
# a benchmark fails CI. bench_attribution_speed, bench_knn_explain, bench_inference and bench_precision are built but
# not run: they have no small size (five minutes, 74 s, 37 s and 35 s here; bench_precision's bf16 passes take minutes
# on a CPU without bf16 instructions) and CI stays under 45 minutes.
# What it prints is not a measurement (one round, tiny sizes): bench/RESULTS.md has those.
#   scripts/bench_smoke.sh [build folder, default build; it holds a configured build with its test fixtures]
#   [model file for the benchmarks that read one, default runs/demo/model.prism (prism demo writes it)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=${2:-runs/demo/model.prism}
fixtures=$build/tests/fixtures
cmake -S . -B "$build" -DPRISM_BUILD_BENCH=ON > /dev/null
cmake --build "$build" -j "$(nproc)" --target bench_train_throughput bench_attribution_speed bench_knn_explain \
  bench_data_attribution bench_flint_epoch bench_torchscript_load bench_op_level_network bench_inference \
  bench_per_example_gradients bench_precision
run() {
  local start=$SECONDS
  "$@" > /dev/null
  echo "bench smoke: $* ($(( SECONDS - start )) s)"
}
run "$build/bench/bench_train_throughput" 256 1
run "$build/bench/bench_data_attribution" "$model" 100 50
run "$build/bench/bench_flint_epoch" 64 16 1
run "$build/bench/bench_torchscript_load" "$fixtures/resnet18.pt" 3,32,32 1
run "$build/bench/bench_op_level_network" "$fixtures/tv_resnet50.pt" 3,32,32 2 1
run "$build/bench/bench_per_example_gradients" "" 1,28,28 16 1
