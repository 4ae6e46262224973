// Removing pixels in the order an attribution map ranks them — the step shared by pixel perturbation
// (Samek et al. 2017) and ROAR / KAR (Hooker et al. 2019). A pixel is removed in all its channels at once.
#pragma once
#include <torch/torch.h>

#include <string>

#include "prism/explain/feature/attributor.h"
#include "prism/model/network.h"

namespace prism {

// Pixel positions (flat, y·W + x), most relevant first: [B, H·W] from collapsed maps [B, H, W] (or feature
// positions [B, F] from a table's maps [B, F]), by value (`ranking` "signed") or by |value| ("magnitude"). Ties
// keep the earlier position first.
torch::Tensor rank_pixels(const torch::Tensor& maps, const std::string& ranking = "signed");

// The ranking an evaluation uses for a method's maps: `choice` "signed" or "magnitude" for every method, or
// "method" for each method's own (FeatureAttributor::ranking(); by name, one prism does not know ranks signed).
std::string resolve_ranking(const std::string& choice, const FeatureAttributor& method);
std::string resolve_ranking(const std::string& choice, const std::string& method);

// What a removed pixel becomes, per image [B, C, H, W]: "mean" (the per-channel data mean the model
// records), "zero", "blur" (Gaussian, σ = 2 px, of the image itself) or "noise" (uniform in [0, 1], seeded).
torch::Tensor fill_values(const Network& network, const torch::Tensor& images, const std::string& fill, uint64_t seed);

// The `count` pixels ranked first (from_top) or last: [B, 1, H, W] (table rows: [B, F]), true where removed.
torch::Tensor removal_mask(const torch::Tensor& ranking, int64_t count, bool from_top, at::IntArrayRef image_shape);
// What removal ranks and removes: H·W pixels of images [B, C, H, W] (all channels at once), F features of rows [B, F].
int64_t removable_positions(at::IntArrayRef image_shape);

// `images` with the `count` pixels ranked first (from_top) or last replaced by `fill` [B, C, H, W].
torch::Tensor remove_pixels(const torch::Tensor& images, const torch::Tensor& ranking, int64_t count,
                            const torch::Tensor& fill, bool from_top);

// ROAD's noisy linear imputation (Rong et al. 2022, §4.2): the pixels marked in `removed` [B, 1, H, W] become the
// weighted mean of their eight neighbours (1/6 each direct, 1/12 each diagonal one, over the neighbours inside the
// image), all removed pixels solved at once with the kept ones fixed, plus N(0, noise²), seeded. The system
// (symmetric, positive definite where each hole touches a kept pixel) is solved by conjugate gradients per image and
// channel; a hole with no kept pixel around it becomes 0 plus the noise.
torch::Tensor impute_linear(const torch::Tensor& images, const torch::Tensor& removed, double noise, uint64_t seed);

}  // namespace prism
