#include "prism/data/transforms.h"

#include <cmath>

#include "prism/core/error.h"

namespace prism {

Dataset flip_labels(const Dataset& data, double fraction, uint64_t seed) {
  require(fraction > 0 && fraction <= 1, "the label-noise fraction must lie in (0, 1] (got " +
                                             std::to_string(fraction) + ")");
  require(data.num_classes() >= 2, "label noise needs at least two classes");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto count = static_cast<int64_t>(std::llround(fraction * data.size()));
  const auto chosen = torch::randperm(data.size(), generator, torch::kInt64).narrow(0, 0, count);
  // A shift of 1..K-1 classes (mod K) gives a uniformly drawn different label.
  const auto shift = torch::randint(1, data.num_classes(), {count}, generator, torch::kInt64);
  Dataset out = data;
  out.labels = data.labels.clone();
  out.flipped = data.flipped.clone();
  out.labels.index_put_({chosen}, (data.labels.index_select(0, chosen) + shift).remainder(data.num_classes()));
  out.flipped.index_put_({chosen}, true);
  out.name = data.name + "+noise" + std::to_string(fraction);
  return out;
}

Dataset group_classes(const Dataset& data, const std::vector<int64_t>& group_of_class,
                      const std::vector<std::string>& group_names) {
  require(static_cast<int64_t>(group_of_class.size()) == data.num_classes(),
          "the class grouping maps " + std::to_string(group_of_class.size()) + " classes but the data has " +
              std::to_string(data.num_classes()) + "; give one group per class");
  for (auto g : group_of_class)
    require(g >= 0 && g < static_cast<int64_t>(group_names.size()),
            "class grouping refers to group " + std::to_string(g) + " but only " +
                std::to_string(group_names.size()) + " groups are named");
  Dataset out = data;
  out.labels = torch::tensor(group_of_class, torch::kInt64).index_select(0, data.labels);
  out.class_names = group_names;
  out.name = data.name + "+grouped";
  return out;
}

ClassGrouping fashion_mnist_grouping() {
  // T-shirt, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot
  return {{0, 2, 0, 2, 0, 1, 0, 1, 2, 1}, {"tops", "footwear", "others"}};
}

torch::Tensor stamp_mark(const torch::Tensor& images, const MarkOptions& options) {
  using torch::indexing::Slice;
  const int64_t t = options.top, l = options.left, s = options.box_size;
  require(s >= 3 && t >= 0 && l >= 0 && t + s <= images.size(2) && l + s <= images.size(3),
          "the mark (a " + std::to_string(s) + "-pixel box at row " + std::to_string(t) + ", column " +
              std::to_string(l) + ") does not fit the " + std::to_string(images.size(2)) + "x" +
              std::to_string(images.size(3)) + " images");
  auto stamped = images.clone();
  stamped.index_put_({Slice(), Slice(), t, Slice(l, l + s)}, options.value);
  stamped.index_put_({Slice(), Slice(), t + s - 1, Slice(l, l + s)}, options.value);
  stamped.index_put_({Slice(), Slice(), Slice(t, t + s), l}, options.value);
  stamped.index_put_({Slice(), Slice(), Slice(t, t + s), l + s - 1}, options.value);
  return stamped;
}

Dataset mark_class(const Dataset& data, const MarkOptions& options) {
  require(options.target_class >= 0 && options.target_class < data.num_classes(),
          "the class to mark must lie in [0, " + std::to_string(data.num_classes() - 1) + "] (got " +
              std::to_string(options.target_class) + ")");
  require(options.fraction > 0 && options.fraction <= 1, "the share of images to mark must lie in (0, 1]");
  const auto members = (data.labels == options.target_class).nonzero().squeeze(1);
  require(members.numel() > 0, "no image of class " + std::to_string(options.target_class) + " to mark");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto count = std::max<int64_t>(1, std::llround(options.fraction * members.numel()));
  const auto chosen =
      members.index_select(0, torch::randperm(members.numel(), generator, torch::kInt64).narrow(0, 0, count));

  Dataset out = data;
  out.images = data.images.clone();
  out.marked = data.marked.clone();
  out.images.index_copy_(0, chosen, stamp_mark(out.images.index_select(0, chosen), options));
  out.marked.index_put_({chosen}, true);
  out.name = data.name + "+marked" + std::to_string(options.target_class);
  return out;
}

torch::Tensor negatives(const torch::Tensor& images) { return 1.0f - images; }

Dataset mix_in_negatives(const Dataset& data, const MixOptions& options) {
  const auto check_class = [&](int64_t c, const std::string& what) {
    require(c >= 0 && c < data.num_classes(), what + " must lie in [0, " + std::to_string(data.num_classes() - 1) +
                                                  "] (got " + std::to_string(c) + ")");
  };
  check_class(options.source_class, "mix_source_class");
  check_class(options.target_class, "mix_class");
  require(options.source_class != options.target_class,
          "mix_source_class and mix_class are both " + std::to_string(options.target_class) +
              "; the second source needs a label other than its own class");
  require(options.share > 0 && options.share < 1, "mix_share must lie in (0, 1) (got " + std::to_string(options.share) + ")");
  const auto members = (data.labels == options.source_class).nonzero().squeeze(1);
  const auto count = std::max<int64_t>(1, std::llround(options.share * data.size()));
  require(count <= members.numel(), "mix_share asks for " + std::to_string(count) + " images of class " +
                                        std::to_string(options.source_class) + " but the data has " +
                                        std::to_string(members.numel()) + "; lower the share");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto chosen =
      members.index_select(0, torch::randperm(members.numel(), generator, torch::kInt64).narrow(0, 0, count));
  Dataset out = data;
  out.images = data.images.clone();
  out.images.index_copy_(0, chosen, negatives(data.images.index_select(0, chosen)));
  out.labels = data.labels.clone();
  out.labels.index_fill_(0, chosen, options.target_class);
  out.mixed = data.mixed.clone();
  out.mixed.index_fill_(0, chosen, true);
  out.name = data.name + "+negatives" + std::to_string(options.source_class) + "as" + std::to_string(options.target_class);
  return out;
}

}  // namespace prism
