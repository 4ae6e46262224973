#include "prism/core/tensor_values.h"
#include "prism/explain/feature/smoothgrad.h"

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/feature/gradient.h"

namespace prism {

SmoothGrad::SmoothGrad(SmoothGradOptions options) : options_(std::move(options)) {
  require(options_.samples >= 1, "smoothgrad: samples must be at least 1");
  require(options_.noise_level >= 0, "smoothgrad: noise_level must not be negative");
  require(options_.variant == "mean" || options_.variant == "squared" || options_.variant == "vargrad",
          "unknown SmoothGrad variant '" + options_.variant + "'; use mean, squared or vargrad");
  require(options_.internal_batch_size >= 1, "smoothgrad: internal_batch_size must be at least 1");
}

nlohmann::json SmoothGrad::options() const { return options_json(options_); }

torch::Tensor SmoothGrad::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const int64_t batch = inputs.size(0), n = options_.samples;
  // A table row's features and a sequence's channels come in their own units (and the range mixes them): σ per
  // feature or channel from its training standard deviation, which the model's normalisation records.
  const bool own_units = inputs.dim() != 4 && !network.normalization().empty();
  const auto sigma =
      own_units ? (options_.noise_level *
                   along_channels(torch::tensor(network.normalization().std, inputs.options()), inputs.dim()))
                      .expand_as(inputs)
                : along_batch(options_.noise_level * (inputs.flatten(1).amax(1) - inputs.flatten(1).amin(1)),
                              inputs.dim());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  auto sum = torch::zeros_like(inputs), sum_of_squares = torch::zeros_like(inputs);
  const int64_t points = batch * n;
  for (int64_t start = 0; start < points; start += options_.internal_batch_size) {
    const int64_t count = std::min(options_.internal_batch_size, points - start);
    const auto sample = torch::arange(start, start + count, torch::kInt64).div(n, "floor");
    const auto clean = inputs.index_select(0, sample);
    const auto noise = torch::randn(clean.sizes(), generator, torch::kFloat32).to(inputs.device());
    const auto gradient =
        target_gradient(network, clean + sigma.index_select(0, sample) * noise, targets.index_select(0, sample))
            .gradient;
    sum.index_add_(0, sample, gradient);
    sum_of_squares.index_add_(0, sample, gradient * gradient);
  }
  const auto mean = sum / n;
  if (options_.variant == "squared") return sum_of_squares / n;
  if (options_.variant == "vargrad") return sum_of_squares / n - mean * mean;
  return mean;
}

}  // namespace prism
