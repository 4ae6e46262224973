#include "prism/explain/feature/guided_backprop.h"

#include "prism/core/error.h"
#include "prism/explain/feature/gradient.h"

namespace prism {

std::vector<std::string> activation_layers(const Network& network, const std::string& method) {
  std::vector<std::string> layers;
  for (const auto& layer : network.layers())
    if (is_activation(layer.kind)) layers.push_back(layer.name);
  require(!layers.empty(), method + " changes the backward pass of the activations (ReLU, ...), and this model has none "
                                    "among its layers (prism layers MODEL lists them); use saliency instead");
  return layers;
}

torch::Tensor GuidedBackprop::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  TapSet taps;
  for (const auto& layer : activation_layers(network, name()))
    taps.on(layer, [](const torch::Tensor& output) {
      // The hook sees the gradient of the activation's output, before the activation's own derivative applies.
      auto flowing = output.clone();  // a tensor of its own: the model may change its output in place later
      flowing.register_hook([](const torch::Tensor& gradient) { return gradient.clamp_min(0); });
      return flowing;
    });
  return target_gradient(network, inputs, targets, taps).gradient;
}

}  // namespace prism
