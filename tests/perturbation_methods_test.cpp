// The model-agnostic perturbation methods (superpixels, feature ablation, KernelSHAP, LIME, RISE) against what
// they guarantee: connected superpixels that follow edges, exact Shapley values where every coalition is
// enumerated, exact segment values on a linear model (whose every coalition game is additive), and RISE's
// weighted mask average recomputed from its masks.
#include <numeric>

#include "test_util.h"

namespace prism {
namespace {

using test::LinearModel;

// Σ of `maps` [B, C, H, W] over each segment of `labels` [B, H, W]: [B, M] (M the largest count).
torch::Tensor segment_sums(const torch::Tensor& maps, const torch::Tensor& labels) {
  const int64_t segments = labels.max().item<int64_t>() + 1;
  auto out = torch::zeros({maps.size(0), segments}, torch::kFloat64);
  for (int64_t b = 0; b < maps.size(0); ++b)
    out[b].index_add_(0, labels[b].flatten(), maps[b].sum(0).flatten().to(torch::kFloat64));
  return out;
}

SegmentationOptions grid_of(int64_t cell) {
  SegmentationOptions options;
  options.segmentation = "grid", options.cell = cell;
  return options;
}

// Whether each label's pixels form one 4-connected piece.
bool segments_are_connected(const torch::Tensor& labels) {
  const int64_t height = labels.size(0), width = labels.size(1);
  const auto l = labels.accessor<int64_t, 2>();
  std::vector<int> pieces(labels.max().item<int64_t>() + 1, 0);
  std::vector<bool> seen(height * width, false);
  for (int64_t start = 0; start < height * width; ++start) {
    if (seen[start]) continue;
    const int64_t label = l[start / width][start % width];
    ++pieces[label];
    std::vector<int64_t> stack = {start};
    seen[start] = true;
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      const int64_t y = p / width, x = p % width;
      for (const auto [dy, dx] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
        const int64_t ny = y + dy, nx = x + dx;
        if (ny < 0 || ny >= height || nx < 0 || nx >= width || seen[ny * width + nx] || l[ny][nx] != label) continue;
        seen[ny * width + nx] = true;
        stack.push_back(ny * width + nx);
      }
    }
  }
  return std::all_of(pieces.begin(), pieces.end(), [](int n) { return n == 1; });
}

TEST(Superpixels, GridCellsAndSlicSegmentsAreConnectedFollowEdgesAndUseEveryLabel) {
  const auto images = random_subset(test::fashion_test(), 4, 3).images;
  const auto cells = segment_images(images, grid_of(5));
  EXPECT_EQ(segment_counts(cells), (std::vector<int64_t>{36, 36, 36, 36}));  // ⌈28 / 5⌉²
  EXPECT_EQ(cells[0][7][12].item<int64_t>(), 1 * 6 + 2);

  const auto slic = segment_images(images, SegmentationOptions{});
  for (int64_t b = 0; b < 4; ++b) {
    const auto count = segment_counts(slic)[b];
    EXPECT_GE(count, 15) << "image " << b;
    EXPECT_LE(count, 100) << "image " << b;
    EXPECT_EQ(std::get<0>(at::_unique(slic[b])).numel(), count) << "a label is unused";
    EXPECT_TRUE(segments_are_connected(slic[b])) << "image " << b;
  }
  // Two flat halves with a noise-free edge: no segment crosses it.
  auto halves = torch::zeros({1, 3, 28, 28});
  halves.narrow(3, 13, 15).fill_(1.0);
  const auto split = segment_images(halves, SegmentationOptions{})[0];
  const auto left = std::get<0>(at::_unique(split.narrow(1, 0, 13))), right = std::get<0>(at::_unique(split.narrow(1, 13, 15)));
  EXPECT_FALSE(torch::isin(left, right).any().item<bool>());
}

TEST(FeatureAblation, OnALinearModelEachSegmentHoldsItsWeightTimesInput) {
  LinearModel m;
  const auto one_pixel = make_feature_attributor("feature-ablation", {{"segmentation", "grid"}, {"cell", 1}})
                             ->attribute(*m.net, m.x, m.targets);
  const auto expected = m.weights() * m.x;
  EXPECT_TRUE(torch::allclose(one_pixel, expected, 1e-4, 1e-5 * expected.abs().max().item<float>()));
  const auto slic = make_feature_attributor("feature-ablation")->attribute(*m.net, m.x, m.targets);
  const auto labels = segment_images(m.x, SegmentationOptions{});
  EXPECT_TRUE(torch::allclose(segment_sums(slic, labels), segment_sums(expected, labels), 1e-4, 1e-4));
}

TEST(KernelShap, EnumeratingEveryCoalitionGivesTheShapleyValuesOfANonlinearNetwork) {
  ZooOptions architecture;
  architecture.seed = 4;
  auto net = make_zoo_network(architecture);
  set_metadata(*net, {1, 28, 28}, 10, {}, {{0.286f}, {0.353f}});
  const auto x = random_subset(test::fashion_test(), 2, 8).images;
  const auto targets = torch::tensor({3, 7}, torch::kInt64);
  // A 2 × 2 grid: 4 segments, 14 coalitions besides the empty and the full one, all evaluated.
  const auto explained = make_feature_attributor("kernel-shap", {{"segmentation", "grid"}, {"cell", 14}, {"samples", 14}})
                             ->explain(*net, x, targets);
  const auto labels = segment_images(x, grid_of(14));
  const auto values = segment_sums(explained.maps, labels);
  // φ_m = Σ_{S ∌ m} |S|! (M − |S| − 1)! / M! (f(S ∪ m) − f(S)), each f on the image with the segments outside S at 0.
  const auto score = [&](int64_t b, int code) {
    auto keep = torch::zeros({4});
    for (int m = 0; m < 4; ++m) keep[m] = (code >> m) & 1;
    const auto mask = keep.index_select(0, labels[b].flatten()).view({1, 1, 28, 28});
    return target_scores(*net, x[b].unsqueeze(0) * mask, targets[b].view({1})).item<double>();
  };
  const double factorial[] = {1, 1, 2, 6, 24};
  for (int64_t b = 0; b < 2; ++b)
    for (int m = 0; m < 4; ++m) {
      double shapley = 0;
      for (int code = 0; code < 16; ++code) {
        if (code >> m & 1) continue;
        const int size = __builtin_popcount(code);
        shapley += factorial[size] * factorial[3 - size] / factorial[4] * (score(b, code | 1 << m) - score(b, code));
      }
      EXPECT_NEAR(values[b][m].item<double>(), shapley, 1e-4 * (1 + std::abs(shapley))) << "sample " << b << " segment " << m;
    }
  // Efficiency: the map sums to f(x) − f(baseline).
  const auto difference = target_scores(*net, x, targets) - target_scores(*net, torch::zeros_like(x), targets);
  EXPECT_TRUE(torch::allclose(explained.maps.flatten(1).sum(1), difference, 1e-4, 1e-4));
}

TEST(KernelShap, SampledCoalitionsRecoverEachSegmentOfALinearModelWithAPerfectFit) {
  LinearModel m;
  const auto explained = make_feature_attributor("kernel-shap", {{"samples", 300}})->explain(*m.net, m.x, m.targets);
  const auto labels = segment_images(m.x, SegmentationOptions{});
  EXPECT_TRUE(torch::allclose(segment_sums(explained.maps, labels), segment_sums(m.weights() * m.x, labels), 1e-3, 1e-3));
  EXPECT_GT(explained.per_sample.at("r_squared").min().item<float>(), 0.9999);
}

TEST(Lime, WithoutRidgeFitsALinearModelExactlyAndReportsItsRSquared) {
  LinearModel m;
  const auto exact = make_feature_attributor("lime", {{"segmentation", "grid"}, {"cell", 7}, {"ridge", 0.0}, {"samples", 200}})
                         ->explain(*m.net, m.x, m.targets);
  const auto labels = segment_images(m.x, grid_of(7));
  EXPECT_TRUE(torch::allclose(segment_sums(exact.maps, labels), segment_sums(m.weights() * m.x, labels), 1e-3, 1e-3));
  EXPECT_GT(exact.per_sample.at("r_squared").min().item<float>(), 0.9999);
  // The ridge shrinks the coefficients towards 0, and the fit is no longer perfect.
  const auto ridge = make_feature_attributor("lime", {{"segmentation", "grid"}, {"cell", 7}, {"samples", 200}, {"ridge", 10.0}})
                         ->explain(*m.net, m.x, m.targets);
  EXPECT_LT(ridge.maps.abs().sum().item<float>(), exact.maps.abs().sum().item<float>());
  EXPECT_LT(ridge.per_sample.at("r_squared").max().item<float>(), 1.0);
}

TEST(Rise, IsTheScoreWeightedMeanOfItsMasks) {
  LinearModel m;
  RiseOptions options;
  options.masks = 60, options.internal_batch_size = 50;  // several chunks
  const auto map = Rise(options).attribute(*m.net, m.x, m.targets);
  const auto masks = rise_masks(options, 28, 28, 0, options.masks);
  EXPECT_GE(masks.min().item<float>(), 0.0);
  EXPECT_LE(masks.max().item<float>(), 1.0);
  EXPECT_NEAR(rise_masks({100000, 7, 0.5}, 28, 28, 0, 2000).mean().item<double>(), 0.5, 0.02);
  for (int64_t b = 0; b < 3; ++b) {
    const auto copies = m.x[b].unsqueeze(0) * masks.unsqueeze(1);
    const auto scores = m.net->forward(copies).softmax(1).select(1, m.targets[b].item<int64_t>()).detach();
    const auto expected = (scores.view({-1, 1, 1}) * masks).sum(0) / (options.masks * options.keep);
    EXPECT_TRUE(torch::allclose(map[b][0], expected, 1e-4, 1e-6)) << "sample " << b;
  }
  // The same masks whatever the batch: one sample alone gets the same map.
  EXPECT_TRUE(torch::allclose(Rise(options).attribute(*m.net, m.x.narrow(0, 1, 1), m.targets.narrow(0, 1, 1))[0], map[1],
                              1e-5, 1e-7));
}

}  // namespace
}  // namespace prism
