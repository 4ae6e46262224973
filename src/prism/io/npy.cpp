#include "prism/io/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <regex>

#include "prism/core/error.h"
#include "prism/core/files.h"

namespace prism {
namespace {

constexpr uint64_t kMaxNpyBytes = uint64_t{16} << 30;  // 16 GiB

struct DtypeInfo {
  torch::ScalarType type;
  size_t bytes;
};

DtypeInfo parse_descr(const std::string& descr, const std::string& source) {
  if (descr == "<f4") return {torch::kFloat32, 4};
  if (descr == "<f8") return {torch::kFloat64, 8};
  if (descr == "<i8") return {torch::kInt64, 8};
  if (descr == "<i4") return {torch::kInt32, 4};
  if (descr == "<i2") return {torch::kInt16, 2};
  if (descr == "|i1" || descr == "<i1") return {torch::kInt8, 1};
  if (descr == "|u1" || descr == "<u1") return {torch::kUInt8, 1};
  if (descr == "<f2") return {torch::kHalf, 2};
  if (descr == "|b1") return {torch::kBool, 1};
  throw Error(source + ": unsupported dtype '" + descr +
              "'; save as float32, float64, int64, int32, uint8 or bool (little-endian)");
}

std::string descr_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "<f4";
    case torch::kInt64: return "<i8";
    case torch::kUInt8: return "|u1";
    case torch::kBool: return "|b1";
    default: throw Error("internal: no .npy dtype for this tensor");
  }
}

}  // namespace

NpyHeader parse_npy_header(const uint8_t* data, size_t size, const std::string& source) {
  static const char magic[] = "\x93NUMPY";
  require(size >= 10 && std::memcmp(data, magic, 6) == 0,
          source + " is not a .npy file (bad magic); save it with numpy.save");
  const uint8_t major = data[6];
  require(major >= 1 && major <= 3, source + ": unsupported .npy version " + std::to_string(major));
  size_t header_length = 0, offset = 0;
  if (major == 1) {
    header_length = data[8] | (data[9] << 8);
    offset = 10;
  } else {
    require(size >= 12, source + " is truncated (no header)");
    header_length = uint32_t(data[8]) | uint32_t(data[9]) << 8 | uint32_t(data[10]) << 16 |
                    uint32_t(data[11]) << 24;
    offset = 12;
  }
  require(header_length <= 1 << 20 && offset + header_length <= size,
          source + " is truncated or corrupt (header of " + std::to_string(header_length) + " bytes)");
  const std::string header(reinterpret_cast<const char*>(data + offset), header_length);
  offset += header_length;

  std::smatch match;
  static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex order_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  require(std::regex_search(header, match, descr_re), source + ": .npy header has no 'descr'");
  const DtypeInfo dtype = parse_descr(match[1], source);
  require(std::regex_search(header, match, order_re), source + ": .npy header has no 'fortran_order'");
  const bool fortran_order = match[1] == "True";
  require(std::regex_search(header, match, shape_re), source + ": .npy header has no 'shape'");

  std::vector<int64_t> shape;
  const std::string dims = match[1];
  static const std::regex dim_re(R"(\s*(\d+)\s*,?)");
  uint64_t count = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const std::string digits = (*it)[1];
    require(digits.size() <= 12, source + ": absurd dimension " + digits + " in .npy shape");
    const int64_t dim = std::stoll(digits);
    shape.push_back(dim);
    require(dim == 0 || count <= kMaxNpyBytes / static_cast<uint64_t>(dim),
            source + ": .npy shape is absurdly large");
    count *= static_cast<uint64_t>(dim);
  }
  require(shape.size() <= 8, source + ": .npy array has more than 8 dimensions");
  require(count <= kMaxNpyBytes / dtype.bytes, source + ": .npy shape is absurdly large");
  const uint64_t expected = count * dtype.bytes;
  require(size - offset == expected,
          source + " holds " + std::to_string(size - offset) + " data bytes but its shape needs " +
              std::to_string(expected) + "; the file is truncated or corrupt");
  return {dtype.type, shape, offset, expected, fortran_order};
}

// The shape the data is laid out in: a Fortran-order array is the C-order array of the reversed shape,
// transposed.
std::vector<int64_t> storage_shape(const NpyHeader& header) {
  auto shape = header.shape;
  if (header.fortran_order) std::reverse(shape.begin(), shape.end());
  return shape;
}

torch::Tensor in_array_order(const NpyHeader& header, const torch::Tensor& stored) {
  if (!header.fortran_order) return stored;
  std::vector<int64_t> reversed(stored.dim());
  for (int64_t d = 0; d < stored.dim(); ++d) reversed[d] = stored.dim() - 1 - d;
  return stored.permute(reversed);
}

torch::Tensor parse_npy(const uint8_t* data, size_t size, const std::string& source) {
  const auto header = parse_npy_header(data, size, source);
  auto tensor = torch::empty(storage_shape(header), torch::TensorOptions().dtype(header.dtype));
  if (header.data_bytes > 0) std::memcpy(tensor.data_ptr(), data + header.data_offset, header.data_bytes);
  return in_array_order(header, tensor).contiguous();
}

torch::Tensor map_npy(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  require(fd >= 0, "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat info {};
  const bool stat_ok = ::fstat(fd, &info) == 0;
  const size_t size = stat_ok ? static_cast<size_t>(info.st_size) : 0;
  // Private, copy-on-write mapping: pages load on demand and writes never reach the file.
  void* mapped = size > 0 ? ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  require(mapped != MAP_FAILED, path.string() + " is empty or cannot be mapped; rebuild it");
  try {
    const auto header = parse_npy_header(static_cast<const uint8_t*>(mapped), size, path.string());
    return in_array_order(header, torch::from_blob(static_cast<uint8_t*>(mapped) + header.data_offset,
                                                   storage_shape(header), [mapped, size](void*) { ::munmap(mapped, size); },
                                                   torch::TensorOptions().dtype(header.dtype)));
  } catch (...) {
    ::munmap(mapped, size);
    throw;
  }
}

torch::Tensor read_npy(const std::filesystem::path& path) {
  const auto bytes = read_file(path, kMaxNpyBytes);
  return parse_npy(bytes.data(), bytes.size(), path.string());
}

std::string npy_header(torch::ScalarType dtype, const std::vector<int64_t>& sizes) {
  std::string shape;  // numpy's spelling: "()", "(3,)", "(3, 4)"
  for (size_t d = 0; d < sizes.size(); ++d) shape += (d ? ", " : "") + std::to_string(sizes[d]);
  if (sizes.size() == 1) shape += ",";
  std::string header = "{'descr': '" + descr_of(dtype) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header;
}

std::string encode_npy(const torch::Tensor& input) {
  torch::Tensor tensor = input.detach().to(torch::kCPU);
  if (tensor.scalar_type() == torch::kFloat64 || tensor.scalar_type() == torch::kFloat16 ||
      tensor.scalar_type() == torch::kBFloat16)
    tensor = tensor.to(torch::kFloat32);
  if (tensor.scalar_type() == torch::kInt32 || tensor.scalar_type() == torch::kInt16)
    tensor = tensor.to(torch::kInt64);
  tensor = tensor.contiguous();
  std::string out = npy_header(tensor.scalar_type(), tensor.sizes().vec());
  out.append(static_cast<const char*>(tensor.data_ptr()), tensor.numel() * tensor.element_size());
  return out;
}

void write_npy(const std::filesystem::path& path, const torch::Tensor& tensor) {
  write_file_atomic(path, encode_npy(tensor));
}

}  // namespace prism
