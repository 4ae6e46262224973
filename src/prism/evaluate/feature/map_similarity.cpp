#include "prism/evaluate/feature/map_similarity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "prism/core/error.h"

namespace prism {
namespace {

// Ranks 1..n of the values, ties sharing the mean of the ranks they span.
torch::Tensor average_ranks(const torch::Tensor& values) {
  const auto v = values.flatten().to(torch::kFloat64).contiguous();
  const double* data = v.data_ptr<double>();
  const int64_t n = v.numel();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return data[i] < data[j]; });
  auto ranks = torch::empty({n}, torch::kFloat64);
  double* out = ranks.data_ptr<double>();
  for (int64_t start = 0; start < n;) {
    int64_t end = start + 1;
    while (end < n && data[order[end]] == data[order[start]]) ++end;
    const double rank = 0.5 * static_cast<double>(start + end - 1) + 1.0;
    for (int64_t k = start; k < end; ++k) out[order[k]] = rank;
    start = end;
  }
  return ranks;
}

// |map| / max |map|, zeros kept zero.
torch::Tensor unit_magnitude(const torch::Tensor& map) {
  const auto magnitude = map.abs().to(torch::kFloat64);
  const double peak = magnitude.max().item<double>();
  return peak > 0 ? magnitude / peak : magnitude;
}

// SSIM of two maps scaled to [0, 1], in windows of 5 (or the map's size where smaller). A table's maps [F] have no
// neighbourhoods (the column order is arbitrary): one window covers every feature, so the index does not depend on
// the order.
double unit_ssim(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() == 1) {
    const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
    const double mx = x.mean().item<double>(), my = y.mean().item<double>();
    const double vx = x.var(false).item<double>(), vy = y.var(false).item<double>();
    const double cxy = ((x - mx) * (y - my)).mean().item<double>();
    const double c1 = 1e-4, c2 = 9e-4;  // (0.01 L)², (0.03 L)² with L = 1
    return (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return ssim(a, b, std::min<int64_t>(5, std::min(a.size(0), a.size(1))));
}

}  // namespace

std::vector<std::string> similarity_measures() { return {"spearman", "spearman_abs", "ssim", "hog_pearson"}; }

std::vector<double> as_vector(const MapSimilarity& s) { return {s.spearman, s.spearman_abs, s.ssim, s.hog_pearson}; }

double pearson_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  require(a.numel() == b.numel() && a.numel() > 1, "correlation needs two tensors of the same size (> 1 element)");
  const auto x = a.flatten().to(torch::kFloat64), y = b.flatten().to(torch::kFloat64);
  const auto dx = x - x.mean(), dy = y - y.mean();
  const double norm = std::sqrt(dx.pow(2).sum().item<double>() * dy.pow(2).sum().item<double>());
  return norm > 0 ? (dx * dy).sum().item<double>() / norm : 0.0;
}

double spearman_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  return pearson_correlation(average_ranks(a), average_ranks(b));
}

double ssim(const torch::Tensor& a, const torch::Tensor& b, int64_t window, double data_range) {
  require(a.sizes() == b.sizes() && a.dim() == 2, "SSIM compares two maps [H, W] of the same size");
  require(a.size(0) >= window && a.size(1) >= window,
          "SSIM's window (" + std::to_string(window) + ") is larger than the maps");
  const auto x = a.to(torch::kFloat64).unsqueeze(0).unsqueeze(0), y = b.to(torch::kFloat64).unsqueeze(0).unsqueeze(0);
  const auto mean = [window](const torch::Tensor& t) { return torch::avg_pool2d(t, window, 1); };
  const auto mx = mean(x), my = mean(y);
  const auto vx = mean(x * x) - mx * mx, vy = mean(y * y) - my * my, cxy = mean(x * y) - mx * my;
  const double c1 = std::pow(0.01 * data_range, 2), c2 = std::pow(0.03 * data_range, 2);
  const auto map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return map.mean().item<double>();
}

torch::Tensor hog_features(const torch::Tensor& map, int64_t cell, int64_t bins) {
  require(map.dim() == 2, "HOG takes a map [H, W]");
  const int64_t cells_y = map.size(0) / cell, cells_x = map.size(1) / cell;
  require(cells_y >= 2 && cells_x >= 2, "HOG needs maps of at least " + std::to_string(2 * cell) + " × " +
                                            std::to_string(2 * cell) + " pixels");
  const auto m = map.to(torch::kFloat64);
  auto gx = torch::zeros_like(m), gy = torch::zeros_like(m);
  gx.narrow(1, 1, m.size(1) - 2).copy_(m.narrow(1, 2, m.size(1) - 2) - m.narrow(1, 0, m.size(1) - 2));
  gy.narrow(0, 1, m.size(0) - 2).copy_(m.narrow(0, 2, m.size(0) - 2) - m.narrow(0, 0, m.size(0) - 2));
  const auto magnitude = (gx * gx + gy * gy).sqrt();
  auto angle = torch::atan2(gy, gx) * (180.0 / M_PI);
  angle = torch::remainder(angle, 180.0);  // unsigned orientation
  const auto bin = (angle / (180.0 / bins)).floor().clamp(0, bins - 1).to(torch::kInt64);

  // Cell histograms [cells_y, cells_x, bins]: each pixel adds its magnitude to its orientation's bin.
  const auto used_y = cells_y * cell, used_x = cells_x * cell;
  const auto cell_index = (torch::arange(used_y).div(cell, "floor").view({-1, 1}) * cells_x +
                           torch::arange(used_x).div(cell, "floor").view({1, -1}));
  const auto slot = (cell_index * bins + bin.narrow(0, 0, used_y).narrow(1, 0, used_x)).flatten();
  auto histogram = torch::zeros({cells_y * cells_x * bins}, torch::kFloat64)
                       .index_add_(0, slot, magnitude.narrow(0, 0, used_y).narrow(1, 0, used_x).flatten())
                       .view({cells_y, cells_x, bins});

  // Overlapping 2 × 2-cell blocks, L2-Hys normalised.
  std::vector<torch::Tensor> blocks;
  for (int64_t y = 0; y + 1 < cells_y; ++y)
    for (int64_t x = 0; x + 1 < cells_x; ++x) {
      auto v = histogram.narrow(0, y, 2).narrow(1, x, 2).flatten();
      const double eps = 1e-5;
      v = v / std::sqrt(v.pow(2).sum().item<double>() + eps * eps);
      v = v.clamp_max(0.2);
      blocks.push_back(v / std::sqrt(v.pow(2).sum().item<double>() + eps * eps));
    }
  return torch::cat(blocks);
}

MapSimilarity compare_maps(const torch::Tensor& original, const torch::Tensor& other) {
  require(original.sizes() == other.sizes() && (original.dim() == 2 || original.dim() == 1),
          "compare_maps takes two maps [H, W] (or a table's [F]) of the same size");
  MapSimilarity s;
  s.spearman = spearman_correlation(original, other);
  s.spearman_abs = spearman_correlation(original.abs(), other.abs());
  const auto a = unit_magnitude(original), b = unit_magnitude(other);
  s.ssim = unit_ssim(a, b);
  s.hog_pearson = a.dim() == 1 ? std::nan("") : pearson_correlation(hog_features(a), hog_features(b));
  return s;
}

double magnitude_ssim(const torch::Tensor& original, const torch::Tensor& other) {
  return unit_ssim(unit_magnitude(original), unit_magnitude(other));
}

}  // namespace prism
