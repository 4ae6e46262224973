#include "prism/explain/data/last_layer.h"

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"
#include "prism/model/inference.h"

#include <optional>

namespace prism {

LastLayer last_linear_layer(Network& network) {
  const auto& info = last_linear_layer_info(network);
  const auto parameters = network.layer_parameters(info.name);
  require(parameters && parameters->kind == "linear" && info.input() != "?",
          "data attribution needs the weights and the input of the final linear layer '" + info.name +
              "', and this model's graph does not expose them (weights computed in forward?)");
  LastLayer layer{info.name, info.input(), parameters->weight.detach().to(torch::kCPU, torch::kFloat32), {}};
  if (parameters->bias.defined()) layer.bias = parameters->bias.detach().to(torch::kCPU, torch::kFloat32);
  return layer;
}

torch::Tensor penultimate_features(Network& network, const LastLayer& layer, const torch::Tensor& images,
                                   const std::string& label, int64_t batch_size) {
  network.set_training(false);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  bool bf16 = false;  // whether the features may come from bf16 passes
  std::optional<Progress> progress;
  if (!label.empty()) progress.emplace(label, images.size(0));
  if (layer.input.empty()) {  // the last linear layer reads the normalised images
    parts.push_back(normalize(images, network.normalization()).flatten(1).to(torch::kFloat32));
  } else {
    // Over MPI ranks each computes a share of whole batches (compiled as one process over all would be) and every
    // rank receives all the rows.
    const auto mine = ranks::share(images.size(0), batch_size);
    InferenceOptions inference;
    inference.batch_size = batch_size;
    inference.pass_images = images.size(0);
    InferencePass(network, {layer.input}, inference)
        .for_each_batch(images.narrow(0, mine.begin, mine.size()),
                        [&](int64_t, const std::vector<torch::Tensor>& activations) {
                          parts.push_back(activations[0].flatten(1).to(torch::kFloat32));
                          if (progress) progress->advance(activations[0].size(0) * ranks::count());
                        });
    // Asked for, not what this rank's pass ran: the rows come from every rank (one with no share runs no pass).
    bf16 = inference.precision == Precision::kBFloat16;
  }
  if (progress) progress->finish();
  auto features = parts.empty() ? torch::empty({0, layer.weight.size(1)}) : torch::cat(parts);
  if (!layer.input.empty()) features = ranks::all_gather_rows(features);
  require(features.size(1) == layer.weight.size(1),
          "the input of layer '" + layer.name + "' has " + std::to_string(features.size(1)) + " features but its weight expects " +
              std::to_string(layer.weight.size(1)));
  const auto finite = torch::isfinite(features).all(1);
  if (!finite.all().item<bool>())
    throw Error("the features of sample " + std::to_string(finite.logical_not().nonzero()[0][0].item<int64_t>()) +
                " at the input of layer '" + layer.name + "' contain NaN or infinite values; check the model's weights");
  if (images.size(0) > 0) {
    // The surrogate rests on z = W φ + b reproducing the network's logits: check it on the first images.
    const int64_t check = std::min<int64_t>(images.size(0), 8);
    const auto logits = network.forward(images.narrow(0, 0, check).to(network.device())).to(torch::kCPU);
    const auto rebuilt = last_layer_logits(layer, features.narrow(0, 0, check));
    // bf16 features rebuild the float32 logits to bf16's error only.
    const bool rebuilds = bf16 ? within_bf16_error(rebuilt, logits)
                               : torch::allclose(rebuilt, logits, 1e-3, 1e-3 * (1 + logits.abs().max().item<double>()));
    require(rebuilds,
            "the final layer '" + layer.name + "' applied to its input does not give the model's output; "
            "data attribution needs the logits to be that linear layer's output (z = W φ + b), and this model "
            "transforms them further");
  }
  return features;
}

torch::Tensor last_layer_logits(const LastLayer& layer, const torch::Tensor& features) {
  auto z = features.matmul(layer.weight.t());
  return layer.bias.defined() ? z + layer.bias : z;
}

torch::Tensor with_constant_feature(const torch::Tensor& features) {
  return torch::cat({features, torch::ones({features.size(0), 1}, features.options())}, 1);
}

torch::Tensor logit_gradients(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::softmax(logits.to(torch::kFloat64), 1) -
         torch::one_hot(targets, logits.size(1)).to(torch::kFloat64);
}

}  // namespace prism
