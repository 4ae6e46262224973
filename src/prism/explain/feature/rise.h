// RISE (Petsiuk et al. 2018, Eq. 6): the target's score on the input times N random masks, averaged as a weight of
// each mask: S = (1 / (N p)) Σ_i f(x ⊙ M_i) M_i. A mask is a grid × grid binary grid (each cell kept with
// probability p), upsampled bilinearly to (grid + 1) cells of ⌈H / grid⌉ pixels and cropped at a random shift, so
// its edges are smooth. The score is the class probability, as in the paper ("logit" takes the logit). The
// paper's defaults: 4000 masks, a 7 × 7 grid, p = ½. The masks are the same for every input (seeded).
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct RiseOptions {
  int64_t masks = 4000;
  int64_t grid = 7;
  double keep = 0.5;                // p, the probability that a cell is kept
  std::string score = "probability";  // probability | logit
  uint64_t seed = 0;
  int64_t internal_batch_size = 256;

  template <typename Visit>
  void visit(Visit&& option) {
    option("masks", masks, "random masks N");
    option("grid", grid, "cells per side of a mask's grid");
    option("keep", keep, "probability that a cell is kept");
    option("score", score, "probability or logit of the target");
    option("seed", seed, "mask seed");
    option("internal_batch_size", internal_batch_size, "masked inputs per forward pass (bounds memory)");
  }
};

// Masks first .. first+count−1 of the seeded set, [count, H, W] in [0, 1].
torch::Tensor rise_masks(const RiseOptions& options, int64_t height, int64_t width, int64_t first, int64_t count);

class Rise : public FeatureAttributor {
 public:
  explicit Rise(RiseOptions options = {});
  std::string name() const override { return "rise"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override;

 private:
  RiseOptions options_;
};

}  // namespace prism
