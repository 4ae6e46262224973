#include "prism/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace prism {
namespace {
bool quiet_mode = false;
}

void set_quiet(bool quiet) { quiet_mode = quiet; }
bool is_quiet() { return quiet_mode; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  return buffer;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string Progress::line(const std::vector<std::pair<std::string, std::string>>& figures) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double share = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  constexpr int width = 24;
  const int filled = static_cast<int>(share * width);
  std::ostringstream out;
  out << label_ << " [" << std::string(filled, '=') << (filled < width ? ">" : "")
      << std::string(std::max(0, width - filled - 1), ' ') << "] " << done_ << "/" << total_;
  for (const auto& [name, value] : figures) out << "  " << name << " " << value;
  if (rate >= 10)
    out << "  " << static_cast<int64_t>(rate) << " " << unit_ << "/s";
  else
    out << "  " << std::setprecision(2) << rate << " " << unit_ << "/s";
  if (done_ < total_)
    out << "  left " << format_duration(rate > 0 ? (total_ - done_) / rate : -1);
  else
    out << "  took " << format_duration(elapsed);
  return out.str();
}

void Progress::advance(int64_t done, const std::vector<std::pair<std::string, std::string>>& figures) {
  done_ += done;
  if (quiet_mode || !terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  std::fprintf(stderr, "\r\033[K%s", line(figures).c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::vector<std::pair<std::string, std::string>>& figures) {
  if (finished_ || quiet_mode) return;
  finished_ = true;
  std::fprintf(stderr, "%s%s\n", terminal_ ? "\r\033[K" : "", line(figures).c_str());
  std::fflush(stderr);
}

}  // namespace prism
