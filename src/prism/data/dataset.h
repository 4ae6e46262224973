// A labelled data set held in memory — images [N, C, H, W], sequences [N, C, T] or table rows [N, F] — with what the
// evaluations need to know of its history: where each sample came from, its original label, and which labels
// were flipped, images marked or mixed in.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace prism {

// Per-channel statistics a model normalises its input with: (x - mean) / std, along dimension 1 of a batch (an
// image's or sequence's channels, a table's features: per-feature standardisation).
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
  bool empty() const { return mean.empty(); }
};

struct Dataset {
  std::string name;                      // e.g. "fashion-mnist:train"
  // The samples, float32: images [N, C, H, W] in [0, 1], sequences [N, C, T] or table rows [N, F] as given.
  torch::Tensor images;
  torch::Tensor labels;                  // [N] int64, the labels a model learns from
  std::vector<std::string> class_names;  // one per label value
  Normalization normalization;           // of the data set's training split
  std::vector<std::string> feature_names;  // a table's columns (empty for images and sequences)

  // Provenance, kept through subsets and transformations (all [N]):
  torch::Tensor source_index;     // int64, position in the file the image was read from
  torch::Tensor original_labels;  // int64, the labels before any transformation
  torch::Tensor flipped;          // bool, label changed by label noise
  torch::Tensor marked;           // bool, image stamped by marking
  torch::Tensor mixed;            // bool, a sample of a second source mixed in (mixed datasets)

  int64_t size() const { return labels.size(0); }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  std::vector<int64_t> sample_shape() const;  // {C, H, W}, {C, T} or {F}
  bool is_image() const { return images.dim() == 4; }
  bool is_sequence() const { return images.dim() == 3; }
  bool is_table() const { return images.dim() == 2; }

  // The images at `indices` (int64 tensor), provenance kept.
  Dataset select(const torch::Tensor& indices) const;
  // Checks the invariants above; throws prism::Error naming `source` if any fails.
  void validate(const std::string& source) const;
};

// Completes a freshly read data set: provenance tensors, default class names, validation.
Dataset make_dataset(std::string name, torch::Tensor images, torch::Tensor labels,
                     std::vector<std::string> class_names, Normalization normalization);

// The shape of a batch's attribution maps once channels are collapsed: [B, H, W] for images [B, C, H, W], [B, T]
// for sequences [B, C, T], [B, F] for table rows [B, F] (which have no channels).
std::vector<int64_t> map_shape(at::IntArrayRef batch_shape);

// The same for one sample [C, H, W], [C, T] or [F]: what names it in messages ("image", "sequence", "table row").
std::string sample_noun(size_t sample_dims);

// A table's column names: `names`, or f0, f1, ... for the `count` features when there are none.
std::vector<std::string> feature_labels(const std::vector<std::string>& names, int64_t count);

// "[2, 1, 28, 28]", for error messages.
std::string shape_string(at::IntArrayRef sizes);

// Mean and standard deviation along dimension 1 of `samples` [N, C, ...] (per channel, or per feature of a table).
Normalization compute_normalization(const torch::Tensor& samples);

}  // namespace prism
