// Influence functions (Koh & Liang, "Understanding Black-box Predictions via Influence Functions", ICML 2017),
// exact on the last layer θ = (W, b): a_i = ∇_θ L(x)ᵀ (H + λI)⁻¹ ∇_θ L(x_i), H the Hessian of the mean training
// loss. This is minus Koh & Liang's I_up,loss: positive when up-weighting x_i lowers the test loss (a
// proponent). The per-sample gradient is ∂L/∂z ⊗ φ̃ (φ̃ = [φ, 1]) and H = (1/N) Σ_i (diag p_i − p_i p_iᵀ) ⊗ φ̃_i φ̃_iᵀ.
// With `layers`, θ is those layers' parameters: (H + λI)⁻¹ ∇L(x) by conjugate gradients on Hessian-vector
// products over the training set (kept in the fit), then dotted with every training sample's gradient.
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

struct InfluenceOptions {
  double damping = 1e-3;  // λ added to the Hessian's diagonal
  std::vector<std::string> layers;  // parameters of these layers (conjugate gradients); empty: exact last layer
  int64_t cg_iterations = 100;
  double cg_tolerance = 1e-5;  // relative residual

  template <typename Visit>
  void visit(Visit&& option) {
    option("damping", damping, "added to the Hessian's diagonal");
    option("layers", layers, "use these layers' parameters, conjugate gradients (empty: the exact last layer)");
    option("cg_iterations", cg_iterations, "conjugate-gradient iterations");
    option("cg_tolerance", cg_tolerance, "conjugate gradients' relative residual");
  }
};

class InfluenceFunctions : public DataAttributor {
 public:
  explicit InfluenceFunctions(InfluenceOptions options = {});
  std::string name() const override { return "influence"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override {
    return train_labels_.defined() ? train_labels_.size(0) : features_.defined() ? features_.size(0) : 0;
  }

  // The damped Hessian (H + λI) of the mean loss over the last layer's parameters, ordered (class, feature).
  static torch::Tensor last_layer_hessian(const torch::Tensor& features, const torch::Tensor& logits, double damping);

 private:
  InfluenceOptions options_;
  torch::Tensor features_;         // φ̃ [N, d̃]
  torch::Tensor gradients_;        // ∂L/∂z [N, K]
  torch::Tensor inverse_hessian_;  // [K·d̃, K·d̃]
  torch::Tensor self_;             // [N]
  torch::Tensor train_images_, train_labels_;  // with `layers`
  torch::Tensor attribute_layers(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets);
  bool bias_ = true;
};

}  // namespace prism
