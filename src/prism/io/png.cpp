#include "prism/io/png.h"

#include <stb/stb_image_write.h>

#include "prism/core/error.h"
#include "prism/core/files.h"

namespace prism {

std::string encode_png(const torch::Tensor& input) {
  torch::Tensor image = input.detach().to(torch::kCPU);
  if (image.dim() == 2) image = image.unsqueeze(0);
  require(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3 || image.size(0) == 4),
          "internal: a PNG needs [C, H, W] with C in {1, 3, 4}");
  if (image.scalar_type() != torch::kUInt8) image = (image.to(torch::kFloat32).clamp(0, 1) * 255).round().to(torch::kUInt8);
  image = image.permute({1, 2, 0}).contiguous();  // HWC, as PNG stores pixels
  std::string out;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
  };
  const int height = static_cast<int>(image.size(0)), width = static_cast<int>(image.size(1));
  const int channels = static_cast<int>(image.size(2));
  require(stbi_write_png_to_func(append, &out, width, height, channels, image.data_ptr<uint8_t>(), width * channels),
          "PNG encoding failed");
  return out;
}

void write_png(const std::filesystem::path& path, const torch::Tensor& image) {
  write_file_atomic(path, encode_png(image));
}

}  // namespace prism
