// NumPy .npy arrays (format versions 1–3, C order, little-endian): read any shape of
// float32/float64/int64/int32/uint8/bool, write float32/int64/uint8/bool. Written by hand because
// no Debian package reads .npy from C++; the header is parsed defensively (untrusted input).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace prism {

torch::Tensor read_npy(const std::filesystem::path& path);
// Parses .npy bytes already in memory; `source` names them in errors.
torch::Tensor parse_npy(const uint8_t* data, size_t size, const std::string& source);

// Writes atomically; float64 is stored as float32, int32 as int64.
void write_npy(const std::filesystem::path& path, const torch::Tensor& tensor);
std::string encode_npy(const torch::Tensor& tensor);

}  // namespace prism
