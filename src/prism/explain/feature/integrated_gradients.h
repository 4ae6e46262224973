// Integrated gradients (Sundararajan, Taly, Yan 2017, Eq. 1 and its Riemann approximation, Eq. 3):
//   IG(x) = (x − x') ⊙ ∫₀¹ ∂f_c(x' + α(x − x'))/∂x dα ≈ (x − x') ⊙ Σ_k w_k ∂f_c(x' + α_k(x − x'))/∂x
// with Gauss–Legendre nodes α_k, weights w_k by default (as Captum), or Riemann left/right/middle/trapezoid.
// Completeness: Σ IG(x) = f_c(x) − f_c(x'); its error is reported per sample.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct IntegratedGradientsOptions {
  int64_t steps = 50;
  std::string integration = "gausslegendre";  // gausslegendre | riemann-left | riemann-right | riemann-middle | riemann-trapezoid
  std::string baseline = "zeros";             // zeros | mean (the model's per-channel data mean) | blur | FILE.npy
  double blur_sigma = 5.0;                    // pixels, for the blurred baseline
  int64_t internal_batch_size = 256;          // scaled inputs per forward+backward pass: bounds memory

  template <typename Visit>
  void visit(Visit&& option) {
    option("steps", steps, "points of the path integral");
    option("integration", integration, "quadrature: gausslegendre, riemann-left, riemann-right, riemann-middle, riemann-trapezoid");
    option("baseline", baseline, "zeros, mean (the training data's per-channel mean), blur, or FILE.npy");
    option("blur_sigma", blur_sigma, "sigma of the blurred baseline, pixels");
    option("internal_batch_size", internal_batch_size, "inputs per forward+backward pass (bounds memory)");
  }
};

// Nodes in [0, 1] and weights summing to 1 of the chosen rule with `steps` points.
std::pair<std::vector<double>, std::vector<double>> integration_rule(const std::string& rule, int64_t steps);

// The baseline x' for `inputs`: zeros, the per-channel mean, a Gaussian blur, or an array from a file
// (shape [C, H, W] or the inputs' shape).
torch::Tensor make_baseline(const Network& network, const torch::Tensor& inputs, const std::string& kind,
                            double blur_sigma);

class IntegratedGradients : public FeatureAttributor {
 public:
  explicit IntegratedGradients(IntegratedGradientsOptions options = {});
  std::string name() const override { return "integrated-gradients"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    return explain(network, inputs, targets).maps;
  }
  // With completeness_error per sample: |Σ map − (f(x) − f(x'))| (Sundararajan et al., Prop. 1).
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;

 private:
  IntegratedGradientsOptions options_;
};

// Σ_k w_k ∂f_c(x' + α_k(x − x'))/∂x for a batch, the path points run `internal_batch_size` at a time.
torch::Tensor path_averaged_gradient(Network& network, const torch::Tensor& inputs, const torch::Tensor& baseline,
                                     const torch::Tensor& targets, const std::vector<double>& alphas,
                                     const std::vector<double>& weights, int64_t internal_batch_size);

}  // namespace prism
