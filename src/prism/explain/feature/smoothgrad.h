// SmoothGrad (Smilkov et al. 2017, Eq. 4): the mean input gradient over n noisy copies x + N(0, σ²),
// σ = noise_level · (max x − min x) per sample; for table rows [B, F] of a model that records its normalisation,
// σ_f = noise_level · (feature f's training standard deviation). Variants: squared (mean of squared gradients, Hooker et
// al. 2019's SG-SQ) and VarGrad (variance of the gradients, Adebayo et al. 2018).
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct SmoothGradOptions {
  int64_t samples = 50;
  double noise_level = 0.15;
  std::string variant = "mean";  // mean | squared | vargrad
  uint64_t seed = 0;
  int64_t internal_batch_size = 256;  // noisy copies per forward+backward pass

  template <typename Visit>
  void visit(Visit&& option) {
    option("samples", samples, "noisy copies per input");
    option("noise_level", noise_level,
           "noise sigma as a share of the input range (for table rows, of each feature's standard deviation)");
    option("variant", variant, "mean, squared or vargrad");
    option("seed", seed, "noise seed");
    option("internal_batch_size", internal_batch_size, "inputs per forward+backward pass (bounds memory)");
  }
};

class SmoothGrad : public FeatureAttributor {
 public:
  explicit SmoothGrad(SmoothGradOptions options = {});
  std::string name() const override { return "smoothgrad"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;
  std::string ranking() const override { return "magnitude"; }

 private:
  SmoothGradOptions options_;
};

}  // namespace prism
