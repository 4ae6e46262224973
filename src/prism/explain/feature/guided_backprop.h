// Guided backpropagation (Springenberg et al. 2015, §3.4, Fig. 1): the input gradient with every element-wise
// activation letting back only positive gradients, R^l = 1[f^l > 0] · 1[R^{l+1} > 0] · R^{l+1} at a ReLU. The
// paper's networks have ReLUs only; here the positive part is taken at the output of every element-wise activation
// (ReLU6, SiLU, GELU, ... pass on their own derivative), where Captum's version leaves non-ReLU modules alone.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

class GuidedBackprop : public FeatureAttributor {
 public:
  std::string name() const override { return "guided-backprop"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return nlohmann::json::object(); }
  std::string ranking() const override { return "magnitude"; }
};

}  // namespace prism
