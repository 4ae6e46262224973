// What most feature attributions are built from: the target scores f_c(x) and their gradients.
#pragma once
#include <torch/torch.h>

#include "prism/model/inference.h"
#include "prism/model/network.h"

namespace prism {

// f_targets(x) [B] (logits), without gradients, in evaluation mode.
torch::Tensor target_scores(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const TapSet& taps = {});

// The same through a forward-only pass (compiled where it is large); on the targets' device.
torch::Tensor target_scores(InferencePass& pass, const torch::Tensor& inputs, const torch::Tensor& targets);

struct ScoresAndGradient {
  torch::Tensor scores;    // [B]
  torch::Tensor gradient;  // ∂f_c/∂x, [B, C, H, W]
};
// One forward and backward pass; samples are independent, so the gradient of Σ_b f_{c_b}(x_b) holds
// each sample's own gradient.
ScoresAndGradient target_gradient(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                                  const TapSet& taps = {});

}  // namespace prism
