#include "prism/core/fingerprint.h"

namespace prism {

uint64_t tensors_fingerprint(const std::vector<torch::Tensor>& tensors) {
  uint64_t hash = 1469598103934665603ull;
  for (const auto& tensor : tensors) {
    const auto values = tensor.detach().to(torch::kCPU).contiguous();
    const auto* bytes = static_cast<const uint8_t*>(values.data_ptr());
    for (size_t i = 0; i < values.nbytes(); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  return hash;
}

}  // namespace prism
