#include "prism/data/readers.h"

#include <stb/stb_image.h>

#include <cstdint>
#include <cstring>

#include "prism/core/error.h"
#include "prism/core/files.h"

namespace prism {
namespace {
constexpr uint64_t kMaxFileBytes = uint64_t{8} << 30;
constexpr int64_t kMaxSide = 1 << 14;

std::string decode_failure() {  // Debian's libstb may be built without failure strings
  const char* reason = stbi_failure_reason();
  return reason ? reason : "not a supported image or corrupt";
}
}  // namespace

torch::Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source) {
  require(size >= 4 && data[0] == 0 && data[1] == 0,
          source + " is not an IDX file (bad magic number); give MNIST-style idx files");
  require(data[2] == 0x08, source + ": IDX element type 0x" + std::to_string(data[2]) +
                               " is not supported; only unsigned bytes (0x08) are");
  const int dims = data[3];
  require(dims >= 1 && dims <= 4, source + ": IDX file with " + std::to_string(dims) +
                                      " dimensions; 1 (labels) to 4 are supported");
  require(size >= 4 + 4 * static_cast<size_t>(dims), source + " is truncated (incomplete header)");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    const uint8_t* p = data + 4 + 4 * d;
    const uint64_t extent = uint64_t(p[0]) << 24 | uint64_t(p[1]) << 16 | uint64_t(p[2]) << 8 | p[3];
    require(extent > 0 && (d == 0 || extent <= kMaxSide),
            source + ": absurd IDX dimension " + std::to_string(extent));
    count *= extent;
    require(count <= kMaxFileBytes, source + ": IDX dimensions are absurdly large");
    shape.push_back(static_cast<int64_t>(extent));
  }
  const size_t offset = 4 + 4 * static_cast<size_t>(dims);
  require(size - offset == count,
          source + " holds " + std::to_string(size - offset) + " data bytes but its header promises " +
              std::to_string(count) + "; the file is truncated or corrupt, re-download it");
  auto tensor = torch::empty(shape, torch::kUInt8);
  std::memcpy(tensor.data_ptr(), data + offset, count);
  return tensor;
}

torch::Tensor read_idx(const std::filesystem::path& path) {
  const auto bytes = read_file(path, kMaxFileBytes);
  return parse_idx(bytes.data(), bytes.size(), path.string());
}

ImagesAndLabels parse_cifar(const uint8_t* data, size_t size, const std::string& source) {
  constexpr size_t record = 1 + 3 * 32 * 32;
  require(size > 0 && size % record == 0,
          source + " is " + std::to_string(size) + " bytes, not a whole number of CIFAR-10 records (" +
              std::to_string(record) + " bytes each); give the binary version's data_batch_*.bin");
  const int64_t n = static_cast<int64_t>(size / record);
  auto raw = torch::from_blob(const_cast<uint8_t*>(data), {n, static_cast<int64_t>(record)}, torch::kUInt8);
  ImagesAndLabels out;
  out.labels = raw.select(1, 0).to(torch::kInt64);
  out.images = raw.narrow(1, 1, record - 1).reshape({n, 3, 32, 32}).clone();
  require(out.labels.max().item<int64_t>() < 10,
          source + " has labels above 9; it is not a CIFAR-10 binary batch");
  return out;
}

ImagesAndLabels read_cifar_batches(const std::vector<std::filesystem::path>& files) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& file : files) {
    const auto bytes = read_file(file, kMaxFileBytes);
    auto part = parse_cifar(bytes.data(), bytes.size(), file.string());
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  require(!images.empty(), "no CIFAR-10 batch files given");
  return {torch::cat(images), torch::cat(labels)};
}

torch::Tensor decode_image(const uint8_t* data, size_t size, int channels, const std::string& source) {
  require(size <= static_cast<size_t>(INT32_MAX), source + " is too large to be an image");
  int width = 0, height = 0, found = 0;
  require(stbi_info_from_memory(data, static_cast<int>(size), &width, &height, &found),
          "cannot decode image " + source + ": " + decode_failure());
  require(width > 0 && height > 0 && width <= kMaxSide && height <= kMaxSide,
          source + ": absurd image size " + std::to_string(width) + "x" + std::to_string(height));
  const int wanted = channels > 0 ? channels : found;
  unsigned char* pixels = stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &found, wanted);
  require(pixels != nullptr, "cannot decode image " + source + ": " + decode_failure());
  auto image = torch::from_blob(pixels, {height, width, wanted}, torch::kUInt8).permute({2, 0, 1}).clone();
  stbi_image_free(pixels);
  return image;
}

torch::Tensor read_image(const std::filesystem::path& path, int channels) {
  const auto bytes = read_file(path, uint64_t{256} << 20);
  return decode_image(bytes.data(), bytes.size(), channels, path.string());
}

}  // namespace prism
