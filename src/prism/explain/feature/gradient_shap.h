// GradientSHAP (Lundberg and Lee 2017; Captum's GradientShap, the expected gradients of Erion et al. 2021): the
// expectation over baselines x' from a set, α ~ U(0, 1) and input noise ε ~ N(0, σ²) of
//   ∂f_c(x' + α(x + ε − x'))/∂x ⊙ (x + ε − x'),
// estimated from `samples` draws per input; its sum approximates f_c(x) − E f_c(x') (exactly in expectation for
// a linear model). Defaults are Captum's (5 samples, no noise).
#pragma once
#include "prism/explain/feature/deeplift.h"

namespace prism {

struct GradientShapOptions : BaselineSetOptions {
  int64_t samples = 5;  // draws per input
  double stdev = 0.0;   // σ of the input noise

  template <typename Visit>
  void visit(Visit&& option) {
    BaselineSetOptions::visit(option);
    option("samples", samples, "draws of (baseline, alpha, noise) per input");
    option("stdev", stdev, "sigma of the Gaussian noise added to the input");
  }
};

class GradientShap : public FeatureAttributor {
 public:
  explicit GradientShap(GradientShapOptions options = {}) : options_(std::move(options)) {}
  std::string name() const override { return "gradient-shap"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }

 private:
  GradientShapOptions options_;
};

}  // namespace prism
