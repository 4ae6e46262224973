#include "prism/explain/concept/flint_interpreter.h"

#include <algorithm>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/explain/concept/flint_relevance.h"
#include "prism/io/npy.h"

namespace prism {
namespace {

bool is_map(const std::vector<int64_t>& shape) { return shape.size() == 3; }

std::vector<int64_t> to_shape(const nlohmann::json& value) { return value.get<std::vector<int64_t>>(); }

// The activations of `layers` for one blank image, to read their shapes.
std::vector<torch::Tensor> probe_layers(Network& network, const std::vector<std::string>& layers) {
  network.set_training(false);
  torch::NoGradGuard no_grad;
  auto shape = network.input_shape();
  shape.insert(shape.begin(), 1);
  const auto blank = torch::zeros(shape).to(network.device());
  return forward_with_layers(network, blank, layers).second;
}

}  // namespace

nlohmann::json FlintArchitecture::to_json() const {
  return {{"layers", layers},         {"layer_shapes", layer_shapes}, {"input_shape", input_shape},
          {"num_classes", num_classes}, {"attributes", attributes},   {"psi_channels", psi_channels},
          {"psi_grid", psi_grid},     {"head_dropout", head_dropout}};
}

FlintArchitecture FlintArchitecture::from_json(const nlohmann::json& record) {
  FlintArchitecture a;
  try {
    a.layers = record.at("layers").get<std::vector<std::string>>();
    for (const auto& shape : record.at("layer_shapes")) a.layer_shapes.push_back(to_shape(shape));
    a.input_shape = to_shape(record.at("input_shape"));
    a.num_classes = record.at("num_classes").get<int64_t>();
    a.attributes = record.at("attributes").get<int64_t>();
    a.psi_channels = record.at("psi_channels").get<int64_t>();
    a.psi_grid = record.at("psi_grid").get<int64_t>();
    a.head_dropout = record.at("head_dropout").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("the FLINT architecture record is corrupt (") + e.what() + ")");
  }
  auto positive = [](const std::vector<int64_t>& shape, size_t lowest_rank, size_t highest_rank) {
    return shape.size() >= lowest_rank && shape.size() <= highest_rank &&
           std::all_of(shape.begin(), shape.end(), [](int64_t s) { return s >= 1 && s <= (1 << 20); });
  };
  bool valid = !a.layers.empty() && a.layers.size() == a.layer_shapes.size() && positive(a.input_shape, 1, 3) &&
               a.num_classes >= 2 && a.attributes >= 2 && a.attributes <= 4096 && a.psi_channels >= 1 &&
               a.psi_channels <= 4096 && a.psi_grid >= 1 && a.psi_grid <= 64 && a.head_dropout >= 0 &&
               a.head_dropout < 1;
  for (const auto& shape : a.layer_shapes) valid = valid && positive(shape, 1, 3) && shape.size() != 2;
  require(valid, "the FLINT architecture record has impossible values; re-run prism flint train or posthoc");
  return a;
}

std::pair<torch::Tensor, std::vector<torch::Tensor>> forward_with_layers(Network& network, const torch::Tensor& images,
                                                                         const std::vector<std::string>& layers) {
  std::vector<torch::Tensor> hidden(layers.size());
  TapSet taps;
  for (size_t i = 0; i < layers.size(); ++i) taps.capture(layers[i], &hidden[i]);
  auto logits = network.forward(images, taps);
  return {logits, hidden};
}

std::vector<std::string> default_flint_layers(Network& network) {
  std::vector<std::string> relus;
  for (const auto& layer : network.layers())
    if (is_activation(layer.kind)) relus.push_back(layer.name);
  require(!relus.empty(), "the model has no activation layer to read FLINT's attributes from; give FLINT's layers");
  const auto hidden = probe_layers(network, relus);
  for (size_t i = relus.size(); i-- > 0;)
    if (hidden[i].dim() == 4) return {relus[i]};
  return {relus.back()};
}

