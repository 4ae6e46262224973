// Numbers as short text, for tables, plot ticks and SVG coordinates.
#pragma once
#include <cstdio>
#include <string>

namespace prism {

// 4 significant digits: 0.1235, 12.5, 1e+05.
inline std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

}  // namespace prism
