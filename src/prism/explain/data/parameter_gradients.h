// Gradients over chosen layers' parameters, for the data attributors that go beyond the last layer:
// per-example gradients ∇_θ L(x_i, y_i) by autograd, Hessian-vector products of the mean training loss by
// double backward (Pearlmutter 1994), and conjugate gradients to apply (H + λI)⁻¹ (Koh & Liang 2017, §3).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

// The weight and bias of each named layer (conv, linear or batchnorm), as the network's own tensors.
std::vector<torch::Tensor> layer_parameter_tensors(Network& network, const std::vector<std::string>& layers);

// ∇_θ L(x_b, y_b) of the cross-entropy loss, one row per sample, flattened over `parameters`: [B, P].
torch::Tensor per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                    const torch::Tensor& images, const torch::Tensor& labels);

// (H + λI) v, H the Hessian of the mean training loss over `parameters`, accumulated batch by batch.
torch::Tensor hessian_vector_product(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& v,
                                     double damping, int64_t batch_size = 1024);

// Solves A x = b for a symmetric positive definite A given as a function; stops at ‖r‖ ≤ tolerance·‖b‖.
torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& apply, const torch::Tensor& b,
                                 int64_t max_iterations, double tolerance);

}  // namespace prism
