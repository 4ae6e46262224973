#include "prism/report/chart_pictures.h"

#include <algorithm>
#include <cmath>

#include "prism/core/error.h"
#include "prism/report/heatmap.h"

namespace prism {
namespace {

constexpr int64_t kCharWidth = 6, kTitleHeight = 16;

int64_t text_width(const std::vector<std::string>& labels) {
  size_t longest = 0;
  for (const auto& label : labels) longest = std::max(longest, label.size());
  return static_cast<int64_t>(longest) * kCharWidth + 6;
}

void fill(torch::Tensor& picture, int64_t top, int64_t left, int64_t height, int64_t width, const float rgb[3]) {
  for (int c = 0; c < 3; ++c) picture[c].narrow(0, top, height).narrow(1, left, width).fill_(rgb[c]);
}

}  // namespace

torch::Tensor bar_chart_picture(const std::vector<double>& values, const std::vector<std::string>& labels,
                                std::optional<double> threshold, const std::string& title, int64_t bar_length) {
  require(values.size() == labels.size() && !values.empty(), "a bar chart needs one label per value");
  const int64_t row = 13, label_width = text_width(labels), axis = label_width + bar_length;
  const int64_t height = kTitleHeight + row * static_cast<int64_t>(values.size()) + 4;
  const int64_t width = std::max<int64_t>(label_width + 2 * bar_length + 8, kCharWidth * title.size() + 8);
  auto picture = torch::ones({3, height, width});
  draw_text(picture, title, 2, 2);
  const float positive[3] = {0.71f, 0.02f, 0.15f}, negative[3] = {0.23f, 0.30f, 0.75f}, grey[3] = {0.4f, 0.4f, 0.4f};
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t top = kTitleHeight + row * static_cast<int64_t>(i);
    draw_text(picture, labels[i], top + 1, 2);
    const double value = std::clamp(values[i], -1.0, 1.0);
    const int64_t length = static_cast<int64_t>(std::round(std::abs(value) * bar_length));
    if (length > 0) fill(picture, top + 2, value > 0 ? axis : axis - length, row - 4, length, value > 0 ? positive : negative);
  }
  fill(picture, kTitleHeight, axis, height - kTitleHeight - 4, 1, grey);
  if (threshold) {
    const int64_t x = axis + static_cast<int64_t>(std::round(std::clamp(*threshold, -1.0, 1.0) * bar_length));
    for (int64_t y = kTitleHeight; y + 3 < height - 4; y += 6) fill(picture, y, std::min(x, width - 1), 3, 1, grey);
  }
  return picture;
}

torch::Tensor feature_bar_picture(const torch::Tensor& values, const std::vector<std::string>& names,
                                  const std::string& title, int64_t most) {
  require(values.dim() == 1 && static_cast<int64_t>(names.size()) == values.size(0),
          "a feature bar chart needs one name per feature");
  const auto row = values.to(torch::kFloat64).cpu();
  const auto order = std::get<1>(row.abs().sort(/*stable=*/true, 0, /*descending=*/true));
  const double largest = std::max(row.abs().max().item<double>(), 1e-30);
  std::vector<double> bars;
  std::vector<std::string> labels;
  for (int64_t k = 0; k < std::min<int64_t>(most, row.numel()); ++k) {
    const int64_t f = order[k].item<int64_t>();
    bars.push_back(row[f].item<double>() / largest);
    labels.push_back(names[f]);
  }
  return bar_chart_picture(bars, labels, std::nullopt, title);
}

torch::Tensor matrix_picture(const torch::Tensor& matrix, const std::vector<std::string>& row_labels,
                             const std::vector<std::string>& column_labels, const std::string& title, int64_t cell) {
  require(matrix.dim() == 2 && matrix.size(0) == static_cast<int64_t>(row_labels.size()) &&
              matrix.size(1) == static_cast<int64_t>(column_labels.size()),
          "a matrix picture needs one label per row and per column");
  const int64_t left = text_width(row_labels), top = kTitleHeight + 12;
  const int64_t width = std::max<int64_t>(left + cell * matrix.size(1) + 4, kCharWidth * title.size() + 8);
  auto picture = torch::ones({3, top + cell * matrix.size(0) + 4, width});
  draw_text(picture, title, 2, 2);
  const auto colours = colorize(matrix.to(torch::kFloat32).cpu());  // [3, R, C]
  const auto cells = colours.repeat_interleave(cell, 1).repeat_interleave(cell, 2);
  picture.narrow(1, top, cells.size(1)).narrow(2, left, cells.size(2)).copy_(cells);
  for (int64_t r = 0; r < matrix.size(0); ++r) draw_text(picture, row_labels[r], top + r * cell + (cell - 8) / 2, 2);
  for (int64_t c = 0; c < matrix.size(1); ++c) draw_text(picture, column_labels[c], kTitleHeight, left + c * cell + 1);
  return picture;
}

}  // namespace prism
