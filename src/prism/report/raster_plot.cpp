#include "prism/report/raster_plot.h"

#include <stb/stb_easy_font.h>

#include <array>
#include <cmath>
#include <cstdio>

#include "prism/report/heatmap.h"

namespace prism {
namespace {

std::array<float, 3> rgb(const char* hex) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex + 1, "%02x%02x%02x", &r, &g, &b);
  return {r / 255.f, g / 255.f, b / 255.f};
}

void dot(torch::Tensor& picture, double x, double y, const std::array<float, 3>& colour, int64_t radius) {
  const int64_t cx = std::lround(x), cy = std::lround(y);
  for (int64_t dy = -radius; dy <= radius; ++dy)
    for (int64_t dx = -radius; dx <= radius; ++dx) {
      const int64_t px = cx + dx, py = cy + dy;
      if (px < 0 || py < 0 || px >= picture.size(2) || py >= picture.size(1)) continue;
      for (int c = 0; c < 3; ++c) picture[c][py][px] = colour[c];
    }
}

// A line 2·radius + 1 px wide; dashed: 6 px drawn, 4 px left out.
void line(torch::Tensor& picture, double x0, double y0, double x1, double y1, const std::array<float, 3>& colour,
          bool dashed, int64_t radius = 1) {
  const double length = std::hypot(x1 - x0, y1 - y0);
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(length * 2)));
  for (int64_t s = 0; s <= steps; ++s) {
    const double t = static_cast<double>(s) / steps;
    if (dashed && std::fmod(t * length, 10.0) > 6.0) continue;
    dot(picture, x0 + t * (x1 - x0), y0 + t * (y1 - y0), colour, radius);
  }
}

int64_t text_width(const std::string& text) { return stb_easy_font_width(const_cast<char*>(text.c_str())); }

}  // namespace

torch::Tensor render_picture(const LinePlot& plot, int64_t width, int64_t height) {
  const auto [x_low, x_high, y_low, y_high] = plot_range(plot);
  const double left = 64, right = 16, top = 32, bottom = plot.x_categories.empty() ? 44 : 56;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_low) / (x_high - x_low) * plot_w; };
  auto py = [&](double y) { return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h; };
  auto picture = torch::ones({3, height, width});
  const std::array<float, 3> grid = {0.88f, 0.88f, 0.88f}, frame = {0.27f, 0.27f, 0.27f};

  draw_text(picture, plot.title, 8, std::max<int64_t>(0, (width - text_width(plot.title)) / 2));
  for (const double t : nice_ticks(y_low, y_high, 6)) {
    line(picture, left, py(t), left + plot_w, py(t), grid, false, 0);
    const auto label = short_number(t);
    draw_text(picture, label, std::lround(py(t)) - 4, std::lround(left) - 6 - text_width(label));
  }
  const int64_t label_top = std::lround(top + plot_h) + 6;
  if (!plot.x_categories.empty()) {
    int64_t last_end[2] = {-1000, -1000};  // right edge of the last label in each row
    for (const auto& [x, label] : plot.x_categories) {
      const std::string text = label.substr(0, 24);
      const int64_t start = std::lround(px(x)) - text_width(text) / 2;
      const int row = start > last_end[0] + 4 ? 0 : 1;
      draw_text(picture, text, label_top + 12 * row, start);
      last_end[row] = start + text_width(text);
    }
  } else {
    for (const double t : nice_ticks(x_low, x_high, 8)) {
      const auto label = short_number(t);
      draw_text(picture, label, label_top, std::lround(px(t)) - text_width(label) / 2);
    }
  }
  line(picture, left, top, left + plot_w, top, frame, false, 0);
  line(picture, left, top + plot_h, left + plot_w, top + plot_h, frame, false, 0);
  line(picture, left, top, left, top + plot_h, frame, false, 0);
  line(picture, left + plot_w, top, left + plot_w, top + plot_h, frame, false, 0);
  draw_text(picture, plot.x_label, height - 14, std::lround(left + (plot_w - text_width(plot.x_label)) / 2));
  draw_text(picture, plot.y_label, 20, 4);  // above the y axis: the bitmap font does not rotate

  for (size_t s = 0; s < plot.series.size(); ++s) {
    const auto& series = plot.series[s];
    const auto colour = rgb(plot_colour(series, s));
    for (size_t i = 0; i + 1 < series.x.size(); ++i)
      if (std::isfinite(series.y[i]) && std::isfinite(series.y[i + 1]))
        line(picture, px(series.x[i]), py(series.y[i]), px(series.x[i + 1]), py(series.y[i + 1]), colour, series.dashed);
    for (size_t i = 0; i < series.x.size() && series.x.size() <= 40; ++i)
      if (std::isfinite(series.y[i])) dot(picture, px(series.x[i]), py(series.y[i]), colour, 2);
    const double ly = top + 10 + 14 * s, lx = left + plot_w - 170;
    line(picture, lx, ly, lx + 22, ly, colour, series.dashed);
    draw_text(picture, series.name, std::lround(ly) - 4, std::lround(lx) + 28);
  }
  return picture;
}

}  // namespace prism
