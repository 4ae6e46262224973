// What prism's archive check (every record's CRC-32, through libzip) adds to loading a TorchScript model: the
// check alone, LibTorch's torch::jit::load alone, and prism's whole load_network (check, load, layer mapping, one
// forward pass), in the same process on the same file (the page cache warm after the first read), median of the
// rounds.
//   build/bench/bench_torchscript_load [model.pt=build/tests/fixtures/resnet18.pt] [C,H,W=3,32,32] [rounds=7]
#include <prism/prism.h>
#include <torch/script.h>

#include <cstdio>
#include <filesystem>

#include "bench_util.h"

int main(int argc, char** argv) {
  const std::filesystem::path model = argc > 1 ? argv[1] : "build/tests/fixtures/resnet18.pt";
  std::vector<int64_t> shape = {3, 32, 32};
  if (argc > 2 && std::sscanf(argv[2], "%ld,%ld,%ld", &shape[0], &shape[1], &shape[2]) != 3) {
    std::fprintf(stderr, "bench_torchscript_load: give the input shape as C,H,W\n");
    return 2;
  }
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 7;
  if (!std::filesystem::exists(model)) {
    std::fprintf(stderr, "bench_torchscript_load: %s not found (ctest writes the fixtures)\n", model.c_str());
    return 2;
  }
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  const double check = prism::bench::median_seconds(rounds, [&] { prism::check_torchscript_archive(model, ""); });
  const double libtorch = prism::bench::median_seconds(rounds, [&] { torch::jit::load(model.string()); });
  const double whole = prism::bench::median_seconds(rounds, [&] { prism::load_network(model, shape); });
  const double mib = std::filesystem::file_size(model) / 1048576.0;
  std::printf("%s, %.1f MiB, median of %d rounds\n", model.c_str(), mib, rounds);
  std::printf("archive check         %8.1f ms  (%.0f MiB/s)\n", 1e3 * check, mib / check);
  std::printf("torch::jit::load      %8.1f ms  (check / load %.2f)\n", 1e3 * libtorch, check / libtorch);
  std::printf("prism load_network    %8.1f ms  (check / whole %.2f)\n", 1e3 * whole, check / whole);
  return 0;
}
