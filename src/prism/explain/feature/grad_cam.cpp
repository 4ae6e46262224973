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
    // A map over the input's positions: [1, K, h, w] for images, [1, K, t] for sequences, with more than one.
    if (feature_map && out.defined() && out.dim() == static_cast<int64_t>(shape.size()) && out[0][0].numel() > 1)
      chosen = layer.name;
  }
  require(!chosen.empty(), "the CAM methods need a layer with spatial feature maps, and this model has none; "
                           "give its layer option");
  return chosen;
}

torch::Tensor GradCam::layer_map(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                                 const torch::Tensor& maps, const torch::Tensor& gradient) const {
  if (variant_ == "grad-cam") return (gradient.mean({2, 3}, /*keepdim=*/true) * maps).sum(1, true);  // Eqs. 1–2
  if (variant_ == "hires-cam") return (gradient * maps).sum(1, true);
  if (variant_ == "layer-cam") return (torch::relu(gradient) * maps).sum(1, true);
  if (variant_ == "grad-cam++") {
    const auto squared = gradient.pow(2), cubed = gradient.pow(3);
    const auto denominator = 2 * squared + maps.sum({2, 3}, /*keepdim=*/true) * cubed;
    const auto a = torch::where(gradient != 0, squared / torch::where(denominator != 0, denominator,
                                                                      torch::ones_like(denominator)),
                                torch::zeros_like(gradient));
    return ((a * torch::relu(gradient)).sum({2, 3}, /*keepdim=*/true) * maps).sum(1, true);
  }
  // score-cam: each channel, upsampled and scaled to [0, 1], masks the input; the target's logits on the
  // masked inputs, softmaxed over the channels, weight the channels.
  require(internal_batch_size_ >= 1, "the internal batch size must be at least 1");
  torch::NoGradGuard no_grad;
  const int64_t batch = maps.size(0), channels = maps.size(1);
  const bool sequence = inputs.dim() == 3;  // its maps come as [B, K, 1, t]
  const auto images = sequence ? inputs.unsqueeze(2) : inputs;
  auto masks = torch::upsample_bilinear2d(maps, {images.size(2), images.size(3)}, /*align_corners=*/false);
  const auto low = std::get<0>(masks.flatten(2).min(2)).view({batch, channels, 1, 1});
  const auto high = std::get<0>(masks.flatten(2).max(2)).view({batch, channels, 1, 1});
  masks = (masks - low) / torch::where(high > low, high - low, torch::ones_like(high));
  auto scores = torch::empty({batch, channels}, maps.options());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t start = 0; start < channels; start += internal_batch_size_) {
      const int64_t count = std::min(internal_batch_size_, channels - start);
      const auto masked = images[b].unsqueeze(0) * masks[b].narrow(0, start, count).unsqueeze(1);
      scores[b].narrow(0, start, count).copy_(
          network.forward(sequence ? masked.squeeze(2) : masked).select(1, targets[b].item<int64_t>()));
    }
  return (scores.softmax(1).view({batch, channels, 1, 1}) * maps).sum(1, true);
}

torch::Tensor GradCam::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  require(inputs.dim() >= 3, "the CAM methods weight a convolutional feature map, which a model of table rows does "
                             "not have; use occlusion, integrated-gradients or another feature method");
  if (options_.layer.empty()) options_.layer = default_layer(network);
  network.layer(options_.layer);
  network.set_training(false);
  torch::Tensor maps;
  TapSet taps;
  taps.capture(options_.layer, &maps);
  const bool needs_gradient = variant_ != "score-cam";
  const bool sequence = inputs.dim() == 3;
  torch::Tensor gradient;
  {
    torch::AutoGradMode grad_mode(needs_gradient);
    const auto scores = network.forward(inputs.detach().requires_grad_(needs_gradient), taps)
                            .gather(1, targets.view({-1, 1}))
                            .sum();
    require(maps.defined() && maps.dim() == inputs.dim(),
            name() + " needs feature maps " + (sequence ? "[B, K, t]" : "[B, K, h, w]") + " at layer '" + options_.layer +
                "'; choose a convolutional layer");
    if (needs_gradient) gradient = torch::autograd::grad({scores}, {maps})[0];
  }
  // A sequence's maps [B, K, t] are taken as images one pixel high, [B, K, 1, t].
  const auto as_image = [&](const torch::Tensor& t) { return sequence && t.defined() ? t.unsqueeze(2) : t; };
  auto cam = layer_map(network, inputs.detach(), targets, as_image(maps.detach()), as_image(gradient));
  if (options_.relu) cam = torch::relu(cam);
  cam = torch::upsample_bilinear2d(cam, {sequence ? 1 : inputs.size(2), inputs.size(-1)}, /*align_corners=*/false);
  return (sequence ? cam.squeeze(2) : cam).expand_as(inputs).contiguous();
}

}  // namespace prism
