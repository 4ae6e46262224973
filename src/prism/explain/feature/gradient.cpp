#include "prism/explain/feature/gradient.h"

#include "prism/core/allocator.h"

namespace prism {
namespace {

ScoresAndGradient one_pass(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                           const TapSet& taps) {
  const auto x = inputs.detach().requires_grad_(true);
  const auto scores = network.forward(x, taps).gather(1, targets.view({-1, 1})).squeeze(1);
  const auto gradient = torch::autograd::grad({scores.sum()}, {x})[0];
  return {scores.detach(), gradient};
}

}  // namespace

torch::Tensor target_scores(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const TapSet& taps) {
  torch::NoGradGuard no_grad;
  network.set_training(false);
  return network.forward(inputs, taps).gather(1, targets.view({-1, 1})).squeeze(1);
}

torch::Tensor target_scores(InferencePass& pass, const torch::Tensor& inputs, const torch::Tensor& targets) {
  return pass.run(inputs)[0].to(targets.device()).gather(1, targets.view({-1, 1})).squeeze(1);
}

ScoresAndGradient target_gradient(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                                  const TapSet& taps) {
  network.set_training(false);
  // Taps may hold per-sample state (pruning masks): their batches run whole.
  constexpr int64_t kSmallBatch = 8;
  if (!taps.empty() || inputs.size(0) <= kSmallBatch) return one_pass(network, inputs, targets, taps);
  // A backward pass keeps every activation of the batch: chunks sized by kGradientChunkBytes (core/allocator.h).
  const int64_t chunk = chunk_size(inputs.size(0), network.largest_activation_bytes(inputs), kGradientChunkBytes);
  if (chunk == inputs.size(0)) return one_pass(network, inputs, targets, taps);
  std::vector<torch::Tensor> scores, gradients;
  for (int64_t start = 0; start < inputs.size(0); start += chunk) {
    const int64_t count = std::min(chunk, inputs.size(0) - start);
    auto part = one_pass(network, inputs.narrow(0, start, count), targets.narrow(0, start, count), taps);
    scores.push_back(std::move(part.scores));
    gradients.push_back(std::move(part.gradient));
  }
  return {torch::cat(scores), torch::cat(gradients)};
}

}  // namespace prism
