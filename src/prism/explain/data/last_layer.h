// The network's final linear layer, z = W φ + b, and what the data attributors compute from it: the
// penultimate features φ (the layer's input) and the gradient of the cross-entropy loss with respect to z.
#pragma once
#include <torch/torch.h>

#include <string>

#include "prism/model/network.h"

namespace prism {

struct LastLayer {
  std::string name, input;  // the linear layer, and the layer whose output it reads
  torch::Tensor weight;     // [K, d]
  torch::Tensor bias;       // [K], or undefined
};

// The final layer, which must be linear with a known input and produce the logits; otherwise a clear error
// that says what the data attributors need.
LastLayer last_linear_layer(Network& network);

// φ(x) [N, d] float32 for `images`, in evaluation mode, without autograd, batch by batch (with progress when
// `label` is not empty).
torch::Tensor penultimate_features(Network& network, const LastLayer& layer, const torch::Tensor& images,
                                   const std::string& label = "", int64_t batch_size = 256);

// z = W φ + b.
torch::Tensor last_layer_logits(const LastLayer& layer, const torch::Tensor& features);

// [φ, 1]: the features with a constant column appended, so a bias becomes one more weight.
torch::Tensor with_constant_feature(const torch::Tensor& features);

// ∂L/∂z = softmax(z) − onehot(target) of the cross-entropy loss, per row [N, K].
torch::Tensor logit_gradients(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace prism
