// Pictures of attributions: channel collapsing, a diverging colour map normalised by max |·|, a colour
// bar with its range, overlays on the input, and side-by-side grids. Images are [3, H, W] float in [0, 1].
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/explain/feature/collapse.h"

namespace prism {

// A [H, W] map in colour: blue (negative), white (zero), red (positive), scaled by max |map|.
torch::Tensor colorize(const torch::Tensor& map);

// The map alone, enlarged `scale` times (nearest neighbour), with a colour bar labelled ±max |map|.
torch::Tensor heatmap_picture(const torch::Tensor& map, int64_t scale, const std::string& title = "");

// The input in grey with the map's colour laid over it, opacity growing with |map|.
torch::Tensor overlay_picture(const torch::Tensor& image, const torch::Tensor& map, int64_t scale,
                              const std::string& title = "");

// An image [C, H, W] in [0, 1] as a titled picture, enlarged `scale` times.
torch::Tensor image_picture(const torch::Tensor& image, int64_t scale, const std::string& title = "");

// Pictures side by side on white, tops aligned, with a gap.
torch::Tensor side_by_side(const std::vector<torch::Tensor>& pictures, int64_t gap = 8);
// Pictures one below the other on white, left edges aligned, with a gap.
torch::Tensor stack_rows(const std::vector<torch::Tensor>& pictures, int64_t gap = 8);

// Writes `text` into `picture` [3, H, W] at (top, left), dark grey, `pixel` image pixels per font pixel.
void draw_text(torch::Tensor& picture, const std::string& text, int64_t top, int64_t left, int64_t pixel = 1);

}  // namespace prism
