// A labelled image data set held in memory, with what the evaluations need to know of its history:
// where each image came from, its original label, and which labels were flipped, images marked or mixed in.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace prism {

// Per-channel statistics a model normalises its input with: (x - mean) / std.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
  bool empty() const { return mean.empty(); }
};

struct Dataset {
  std::string name;                      // e.g. "fashion-mnist:train"
  torch::Tensor images;                  // [N, C, H, W] float32 in [0, 1]
  torch::Tensor labels;                  // [N] int64, the labels a model learns from
  std::vector<std::string> class_names;  // one per label value
  Normalization normalization;           // of the data set's training split

  // Provenance, kept through subsets and transformations (all [N]):
  torch::Tensor source_index;     // int64, position in the file the image was read from
  torch::Tensor original_labels;  // int64, the labels before any transformation
  torch::Tensor flipped;          // bool, label changed by label noise
  torch::Tensor marked;           // bool, image stamped by marking
  torch::Tensor mixed;            // bool, a sample of a second source mixed in (mixed datasets)

  int64_t size() const { return labels.size(0); }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  std::vector<int64_t> image_shape() const;  // {C, H, W}

  // The images at `indices` (int64 tensor), provenance kept.
  Dataset select(const torch::Tensor& indices) const;
  // Checks the invariants above; throws prism::Error naming `source` if any fails.
  void validate(const std::string& source) const;
};

// Completes a freshly read data set: provenance tensors, default class names, validation.
Dataset make_dataset(std::string name, torch::Tensor images, torch::Tensor labels,
                     std::vector<std::string> class_names, Normalization normalization);

// Mean and standard deviation per channel of `images` [N, C, H, W].
Normalization compute_normalization(const torch::Tensor& images);

}  // namespace prism
