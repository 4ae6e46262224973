#include "prism/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "prism/core/error.h"

namespace prism {

const char* plot_colour(const PlotSeries& series, size_t index) {
  static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return colours[(series.colour >= 0 ? static_cast<size_t>(series.colour) : index) % std::size(colours)];
}

std::vector<double> nice_ticks(double low, double high, int count) {
  const double span = std::max(high - low, 1e-12);
  const double raw = span / count, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double factor : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (factor * magnitude >= raw) {
      step = factor * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step - 1e-9) * step; t <= high + 1e-9 * span; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

PlotRange plot_range(const LinePlot& plot) {
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const auto& s : plot.series) {
    require(s.x.size() == s.y.size(), "plot series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                          " x values but " + std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_low = std::min(x_low, s.x[i]), x_high = std::max(x_high, s.x[i]);
      y_low = std::min(y_low, s.y[i]), y_high = std::max(y_high, s.y[i]);
    }
  }
  for (const auto& [x, label] : plot.x_categories) x_low = std::min(x_low, x), x_high = std::max(x_high, x);
  if (!std::isfinite(x_low)) x_low = 0, x_high = 1;
  if (!std::isfinite(y_low)) y_low = 0, y_high = 1;
  if (plot.y_min) y_low = *plot.y_min;
  if (plot.y_max) y_high = *plot.y_max;
  if (x_high <= x_low) x_high = x_low + 1;
  if (y_high <= y_low) y_high = y_low + 1;
  return {x_low, x_high, y_low, y_high};
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string render_svg(const LinePlot& plot) {
  const auto [x_low, x_high, y_low, y_high] = plot_range(plot);

  size_t longest_category = 0;
  for (const auto& category : plot.x_categories) longest_category = std::max(longest_category, category.second.size());
  const double width = 640, left = 64, right = 16, top = 36;
  const double bottom = plot.x_categories.empty() ? 52 : 30 + 4.6 * std::min<size_t>(longest_category, 28);
  const double height = 300 + bottom;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_low) / (x_high - x_low) * plot_w; };
  auto py = [&](double y) { return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + short_number(width) + " " +
                    short_number(height) + "\" width=\"" + short_number(width) + "\" height=\"" + short_number(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + short_number(width / 2) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" +
         xml_escape(plot.title) + "</text>\n";
  // Grid and y ticks.
  for (const double t : nice_ticks(y_low, y_high, 6)) {
    const auto y = short_number(py(t));
    svg += "<line x1=\"" + short_number(left) + "\" x2=\"" + short_number(left + plot_w) + "\" y1=\"" + y + "\" y2=\"" + y +
           "\" stroke=\"#e0e0e0\"/><text x=\"" + short_number(left - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + short_number(t) + "</text>\n";
  }
  // x ticks: categories, or round numbers.
  if (!plot.x_categories.empty()) {
    for (const auto& [x, label] : plot.x_categories) {
      const auto cx = short_number(px(x)), cy = short_number(top + plot_h + 8);
      svg += "<text x=\"" + cx + "\" y=\"" + cy + "\" text-anchor=\"end\" transform=\"rotate(-40 " + cx + " " + cy +
             ")\">" + xml_escape(label.substr(0, 28)) + "</text>\n";
    }
  } else {
    for (const double t : nice_ticks(x_low, x_high, 8))
      svg += "<text x=\"" + short_number(px(t)) + "\" y=\"" + short_number(top + plot_h + 16) + "\" text-anchor=\"middle\">" +
             short_number(t) + "</text>\n";
  }
  svg += "<rect x=\"" + short_number(left) + "\" y=\"" + short_number(top) + "\" width=\"" + short_number(plot_w) + "\" height=\"" +
         short_number(plot_h) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  svg += "<text x=\"" + short_number(left + plot_w / 2) + "\" y=\"" + short_number(height - 6) + "\" text-anchor=\"middle\">" +
         xml_escape(plot.x_label) + "</text>\n";
  svg += "<text x=\"14\" y=\"" + short_number(top + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " +
         short_number(top + plot_h / 2) + ")\">" + xml_escape(plot.y_label) + "</text>\n";
  // Series and legend.
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const auto& series = plot.series[s];
    const std::string colour = plot_colour(series, s);
    std::string points;
    for (size_t i = 0; i < series.x.size(); ++i)
      if (std::isfinite(series.x[i]) && std::isfinite(series.y[i]))
        points += short_number(px(series.x[i])) + "," + short_number(py(series.y[i])) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
           (series.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + points + "\"/>\n";
    for (size_t i = 0; i < series.x.size() && series.x.size() <= 40; ++i)
      if (std::isfinite(series.x[i]) && std::isfinite(series.y[i]))
        svg += "<circle cx=\"" + short_number(px(series.x[i])) + "\" cy=\"" + short_number(py(series.y[i])) + "\" r=\"2.5\" fill=\"" +
               colour + "\"/>\n";
    const double ly = top + 12 + 16 * s, lx = left + plot_w - 170;
    svg += "<line x1=\"" + short_number(lx) + "\" x2=\"" + short_number(lx + 22) + "\" y1=\"" + short_number(ly) + "\" y2=\"" +
           short_number(ly) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
           (series.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/><text x=\"" + short_number(lx + 28) + "\" y=\"" +
           short_number(ly) + "\" dominant-baseline=\"middle\">" + xml_escape(series.name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace prism