FlintArchitecture describe_flint_layers(Network& network, const std::vector<std::string>& layers,
                                        int64_t attributes) {
  require(attributes >= 2, "FLINT needs at least 2 attributes (got attributes = " + std::to_string(attributes) + ")");
  require(!layers.empty(), "FLINT needs at least one hidden layer of the model (layers)");
  for (const auto& name : layers) network.layer(name);  // an unknown name lists the valid ones
  FlintArchitecture a;
  a.layers = layers;
  a.input_shape = network.input_shape();
  a.num_classes = network.num_classes();
  a.attributes = attributes;
  const auto hidden = probe_layers(network, layers);
  std::string found;
  bool fits = true;
  for (size_t i = 0; i < layers.size(); ++i) {
    found += (found.empty() ? "" : ", ") + layers[i] + " " + shape_string(hidden[i].sizes());
    fits = fits && (hidden[i].dim() == 2 || hidden[i].dim() == 4);
    a.layer_shapes.push_back(hidden[i].sizes().slice(1).vec());
  }
  require(fits, "FLINT's attribute network reads [B, C, H, W] maps or [B, D] vectors, but the layers give " + found +
                    "; choose other layers (prism layers MODEL lists them)");
  return a;
}

FlintInterpreterImpl::FlintInterpreterImpl(FlintArchitecture architecture) : architecture_(std::move(architecture)) {
  const auto& a = architecture_;
  int64_t map_channels = 0, vector_size = 0;
  grid_h_ = grid_w_ = a.psi_grid;
  for (const auto& shape : a.layer_shapes) {
    if (is_map(shape)) {
      map_channels += shape[0];
      grid_h_ = std::min(grid_h_, shape[1]);
      grid_w_ = std::min(grid_w_, shape[2]);
    } else {
      vector_size += shape[0];
    }
  }
  int64_t psi_features = vector_size;
  if (map_channels > 0) {
    psi_conv_ = register_module(
        "psi_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(map_channels, a.psi_channels, 3).padding(1)));
    const bool pool = grid_h_ >= 2 && grid_w_ >= 2;
    psi_features += a.psi_channels * (pool ? (grid_h_ / 2) * (grid_w_ / 2) : grid_h_ * grid_w_);
  }
  psi_linear_ = register_module("psi_linear", torch::nn::Linear(psi_features, a.attributes));
  head_dropout_ = register_module("head_dropout", torch::nn::Dropout(a.head_dropout));
  head_ = register_module("head", torch::nn::Linear(a.attributes, a.num_classes));
  if (a.input_shape.size() != 3) {  // table rows and sequences: a two-layer MLP back to the standardised values
    int64_t values = 1;
    for (const auto size : a.input_shape) values *= size;
    decoder_linear_ = register_module("decoder_linear", torch::nn::Linear(a.attributes, kTableDecoderWidth));
    decoder_out_ = register_module("decoder_out", torch::nn::Linear(kTableDecoderWidth, values));
    return;
  }
  decoder_h_ = (a.input_shape[1] + 3) / 4;
  decoder_w_ = (a.input_shape[2] + 3) / 4;
  decoder_linear_ = register_module("decoder_linear", torch::nn::Linear(a.attributes, 32 * decoder_h_ * decoder_w_));
  decoder_up1_ = register_module(
      "decoder_up1", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(32, 16, 4).stride(2).padding(1)));
  decoder_up2_ = register_module(
      "decoder_up2",
      torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(16, a.input_shape[0], 4).stride(2).padding(1)));
}

