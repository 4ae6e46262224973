// TorchScript models written by torch.jit.save in PyTorch, whole models or nn.Sequential alike, as an op-level
// Network: the forward graph is copied and inlined, configuration attributes become constants, and a
// `prism::tap` operator follows every op that computes a tensor from the input. Each op is a layer named by
// its module path ("layer1.0.conv1"; "layer1.0.add" for an op in a module's own forward; ":k" for the k-th call
// of a name used more than once), with its kind and the layers it reads. The logits are unchanged; the rest of
// the model runs from any layer that cuts the graph. docs/models.md has the contract and the tested architectures.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include <torch/script.h>

#include "prism/model/network.h"

namespace prism {

// Loads `path`; `input_shape` {C, H, W} is the shape of the data it will see (a scripted model does not
// record it). The number of classes is read off a forward pass; with an empty shape only the layers are known.
std::unique_ptr<Network> load_torchscript(const std::filesystem::path& path, const std::vector<int64_t>& input_shape);
// The same from a module already in memory (a Python ScriptModule's `_c`), set to evaluation mode; `source`
// names it in errors ("the TorchScript model PATH").
std::unique_ptr<Network> torch_script_network(torch::jit::Module module, const std::vector<int64_t>& input_shape,
                                              const std::string& source);

}  // namespace prism
