// Channel collapsing of attribution maps, as the methods' evaluations and pictures need it.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

// [C, H, W] → [H, W], or a batch [B, C, H, W] → [B, H, W] (a table's maps [B, F] or [F] have no channels and
// stay as they are): "sum", "abs-sum", "max-abs", or "signed-max" (the
// signed value of largest magnitude over channels, as the seed-003 authors draw their maps).
torch::Tensor collapse_channels(const torch::Tensor& attribution, const std::string& mode = "sum");

}  // namespace prism
