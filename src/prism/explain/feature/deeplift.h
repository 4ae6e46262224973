// DeepLIFT with the Rescale rule (Shrikumar, Greenside, Kundaje 2017, §3.3, §3.5.1) and DeepLIFT-SHAP (Lundberg and
// Lee 2017, §4.2: DeepLIFT averaged over a set of baselines). At every element-wise activation y = g(x) the
// multiplier Δy/Δx = (g(x) − g(x')) / (x − x') of the difference from the baseline x' replaces g'(x) (g'(x) where
// |x − x'| < 1e-7); linear ops keep their gradient, which is their multiplier, and the chain rule of multipliers
// (Eq. 3) gives m_x, so the map (x − x') ⊙ m_x sums to f_c(x) − f_c(x') (summation-to-delta, Eq. 1) for networks of
// linear ops (conv, linear, batch norm, additions, average pooling) and element-wise activations. Max pooling and
// products of activations pass the plain gradient (Captum treats max pooling apart), and the per-sample
// completeness_error |Σ map − (f_c(x) − f_c(x'))| shows what that costs.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct DeepLiftOptions {
  std::string baseline = "zeros";  // zeros | mean | blur | FILE.npy (as integrated gradients)
  double blur_sigma = 5.0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("baseline", baseline, "zeros, mean (the training data's per-channel mean), blur, or FILE.npy");
    option("blur_sigma", blur_sigma, "sigma of the blurred baseline, pixels");
  }
};

class DeepLift : public FeatureAttributor {
 public:
  explicit DeepLift(DeepLiftOptions options = {}) : options_(std::move(options)) {}
  std::string name() const override { return "deeplift"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    return explain(network, inputs, targets).maps;
  }
  // With completeness_error per sample.
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }

 private:
  DeepLiftOptions options_;
};

// The baseline set of the SHAP methods (make_baseline_set).
struct BaselineSetOptions {
  std::string baselines = "uniform";  // uniform (seeded U[0, 1] images) | FILE.npy holding [K, C, H, W]
  int64_t count = 10;                 // uniform baselines drawn
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("baselines", baselines, "uniform (seeded uniform-noise images) or FILE.npy of [K, C, H, W] baselines");
    option("count", count, "uniform baselines drawn");
    option("seed", seed, "seed of the uniform baselines (and of the method's draws)");
  }
};
using DeepLiftShapOptions = BaselineSetOptions;

class DeepLiftShap : public FeatureAttributor {
 public:
  explicit DeepLiftShap(DeepLiftShapOptions options = {}) : options_(std::move(options)) {}
  std::string name() const override { return "deeplift-shap"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    return explain(network, inputs, targets).maps;
  }
  // With completeness_error per sample: |Σ map − (f_c(x) − mean_k f_c(x'_k))|.
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }

 private:
  DeepLiftShapOptions options_;
};

// The baselines of the SHAP methods, [K, C, H, W] for images shaped like `inputs`: `count` seeded uniform images
// ("uniform") or the arrays of a .npy file ([K, C, H, W], or one [C, H, W]).
torch::Tensor make_baseline_set(const torch::Tensor& inputs, const std::string& kind, int64_t count, uint64_t seed);

// DeepLIFT (Rescale) of `targets` at `inputs` against `baseline` (shaped as the inputs), with f_c(x) and f_c(x').
struct DeepLiftResult {
  torch::Tensor maps, scores, baseline_scores;
};
DeepLiftResult deeplift_rescale(Network& network, const torch::Tensor& inputs, const torch::Tensor& baseline,
                                const torch::Tensor& targets);

}  // namespace prism
