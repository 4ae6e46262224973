// The container check prism runs on a TorchScript archive (a model, or an optimizer state written by torch::save)
// before LibTorch reads it.
//
// LibTorch 1.13's loader trusts its input: it skips the zip archive's CRC-32 checks and crashes on many damaged
// archives (PyTorch treats TorchScript files as programs, to be loaded only from trusted sources; pytorch/pytorch
// #77573). So a damaged model file — truncated, bit-flipped, another format — is refused here with a one-line
// reason before LibTorch sees it. This does not make a crafted archive with correct checksums safe to load.
#pragma once
#include <torch/script.h>

#include <filesystem>
#include <string>
#include <vector>

namespace prism {

// Throws prism::Error, its message naming `path` and the problem and ending in `advice` ("; do this"), unless
// `path` is a consistent zip archive (libzip's strict consistency check) whose every record decompresses to its
// declared size and CRC-32, and which holds the records of a TorchScript module (ARCHIVE/data.pkl,
// ARCHIVE/constants.pkl, ARCHIVE/version and code in ARCHIVE/code/).
// Returns the sizes of its tensor-data records (ARCHIVE/data/*), for the storages LibTorch builds from them.
std::vector<uint64_t> check_torchscript_archive(const std::filesystem::path& path, const std::string& advice);

// Every LibTorch archive prism reads goes through here: the check above, torch::jit::load, then the storages
// (check_tensor_storage in the .cpp), each failure an Error naming `path` and ending in `advice`.
torch::jit::Module load_checked_archive(const std::filesystem::path& path, const std::string& advice);

}  // namespace prism
