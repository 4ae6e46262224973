// Grad-CAM (Selvaraju et al. 2017, Eqs. 1–2): at a layer with feature maps A^k [K, h, w],
// α_k = mean_ij ∂f_c/∂A^k_ij and the map ReLU(Σ_k α_k A^k), bilinearly upsampled to the input size and
// repeated over the input channels.
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct GradCamOptions {
  std::string layer;  // empty: the last conv/ReLU/module output that is a feature map larger than 1×1
  bool relu = true;   // Eq. 2's ReLU; off gives the signed map

  template <typename Visit>
  void visit(Visit&& option) {
    option("layer", layer, "layer whose feature maps are weighted (empty: the last feature map larger than 1x1)");
    option("relu", relu, "the ReLU of Eq. 2 (false: the signed map)");
  }
};

class GradCam : public FeatureAttributor {
 public:
  explicit GradCam(GradCamOptions options = {}) : options_(std::move(options)) {}
  std::string name() const override { return "grad-cam"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }

  // The default layer for `network` (needs one forward pass to see output shapes).
  static std::string default_layer(Network& network);

 private:
  GradCamOptions options_;
};

}  // namespace prism
