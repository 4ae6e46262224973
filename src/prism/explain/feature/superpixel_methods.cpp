#include "prism/explain/feature/superpixel_methods.h"

#include <cmath>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/feature/coalitions.h"
#include "prism/explain/feature/gradient.h"

namespace prism {
namespace {

void check_common(const SegmentationOptions& superpixels, int64_t internal_batch_size, const std::string& method) {
  check_segmentation_options(superpixels, method);
  require(internal_batch_size >= 1, method + ": internal_batch_size must be at least 1");
}

// Every coalition of 1 .. M−1 segments with its Shapley kernel weight.
std::pair<torch::Tensor, torch::Tensor> every_coalition(int64_t segments) {
  const int64_t count = (int64_t{1} << segments) - 2;
  auto coalitions = torch::zeros({count, segments}, torch::kFloat32);
  auto weights = torch::empty({count}, torch::kFloat64);
  auto z = coalitions.accessor<float, 2>();
  for (int64_t code = 1; code <= count; ++code) {
    int64_t size = 0;
    for (int64_t m = 0; m < segments; ++m)
      if (code >> m & 1) z[code - 1][m] = 1, ++size;
    // π(z) = (M − 1) / (C(M, s) s (M − s))
    const double log_choose = std::lgamma(segments + 1.0) - std::lgamma(size + 1.0) - std::lgamma(segments - size + 1.0);
    weights[code - 1] = (segments - 1.0) / (std::exp(log_choose) * size * (segments - size));
  }
  return {coalitions, weights};
}

// `count` coalitions (rounded up to even) with sizes drawn ∝ (M − 1) / (s (M − s)), each followed by its complement;
// sampled from the kernel, they weigh the same.
torch::Tensor kernel_coalitions(int64_t segments, int64_t count, at::Generator& generator) {
  auto size_weights = torch::empty({segments - 1}, torch::kFloat64);
  for (int64_t s = 1; s < segments; ++s) size_weights[s - 1] = 1.0 / (s * (segments - s));
  const int64_t pairs = (count + 1) / 2;
  const auto sizes = torch::multinomial(size_weights, pairs, true, generator).add(1);
  auto coalitions = torch::zeros({2 * pairs, segments}, torch::kFloat32);
  for (int64_t p = 0; p < pairs; ++p) {
    const auto chosen = torch::randperm(segments, generator, torch::kInt64).narrow(0, 0, sizes[p].item<int64_t>());
    coalitions[2 * p].index_fill_(0, chosen, 1);
    coalitions[2 * p + 1] = 1 - coalitions[2 * p];
  }
  return coalitions;
}

}  // namespace

torch::Tensor SuperpixelAttributor::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  return explain(network, inputs, targets).maps;
}

Attribution SuperpixelAttributor::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto labels = segment_images(inputs, segmentation());
  const auto counts = segment_counts(labels);
  // A removed feature of a table row, or window of a sequence, takes its training mean where the model records it.
  const bool means = inputs.dim() != 4 && !network.normalization().empty();
  auto baseline = means ? torch::tensor(network.normalization().mean, inputs.options())
                        : torch::full({}, fill(), inputs.options());
  if (means && inputs.dim() == 3) baseline = baseline.unsqueeze(1);  // [C, 1]: a channel's mean at every step
  InferenceOptions inference;
  inference.batch_size = internal_batch_size();
  for (int64_t b = 0; b < inputs.size(0); ++b) inference.pass_images += scored_copies(counts[b]);
  InferencePass pass(network, {}, inference);
  std::vector<torch::Tensor> maps;
  auto r_squared = torch::empty({inputs.size(0)}, torch::kFloat32);
  bool fitted = false;
  for (int64_t b = 0; b < inputs.size(0); ++b) {
    const auto result =
        segment_values(pass, inputs[b].detach(), labels[b], counts[b], targets[b].item<int64_t>(), baseline);
    maps.push_back(spread_over_segments(result.values.to(inputs.device(), torch::kFloat32), labels[b],
                                        inputs.dim() == 2 ? 0 : inputs.size(1)));
    fitted = result.r_squared.has_value();
    if (fitted) r_squared[b] = *result.r_squared;
  }
  Attribution out{torch::stack(maps), {}, {}};
  if (fitted) out.per_sample["r_squared"] = r_squared;
  return out;
}

FeatureAblation::FeatureAblation(FeatureAblationOptions options) : options_(std::move(options)) {
  check_common(options_.superpixels, options_.internal_batch_size, "feature-ablation");
}

