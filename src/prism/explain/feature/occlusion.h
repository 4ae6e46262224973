// Occlusion (Zeiler and Fergus 2014, §4.2): slide a patch of `fill` over the image; the drop of f_c
// when a patch is covered is credited to its pixels, averaged over the patches covering each pixel
// (as Captum's Occlusion). On table rows [B, F] each feature is covered alone (patch and stride are for images),
// as Captum's FeatureAblation does per feature. Occluded copies run `internal_batch_size` at a time, through one
// forward-only pass (compiled where it is large: model/inference.h).
#pragma once
#include "prism/explain/feature/attributor.h"
#include "prism/model/inference.h"

namespace prism {

struct OcclusionOptions {
  int64_t patch = 4;   // side of the square patch, pixels
  int64_t stride = 2;  // pixels between patch positions
  double fill = 0.0;   // value written into the patch (images are in [0, 1])
  int64_t internal_batch_size = 256;

  template <typename Visit>
  void visit(Visit&& option) {
    option("patch", patch, "side of the square patch, pixels");
    option("stride", stride, "pixels between patch positions");
    option("fill", fill, "value written into the patch");
    option("internal_batch_size", internal_batch_size, "occluded inputs per forward pass (bounds memory)");
  }
};

class Occlusion : public FeatureAttributor {
 public:
  explicit Occlusion(OcclusionOptions options = {});
  std::string name() const override { return "occlusion"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;

 private:
  InferencePass scoring_pass(Network& network, int64_t copies) const;
  torch::Tensor occlude_features(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets);
  OcclusionOptions options_;
};

}  // namespace prism
