// Superpixels for the perturbation methods (feature ablation, KernelSHAP, LIME) and IROF: each image's pixels
// grouped into segments that are switched on and off together.
//   grid  square cells of `cell` pixels (the last row and column of cells may be smaller);
//   slic  SLIC (Achanta et al. 2012, Alg. 1): k-means in (colour, position) space from a grid of about `segments`
//         centres, distance sqrt(d_colour² + (d_xy / S)² m²) with S the grid step and m the compactness, searched
//         in a 2S window, 10 iterations; then every connected piece smaller than a quarter of N / segments is
//         merged into its neighbour (scikit-image's enforce_connectivity), so segments are connected.
// Written here: no Debian package offers SLIC short of OpenCV's contrib modules.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

struct SegmentationOptions {
  std::string segmentation = "slic";  // slic | grid
  int64_t segments = 50;              // slic: the number of segments aimed at
  double compactness = 0.1;           // slic: m, in image units (scikit-image's 10 for Lab's 0–100, scaled to [0, 1])
  int64_t cell = 4;                   // grid: side of a cell, pixels (sequences: a window's steps)

  template <typename Visit>
  void visit(Visit&& option) {
    option("segmentation", segmentation, "superpixels: slic or grid");
    option("segments", segments, "slic: the number of segments aimed at");
    option("compactness", compactness, "slic: weight of position against colour (images in [0, 1])");
    option("cell", cell, "grid: side of a square cell, pixels; sequences: steps per window");
  }
};

// An error naming the bad option, with `method` for context.
void check_segmentation_options(const SegmentationOptions& options, const std::string& method);

// Segment labels [B, H, W] (int64, 0 .. count−1 per image, every label used) of images [B, C, H, W]; for table
// rows [B, F] each feature is its own segment, [B, F]; sequences [B, C, T] are cut into windows of `cell` steps,
// [B, T], whatever the segmentation.
torch::Tensor segment_images(const torch::Tensor& images, const SegmentationOptions& options);

// The number of segments of each image of `labels` [B, H, W] (or [B, F]).
std::vector<int64_t> segment_counts(const torch::Tensor& labels);

}  // namespace prism