nlohmann::json FeatureAblation::options() const { return options_json(options_); }

SuperpixelAttributor::SegmentValues FeatureAblation::segment_values(InferencePass& pass, const torch::Tensor& image,
                                                                    const torch::Tensor& labels, int64_t segments,
                                                                    int64_t target, const torch::Tensor& baseline) {
  const auto full = target_scores(pass, image.unsqueeze(0), torch::full({1}, target, torch::kInt64).to(image.device()));
  const auto without_one = 1 - torch::eye(segments, torch::kFloat32);
  const auto scores =
      coalition_scores(pass, image, labels, without_one, baseline, target, options_.internal_batch_size);
  return {full.to(torch::kCPU) - scores.to(torch::kCPU), std::nullopt};
}

KernelShap::KernelShap(KernelShapOptions options) : options_(std::move(options)) {
  check_common(options_.superpixels, options_.internal_batch_size, "kernel-shap");
  require(options_.samples >= 2, "kernel-shap: samples must be at least 2");
}

nlohmann::json KernelShap::options() const { return options_json(options_); }

SuperpixelAttributor::SegmentValues KernelShap::segment_values(InferencePass& pass, const torch::Tensor& image,
                                                               const torch::Tensor& labels, int64_t segments,
                                                               int64_t target, const torch::Tensor& baseline) {
  const auto ends = torch::stack({torch::zeros({segments}), torch::ones({segments})});
  const auto end_scores = coalition_scores(pass, image, labels, ends, baseline, target, 2).to(torch::kCPU);
  const double empty = end_scores[0].item<double>(), difference = end_scores[1].item<double>() - empty;
  if (segments == 1) return {torch::full({1}, difference, torch::kFloat32), 1.0};
  torch::Tensor coalitions, weights;
  if (segments < 62 && (int64_t{1} << segments) - 2 <= options_.samples) {
    std::tie(coalitions, weights) = every_coalition(segments);
  } else {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
    coalitions = kernel_coalitions(segments, options_.samples, generator);
    weights = torch::ones({coalitions.size(0)}, torch::kFloat64);
  }
  const auto scores = coalition_scores(pass, image, labels, coalitions, baseline, target, options_.internal_batch_size)
                          .to(torch::kCPU, torch::kFloat64);
  // Σ φ = Δ eliminates φ_M: y − f(0) − z_M Δ = Σ_{m<M} φ_m (z_m − z_M).
  const auto z = coalitions.to(torch::kFloat64), last = z.select(1, segments - 1);
  const auto design = z.narrow(1, 0, segments - 1) - last.view({-1, 1});
  const auto fit = weighted_linear_fit(design, scores - empty - last * difference, weights, 0.0, false);
  const auto rest = fit.coefficients.to(torch::kFloat64);
  const auto values = torch::cat({rest, (difference - rest.sum()).view({1})});
  return {values.to(torch::kFloat32), weighted_r_squared(scores, empty + z.matmul(values), weights)};
}

Lime::Lime(LimeOptions options) : options_(std::move(options)) {
  check_common(options_.superpixels, options_.internal_batch_size, "lime");
  require(options_.samples >= 2, "lime: samples must be at least 2");
  require(options_.kernel_width > 0, "lime: kernel_width must be positive");
  require(options_.ridge >= 0, "lime: ridge must not be negative");
}

nlohmann::json Lime::options() const { return options_json(options_); }

SuperpixelAttributor::SegmentValues Lime::segment_values(InferencePass& pass, const torch::Tensor& image,
                                                         const torch::Tensor& labels, int64_t segments,
                                                         int64_t target, const torch::Tensor& baseline) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  auto coalitions = torch::bernoulli(torch::full({options_.samples, segments}, 0.5), generator);
  coalitions[0] = 1;
  const auto scores = coalition_scores(pass, image, labels, coalitions, baseline, target, options_.internal_batch_size);
  // Cosine distance to the all-kept coalition; 1 for the empty one, as scikit-learn's.
  const auto z = coalitions.to(torch::kFloat64);
  const auto kept = z.sum(1);
  const auto cosine = torch::where(kept > 0, kept / (kept.sqrt() * std::sqrt(double(segments))), torch::zeros_like(kept));
  const auto distance = 1 - cosine;
  const auto weights = (-(distance.square()) / (options_.kernel_width * options_.kernel_width)).exp().sqrt();
  const auto fit = weighted_linear_fit(z, scores, weights, options_.ridge, true);
  return {fit.coefficients, fit.r_squared};
}

}  // namespace prism
