// Raster charts for PNG files and the report: horizontal bars of signed values with a threshold line, and
// a labelled matrix in the diverging colour map of heatmap.h. Pictures are [3, H, W] in [0, 1].
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace prism {

// One bar per value in [-1, 1] (clamped), labelled on the left; red for positive, blue for negative; a
// dashed vertical line at `threshold` if given.
torch::Tensor bar_chart_picture(const std::vector<double>& values, const std::vector<std::string>& labels,
                                std::optional<double> threshold, const std::string& title, int64_t bar_length = 160);

// A table row's features [F] by decreasing |value| (the first `most`), each bar scaled by the largest |value|,
// labelled with `names`.
torch::Tensor feature_bar_picture(const torch::Tensor& values, const std::vector<std::string>& names,
                                  const std::string& title, int64_t most = 20);

// A [R, C] matrix as coloured cells of `cell` pixels (scaled by max |·|), row labels on the left and
// column labels above.
torch::Tensor matrix_picture(const torch::Tensor& matrix, const std::vector<std::string>& row_labels,
                             const std::vector<std::string>& column_labels, const std::string& title,
                             int64_t cell = 16);

}  // namespace prism
