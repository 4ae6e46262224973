// Per-example loss gradients over every parameter (issue 17; TracIn with a projection, gradient similarity, Arnoldi
// influence and influence over layers all start from them): one batched backward pass, each layer's per-sample
// gradient from its input and output gradient, against one backward pass per sample, in the same run, and the
// largest difference between the two.
//   build/bench/bench_per_example_gradients [model=zoo cnn] [input shape C,H,W=1,28,28] [images=256] [rounds=3]
#include <prism/prism.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace {

double seconds_of(const std::function<void()>& work, int rounds) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "";
  std::vector<int64_t> shape = {1, 28, 28};
  if (argc > 2 && std::sscanf(argv[2], "%ld,%ld,%ld", &shape[0], &shape[1], &shape[2]) != 3) {
    std::fprintf(stderr, "the input shape must be C,H,W (got %s)\n", argv[2]);
    return 1;
  }
  const int64_t count = argc > 3 ? std::atoll(argv[3]) : 256;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  prism::set_quiet(true);
  std::unique_ptr<prism::Network> network;
  if (model.empty()) {
    network = prism::make_zoo_network(prism::ZooOptions{});
    prism::set_metadata(*network, shape, 10, {}, {});
  } else {
    network = prism::load_network(model, shape);
  }
  torch::manual_seed(0);
  std::vector<int64_t> sizes = {count};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const auto images = torch::rand(sizes);
  const auto labels = torch::arange(count) % network->num_classes();
  const auto parameters = prism::gradient_parameters(*network, {});
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  // Chunks as the attributors take them (at most 2^26 gradient values).
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 26) / size, 1, 256);
  torch::Tensor batched, by_sample;
  auto over_chunks = [&](bool batch, torch::Tensor& out) {
    std::vector<torch::Tensor> rows;
    for (int64_t s = 0; s < count; s += chunk) {
      const auto x = images.narrow(0, s, std::min(chunk, count - s)), y = labels.narrow(0, s, x.size(0));
      rows.push_back(batch ? *prism::batched_per_example_gradients(*network, parameters, x, y)
                           : prism::per_example_gradients_by_sample(*network, parameters, x, y));
    }
    out = torch::cat(rows);
  };
  if (!prism::batched_per_example_gradients(*network, parameters, images.narrow(0, 0, 1), labels.narrow(0, 0, 1))) {
    std::printf("the batched pass does not apply to %s\n", network->architecture().c_str());
    return 1;
  }
  const double batched_s = seconds_of([&] { over_chunks(true, batched); }, rounds);
  const double sample_s = seconds_of([&] { over_chunks(false, by_sample); }, rounds);
  std::printf("| model | parameters | images | chunk | batched ms/image | per-sample ms/image | speed-up | max |difference| |\n"
              "|---|---|---|---|---|---|---|---|\n| %s | %lld | %lld | %lld | %.2f | %.2f | %.1fx | %.1e |\n",
              network->architecture().c_str(), static_cast<long long>(size), static_cast<long long>(count),
              static_cast<long long>(chunk), 1e3 * batched_s / count, 1e3 * sample_s / count, sample_s / batched_s,
              (batched - by_sample).abs().max().item<double>());
}
