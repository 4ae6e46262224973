// How alike two attribution maps are, as the sanity checks of Adebayo et al. (2018, §3) measure it:
// Spearman rank correlation of the maps with and without absolute values, the structural similarity index
// (SSIM, Wang et al. 2004, Eq. 13) and the Pearson correlation of their histogram-of-oriented-gradients
// features (HOG, Dalal & Triggs 2005). Maps are [H, W] (channels collapsed), or a table's [F]: there SSIM takes
// one window over all features and HOG, which needs neighbouring pixels, is NaN.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace prism {

struct MapSimilarity {
  double spearman = 0;      // of the signed maps
  double spearman_abs = 0;  // of |maps|
  double ssim = 0;          // of |map| / max |map|, data range 1
  double hog_pearson = 0;   // of the HOG features of |map| / max |map| (NaN for a table's maps)
};

// The measures' names, in MapSimilarity's order, as written in tables.
std::vector<std::string> similarity_measures();
std::vector<double> as_vector(const MapSimilarity& similarity);

// Pearson correlation of two equally sized tensors (flattened); 0 where either is constant (undefined).
double pearson_correlation(const torch::Tensor& a, const torch::Tensor& b);
// Spearman rank correlation: Pearson correlation of the ranks, ties given their average rank.
double spearman_correlation(const torch::Tensor& a, const torch::Tensor& b);
// Mean SSIM over all `window` × `window` windows (uniform weights), constants C1 = (0.01 L)², C2 = (0.03 L)².
double ssim(const torch::Tensor& a, const torch::Tensor& b, int64_t window = 5, double data_range = 1.0);
// HOG of a [H, W] map: central-difference gradients, `bins` unsigned orientations over 0–180° per
// `cell` × `cell` cell, 2 × 2-cell blocks with L2-Hys normalisation (clip 0.2). Written here because no
// Debian C++ package offers HOG short of OpenCV, a dependency far larger than these forty lines.
torch::Tensor hog_features(const torch::Tensor& map, int64_t cell = 4, int64_t bins = 9);

MapSimilarity compare_maps(const torch::Tensor& original, const torch::Tensor& other);
// compare_maps's SSIM alone: of |map| / max |map|, window 5 (or the map's size where smaller).
double magnitude_ssim(const torch::Tensor& original, const torch::Tensor& other);

}  // namespace prism
