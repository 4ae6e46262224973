#include "prism/explain/feature/grad_cam.h"

#include "prism/core/error.h"

namespace prism {

std::string GradCam::default_layer(Network& network) {
  std::map<std::string, torch::Tensor> outputs;
  TapSet taps;
  for (const auto& layer : network.layers()) taps.capture(layer.name, &outputs[layer.name]);
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), network.input_shape().begin(), network.input_shape().end());
  torch::NoGradGuard no_grad;
  network.set_training(false);
  network.forward(torch::zeros(shape), taps);
  std::string chosen;
  for (const auto& layer : network.layers()) {
    const auto& out = outputs[layer.name];
    const bool feature_map = is_activation(layer.kind) || layer.kind == "conv";
    if (feature_map && out.defined() && out.dim() == 4 && out.size(2) * out.size(3) > 1) chosen = layer.name;
  }
  require(!chosen.empty(), "Grad-CAM needs a layer with spatial feature maps, and this model has none; "
                           "give --layer");
  return chosen;
}

torch::Tensor GradCam::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  if (options_.layer.empty()) options_.layer = default_layer(network);
  network.layer(options_.layer);
  network.set_training(false);
  torch::Tensor maps;
  TapSet taps;
  taps.capture(options_.layer, &maps);
  const auto scores = network.forward(inputs.detach().requires_grad_(true), taps).gather(1, targets.view({-1, 1})).sum();
  require(maps.defined() && maps.dim() == 4,
          "Grad-CAM needs feature maps [B, K, h, w] at layer '" + options_.layer + "'; choose a convolutional layer");
  const auto gradient = torch::autograd::grad({scores}, {maps})[0];
  const auto alpha = gradient.mean({2, 3}, /*keepdim=*/true);                   // Eq. 1
  auto cam = (alpha * maps.detach()).sum(1, /*keepdim=*/true);                 // Eq. 2
  if (options_.relu) cam = torch::relu(cam);
  cam = torch::upsample_bilinear2d(cam, {inputs.size(2), inputs.size(3)}, /*align_corners=*/false);
  return cam.expand_as(inputs).contiguous();
}

}  // namespace prism
