#include "prism/report/heatmap.h"

#include <stb/stb_easy_font.h>

#include <cstdio>

#include "prism/core/error.h"

namespace prism {
namespace {

const float kNegative[3] = {0.23f, 0.30f, 0.75f};  // blue
const float kPositive[3] = {0.71f, 0.02f, 0.15f};  // red

torch::Tensor enlarge(const torch::Tensor& image, int64_t scale) {  // nearest neighbour keeps pixels sharp
  return image.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
}

std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

// A white margin on top for a title.
torch::Tensor with_title(const torch::Tensor& picture, const std::string& title) {
  if (title.empty()) return picture;
  auto out = torch::ones({3, picture.size(1) + 14, std::max<int64_t>(picture.size(2), 6 * title.size() + 4)});
  out.narrow(1, 14, picture.size(1)).narrow(2, 0, picture.size(2)).copy_(picture);
  draw_text(out, title, 2, 2);
  return out;
}

}  // namespace

torch::Tensor colorize(const torch::Tensor& map) {
  const double peak = map.abs().max().item<double>();
  const auto value = peak > 0 ? (map / peak).clamp(-1, 1) : torch::zeros_like(map);
  const auto positive = value.clamp_min(0), negative = (-value).clamp_min(0);
  std::vector<torch::Tensor> channels;
  for (int c = 0; c < 3; ++c)
    channels.push_back(1 - positive * (1 - kPositive[c]) - negative * (1 - kNegative[c]));
  return torch::stack(channels);
}

void draw_text(torch::Tensor& picture, const std::string& text, int64_t top, int64_t left, int64_t pixel) {
  std::vector<float> buffer(100 * (text.size() + 1));  // stb's bound: about 270 bytes a character
  const int quads = stb_easy_font_print(0, 0, const_cast<char*>(text.c_str()), nullptr, buffer.data(),
                                        static_cast<int>(buffer.size() * sizeof(float)));
  const float* vertices = buffer.data();  // 4 vertices a quad: x, y, z, colour
  for (int q = 0; q < quads; ++q) {
    const float* v = vertices + q * 16;
    const int64_t x0 = left + static_cast<int64_t>(v[0]) * pixel, y0 = top + static_cast<int64_t>(v[1]) * pixel;
    const int64_t x1 = left + static_cast<int64_t>(v[8]) * pixel, y1 = top + static_cast<int64_t>(v[9]) * pixel;
    const int64_t y_lo = std::clamp<int64_t>(y0, 0, picture.size(1)), y_hi = std::clamp<int64_t>(y1, 0, picture.size(1));
    const int64_t x_lo = std::clamp<int64_t>(x0, 0, picture.size(2)), x_hi = std::clamp<int64_t>(x1, 0, picture.size(2));
    if (y_hi > y_lo && x_hi > x_lo) picture.narrow(1, y_lo, y_hi - y_lo).narrow(2, x_lo, x_hi - x_lo).fill_(0.2);
  }
}

torch::Tensor heatmap_picture(const torch::Tensor& map, int64_t scale, const std::string& title) {
  const auto body = enlarge(colorize(map), scale);
  const int64_t height = body.size(1), bar_width = 10, label_width = 48;
  const double peak = map.abs().max().item<double>();
  // Colour bar from +max (top) to −max (bottom), with a thin grey frame.
  const auto ramp = torch::linspace(1, -1, height).view({height, 1}).expand({height, bar_width});
  const auto bar = colorize(ramp.contiguous());
  auto picture = torch::ones({3, std::max<int64_t>(height, 24), body.size(2) + 6 + bar_width + 4 + label_width});
  picture.narrow(1, 0, height).narrow(2, 0, body.size(2)).copy_(body);
  const int64_t bar_left = body.size(2) + 6;
  picture.narrow(1, 0, height).narrow(2, bar_left, bar_width).copy_(bar);
  draw_text(picture, std::string("+").append(format_value(peak)), 0, bar_left + bar_width + 3);
  draw_text(picture, "0", height / 2 - 4, bar_left + bar_width + 3);
  draw_text(picture, std::string("-").append(format_value(peak)), height - 8, bar_left + bar_width + 3);
  return with_title(picture, title);
}

torch::Tensor overlay_picture(const torch::Tensor& image, const torch::Tensor& map, int64_t scale,
                              const std::string& title) {
  const auto grey = image.to(torch::kFloat32).mean(0, true).expand({3, -1, -1});
  const double peak = map.abs().max().item<double>();
  const auto opacity = (peak > 0 ? map.abs() / peak : torch::zeros_like(map)).unsqueeze(0).sqrt() * 0.85;
  const auto blended = (1 - opacity) * grey + opacity * colorize(map);
  return with_title(enlarge(blended, scale), title);
}

torch::Tensor image_picture(const torch::Tensor& image, int64_t scale, const std::string& title) {
  auto rgb = image.to(torch::kFloat32).clamp(0, 1);
  if (rgb.size(0) == 1) rgb = rgb.expand({3, -1, -1});
  return with_title(enlarge(rgb.narrow(0, 0, 3), scale), title);
}

torch::Tensor side_by_side(const std::vector<torch::Tensor>& pictures, int64_t gap) {
  require(!pictures.empty(), "internal: nothing to lay out");
  int64_t height = 0, width = 0;
  for (const auto& p : pictures) {
    height = std::max(height, p.size(1));
    width += p.size(2) + gap;
  }
  auto out = torch::ones({3, height, width - gap});
  int64_t left = 0;
  for (const auto& p : pictures) {
    out.narrow(1, 0, p.size(1)).narrow(2, left, p.size(2)).copy_(p);
    left += p.size(2) + gap;
  }
  return out;
}

torch::Tensor stack_rows(const std::vector<torch::Tensor>& pictures, int64_t gap) {
  // A row of pictures is laid out left to right; stacking is the same on the transposed pictures.
  std::vector<torch::Tensor> transposed;
  for (const auto& p : pictures) transposed.push_back(p.transpose(1, 2));
  return side_by_side(transposed, gap).transpose(1, 2).contiguous();
}

}  // namespace prism
