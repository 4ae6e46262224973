#include "prism/explain/feature/coalitions.h"

#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor coalition_scores(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                               const torch::Tensor& coalitions, const torch::Tensor& baseline, int64_t target,
                               int64_t batch_size) {
  const auto device_labels = labels.to(image.device());
  const auto kept = coalitions.to(image.device(), image.scalar_type());
  std::vector<torch::Tensor> scores;
  for (int64_t start = 0; start < coalitions.size(0); start += batch_size) {
    const int64_t count = std::min(batch_size, coalitions.size(0) - start);
    // [count, M] indexed by the labels: each copy's keep mask [count, 1, H, W] or [count, 1, T] over the channels
    // (a table's [count, F]).
    auto mask = kept.narrow(0, start, count).index_select(1, device_labels.flatten());
    if (image.dim() > labels.dim()) {
      std::vector<int64_t> shape = {count, 1};
      for (const auto size : labels.sizes()) shape.push_back(size);
      mask = mask.view(shape);
    }
    const auto copies = image.unsqueeze(0) * mask + baseline * (1 - mask);
    scores.push_back(target_scores(pass, copies, torch::full({count}, target, torch::kInt64).to(image.device())));
  }
  return torch::cat(scores);
}

torch::Tensor spread_over_segments(const torch::Tensor& values, const torch::Tensor& labels, int64_t channels) {
  const auto flat = labels.flatten().to(values.device());
  const auto sizes = torch::bincount(flat, {}, values.size(0)).to(values.scalar_type());
  if (channels == 0) return (values / sizes).index_select(0, flat);
  std::vector<int64_t> shape = {1}, spread = {channels};
  for (const auto size : labels.sizes()) shape.push_back(size), spread.push_back(size);
  return (values / (sizes * channels)).index_select(0, flat).view(shape).expand(spread).contiguous();
}

double weighted_r_squared(const torch::Tensor& y, const torch::Tensor& predicted, const torch::Tensor& weights) {
  const auto w = weights.to(torch::kFloat64), target = y.to(torch::kFloat64);
  const auto mean = (w * target).sum() / w.sum();
  const double total = (w * (target - mean).square()).sum().item<double>();
  const double residual = (w * (target - predicted.to(torch::kFloat64)).square()).sum().item<double>();
  return total > 0 ? 1 - residual / total : (residual == 0 ? 1.0 : 0.0);
}

LinearFit weighted_linear_fit(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& weights,
                              double ridge, bool intercept) {
  auto design = x.to(torch::kCPU, torch::kFloat64);
  const auto target = y.to(torch::kCPU, torch::kFloat64), w = weights.to(torch::kCPU, torch::kFloat64);
  const int64_t features = design.size(1);
  if (intercept) design = torch::cat({design, torch::ones({design.size(0), 1}, design.options())}, 1);
  auto penalty = torch::full({design.size(1)}, ridge, design.options());
  if (intercept) penalty[features] = 0;
  // The normal equations; a 1e-10 floor on the diagonal keeps a segment absent from every sample solvable.
  const auto gram = design.t().matmul(design * w.view({-1, 1})) + torch::diag(penalty + 1e-10);
  const auto solution = torch::linalg::solve(gram, design.t().matmul(w * target), true);
  LinearFit fit;
  fit.coefficients = solution.narrow(0, 0, features).to(torch::kFloat32);
  fit.intercept = intercept ? solution[features].item<double>() : 0.0;
  fit.r_squared = weighted_r_squared(target, design.matmul(solution), w);
  return fit;
}

}  // namespace prism
