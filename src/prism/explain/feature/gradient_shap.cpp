#include "prism/explain/feature/gradient_shap.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor GradientShap::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  require(options_.samples >= 1, "gradient-shap needs at least one sample");
  require(options_.stdev >= 0, "the noise stdev must not be negative");
  const auto baselines = make_baseline_set(inputs, options_.baselines, options_.count, options_.seed);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed + 1);
  const int64_t batch = inputs.size(0);
  auto total = torch::zeros_like(inputs);
  for (int64_t s = 0; s < options_.samples; ++s) {
    const auto chosen = torch::randint(baselines.size(0), {batch}, generator, torch::kInt64).to(inputs.device());
    std::vector<int64_t> one_per_sample(inputs.dim(), 1);
    one_per_sample[0] = batch;
    const auto alpha = torch::rand(one_per_sample, generator, torch::kFloat32).to(inputs.device());
    auto noisy = inputs;
    if (options_.stdev > 0)
      noisy = inputs + options_.stdev * torch::randn(inputs.sizes(), generator, torch::kFloat32).to(inputs.device());
    const auto baseline = baselines.index_select(0, chosen);
    const auto difference = noisy - baseline;
    total += target_gradient(network, baseline + alpha * difference, targets).gradient * difference;
  }
  return total / static_cast<double>(options_.samples);
}

}  // namespace prism
