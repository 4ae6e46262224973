// Numbers and lists as short text, for tables, plot ticks, SVG coordinates and messages.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace prism {

// 4 significant digits: 0.1235, 12.5, 1e+05.
inline std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

// "a, b, c" (or with another separator).
inline std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace prism
