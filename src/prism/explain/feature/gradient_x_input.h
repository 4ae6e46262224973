// Gradient × input (Shrikumar et al. 2016): x ⊙ ∂f_c/∂x.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

class GradientXInput : public FeatureAttributor {
 public:
  std::string name() const override { return "gradient-x-input"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return nlohmann::json::object(); }
};

}  // namespace prism
