#include "prism/explain/feature/attributor.h"

#include <optional>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/core/progress.h"
#include "prism/explain/feature/grad_cam.h"
#include "prism/explain/feature/gradient_x_input.h"
#include "prism/explain/feature/integrated_gradients.h"
#include "prism/explain/feature/lrp.h"
#include "prism/explain/feature/occlusion.h"
#include "prism/explain/feature/pruned_gradient.h"
#include "prism/explain/feature/random_map.h"
#include "prism/explain/feature/saliency.h"
#include "prism/explain/feature/smoothgrad.h"

namespace prism {
std::vector<std::string> feature_methods() {
  return {"pruned-gradient", "saliency", "gradient-x-input", "integrated-gradients", "smoothgrad", "grad-cam", "lrp",
          "occlusion"};
}

std::unique_ptr<FeatureAttributor> make_feature_attributor(const std::string& name, const nlohmann::json& o) {
  std::unique_ptr<FeatureAttributor> made;
  if (name == "saliency") {
    SaliencyOptions options;
    read_option(o, "abs", options.absolute, name);
    made = std::make_unique<Saliency>(options);
  } else if (name == "gradient-x-input") {
    made = std::make_unique<GradientXInput>();
  } else if (name == "integrated-gradients") {
    IntegratedGradientsOptions options;
    read_option(o, "steps", options.steps, name);
    read_option(o, "integration", options.integration, name);
    read_option(o, "baseline", options.baseline, name);
    read_option(o, "blur_sigma", options.blur_sigma, name);
    read_option(o, "internal_batch_size", options.internal_batch_size, name);
    made = std::make_unique<IntegratedGradients>(options);
  } else if (name == "smoothgrad") {
    SmoothGradOptions options;
    read_option(o, "samples", options.samples, name);
    read_option(o, "noise_level", options.noise_level, name);
    read_option(o, "variant", options.variant, name);
    read_option(o, "seed", options.seed, name);
    read_option(o, "internal_batch_size", options.internal_batch_size, name);
    made = std::make_unique<SmoothGrad>(options);
  } else if (name == "grad-cam") {
    GradCamOptions options;
    read_option(o, "layer", options.layer, name);
    read_option(o, "relu", options.relu, name);
    made = std::make_unique<GradCam>(options);
  } else if (name == "occlusion") {
    OcclusionOptions options;
    read_option(o, "patch", options.patch, name);
    read_option(o, "stride", options.stride, name);
    read_option(o, "fill", options.fill, name);
    read_option(o, "internal_batch_size", options.internal_batch_size, name);
    made = std::make_unique<Occlusion>(options);
  } else if (name == "lrp") {
    LrpOptions options;
    read_option(o, "composite", options.composite, name);
    read_option(o, "epsilon", options.epsilon, name);
    read_option(o, "gamma", options.gamma, name);
    read_option(o, "alpha", options.alpha, name);
    made = std::make_unique<Lrp>(options);
  } else if (name == "pruned-gradient") {
    PrunedGradientOptions options;
    read_option(o, "sparsity", options.sparsity, name);
    read_option(o, "integrated", options.integrated, name);
    read_option(o, "steps", options.steps, name);
    made = std::make_unique<PrunedGradient>(options);
  } else if (name == "random") {
    RandomMapOptions options;
    read_option(o, "seed", options.seed, name);
    made = std::make_unique<RandomMap>(options);
  } else {
    std::string names;
    for (const auto& m : feature_methods()) names += (names.empty() ? "" : ", ") + m;
    throw Error("unknown attribution method '" + name + "'; methods are: " + names + " (and random, the control)");
  }
  check_option_keys(o, made->options(), name);
  return made;
}

void check_attribution_inputs(const Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  const auto& s = network.input_shape();
  if (inputs.dim() != 4 || inputs.size(1) != s[0] || inputs.size(2) != s[1] || inputs.size(3) != s[2])
    throw Error("the model takes inputs [B, " + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " +
                std::to_string(s[2]) + "] but got " + shape_string(inputs.sizes()));
  if (targets.dim() != 1 || targets.size(0) != inputs.size(0))
    throw Error("give one target per input (" + std::to_string(inputs.size(0)) + " inputs, " +
                std::to_string(targets.numel()) + " targets)");
  const auto finite = torch::isfinite(inputs).flatten(1).all(1);
  if (!finite.all().item<bool>())
    throw Error("input sample " + std::to_string(finite.logical_not().nonzero()[0][0].item<int64_t>()) +
                " contains NaN or infinite values");
  const auto bad = (targets < 0).logical_or(targets >= network.num_classes());
  if (bad.any().item<bool>()) {
    const int64_t first = bad.nonzero()[0][0].item<int64_t>();
    throw Error("target " + std::to_string(targets[first].item<int64_t>()) + " of sample " + std::to_string(first) +
                " is outside the model's classes 0.." + std::to_string(network.num_classes() - 1));
  }
}

torch::Tensor attribute_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label) {
  require(batch_size >= 1, "the batch size must be at least 1");
  std::vector<torch::Tensor> parts;
  std::optional<Progress> progress;
  if (!label.empty()) progress.emplace(label, inputs.size(0));
  for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size) {
    const int64_t count = std::min(batch_size, inputs.size(0) - begin);
    parts.push_back(attributor.attribute(network, inputs.narrow(0, begin, count), targets.narrow(0, begin, count)).detach());
    if (progress) progress->advance(count);
  }
  if (progress) progress->finish();
  return torch::cat(parts);
}

}  // namespace prism
