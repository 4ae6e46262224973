// Transformations of a data set that the evaluations of data attribution need (DualView paper,
// Section 5; quanda): each records exactly which samples it changed.
#pragma once
#include <string>
#include <vector>

#include "prism/data/dataset.h"

namespace prism {

// Label noise: a seeded `fraction` of the samples gets a different label, drawn uniformly from the
// other classes. `flipped` marks them; `original_labels` keeps the true ones.
Dataset flip_labels(const Dataset& data, double fraction, uint64_t seed);

// Class grouping: label c becomes group_of_class[c]; the classes are renamed `group_names`.
// `original_labels` keeps the fine classes.
Dataset group_classes(const Dataset& data, const std::vector<int64_t>& group_of_class,
                      const std::vector<std::string>& group_names);

// Fashion-MNIST's default grouping: tops, footwear, others (trouser, dress, bag).
struct ClassGrouping {
  std::vector<int64_t> group_of_class;
  std::vector<std::string> group_names;
};
ClassGrouping fashion_mnist_grouping();

struct MarkOptions {
  int64_t target_class = 0;
  double fraction = 0.2;  // of that class's images
  int64_t box_size = 6;   // side of the square outline, pixels
  int64_t top = 1, left = 1;
  float value = 1.0f;  // brightness of the outline (images are in [0, 1])
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("mark_class", target_class, "the class whose images carry the mark");
    option("mark_fraction", fraction, "share of that class's images marked");
    option("mark_size", box_size, "side of the mark's square outline, pixels");
    option("mark_top", top, "row of the mark's top-left corner");
    option("mark_left", left, "column of the mark's top-left corner");
    option("mark_value", value, "brightness of the mark (images lie in [0, 1])");
    option("seed", seed, "seed of the marked images' choice");
  }
};
// Marking (shortcut detection): stamps a square outline on a seeded share of one class's images.
Dataset mark_class(const Dataset& data, const MarkOptions& options);
// The mark stamped on every image of `images` [N, C, H, W] (a copy); an error if it does not fit.
torch::Tensor stamp_mark(const torch::Tensor& images, const MarkOptions& options);

// Mixed datasets (Hammoudeh & Lowd 2022; quanda's MixedDatasets): a small second source mixed into the training
// set under one label. prism's second source is the negatives (1 − x: dark objects on a bright ground) of one
// class's images, a distribution the clean data never shows; each is labelled `target_class`, so a model learns
// to assign that source to that class, and its training samples are the only evidence for it.
struct MixOptions {
  int64_t source_class = 1;  // whose images, negated, form the second source
  int64_t target_class = 0;  // the label the second source gets
  double share = 0.02;       // of the training set
  uint64_t seed = 0;
};
// A seeded `share` of the training set, drawn from `source_class`'s images, replaced by their negatives and
// relabelled `target_class`; `mixed` marks them.
Dataset mix_in_negatives(const Dataset& data, const MixOptions& options);
// The negatives 1 − x of `images` in [0, 1].
torch::Tensor negatives(const torch::Tensor& images);

}  // namespace prism
