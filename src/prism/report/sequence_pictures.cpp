#include "prism/report/sequence_pictures.h"

#include <algorithm>

#include "prism/core/error.h"
#include "prism/report/heatmap.h"

namespace prism {
namespace {

constexpr int64_t kLineChannels = 4;   // more channels are drawn as a grid
constexpr int64_t kPanelHeight = 48;   // pixels per channel drawn as a line
const float kLineColours[kLineChannels][3] = {{0.12f, 0.47f, 0.71f}, {1.0f, 0.50f, 0.05f}, {0.17f, 0.63f, 0.17f},
                                              {0.58f, 0.40f, 0.74f}};

// Pixels per time step: about 240 pixels in all, 1 to 8 a step.
int64_t step_width(int64_t steps) { return std::clamp<int64_t>(240 / steps, 1, 8); }

// `values` scaled to [0, 1] by their own range (a flat series sits in the middle).
torch::Tensor unit_range(const torch::Tensor& values) {
  const double low = values.min().item<double>(), high = values.max().item<double>();
  return high > low ? (values - low) / (high - low) : torch::full_like(values, 0.5);
}

void plot_pixel(torch::Tensor& picture, int64_t y, int64_t x, const float* colour) {
  if (y < 0 || y >= picture.size(1) || x < 0 || x >= picture.size(2)) return;
  for (int c = 0; c < 3; ++c) picture[c][y][x] = colour[c];
}

// A line from (y0, x0) to (y1, x1), two pixels thick (Bresenham's algorithm).
void draw_line(torch::Tensor& picture, int64_t y0, int64_t x0, int64_t y1, int64_t x1, const float* colour) {
  const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int64_t error = dx + dy;;) {
    plot_pixel(picture, y0, x0, colour);
    plot_pixel(picture, y0 + 1, x0, colour);
    if (x0 == x1 && y0 == y1) break;
    const int64_t twice = 2 * error;
    if (twice >= dy) error += dy, x0 += sx;
    if (twice <= dx) error += dx, y0 += sy;
  }
}

torch::Tensor input_panel(const torch::Tensor& sequence) {
  require(sequence.dim() == 2, "a sequence picture takes a sequence [C, T], got " + std::to_string(sequence.dim()) +
                                   " dimensions");
  const auto values = sequence.detach().to(torch::kCPU, torch::kFloat32);
  const int64_t channels = values.size(0), steps = values.size(1), step = step_width(steps);
  if (channels > kLineChannels) {  // a grid: one row per channel, grey by the sequence's range
    const int64_t row = std::clamp<int64_t>(120 / channels, 1, step);
    const auto grey = unit_range(values).repeat_interleave(row, 0).repeat_interleave(step, 1);
    return grey.unsqueeze(0).expand({3, -1, -1}).contiguous();
  }
  auto picture = torch::ones({3, channels * kPanelHeight, steps * step});
  picture.narrow(1, 0, 1).fill_(0.85);
  for (int64_t c = 0; c < channels; ++c) {
    const auto heights = unit_range(values[c]);
    const int64_t top = c * kPanelHeight + 3, span = kPanelHeight - 8;
    picture.narrow(1, (c + 1) * kPanelHeight - 1, 1).fill_(0.85);  // a rule under each channel
    const auto y = [&](int64_t t) { return top + static_cast<int64_t>((1 - heights[t].item<double>()) * span); };
    for (int64_t t = 0; t + 1 < steps; ++t)
      draw_line(picture, y(t), t * step + step / 2, y(t + 1), (t + 1) * step + step / 2, kLineColours[c]);
    if (steps == 1) draw_line(picture, y(0), 0, y(0), step - 1, kLineColours[c]);
  }
  return picture;
}

}  // namespace

torch::Tensor sequence_picture(const torch::Tensor& sequence, const std::string& title) {
  auto picture = input_panel(sequence);
  if (title.empty()) return picture;
  auto out = torch::ones({3, picture.size(1) + 14, std::max<int64_t>(picture.size(2), 6 * title.size() + 4)});
  out.narrow(1, 14, picture.size(1)).narrow(2, 0, picture.size(2)).copy_(picture);
  draw_text(out, title, 2, 2);
  return out;
}

torch::Tensor sample_picture(const torch::Tensor& sample, int64_t scale, const std::string& title) {
  return sample.dim() == 2 ? sequence_picture(sample, title) : image_picture(sample, scale, title);
}

torch::Tensor sequence_strip_picture(const torch::Tensor& map, const std::string& title) {
  require(map.dim() == 1, "an attribution strip takes a map over time [T], got " + std::to_string(map.dim()) + " dimensions");
  const int64_t step = step_width(map.size(0));
  const int64_t rows = (24 + step - 1) / step;  // at least 24 pixels high, room for the colour bar's labels
  return heatmap_picture(map.detach().to(torch::kCPU, torch::kFloat32).view({1, -1}).expand({rows, -1}).contiguous(),
                         step, title);
}

torch::Tensor sequence_map_picture(const torch::Tensor& sequence, const torch::Tensor& map, const std::string& title) {
  require(map.dim() == 1 && sequence.dim() == 2 && map.size(0) == sequence.size(1),
          "the map must hold one value per step of the sequence");
  return stack_rows({sequence_picture(sequence, title), sequence_strip_picture(map)}, 4);
}

}  // namespace prism
