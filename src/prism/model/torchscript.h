// TorchScript models written by torch.jit.save in PyTorch.
// - nn.Sequential (nested too): each leaf module is a named layer ("0", "features.3"), all cuts.
// - any other scripted model: the forward graph is copied, inlined, and a `prism::tap` operator is
//   inserted after every ReLU call and every direct submodule's output. Names come from module paths
//   ("layer1.0.relu"), with ":k" for the k-th call of a module called more than once. The logits are
//   unchanged; the rest of the model runs from a tap whose value cuts the graph.
#pragma once
#include <filesystem>
#include <memory>

#include "prism/model/network.h"

namespace prism {

// Loads `path`; `input_shape` {C, H, W} is the shape of the data it will see (a scripted model
// does not record it). The number of classes is read off a forward pass.
std::unique_ptr<Network> load_torchscript(const std::filesystem::path& path, const std::vector<int64_t>& input_shape);

}  // namespace prism
