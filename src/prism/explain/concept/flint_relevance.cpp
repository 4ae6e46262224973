#include "prism/explain/concept/flint_relevance.h"

#include "prism/core/error.h"

namespace prism {

torch::Tensor local_relevance(const torch::Tensor& attributes, const torch::Tensor& head_weight,
                              const torch::Tensor& classes) {
  require(attributes.dim() == 2 && head_weight.dim() == 2 && attributes.size(1) == head_weight.size(1) &&
              classes.dim() == 1 && classes.size(0) == attributes.size(0),
          "FLINT relevance needs attributes [B, J], head weights [classes, J] and classes [B]");
  const auto contributions = attributes * head_weight.index_select(0, classes.to(torch::kInt64));  // α [B, J]
  const auto largest = contributions.abs().amax(1, /*keepdim=*/true);
  return torch::where(largest > 0, contributions / largest.clamp_min(1e-30), torch::zeros_like(contributions));
}

torch::Tensor global_relevance(const torch::Tensor& relevance, const torch::Tensor& classes, int64_t num_classes) {
  auto sums = torch::zeros({num_classes, relevance.size(1)}, relevance.options());
  sums.index_add_(0, classes.to(torch::kInt64), relevance);
  const auto counts = torch::bincount(classes.to(torch::kInt64), {}, num_classes).to(relevance.dtype());
  return sums / counts.clamp_min(1).unsqueeze(1);
}

std::vector<std::vector<int64_t>> local_interpretation(const torch::Tensor& relevance, double tau) {
  require(tau > 1, "τ must exceed 1 (the relevance threshold is 1/τ)");
  const auto sorted = relevance.to(torch::kFloat64).sort(1, /*descending=*/true);
  const auto values = std::get<0>(sorted), order = std::get<1>(sorted);
  std::vector<std::vector<int64_t>> out(relevance.size(0));
  for (int64_t b = 0; b < relevance.size(0); ++b)
    for (int64_t k = 0; k < relevance.size(1) && values[b][k].item<double>() > 1 / tau; ++k)
      out[b].push_back(order[b][k].item<int64_t>());
  return out;
}

double conciseness(const torch::Tensor& relevance, double tau) {
  require(tau > 1, "τ must exceed 1 (the relevance threshold is 1/τ)");
  return relevance.gt(1 / tau).sum(1).to(torch::kFloat64).mean().item<double>();
}

std::vector<std::pair<int64_t, int64_t>> global_interpretation(const torch::Tensor& class_relevance, double tau) {
  require(tau > 1, "τ must exceed 1 (the relevance threshold is 1/τ)");
  const auto pairs = class_relevance.gt(1 / tau).nonzero();
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t i = 0; i < pairs.size(0); ++i) out.emplace_back(pairs[i][0].item<int64_t>(), pairs[i][1].item<int64_t>());
  return out;
}

}  // namespace prism
