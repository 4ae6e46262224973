// The one exception type of prism: its message says what was wrong and what to do about it.
#pragma once
#include <stdexcept>
#include <string>

namespace prism {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws prism::Error(message) unless `condition` holds. The message is built before the check:
// in hot loops, or where building it needs the condition, write `if (!condition) throw Error(...)`.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

// The first line of an exception's message: LibTorch's go on with a backtrace, and the CLI prints one line.
inline std::string first_line(const std::exception& e) {
  const std::string message = e.what();
  return message.substr(0, message.find('\n'));
}

}  // namespace prism
