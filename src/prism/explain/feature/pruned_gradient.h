// Input-specific pruning, "pruned gradient" (Khakzar et al., arXiv 1911.11081, §3; the "pathway
// gradient" of their CVPR 2021 paper). For one input x and target c:
//   1. score every neuron (element of every ReLU output, per call) by |a_i · ∂f_c/∂a_i| (first-order
//      Taylor); the integrated variant averages ∂f_c/∂a_i over the path α·x, α ∈ (0, 1] (as IG);
//      on models with other element-wise activations (ReLU6, SiLU, GELU, hardswish, sigmoid gates) their
//      outputs are the neurons, scored and pruned the same way (the paper uses ReLU networks only);
//   2. prune the share p of the lowest-scored neurons of all layers together (one global threshold
//      per input; ties at the threshold are pruned with it);
//   3. the attribution is the input gradient of the pruned network, ∂f̃_c/∂x, masks held fixed.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct PrunedGradientOptions {
  double sparsity = 85;     // percentage of neurons pruned, in [0, 100)
  bool integrated = false;  // score with path-averaged gradients
  int64_t steps = 20;       // path points of the integrated variant (Riemann middle)

  template <typename Visit>
  void visit(Visit&& option) {
    option("sparsity", sparsity, "percentage of neurons pruned, in [0, 100)");
    option("integrated", integrated, "score the neurons with path-averaged gradients");
    option("steps", steps, "path points of the integrated scores");
  }
};

class PrunedGradient : public FeatureAttributor {
 public:
  explicit PrunedGradient(PrunedGradientOptions options = {});
  std::string name() const override { return "pruned-gradient"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    return explain(network, inputs, targets).maps;
  }
  // With the masks of every activation layer and the pruned_share per sample.
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;
  std::string ranking() const override { return "magnitude"; }

 private:
  PrunedGradientOptions options_;
};

}  // namespace prism
