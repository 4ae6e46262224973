#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang — the parser under test instrumented for coverage and
# ASan + UBSan, the rest of prism linked from the Release build's build/libprism.a — and runs each for SECONDS
# from its seed corpus in fuzz/corpus/TARGET and the inputs that once crashed it, fuzz/regressions/TARGET (new
# inputs go to build/fuzz/corpus/TARGET). A crash is saved as build/fuzz/crash-TARGET-* and fails the run; copy
# it into fuzz/regressions/TARGET and make a test replay it.
#   scripts/fuzz.sh [seconds per target, default 60] [targets..., default all]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
# A fixed seed (CI's runs follow the same sequence of inputs, so a finding reproduces); PRISM_FUZZ_SEED=0 draws one.
seed=${PRISM_FUZZ_SEED:-1}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy csv idx cifar image model_file fit_record torchscript)
[ -f build/libprism.a ] || { echo "fuzz: build prism first (./scripts/setup)" >&2; exit 1; }
command -v clang++ > /dev/null || { echo "fuzz: clang++ not found (./scripts/setup installs clang)" >&2; exit 1; }

# Each parser source is compiled apart in libprism.a (SKIP_UNITY_BUILD_INCLUSION in CMakeLists.txt): keep in step.
declare -A parser=([npy]=src/prism/io/npy.cpp [csv]=src/prism/io/csv.cpp [idx]=src/prism/data/readers.cpp [cifar]=src/prism/data/readers.cpp
                   [image]=src/prism/data/readers.cpp [model_file]=src/prism/model/model_file.cpp
                   [fit_record]=src/prism/explain/data/attributor.cpp
                   [torchscript]="src/prism/model/torchscript_archive.cpp src/prism/model/torchscript.cpp")
out=build/fuzz
mkdir -p $out
# C++17: clang 14 cannot compile LibTorch 1.13's headers as C++20 (std::vector of an incomplete c10::IValue).
common=(-std=c++17 -O1 -g -D_GLIBCXX_USE_CXX11_ABI=1 -fopenmp -Isrc -Ifuzz -isystem /usr/include/torch/csrc/api/include
        -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined)
libs=(build/libprism.a /usr/lib/x86_64-linux-gnu/libtorch.so /usr/lib/x86_64-linux-gnu/libtorch_cpu.so
      /usr/lib/x86_64-linux-gnu/libc10.so /usr/lib/x86_64-linux-gnu/libfaiss.a -lstb -lzip -lcsv -lz -lgomp -lblas -llapack -lpthread)
# A build with MPI (-DPRISM_MPI=ON, as ./scripts/setup makes it) needs Open MPI's library too.
if grep -q '^PRISM_MPI:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then libs+=(-lmpi); fi

# Runs "$@" in the background, no more at once than there are cores; `finish` waits for all and fails if one did.
pids=()
in_background() {
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do sleep 1; done
  "$@" &
  pids+=($!)
}
finish() {
  for pid in "${pids[@]}"; do wait "$pid"; done
  pids=()
}
object_of() { echo "$out/$(basename "$1" .cpp).o"; }

# Build every target first — each parser source once (three targets share readers.cpp), then one link per
# target — then fuzz them one after the other.
for target in "${targets[@]}"; do
  [ -n "${parser[$target]:-}" ] || { echo "fuzz: unknown target $target" >&2; exit 1; }
done
for source in $(for target in "${targets[@]}"; do echo ${parser[$target]}; done | tr ' ' '\n' | sort -u); do
  in_background clang++ "${common[@]}" -fsanitize=fuzzer-no-link -c "$source" -o "$(object_of "$source")"
done
finish
for target in "${targets[@]}"; do
  objects=()
  for source in ${parser[$target]}; do objects+=("$(object_of "$source")"); done
  in_background clang++ "${common[@]}" -fsanitize=fuzzer fuzz/fuzz_$target.cpp "${objects[@]}" "${libs[@]}" \
    -o $out/fuzz_$target
done
finish

failed=0
for target in "${targets[@]}"; do
  mkdir -p $out/corpus/$target
  seeds=(fuzz/corpus/$target)
  [ -d fuzz/regressions/$target ] && seeds+=(fuzz/regressions/$target)  # inputs that once crashed: replayed first
  echo "fuzz: $target for ${seconds} s" >&2
  if ! ASAN_OPTIONS=detect_leaks=0 $out/fuzz_$target -seed="$seed" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 \
       -artifact_prefix=$out/crash-$target- $out/corpus/$target "${seeds[@]}" 2> $out/$target.log; then
    echo "fuzz: $target found a problem; see $out/$target.log and $out/crash-$target-*" >&2
    failed=1
  fi
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units" $out/$target.log | tail -1 >&2 || true
done
exit $failed
