// NumPy .npy arrays (format versions 1–3, little-endian): read any shape of float16/32/64, int8/16/32/64,
// uint8 and bool, in C or Fortran order (a transposed array's np.save), write float32/int64/uint8/bool. Written by hand because
// no Debian package reads .npy from C++; the header is parsed defensively (untrusted input).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace prism {

torch::Tensor read_npy(const std::filesystem::path& path);
// Maps the file into memory instead of reading it (pages load on demand, so an array larger than
// memory works); the tensor keeps the mapping alive. Writes to it never reach the file. A Fortran-order
// file maps as a transposed (non-contiguous) view.
torch::Tensor map_npy(const std::filesystem::path& path);

struct NpyHeader {
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  size_t data_offset, data_bytes;
  bool fortran_order = false;  // the data is laid out column-major
};
// Validates the header and that exactly the shape's data follows it.
NpyHeader parse_npy_header(const uint8_t* data, size_t size, const std::string& source);
// The header for an array of this dtype and shape, to stream its data after it.
std::string npy_header(torch::ScalarType dtype, const std::vector<int64_t>& shape);
// Parses .npy bytes already in memory; `source` names them in errors.
torch::Tensor parse_npy(const uint8_t* data, size_t size, const std::string& source);

// Writes atomically; float64 is stored as float32, int32 as int64.
void write_npy(const std::filesystem::path& path, const torch::Tensor& tensor);
std::string encode_npy(const torch::Tensor& tensor);

}  // namespace prism
