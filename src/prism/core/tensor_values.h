// A tensor's values as a std::vector (for JSON), whatever its device and type; per-sample and per-channel values
// shaped to broadcast over batches of any rank (images [B, C, H, W], sequences [B, C, T], table rows [B, F]).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace prism {

inline std::vector<float> to_vector(const torch::Tensor& values) {
  const auto flat = values.to(torch::kCPU, torch::kFloat32).contiguous();
  return {flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()};
}

// `values` [K] as [K, 1, ..., 1] of `dims` dimensions: one value per sample of a batch.
inline torch::Tensor along_batch(const torch::Tensor& values, int64_t dims) {
  std::vector<int64_t> shape(std::max<int64_t>(dims, 1), 1);
  shape[0] = -1;
  return values.view(shape);
}

// `values` [C] as [1, C, 1, ..., 1] of `dims` dimensions: one value per channel (or per feature of a table).
inline torch::Tensor along_channels(const torch::Tensor& values, int64_t dims) {
  std::vector<int64_t> shape(std::max<int64_t>(dims, 2), 1);
  shape[1] = -1;
  return values.view(shape);
}

}  // namespace prism
