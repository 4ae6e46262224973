// Channel collapsing of attribution maps, as the methods' evaluations and pictures need it.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

// A batch's maps over channels: [B, C, H, W] → [B, H, W], sequences' [B, C, T] → [B, T] (a table's maps [B, F] have
// no channels and stay as they are): "sum", "abs-sum", "max-abs", or "signed-max" (the signed value of largest
// magnitude over channels, as the seed-003 authors draw their maps).
torch::Tensor collapse_channels(const torch::Tensor& attributions, const std::string& mode = "sum");
// The same for one sample's map: [C, H, W] → [H, W], [C, T] → [T], [F] stays.
torch::Tensor collapse_sample_channels(const torch::Tensor& attribution, const std::string& mode = "sum");

}  // namespace prism
