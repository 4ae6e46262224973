// What the op-level view costs: a scripted model's forward as LibTorch runs it (torch::jit::Module::forward)
// against prism's rewritten graph with a tap after every op (no taps set, and with every layer captured), and
// the input gradient of each, in the same process on the same batch, median of the rounds.
//   build/bench/bench_op_level_network [model.pt=build/tests/fixtures/tv_resnet50.pt] [C,H,W=3,64,64] [batch=16] [rounds=7]
#include <prism/prism.h>
#include <torch/script.h>

#include <cstdio>
#include <filesystem>

#include "bench_util.h"

int main(int argc, char** argv) {
  const std::filesystem::path model = argc > 1 ? argv[1] : "build/tests/fixtures/tv_resnet50.pt";
  std::vector<int64_t> shape = {3, 64, 64};
  if (argc > 2 && std::sscanf(argv[2], "%ld,%ld,%ld", &shape[0], &shape[1], &shape[2]) != 3) {
    std::fprintf(stderr, "bench_op_level_network: give the input shape as C,H,W\n");
    return 2;
  }
  const int64_t batch = argc > 3 ? std::atol(argv[3]) : 16;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 7;
  if (!std::filesystem::exists(model)) {
    std::fprintf(stderr, "bench_op_level_network: %s not found (ctest writes the fixtures)\n", model.c_str());
    return 2;
  }
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  auto module = torch::jit::load(model.string());
  module.eval();
  auto network = prism::load_network(model, shape);
  network->set_training(false);
  std::vector<int64_t> sizes = {batch};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const auto x = torch::rand(sizes);
  std::map<std::string, torch::Tensor> outputs;
  prism::TapSet every;
  for (const auto& layer : network->layers()) every.capture(layer.name, &outputs[layer.name]);
  double plain, tapped, captured;
  {
    torch::NoGradGuard no_grad;
    plain = prism::bench::median_seconds(rounds, [&] { module.forward({x}); });
    tapped = prism::bench::median_seconds(rounds, [&] { network->forward(x); });
    captured = prism::bench::median_seconds(rounds, [&] { network->forward(x, every); });
  }
  const auto gradient = [&](auto&& forward) {
    return prism::bench::median_seconds(rounds, [&] {
      const auto input = x.clone().requires_grad_(true);
      torch::autograd::grad({forward(input).select(1, 0).sum()}, {input});
    });
  };
  const double plain_grad = gradient([&](const torch::Tensor& in) { return module.forward({in}).toTensor(); });
  const double tapped_grad = gradient([&](const torch::Tensor& in) { return network->forward(in); });
  std::printf("%s, %zu layers, batch %ld, median of %d rounds\n", model.c_str(), network->layers().size(),
              static_cast<long>(batch), rounds);
  std::printf("forward, LibTorch module          %8.1f ms\n", 1e3 * plain);
  std::printf("forward, prism (taps in place)    %8.1f ms  (%.2fx the module)\n", 1e3 * tapped, tapped / plain);
  std::printf("forward, prism (every layer read) %8.1f ms  (%.2fx the module)\n", 1e3 * captured, captured / plain);
  std::printf("input gradient, LibTorch module   %8.1f ms\n", 1e3 * plain_grad);
  std::printf("input gradient, prism             %8.1f ms  (%.2fx the module)\n", 1e3 * tapped_grad,
              tapped_grad / plain_grad);
  return 0;
}
