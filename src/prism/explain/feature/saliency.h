// Saliency (Simonyan, Vedaldi, Zisserman 2014, Eq. 3): the input gradient ∂f_c/∂x, signed by default;
// `absolute` gives |∂f_c/∂x|, the form Captum's Saliency returns by default.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct SaliencyOptions {
  bool absolute = false;

  template <typename Visit>
  void visit(Visit&& option) {
    option("abs", absolute, "take |gradient| (Captum's abs=True)");
  }
};

class Saliency : public FeatureAttributor {
 public:
  explicit Saliency(SaliencyOptions options = {}) : options_(options) {}
  std::string name() const override { return "saliency"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }
  std::string ranking() const override { return "magnitude"; }

 private:
  SaliencyOptions options_;
};

}  // namespace prism
