// A fingerprint of tensors' bytes (FNV-1a, 64 bits): what a cache entry or a seeded stream was computed from
// when there is no file to fingerprint (a model's weights, images handed over from Python). Not cryptographic.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace prism {

uint64_t tensors_fingerprint(const std::vector<torch::Tensor>& tensors);

}  // namespace prism
