#include "prism/explain/feature/guided_backprop.h"

#include "prism/core/error.h"
#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor GuidedBackprop::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto activations = activation_layers(network);
  require(!activations.empty(), "guided-backprop changes the backward pass of the activations (ReLU, ...), and this "
                                "model has none among its layers (prism layers MODEL lists them); use saliency instead");
  TapSet taps;
  for (const auto& layer : activations)
    taps.on(layer, [](const torch::Tensor& output) {
      // The hook sees the gradient of the activation's output, before the activation's own derivative applies.
      auto flowing = output.clone();  // the hook's own tensor, which no later in-place op of the model moves
      flowing.register_hook([](const torch::Tensor& gradient) { return gradient.clamp_min(0); });
      return flowing;
    });
  return target_gradient(network, inputs, targets, taps).gradient;
}

}  // namespace prism
