// Layer-wise relevance propagation (Bach et al. 2015; rules and composites as in Montavon et al.,
// "Layer-Wise Relevance Propagation: An Overview", 2019, §10.2 Eqs. 1–3, and zennit). Relevance starts
// as f_c(x) at the target logit and flows back layer by layer, R_j = Σ_k a_j ρ(w_jk) / (ε + Σ_j a_j ρ(w_jk)) R_k:
//   ε-rule          ρ(w) = w, a stabiliser ε · sign(z)
//   z⁺-rule         the positive contributions w⁺a⁺ + w⁻a⁻ (ρ(w) = w⁺ after a ReLU), bias ignored
//   γ-rule          ρ(w) = w + γ w⁺
//   α β-rule        R_j = a_j (α w⁺ R / z⁺ − β w⁻ R / z⁻), α − β = 1
//   z^B-rule        the input layer, pixels bounded in [l, h] (the normalised images of 0 and 1)
// ReLU, pooling, flattening pass relevance on (max-pooling to the winner, averaging proportionally);
// residual additions split it in proportion to the two summands; BatchNorm is merged into the conv before
// it. Implemented by rewriting each weighted layer's output y as z · (y / z).detach(), z the rule's
// pre-activation, so one backward pass computes all of it (Montavon et al. 2019, §10.2.2).
// Conservation: Σ R_input = f_c(x) less what biases and ε absorb; its error is reported.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct LrpOptions {
  // epsilon | epsilon-plus | epsilon-plus-box (default) | epsilon-gamma-box | epsilon-alpha-beta:
  // ε-rule on dense layers; on conv layers ε, z⁺, z⁺, γ, α β; on the input layer z^B for the *-box ones.
  std::string composite = "epsilon-plus-box";
  double epsilon = 1e-6;
  double gamma = 0.25;
  double alpha = 2.0;  // β = α − 1

  template <typename Visit>
  void visit(Visit&& option) {
    option("composite", composite, "epsilon, epsilon-plus, epsilon-plus-box, epsilon-gamma-box or epsilon-alpha-beta");
    option("epsilon", epsilon, "stabiliser of the epsilon rule");
    option("gamma", gamma, "gamma of the gamma rule");
    option("alpha", alpha, "alpha of the alpha-beta rule (beta = alpha - 1)");
  }
};

class Lrp : public FeatureAttributor {
 public:
  explicit Lrp(LrpOptions options = {});
  std::string name() const override { return "lrp"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    return explain(network, inputs, targets).maps;
  }
  // With conservation_error per sample: |Σ relevance − the relevance put on the start|.
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;
  // Relevance `relevance` [B, ...] placed on the output of `layer` instead of a logit, propagated to the
  // input with the same rules (the XDA coupling of DualView). Relevance on zero activations is dropped.
  torch::Tensor attribute_from_layer(Network& network, const torch::Tensor& inputs, const std::string& layer,
                                     const torch::Tensor& relevance);
 private:
  Attribution propagate(Network& network, const torch::Tensor& inputs, const std::string& start_layer,
                        const torch::Tensor& start);
  LrpOptions options_;
};

}  // namespace prism
