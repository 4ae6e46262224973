// A tensor's values as a std::vector (for JSON), whatever its device and type.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace prism {

inline std::vector<float> to_vector(const torch::Tensor& values) {
  const auto flat = values.to(torch::kCPU, torch::kFloat32).contiguous();
  return {flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()};
}

}  // namespace prism
