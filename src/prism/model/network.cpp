#include "prism/core/tensor_values.h"
#include "prism/model/network.h"

#include <algorithm>
#include <set>

#include "prism/core/error.h"

namespace prism {

TapSet& TapSet::on(const std::string& layer, Fn fn) {
  taps_[layer].push_back(std::move(fn));
  return *this;
}

TapSet& TapSet::capture(const std::string& layer, torch::Tensor* into) {
  return on(layer, [into](const torch::Tensor& x) {
    *into = x;
    return x;
  });
}

TapSet& TapSet::replace(const std::string& layer, torch::Tensor value) {
  return on(layer, [value](const torch::Tensor&) { return value; });
}

std::vector<std::string> TapSet::layers() const {
  std::vector<std::string> names;
  for (const auto& [name, fns] : taps_) names.push_back(name);
  return names;
}

torch::Tensor TapSet::apply(const std::string& layer, torch::Tensor activation) const {
  const auto found = taps_.find(layer);
  if (found == taps_.end()) return activation;
  for (const auto& fn : found->second) activation = fn(activation);
  return activation;
}

bool is_activation(const std::string& kind) {
  static const std::set<std::string> kinds = {"relu",  "relu6", "hardtanh", "leaky_relu",  "prelu", "elu",
                                              "selu",  "celu",  "silu",     "gelu",        "mish",  "softplus",
                                              "tanh",  "sigmoid", "hardsigmoid", "hardswish"};
  return kinds.count(kind) > 0;
}

std::vector<std::string> activation_layers(const Network& network) {
  std::vector<std::string> names;
  for (const auto& layer : network.layers())
    if (is_activation(layer.kind)) names.push_back(layer.name);
  return names;
}

const LayerInfo& last_linear_layer_info(const Network& network) {
  const auto& layers = network.layers();
  const auto last = std::find_if(layers.rbegin(), layers.rend(), [](const LayerInfo& l) { return l.kind == "linear"; });
  require(last != layers.rend(), "data attribution needs logits that are a linear layer's output (z = W φ + b), "
                                 "and this model has no linear layer (its classifier is convolutional)");
  return *last;
}

std::string penultimate_layer(const Network& network) {
  const auto& layers = network.layers();
  auto last_of = [&](const char* kind) {
    return std::find_if(layers.rbegin(), layers.rend(), [&](const LayerInfo& l) { return l.kind == kind; });
  };
  auto last = last_of("linear");
  if (last == layers.rend()) last = last_of("conv");  // a convolutional classifier (SqueezeNet's 1x1 conv)
  require(last != layers.rend(), "this model has no linear or conv layer, so no penultimate features; give the "
                                 "layer by name (see prism layers)");
  require(last->input() != "?" && !last->input().empty(),
          "the last " + last->kind + " layer '" + last->name + "' reads the network input directly, so the model "
          "has no penultimate features; give the layer by name (see prism layers)");
  return last->input();
}

void Network::check_input(const torch::Tensor& images) const {
  const auto& s = input_shape_;
  require(!s.empty(), "the model's input shape is not known; give --data so prism can read it off the samples");
  auto expected = s;
  expected.insert(expected.begin(), images.dim() > 0 ? images.size(0) : 1);
  if (images.sizes() != at::IntArrayRef(expected))
    throw Error("the model expects " + std::string(s.size() == 3 ? "images" : s.size() == 2 ? "sequences" : "rows") +
                " [B, " + shape_string(s).substr(1) + " but got " + shape_string(images.sizes()) +
                "; use data of the size the model was trained on");
}

void Network::check_taps(const TapSet& taps) const {
  for (const auto& name : taps.layers()) layer(name);
}

const LayerInfo& Network::layer(const std::string& name) const {
  for (const auto& info : layers_)
    if (info.name == name) return info;
  std::string names;
  for (const auto& info : layers_) names += (names.empty() ? "" : ", ") + info.name;
  throw Error("layer '" + name + "' not found; layers are: " + names);
}

std::vector<std::string> Network::layer_names() const {
  std::vector<std::string> names;
  for (const auto& info : layers_) names.push_back(info.name);
  return names;
}

torch::Tensor normalize(const torch::Tensor& images, const Normalization& norm) {
  if (norm.empty()) return images;
  const auto options = torch::TensorOptions().dtype(images.dtype()).device(images.device());
  return (images - along_channels(torch::tensor(norm.mean, options), images.dim())) /
         along_channels(torch::tensor(norm.std, options), images.dim());
}

// A model whose logits are NaN or infinite would give NaN explanations silently.
torch::Tensor check_finite_logits(torch::Tensor logits) {
  if (!logits.is_floating_point()) return logits;
  const auto finite = torch::isfinite(logits.detach());
  if (finite.all().item<bool>()) return logits;
  const auto rows = finite.reshape({logits.dim() > 0 ? logits.size(0) : 1, -1});
  const auto row = rows.all(1).logical_not().nonzero()[0][0].item<int64_t>();
  throw Error("the model's output for image " + std::to_string(row) +
              " of the batch is NaN or infinite; check the model's weights and that the data lie in its range");
}

torch::Tensor Network::forward(const torch::Tensor& images, const TapSet& taps) {
  check_input(images);
  check_taps(taps);
  return check_finite_logits(run(normalize(images, normalization_), taps, ""));
}

torch::Tensor Network::forward_from(const std::string& name, const torch::Tensor& activation, const TapSet& taps) {
  const auto& info = layer(name);
  require(info.cut, "the rest of the model cannot be run from layer '" + name +
                        "': other paths (a skip connection) bypass it; choose a layer between blocks");
  check_taps(taps);
  return check_finite_logits(run_from(name, activation, taps));
}

torch::Tensor Network::activation(const torch::Tensor& images, const std::string& name) {
  layer(name);
  check_input(images);
  torch::Tensor captured;
  TapSet taps;
  taps.capture(name, &captured);
  run(normalize(images, normalization_), taps, name);
  require(captured.defined(), "layer '" + name + "' was not reached in the forward pass (inside a branch?)");
  return captured;
}

int64_t Network::largest_activation_bytes(const torch::Tensor& images) {
  const auto shape = images.sizes().slice(1).vec();
  if (const auto known = largest_activation_bytes_.find(shape); known != largest_activation_bytes_.end())
    return known->second;
  torch::NoGradGuard no_grad;
  int64_t largest = 0;
  TapSet sizes;
  for (const auto& info : layers_)
    sizes.on(info.name, [&largest](const torch::Tensor& activation) {
      largest = std::max<int64_t>(largest, activation.numel() * static_cast<int64_t>(activation.element_size()));
      return activation;
    });
  forward(images.narrow(0, 0, 1), sizes);
  return largest_activation_bytes_[shape] = largest;
}

void set_metadata(Network& network, const std::vector<int64_t>& input_shape, int64_t num_classes,
                  std::vector<std::string> class_names, Normalization normalization) {
  require(input_shape.size() <= 3, "a model input shape must be [C, H, W], [C, T] or [F] (got " +
                                       shape_string(input_shape) + ")");
  network.input_shape_ = input_shape;
  network.num_classes_ = num_classes;
  if (class_names.empty())
    for (int64_t c = 0; c < num_classes; ++c) class_names.push_back(std::to_string(c));
  require(static_cast<int64_t>(class_names.size()) == num_classes,
          "the model has " + std::to_string(num_classes) + " outputs but " + std::to_string(class_names.size()) +
              " class names were given");
  network.class_names_ = std::move(class_names);
  if (!normalization.empty() && !input_shape.empty() &&
      static_cast<int64_t>(normalization.mean.size()) != input_shape[0])
    throw Error("normalisation has " + std::to_string(normalization.mean.size()) +
                " channels (or features) but the model input has " + std::to_string(input_shape[0]));
  network.normalization_ = std::move(normalization);
}

}  // namespace prism
