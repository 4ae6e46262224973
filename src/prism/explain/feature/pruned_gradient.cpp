#include "prism/explain/feature/pruned_gradient.h"

#include <cmath>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/feature/gradient.h"

namespace prism {
namespace {

std::vector<std::string> pruned_layers(const Network& network) {
  auto names = activation_layers(network);
  require(!names.empty(), "the pruned gradient prunes the outputs of activation layers (ReLU, ReLU6, SiLU, GELU, ...), "
                          "and this model has none");
  return names;
}

struct ActivationsAndGradients {
  std::vector<torch::Tensor> activations, gradients;
};

// Activation outputs at `inputs` and ∂f_c/∂(each of them), from one forward and backward pass.
ActivationsAndGradients activation_gradients(Network& network, const std::vector<std::string>& layers,
                                       const torch::Tensor& inputs, const torch::Tensor& targets) {
  std::vector<torch::Tensor> captured(layers.size());
  TapSet taps;
  for (size_t i = 0; i < layers.size(); ++i) taps.capture(layers[i], &captured[i]);
  // The input requires grad so the activations do whatever the parameters' requires_grad flags say.
  const auto scores = network.forward(inputs.detach().requires_grad_(true), taps).gather(1, targets.view({-1, 1})).sum();
  for (size_t i = 0; i < layers.size(); ++i)
    require(captured[i].defined(), "activation layer '" + layers[i] + "' was not reached in the forward pass");
  auto gradients = torch::autograd::grad({scores}, captured, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!gradients[i].defined()) gradients[i] = torch::zeros_like(captured[i]);
    captured[i] = captured[i].detach();
  }
  return {captured, gradients};
}

}  // namespace

PrunedGradient::PrunedGradient(PrunedGradientOptions options) : options_(options) {
  require(options_.sparsity >= 0 && options_.sparsity < 100,
          "pruned-gradient: sparsity must lie in [0, 100) (got " + std::to_string(options_.sparsity) + ")");
  require(options_.steps >= 1, "pruned-gradient: steps must be at least 1");
}

nlohmann::json PrunedGradient::options() const { return options_json(options_); }

Attribution PrunedGradient::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  network.set_training(false);
  const auto layers = pruned_layers(network);
  const int64_t batch = inputs.size(0);

  // 1. Taylor scores |a · ∂f_c/∂a|, or with path-averaged gradients for the integrated variant.
  auto at_input = activation_gradients(network, layers, inputs, targets);
  if (options_.integrated) {
    for (auto& g : at_input.gradients) g.zero_();
    for (int64_t k = 0; k < options_.steps; ++k) {
      const double alpha = (k + 0.5) / options_.steps;
      const auto on_path = activation_gradients(network, layers, alpha * inputs, targets);
      for (size_t i = 0; i < layers.size(); ++i) at_input.gradients[i] += on_path.gradients[i] / options_.steps;
    }
  }
  std::vector<torch::Tensor> flat_scores;
  for (size_t i = 0; i < layers.size(); ++i)
    flat_scores.push_back((at_input.activations[i] * at_input.gradients[i]).abs().reshape({batch, -1}));
  const auto scores = torch::cat(flat_scores, 1);

  // 2. One threshold per input over all neurons: the k-th smallest score, k = ⌊p · N⌋.
  const int64_t neurons = scores.size(1);
  const auto pruned = static_cast<int64_t>(std::floor(options_.sparsity / 100.0 * neurons));
  torch::Tensor keep = torch::ones_like(scores);
  if (pruned > 0) {
    const auto threshold = std::get<0>(scores.kthvalue(pruned, 1, /*keepdim=*/true));
    keep = (scores > threshold).to(scores.dtype());
  }
  Attribution result;
  result.per_sample["pruned_share"] = 1 - keep.mean(1);
  int64_t offset = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const int64_t size = flat_scores[i].size(1);
    result.masks[layers[i]] = keep.narrow(1, offset, size).reshape(at_input.activations[i].sizes());
    offset += size;
  }

  // 3. Input gradient of the pruned network.
  TapSet pruning;
  for (const auto& [layer, mask] : result.masks) pruning.on(layer, [mask](const torch::Tensor& a) { return a * mask; });
  result.maps = target_gradient(network, inputs, targets, pruning).gradient;
  const auto empty = (result.maps.flatten(1).abs().amax(1) == 0).nonzero();
  if (empty.size(0) > 0)
    TORCH_WARN("the pruned gradient of sample ", empty[0][0].item<int64_t>(), " of the batch is zero: pruning ",
               options_.sparsity, " % of the neurons cuts every path from the input; lower the sparsity");
  return result;
}

}  // namespace prism
