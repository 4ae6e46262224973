// Training throughput of the zoo cnn through prism (Network, taps, train_network) against the same
// network and loop written plainly in LibTorch, in the same process on the same images.
// Rounds alternate prism and plain so machine noise hits both; the figure is the median ratio. prism trains with
// BLAS on one thread (core/threads.h), so the plain loop runs both ways: like for like (one BLAS thread), and as
// LibTorch does by default (OpenBLAS's own threads beside OpenMP's), which shows what that choice gains.
//   build/bench/bench_train_throughput [images=12000] [rounds=5]
#include <prism/prism.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

namespace {

// PyTorch's MNIST network, as prism's zoo `cnn` defines it.
struct PlainCnn : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 32, 3)}, conv2{torch::nn::Conv2dOptions(32, 64, 3)};
  torch::nn::Linear fc1{9216, 128}, fc2{128, 10};
  PlainCnn() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(conv2(torch::relu(conv1(x))));
    x = torch::dropout(torch::max_pool2d(x, 2), 0.25, is_training()).flatten(1);
    return fc2(torch::dropout(torch::relu(fc1(x)), 0.5, is_training()));
  }
};

double plain_epoch(const prism::Dataset& data, uint64_t seed, bool single_threaded_blas) {
  std::optional<prism::SingleThreadedBlas> blas;
  if (single_threaded_blas) blas.emplace();
  torch::manual_seed(seed);
  PlainCnn model;
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-3));
  const auto start = std::chrono::steady_clock::now();
  model.train();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto order = torch::randperm(data.size(), generator, torch::kInt64);
  const float mean = data.normalization.mean[0], std = data.normalization.std[0];
  for (int64_t begin = 0; begin < data.size(); begin += 64) {
    const auto index = order.narrow(0, begin, std::min<int64_t>(64, data.size() - begin));
    const auto images = (data.images.index_select(0, index) - mean) / std;
    const auto labels = data.labels.index_select(0, index);
    optimizer.zero_grad();
    const auto logits = model.forward(images);
    const auto loss = torch::cross_entropy_loss(logits, labels);
    loss.backward();
    optimizer.step();
    (void)loss.item<double>();
    (void)logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double prism_epoch(const prism::Dataset& data, uint64_t seed) {
  prism::ZooOptions options;
  options.seed = seed;
  auto network = prism::make_zoo_network(options);
  prism::set_metadata(*network, data.sample_shape(), 10, data.class_names, data.normalization);
  prism::TrainOptions training;
  training.epochs = 1;
  training.seed = seed;
  const auto start = std::chrono::steady_clock::now();
  prism::train_network(*network, data, nullptr, training);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t images = argc > 1 ? std::atoll(argv[1]) : 12000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  prism::set_quiet(true);
  const auto data = prism::random_subset(prism::load_dataset("fashion-mnist", prism::Split::Train), images, 0);
  std::vector<double> ratios, blas_gains;
  double plain_best = 1e30, prism_best = 1e30, default_best = 1e30;
  for (int round = 0; round < rounds; ++round) {
    const double plain = plain_epoch(data, round, true), ours = prism_epoch(data, round);
    const double threaded = plain_epoch(data, round, false);
    plain_best = std::min(plain_best, plain);
    prism_best = std::min(prism_best, ours);
    default_best = std::min(default_best, threaded);
    ratios.push_back(ours / plain);
    blas_gains.push_back(threaded / plain);
    std::printf("round %d: plain %.2f s (%.0f img/s), prism %.2f s (%.0f img/s), ratio %.3f; plain with BLAS threads "
                "%.2f s\n",
                round + 1, plain, images / plain, ours, images / ours, ours / plain, threaded);
  }
  std::sort(ratios.begin(), ratios.end());
  std::sort(blas_gains.begin(), blas_gains.end());
  std::printf("threads %d, %lld images per epoch: best plain %.0f img/s, best prism %.0f img/s, "
              "median prism/plain time ratio %.3f; plain with OpenBLAS's threads: best %.0f img/s, median %.2fx the "
              "time with one BLAS thread\n",
              prism::available_cores(), static_cast<long long>(images), images / plain_best, images / prism_best,
              ratios[ratios.size() / 2], images / default_best, blas_gains[blas_gains.size() / 2]);
}
