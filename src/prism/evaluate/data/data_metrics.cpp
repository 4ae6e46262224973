#include "prism/evaluate/data/data_metrics.h"

#include "prism/core/error.h"
#include "prism/evaluate/feature/map_similarity.h"

namespace prism {
namespace {

void check_attributions(const torch::Tensor& a, int64_t n, const std::string& what) {
  require(a.dim() == 2 && a.size(0) >= 1 && a.size(1) == n,
          "the attributions must be [test points, " + std::to_string(n) + " training samples] for " + what);
}

// The area under a detection curve sampled at every inspected count 1..N (mean of the found shares).
double area_of(const torch::Tensor& found_at_count) { return found_at_count.to(torch::kFloat64).mean().item<double>(); }

}  // namespace

double identical_label(const torch::Tensor& attributions, const torch::Tensor& train_labels,
                       const torch::Tensor& test_labels) {
  check_attributions(attributions, train_labels.numel(), "identical class");
  require(test_labels.numel() == attributions.size(0), "one label per test point");
  const auto top = attributions.argmax(1);
  return (train_labels.index_select(0, top) == test_labels).to(torch::kFloat64).mean().item<double>();
}

DetectionCurve mislabel_detection(const torch::Tensor& self_influence, const torch::Tensor& flipped) {
  const int64_t n = self_influence.numel();
  require(flipped.numel() == n, "one flipped flag per training sample");
  const int64_t count = flipped.sum().item<int64_t>();
  require(count > 0 && count < n, "mislabel detection needs some, but not all, training labels flipped");
  const auto order = std::get<1>(self_influence.flatten().to(torch::kFloat64).sort(/*stable=*/true, 0, true));
  const auto found = flipped.flatten().index_select(0, order).to(torch::kFloat64).cumsum(0) / count;
  const auto inspected = torch::arange(1, n + 1, torch::kFloat64);
  DetectionCurve curve;
  curve.area = area_of(found);
  curve.random_area = area_of(inspected / n);
  curve.optimal_area = area_of((inspected / count).clamp_max(1.0));
  curve.normalized = (curve.area - curve.random_area) / (curve.optimal_area - curve.random_area);
  const int64_t points = std::min<int64_t>(n, 100);
  curve.inspected.push_back(0);
  curve.found.push_back(0);
  for (int64_t p = 1; p <= points; ++p) {
    const int64_t at = p * n / points;
    curve.inspected.push_back(static_cast<double>(at) / n);
    curve.found.push_back(found[at - 1].item<double>());
  }
  return curve;
}

namespace {

// [B, N]: 1 where the training sample at rank r of test point b's decreasing attributions is relevant.
torch::Tensor ranked_hits(const torch::Tensor& attributions, const torch::Tensor& relevant) {
  const auto order = std::get<1>(attributions.to(torch::kFloat64).sort(/*stable=*/true, 1, true));
  return relevant.to(torch::kFloat64).index({order});
}

// Average precision per test point, averaged: the mean of precision@r over the ranks r of the relevant samples.
double mean_average_precision(const torch::Tensor& hits) {
  const auto ranks = torch::arange(1, hits.size(1) + 1, torch::kFloat64);
  const auto precision = hits.cumsum(1) / ranks;
  return ((precision * hits).sum(1) / hits.sum(1)).mean().item<double>();
}

}  // namespace

ShortcutScore shortcut_detection(const torch::Tensor& attributions, const torch::Tensor& marked) {
  check_attributions(attributions, marked.numel(), "shortcut detection");
  require(marked.any().item<bool>(), "shortcut detection needs marked training samples");
  const auto hits = ranked_hits(attributions, marked);
  return {hits.select(1, 0).mean().item<double>(), mean_average_precision(hits)};
}

double mixed_datasets(const torch::Tensor& attributions, const torch::Tensor& mixed) {
  check_attributions(attributions, mixed.numel(), "mixed datasets");
  require(mixed.any().item<bool>(), "mixed datasets needs training samples of the second source");
  return mean_average_precision(ranked_hits(attributions, mixed));
}

double mean_nonzero(const torch::Tensor& attributions) {
  return (attributions != 0).sum(1).to(torch::kFloat64).mean().item<double>();
}

int64_t topk_cardinality(const torch::Tensor& attributions, int64_t k) {
  require(k >= 1 && k <= attributions.size(1), "top-k cardinality needs 1 ≤ k ≤ the training samples");
  return std::get<0>(at::_unique(std::get<1>(attributions.topk(k, 1)).flatten())).numel();
}

double mean_rank_correlation(const torch::Tensor& trained, const torch::Tensor& randomized) {
  require(trained.sizes() == randomized.sizes(), "compare attributions of the same shape");
  double sum = 0;
  for (int64_t b = 0; b < trained.size(0); ++b) sum += spearman_correlation(trained[b], randomized[b]);
  return sum / static_cast<double>(trained.size(0));
}

double linear_datamodeling_score(const torch::Tensor& attributions, const torch::Tensor& subsets,
                                 const torch::Tensor& outputs) {
  check_attributions(attributions, subsets.size(1), "the linear datamodeling score");
  require(subsets.dim() == 2 && subsets.size(0) >= 3, "the linear datamodeling score needs at least 3 subsets");
  require(outputs.dim() == 2 && outputs.size(0) == subsets.size(0) && outputs.size(1) == attributions.size(0),
          "one output per subset and test point");
  const auto predicted = subsets.to(torch::kFloat64).matmul(attributions.to(torch::kFloat64).t());  // [S, B]
  double sum = 0;
  for (int64_t b = 0; b < attributions.size(0); ++b)
    sum += spearman_correlation(predicted.select(1, b), outputs.select(1, b));
  return sum / static_cast<double>(attributions.size(0));
}

}  // namespace prism
