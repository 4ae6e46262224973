#include "prism/explain/concept/flint_losses.h"

#include <cmath>

#include "prism/core/error.h"

namespace prism {

void check_flint_loss_weights(const FlintLossWeights& w) {
  for (double value : {w.gamma, w.beta, w.delta, w.eta})
    require(value >= 0 && std::isfinite(value), "FLINT: the loss weights gamma, beta, delta and eta must be >= 0");
  for (int64_t from : {w.gamma_from, w.beta_from, w.delta_from, w.eta_from})
    require(from >= 1, "FLINT: gamma_from, beta_from, delta_from and eta_from (first epochs) count from 1");
  require(w.input_fidelity == "l2" || w.input_fidelity == "l1",
          "FLINT: unknown input_fidelity '" + w.input_fidelity + "'; use l2 or l1");
}

torch::Tensor attribute_entropy(const torch::Tensor& values) {
  const auto log_p = torch::log_softmax(values, 1);
  return -(log_p.exp() * log_p).sum(1);
}

FlintLossTerms flint_loss_terms(const torch::Tensor& predictor_logits, const torch::Tensor& labels,
                                const torch::Tensor& interpreter_logits, const torch::Tensor& attributes,
                                const torch::Tensor& reconstruction, const torch::Tensor& images,
                                const std::string& input_fidelity) {
  FlintLossTerms t;
  t.prediction = torch::cross_entropy_loss(predictor_logits, labels);
  const auto target = torch::softmax(predictor_logits.detach(), 1);
  t.output_fidelity = -(target * torch::log_softmax(interpreter_logits, 1)).sum(1).mean();
  const auto error = reconstruction - images;
  t.input_fidelity = input_fidelity == "l1" ? error.abs().mean() : error.square().mean();
  t.conciseness = attribute_entropy(attributes).mean();
  t.diversity = attribute_entropy(attributes.mean(0, /*keepdim=*/true)).squeeze(0);
  t.sparsity = attributes.abs().mean();
  return t;
}

torch::Tensor flint_total_loss(const FlintLossTerms& t, const FlintLossWeights& w, int64_t epoch,
                               bool train_predictor) {
  auto on = [epoch](double weight, int64_t from) { return epoch >= from ? weight : 0.0; };
  auto loss = on(w.gamma, w.gamma_from) * t.input_fidelity + on(w.beta, w.beta_from) * t.output_fidelity +
              on(w.delta, w.delta_from) * (t.conciseness - t.diversity) + on(w.eta, w.eta_from) * t.sparsity;
  return train_predictor ? loss + t.prediction : loss;
}

}  // namespace prism
