// Time per epoch of FLINT training (joint and post hoc) against plain training of the same predictor f
// (prism's train_network, which bench_train_throughput measures against bare LibTorch), in the same
// process on the same images and batch size. Rounds alternate the three so machine noise hits all.
//   build/bench/bench_flint_epoch [images=6000] [batch=16] [rounds=3]
#include <prism/prism.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace {

std::unique_ptr<prism::Network> fresh_cnn(const prism::Dataset& data, uint64_t seed) {
  prism::ZooOptions options;
  options.seed = seed;
  auto network = prism::make_zoo_network(options);
  prism::set_metadata(*network, data.sample_shape(), 10, data.class_names, data.normalization);
  return network;
}

template <typename F>
double seconds(F&& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t images = argc > 1 ? std::atoll(argv[1]) : 6000;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 16;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  prism::set_quiet(true);
  const auto data = prism::random_subset(prism::load_dataset("fashion-mnist", prism::Split::Train), images, 0);
  const auto scratch = std::filesystem::temp_directory_path() / "prism-bench-flint";
  std::vector<double> plain, joint, posthoc;
  for (int round = 0; round < rounds; ++round) {
    auto network = fresh_cnn(data, round);
    prism::TrainOptions training;
    training.epochs = 1;
    training.seed = round;
    training.batch_size = batch;
    training.learning_rate = 1e-4;
    plain.push_back(seconds([&] { prism::train_network(*network, data, nullptr, training); }));

    for (bool train_predictor : {true, false}) {
      std::filesystem::remove_all(scratch);
      auto f = fresh_cnn(data, round);
      prism::FlintInterpreter interpreter(prism::describe_flint_layers(*f, {"relu2"}, 25));
      prism::FlintTrainOptions options;
      options.train_predictor = train_predictor;
      options.epochs = 1;
      options.batch_size = batch;
      options.seed = round;
      options.out = scratch;
      options.weights.beta_from = options.weights.delta_from = options.weights.eta_from = 1;  // every term on
      (train_predictor ? joint : posthoc)
          .push_back(seconds([&] { prism::train_flint(*f, interpreter, data, nullptr, options); }));
    }
  }
  std::filesystem::remove_all(scratch);
  const double p = median(plain), j = median(joint), h = median(posthoc);
  std::printf("%lld images, batch %lld, median of %d rounds (one epoch each)\n", static_cast<long long>(images),
              static_cast<long long>(batch), rounds);
  std::printf("plain training of f   %7.2f s  (%.0f img/s)\n", p, images / p);
  std::printf("FLINT joint           %7.2f s  (%.0f img/s)  %.2fx plain\n", j, images / j, j / p);
  std::printf("FLINT post hoc        %7.2f s  (%.0f img/s)  %.2fx plain\n", h, images / h, h / p);
  return 0;
}
