#include "prism/core/warnings.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <string>

#include "prism/core/progress.h"

namespace prism {
namespace {

class OneLineWarnings : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& message, const bool) override {
    const std::string line = message.substr(0, message.find('\n'));
    std::lock_guard<std::mutex> lock(mutex_);
    if (is_quiet() || !printed_.insert(line).second) return;  // a model that warns on every forward: once
    std::fprintf(stderr, "prism: warning: %s\n", line.c_str());
  }

 private:
  std::mutex mutex_;
  std::set<std::string> printed_;
};

}  // namespace

void route_libtorch_warnings() {
  static OneLineWarnings handler;
  c10::Warning::set_warning_handler(&handler);
}

}  // namespace prism
