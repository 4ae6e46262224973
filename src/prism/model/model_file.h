// prism's own model file: architecture, weights, normalisation and class names in one file.
//   "PRISMMDL" | u32 version | u64 header length | JSON header | raw little-endian tensor data
// The header lists each tensor's name, dtype, shape and offset. Written by hand (not torch::save)
// so the metadata travels with the weights and the parser can check every size before trusting it.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

#include "prism/model/network.h"

namespace prism {

// Saves a built-in network atomically; `extra` (e.g. training history) is stored in the header.
void save_network(Network& network, const std::filesystem::path& path, const nlohmann::json& extra = {});

// Loads a prism model file or a TorchScript archive (told apart by their first bytes). A TorchScript
// model needs `input_shape` {C, H, W} of the data it will see; a prism file knows its own.
std::unique_ptr<Network> load_network(const std::filesystem::path& path, const std::vector<int64_t>& input_shape = {});

// Parses a prism model file held in memory; `source` names it in errors.
std::unique_ptr<Network> parse_network(const std::vector<uint8_t>& bytes, const std::string& source);

}  // namespace prism
