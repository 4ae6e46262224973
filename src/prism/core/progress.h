// Progress of long work on stderr: items done, rate, time left, and named figures (loss, accuracy).
// Redraws one line when stderr is a terminal; otherwise prints only the final line of each task.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prism {

// Set once by the CLI: quiet mode prints nothing.
void set_quiet(bool quiet);
bool is_quiet();

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "img");
  // Adds `done` items and redraws (at most ten times a second).
  void advance(int64_t done, const std::vector<std::pair<std::string, std::string>>& figures = {});
  // Prints the final line, with the figures given.
  void finish(const std::vector<std::pair<std::string, std::string>>& figures = {});

 private:
  std::string line(const std::vector<std::pair<std::string, std::string>>& figures) const;
  std::string label_;
  std::string unit_;
  int64_t total_;
  int64_t done_ = 0;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);

}  // namespace prism
