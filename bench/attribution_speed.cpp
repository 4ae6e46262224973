// Time per image of each feature-attribution method on the zoo cnn and resnet18, at batch 1 and 32, as a
// ratio to the method's floor measured in the same run: n × one forward+backward pass of that batch,
// n = the passes the method needs at least (steps for IG, samples for SmoothGrad, 1 for saliency).
// Goals (issue 3): IG and SmoothGrad ≤ 1.15 × their floor; the pruned gradient ≤ 3 × a saliency pass.
//   build/bench/bench_attribution_speed [repeats=3]
#include <prism/prism.h>

#include "bench_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

using prism::bench::median_seconds;

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 3;
  prism::keep_freed_memory();
  prism::set_threads(prism::available_cores());
  const auto data = prism::random_subset(prism::load_dataset("fashion-mnist", prism::Split::Test), 32, 0);
  std::printf("| model | batch | method | ms / image | floor passes | ratio to floor |\n|---|---|---|---|---|---|\n");
  for (const std::string architecture : {"cnn", "resnet18"}) {
    prism::ZooOptions options;
    options.architecture = architecture;
    auto network = prism::make_zoo_network(options);
    prism::set_metadata(*network, {1, 28, 28}, 10, data.class_names, data.normalization);
    network->set_training(false);
    for (const int64_t batch : {int64_t{1}, int64_t{32}}) {
      const auto inputs = data.images.narrow(0, 0, batch);
      const auto targets = data.labels.narrow(0, 0, batch);
      prism::target_gradient(*network, inputs, targets);  // warm-up
      const double pass = median_seconds(repeats * 3, [&] { prism::target_gradient(*network, inputs, targets); });
      const double saliency = median_seconds(repeats, [&] { prism::Saliency().attribute(*network, inputs, targets); });
      for (const auto& method : prism::feature_methods()) {
        auto attributor = prism::make_feature_attributor(method);
        const auto settings = attributor->options();
        const double passes = method == "integrated-gradients" ? settings["steps"].get<double>()
                              : method == "smoothgrad"         ? settings["samples"].get<double>()
                                                               : 1.0;
        const double seconds = median_seconds(repeats, [&] { attributor->attribute(*network, inputs, targets); });
        std::printf("| %s | %lld | %s | %.2f | %.0f | %.2f%s |\n", architecture.c_str(), static_cast<long long>(batch),
                    method.c_str(), 1000 * seconds / batch, passes, seconds / (passes * pass),
                    method == "pruned-gradient" ? (" (" + std::to_string(seconds / saliency).substr(0, 4) + " × saliency)").c_str()
                                                : "");
      }
    }
  }
}
