#include "prism/explain/feature/superpixels.h"

#include <cmath>
#include <limits>
#include <vector>

#include "prism/core/error.h"

namespace prism {
namespace {

constexpr int kSlicIterations = 10;  // Achanta et al. 2012: 10 iterations suffice for most images

// Grid cells, row-major.
torch::Tensor grid_labels(int64_t height, int64_t width, int64_t cell) {
  const int64_t columns = (width + cell - 1) / cell;
  const auto rows = torch::arange(height, torch::kInt64).div(cell, "floor").view({-1, 1});
  const auto cols = torch::arange(width, torch::kInt64).div(cell, "floor").view({1, -1});
  return rows * columns + cols;
}

// Labels from k-means in (colour, position) space; image [C, H, W] on the CPU.
std::vector<int64_t> slic_clusters(const torch::Tensor& image, int64_t segments, double compactness) {
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2), pixels = height * width;
  const auto colour = image.accessor<float, 3>();
  const double step = std::max(1.0, std::sqrt(static_cast<double>(pixels) / segments));
  struct Centre {
    std::vector<double> colour;
    double y, x;
  };
  std::vector<Centre> centres;
  for (double y = step / 2; y < height; y += step)
    for (double x = step / 2; x < width; x += step) {
      Centre centre{std::vector<double>(channels), y, x};
      for (int64_t c = 0; c < channels; ++c)
        centre.colour[c] = colour[c][static_cast<int64_t>(y)][static_cast<int64_t>(x)];
      centres.push_back(std::move(centre));
    }
  // Start from the grid cells, so that a pixel no window reaches keeps a label.
  const int64_t per_row = static_cast<int64_t>(std::ceil((width - step / 2) / step));
  std::vector<int64_t> label(pixels);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      const int64_t row = std::min<int64_t>(static_cast<int64_t>(y / step), centres.size() / per_row - 1);
      const int64_t col = std::min<int64_t>(static_cast<int64_t>(x / step), per_row - 1);
      label[y * width + x] = row * per_row + col;
    }
  const double position_weight = compactness * compactness / (step * step);
  std::vector<double> distance(pixels);
  for (int iteration = 0; iteration < kSlicIterations; ++iteration) {
    std::fill(distance.begin(), distance.end(), std::numeric_limits<double>::infinity());
    for (size_t k = 0; k < centres.size(); ++k) {
      const auto& centre = centres[k];
      const int64_t top = std::max<int64_t>(0, static_cast<int64_t>(centre.y - step)),
                    bottom = std::min<int64_t>(height - 1, static_cast<int64_t>(centre.y + step)),
                    left = std::max<int64_t>(0, static_cast<int64_t>(centre.x - step)),
                    right = std::min<int64_t>(width - 1, static_cast<int64_t>(centre.x + step));
      for (int64_t y = top; y <= bottom; ++y)
        for (int64_t x = left; x <= right; ++x) {
          double d = position_weight * ((y - centre.y) * (y - centre.y) + (x - centre.x) * (x - centre.x));
          for (int64_t c = 0; c < channels; ++c) {
            const double diff = colour[c][y][x] - centre.colour[c];
            d += diff * diff;
          }
          if (d < distance[y * width + x]) distance[y * width + x] = d, label[y * width + x] = k;
        }
    }
    std::vector<Centre> sums(centres.size(), Centre{std::vector<double>(channels, 0.0), 0, 0});
    std::vector<int64_t> members(centres.size(), 0);
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        auto& sum = sums[label[y * width + x]];
        for (int64_t c = 0; c < channels; ++c) sum.colour[c] += colour[c][y][x];
        sum.y += y, sum.x += x;
        ++members[label[y * width + x]];
      }
    for (size_t k = 0; k < centres.size(); ++k) {
      if (members[k] == 0) continue;
      for (int64_t c = 0; c < channels; ++c) centres[k].colour[c] = sums[k].colour[c] / members[k];
      centres[k].y = sums[k].y / members[k], centres[k].x = sums[k].x / members[k];
    }
  }
  return label;
}

// Connected pieces (4-neighbourhood) relabelled 0..; a piece under `min_size` pixels joins the piece of the pixel
// left of (or above) its first pixel in raster order, which is finished by then.
std::vector<int64_t> connected_segments(const std::vector<int64_t>& cluster, int64_t height, int64_t width,
                                        int64_t min_size) {
  std::vector<int64_t> out(cluster.size(), -1), piece;
  int64_t next = 0;
  for (int64_t start = 0; start < static_cast<int64_t>(cluster.size()); ++start) {
    if (out[start] >= 0) continue;
    piece.assign(1, start);
    out[start] = next;
    for (size_t i = 0; i < piece.size(); ++i) {
      const int64_t p = piece[i], y = p / width, x = p % width;
      const int64_t neighbours[4] = {y > 0 ? p - width : -1, y + 1 < height ? p + width : -1, x > 0 ? p - 1 : -1,
                                     x + 1 < width ? p + 1 : -1};
      for (const int64_t q : neighbours)
        if (q >= 0 && out[q] < 0 && cluster[q] == cluster[start]) out[q] = next, piece.push_back(q);
    }
    const int64_t earlier = start % width > 0 ? start - 1 : start >= width ? start - width : -1;
    if (static_cast<int64_t>(piece.size()) < min_size && earlier >= 0) {
      for (const int64_t p : piece) out[p] = out[earlier];
    } else {
      ++next;
    }
  }
  return out;
}

}  // namespace

void check_segmentation_options(const SegmentationOptions& options, const std::string& method) {
  require(options.segmentation == "slic" || options.segmentation == "grid",
          method + ": unknown segmentation '" + options.segmentation + "'; use slic or grid");
  require(options.segments >= 1, method + ": segments must be at least 1");
  require(options.compactness >= 0, method + ": compactness must not be negative");
  require(options.cell >= 1, method + ": cell must be at least 1 pixel");
}

torch::Tensor segment_images(const torch::Tensor& images, const SegmentationOptions& options) {
  check_segmentation_options(options, "segmentation");
  if (images.dim() == 2)  // table rows: each feature alone
    return torch::arange(images.size(1), torch::kInt64).unsqueeze(0).expand({images.size(0), images.size(1)}).contiguous();
  if (images.dim() == 3) {  // sequences: windows of `cell` steps
    const int64_t steps = images.size(2);
    return torch::arange(steps, torch::kInt64).div(options.cell, "floor").unsqueeze(0).expand({images.size(0), steps}).contiguous();
  }
  require(images.dim() == 4, "superpixels need images [B, C, H, W], sequences [B, C, T] or table rows [B, F], not " +
                                 std::to_string(images.dim()) + "-d input");
  const int64_t batch = images.size(0), height = images.size(2), width = images.size(3);
  if (options.segmentation == "grid")
    return grid_labels(height, width, options.cell).unsqueeze(0).expand({batch, height, width}).contiguous();
  const auto cpu = images.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t min_size = std::max<int64_t>(1, height * width / options.segments / 4);
  auto labels = torch::empty({batch, height, width}, torch::kInt64);
  for (int64_t b = 0; b < batch; ++b) {
    const auto segments = connected_segments(slic_clusters(cpu[b], options.segments, options.compactness), height,
                                             width, min_size);
    std::copy(segments.begin(), segments.end(), labels[b].data_ptr<int64_t>());
  }
  return labels;
}

std::vector<int64_t> segment_counts(const torch::Tensor& labels) {
  const auto counts = labels.flatten(1).amax(1).add(1).to(torch::kCPU);
  return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
}

}  // namespace prism
