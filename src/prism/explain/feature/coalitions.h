// What the superpixel perturbation methods (feature ablation, KernelSHAP, LIME) share: the target's score on an
// image with some of its segments replaced by a baseline, segment values spread back onto the pixels, and the
// weighted linear fits of the surrogate methods.
#pragma once
#include <torch/torch.h>

#include "prism/model/inference.h"
#include "prism/model/network.h"

namespace prism {

// f_target on `image` [C, H, W] (or a table row [F]) with each coalition's segments kept and the others set to
// `baseline` (broadcast to the image): coalitions [N, M] (1 keeps segment m of `labels` [H, W] or [F]); scores [N],
// through `pass` (its logits), made `batch_size` copies at a time.
torch::Tensor coalition_scores(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                               const torch::Tensor& coalitions, const torch::Tensor& baseline, int64_t target,
                               int64_t batch_size);

// A map [C, H, W] (a sequence's [C, T]) holding values[m] / (C · |segment m|) on each entry of segment m, so that
// the map's sum over a segment is the segment's value (and the map's total, the values' sum); `channels` 0: a table
// row's labels [F] give a map [F].
torch::Tensor spread_over_segments(const torch::Tensor& values, const torch::Tensor& labels, int64_t channels);

struct LinearFit {
  torch::Tensor coefficients;  // [M]
  double intercept = 0;
  double r_squared = 0;  // weighted coefficient of determination of the fit
};

// argmin_{β, b} Σ_n w_n (y_n − b − x_nᵀβ)² + ridge ‖β‖² (b = 0 without `intercept`), in double precision.
LinearFit weighted_linear_fit(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& weights,
                              double ridge, bool intercept);

// The weighted R² of predictions of y.
double weighted_r_squared(const torch::Tensor& y, const torch::Tensor& predicted, const torch::Tensor& weights);

}  // namespace prism