torch::Tensor FlintInterpreterImpl::attributes(const std::vector<torch::Tensor>& hidden) {
  const auto& a = architecture_;
  require(hidden.size() == a.layers.size(), "FLINT's attribute network expects " + std::to_string(a.layers.size()) +
                                                " hidden layers, got " + std::to_string(hidden.size()));
  std::vector<torch::Tensor> maps, features;
  for (size_t i = 0; i < hidden.size(); ++i) {
    const auto& expected = a.layer_shapes[i];
    require(hidden[i].sizes().slice(1).vec() == expected,
            "layer " + a.layers[i] + " gives " + shape_string(hidden[i].sizes()) + " but the interpreter was built for " +
                shape_string(expected) + " per sample; use the model the FLINT folder was made with");
    if (is_map(expected))
      maps.push_back(torch::adaptive_avg_pool2d(hidden[i], {grid_h_, grid_w_}));
    else
      features.push_back(hidden[i]);
  }
  if (!maps.empty()) {
    auto x = torch::relu(psi_conv_(torch::cat(maps, 1)));
    if (grid_h_ >= 2 && grid_w_ >= 2) x = torch::max_pool2d(x, 2);
    features.insert(features.begin(), x.flatten(1));
  }
  return torch::relu(psi_linear_(torch::cat(features, 1)));
}

torch::Tensor FlintInterpreterImpl::classify(const torch::Tensor& phi) { return head_(head_dropout_(phi)); }

torch::Tensor FlintInterpreterImpl::decode(const torch::Tensor& phi) {
  if (decoder_out_) {
    std::vector<int64_t> shape = {phi.size(0)};
    shape.insert(shape.end(), architecture_.input_shape.begin(), architecture_.input_shape.end());
    return decoder_out_(torch::relu(decoder_linear_(phi))).view(shape);
  }
  auto x = torch::relu(decoder_linear_(phi)).view({phi.size(0), 32, decoder_h_, decoder_w_});
  x = decoder_up2_(torch::relu(decoder_up1_(x)));
  // 4·⌈H/4⌉ ≥ H: crop the surplus rows and columns.
  x = x.narrow(2, 0, architecture_.input_shape[1]).narrow(3, 0, architecture_.input_shape[2]);
  return torch::sigmoid(x);
}

torch::Tensor FlintInterpreterImpl::decoder_target(const torch::Tensor& inputs, const Normalization& normalization) const {
  return inputs.dim() != 4 ? normalize(inputs, normalization) : inputs;
}

void FlintInterpreterImpl::save(const std::filesystem::path& dir) {
  make_directory(dir);
  for (const auto& item : named_parameters()) write_npy(dir / (item.key() + ".npy"), item.value().detach().cpu());
}

void FlintInterpreterImpl::load(const std::filesystem::path& dir) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const auto path = dir / (item.key() + ".npy");
    require(std::filesystem::exists(path), "the FLINT folder lacks " + path.string() +
                                               "; its training did not finish: re-run prism flint train or posthoc");
    const auto value = read_npy(path);
    require(value.sizes() == item.value().sizes() && value.is_floating_point(),
            path.string() + " holds " + shape_string(value.sizes()) + " but the interpreter needs " +
                shape_string(item.value().sizes()) + "; the FLINT folder is corrupt: re-run its training");
    require(torch::isfinite(value).all().item<bool>(),
            path.string() + " holds NaN or Inf weights; re-run the FLINT training (lower --lr)");
    item.value().copy_(value);
  }
}

FlintOutputs run_flint(Network& network, FlintInterpreter& interpreter, const torch::Tensor& images,
                       int64_t batch_size) {
  network.set_training(false);
  interpreter->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> f_logits, g_logits, phis;
  for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const auto batch = images.narrow(0, begin, std::min(batch_size, images.size(0) - begin)).to(network.device());
    const auto [logits, hidden] = forward_with_layers(network, batch, interpreter->architecture().layers);
    const auto phi = interpreter->attributes(hidden);
    f_logits.push_back(logits.cpu());
    g_logits.push_back(interpreter->classify(phi).cpu());
    phis.push_back(phi.cpu());
  }
  FlintOutputs out{torch::cat(f_logits), torch::cat(g_logits), torch::cat(phis), {}};
  out.relevance = local_relevance(out.attributes, interpreter->head_weight().detach().cpu(), out.predictor_logits.argmax(1));
  return out;
}

}  // namespace prism
