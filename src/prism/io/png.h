// PNG output through stb_image_write, written atomically.
#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace prism {

// `image` is [C, H, W] or [H, W], C in {1, 3, 4}; float values in [0, 1] (clamped) or uint8.
void write_png(const std::filesystem::path& path, const torch::Tensor& image);
std::string encode_png(const torch::Tensor& image);

}  // namespace prism
