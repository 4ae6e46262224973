#include "prism/model/network.h"

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

std::string shape_string(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

void Network::check_input(const torch::Tensor& images) const {
  const auto& s = input_shape_;
  const bool ok = images.dim() == 4 && images.size(1) == s[0] && images.size(2) == s[1] && images.size(3) == s[2];
  if (!ok)
    throw Error("the model expects images [B, " + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " +
                  std::to_string(s[2]) + "] but got " + shape_string(images.sizes()) +
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
  const auto shape = std::vector<int64_t>{1, static_cast<int64_t>(norm.mean.size()), 1, 1};
  const auto options = torch::TensorOptions().dtype(images.dtype()).device(images.device());
  return (images - torch::tensor(norm.mean, options).view(shape)) / torch::tensor(norm.std, options).view(shape);
}

torch::Tensor Network::forward(const torch::Tensor& images, const TapSet& taps) {
  check_input(images);
  check_taps(taps);
  return run(normalize(images, normalization_), taps, "");
}

torch::Tensor Network::forward_from(const std::string& name, const torch::Tensor& activation, const TapSet& taps) {
  const auto& info = layer(name);
  require(info.cut, "the rest of the model cannot be run from layer '" + name +
                        "': other paths (a skip connection) bypass it; choose a layer between blocks");
  check_taps(taps);
  return run_from(name, activation, taps);
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

void set_metadata(Network& network, const std::vector<int64_t>& input_shape, int64_t num_classes,
                  std::vector<std::string> class_names, Normalization normalization) {
  require(input_shape.size() == 3, "a model input shape must be [C, H, W]");
  network.input_shape_ = input_shape;
  network.num_classes_ = num_classes;
  if (class_names.empty())
    for (int64_t c = 0; c < num_classes; ++c) class_names.push_back(std::to_string(c));
  require(static_cast<int64_t>(class_names.size()) == num_classes,
          "the model has " + std::to_string(num_classes) + " outputs but " + std::to_string(class_names.size()) +
              " class names were given");
  network.class_names_ = std::move(class_names);
  require(normalization.empty() || static_cast<int64_t>(normalization.mean.size()) == input_shape[0],
          "normalisation has " + std::to_string(normalization.mean.size()) + " channels but the model input has " +
              std::to_string(input_shape[0]));
  network.normalization_ = std::move(normalization);
}

}  // namespace prism
