// Readers of the file formats image data sets ship in. All parse untrusted bytes defensively:
// a truncated or corrupt file, a wrong magic number or an absurd dimension is a prism::Error.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace prism {

// IDX (MNIST, Fashion-MNIST), gzipped or not: the array it holds as uint8 with its dimensions.
torch::Tensor read_idx(const std::filesystem::path& path);
torch::Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source);

struct ImagesAndLabels {
  torch::Tensor images;  // [N, C, H, W] uint8
  torch::Tensor labels;  // [N] int64
};

// CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes (3×32×32, planar).
ImagesAndLabels read_cifar_batches(const std::vector<std::filesystem::path>& files);
ImagesAndLabels parse_cifar(const uint8_t* data, size_t size, const std::string& source);

// A PNG/JPEG/BMP image (through stb_image) as [C, H, W] uint8, C = `channels` (1 or 3; 0: as stored).
torch::Tensor read_image(const std::filesystem::path& path, int channels);
torch::Tensor decode_image(const uint8_t* data, size_t size, int channels, const std::string& source);

}  // namespace prism
