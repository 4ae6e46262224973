// Removing pixels in the order an attribution map ranks them — the step shared by pixel perturbation
// (Samek et al. 2017) and ROAR / KAR (Hooker et al. 2019). A pixel is removed in all its channels at once.
#pragma once
#include <torch/torch.h>

#include <string>

#include "prism/model/network.h"

namespace prism {

// Pixel positions (flat, y·W + x), most relevant first: [B, H·W] from collapsed maps [B, H, W].
// Ties keep the earlier position first.
torch::Tensor rank_pixels(const torch::Tensor& maps);

// What a removed pixel becomes, per image [B, C, H, W]: "mean" (the per-channel data mean the model
// records), "zero", "blur" (Gaussian, σ = 2 px, of the image itself) or "noise" (uniform in [0, 1], seeded).
torch::Tensor fill_values(const Network& network, const torch::Tensor& images, const std::string& fill, uint64_t seed);

// `images` with the `count` pixels ranked first (from_top) or last replaced by `fill` [B, C, H, W].
torch::Tensor remove_pixels(const torch::Tensor& images, const torch::Tensor& ranking, int64_t count,
                            const torch::Tensor& fill, bool from_top);

}  // namespace prism
