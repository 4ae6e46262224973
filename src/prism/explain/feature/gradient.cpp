#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor target_scores(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const TapSet& taps) {
  torch::NoGradGuard no_grad;
  network.set_training(false);
  return network.forward(inputs, taps).gather(1, targets.view({-1, 1})).squeeze(1);
}

ScoresAndGradient target_gradient(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                                  const TapSet& taps) {
  network.set_training(false);
  const auto x = inputs.detach().requires_grad_(true);
  const auto scores = network.forward(x, taps).gather(1, targets.view({-1, 1})).squeeze(1);
  const auto gradient = torch::autograd::grad({scores.sum()}, {x})[0];
  return {scores.detach(), gradient};
}

}  // namespace prism
