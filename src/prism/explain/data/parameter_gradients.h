// Gradients over chosen layers' parameters, for the data attributors that go beyond the last layer:
// per-example gradients ∇_θ L(x_i, y_i) by autograd, Hessian-vector products of the mean training loss by
// double backward (Pearlmutter 1994), and conjugate gradients to apply (H + λI)⁻¹ (Koh & Liang 2017, §3).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

// The weight and bias of each named layer (conv, linear or batchnorm), as the network's own tensors.
std::vector<torch::Tensor> layer_parameter_tensors(Network& network, const std::vector<std::string>& layers);

// The parameters of `layers`, or every parameter of the network where `layers` is empty, set to require grad.
std::vector<torch::Tensor> gradient_parameters(Network& network, const std::vector<std::string>& layers);

// A seeded count sketch S of P coordinates into k (Charikar, Chen, Farach-Colton 2002; Weinberger et al. 2009):
// coordinate j is added with a random sign s(j) to bucket h(j), so that E⟨Sg, Sg'⟩ = ⟨g, g'⟩; one pass over g and
// no projection matrix. The same seed and sizes give the same sketch.
class CountSketch {
 public:
  CountSketch(int64_t coordinates, int64_t k, uint64_t seed);
  // S rows [B, P] → [B, k].
  torch::Tensor apply(const torch::Tensor& rows) const;

 private:
  int64_t k_;
  torch::Tensor bucket_, sign_;
};

// Per-example loss gradients over `parameters` mapped by `project` ([b, P] → [b, D]), in chunks that bound the
// memory, with each gradient's exact squared norm.
struct SketchedGradients {
  torch::Tensor gradients;      // [B, D]
  torch::Tensor squared_norms;  // [B]
};
SketchedGradients projected_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                      const torch::Tensor& images, const torch::Tensor& labels,
                                      const std::function<torch::Tensor(const torch::Tensor&)>& project,
                                      const std::string& progress_label = "");
// The same, count-sketched to `projection_dim` coordinates (0: the exact gradients, [B, P]).
SketchedGradients sketched_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, int64_t projection_dim,
                                     uint64_t seed, const std::string& progress_label = "");

// ∇_θ L(x_b, y_b) of the cross-entropy loss, one row per sample, flattened over `parameters`: [B, P]. In one batched
// backward pass where every parameter is the weight or bias of a linear, 2-D conv (groups 1) or batchnorm layer that
// runs once (each layer's per-sample gradient from its input and its output's gradient); otherwise
// per_example_gradients_by_sample.
torch::Tensor per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                    const torch::Tensor& images, const torch::Tensor& labels);
// The batched pass alone; nullopt where it does not apply.
std::optional<torch::Tensor> batched_per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                                           const torch::Tensor& images, const torch::Tensor& labels);
// The same, one backward pass per sample (any parameters).
torch::Tensor per_example_gradients_by_sample(Network& network, const std::vector<torch::Tensor>& parameters,
                                              const torch::Tensor& images, const torch::Tensor& labels);

// (H + λI) v, H the Hessian of the mean training loss over `parameters`, accumulated batch by batch.
torch::Tensor hessian_vector_product(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& v,
                                     double damping, int64_t batch_size = 1024);

// Solves A x = b for a symmetric positive definite A given as a function; stops at ‖r‖ ≤ tolerance·‖b‖.
torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& apply, const torch::Tensor& b,
                                 int64_t max_iterations, double tolerance);

}  // namespace prism
