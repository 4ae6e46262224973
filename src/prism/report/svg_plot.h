// Line plots as standalone SVG (axes with ticks and units, legend, optional category labels on x), for
// result files and for inlining into the HTML report. Written by hand: no Debian C++ package plots to SVG.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "prism/core/text.h"

namespace prism {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
  int colour = -1;  // index into the palette; -1: the series' own index
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  // Labels at given x positions instead of numeric ticks (e.g. layer names), drawn slanted.
  std::vector<std::pair<double, std::string>> x_categories;
  std::optional<double> y_min, y_max;  // axis range; from the data where not given
};

std::string render_svg(const LinePlot& plot);

// What the SVG and the raster renderers share: the data's range (or the plot's fixed y range), about
// `count` round tick values covering [low, high] and a series' colour ("#rrggbb").
struct PlotRange {
  double x_low, x_high, y_low, y_high;
};
PlotRange plot_range(const LinePlot& plot);
std::vector<double> nice_ticks(double low, double high, int count);
const char* plot_colour(const PlotSeries& series, size_t index);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace prism
