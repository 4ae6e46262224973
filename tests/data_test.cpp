// Subsets, validation splits and the three transformations the evaluations rely on.
#include "test_util.h"

namespace prism {
namespace {

TEST(Subset, SeededAndDistinct) {
  const auto& data = test::fashion_test();
  const auto a = random_subset(data, 500, 1), b = random_subset(data, 500, 1), c = random_subset(data, 500, 2);
  EXPECT_EQ(a.size(), 500);
  EXPECT_TRUE(torch::equal(a.source_index, b.source_index));
  EXPECT_FALSE(torch::equal(a.source_index, c.source_index));
  EXPECT_EQ(std::get<0>(at::_unique(a.source_index)).numel(), 500);
  EXPECT_TRUE(torch::equal(a.images, data.images.index_select(0, a.source_index)));
  EXPECT_TRUE(torch::equal(a.labels, data.labels.index_select(0, a.source_index)));
}

TEST(Subset, ValidationSplitPartitionsTheData) {
  const auto data = random_subset(test::fashion_test(), 1000, 3);
  const auto split = split_validation(data, 0.1, 7);
  EXPECT_EQ(split.validation.size(), 100);
  EXPECT_EQ(split.train.size(), 900);
  const auto all = torch::cat({split.train.source_index, split.validation.source_index});
  EXPECT_EQ(std::get<0>(at::_unique(all)).numel(), 1000);
  EXPECT_THROW(split_validation(data, 1.5, 0), Error);
}

TEST(Transforms, LabelNoiseFlipsExactlyTheRecordedSamples) {
  const auto data = random_subset(test::fashion_test(), 2000, 0);
  const auto noisy = flip_labels(data, 0.3, 5);
  EXPECT_EQ(noisy.flipped.sum().item<int64_t>(), 600);
  EXPECT_TRUE(torch::equal(noisy.labels.ne(data.labels), noisy.flipped));
  EXPECT_TRUE(torch::equal(noisy.original_labels, data.labels));
  EXPECT_TRUE(torch::equal(noisy.images, data.images));
  // Every other class is reachable: the new labels of class-0 samples cover classes 1..9.
  const auto from_zero = noisy.labels.index({noisy.flipped & data.labels.eq(0)});
  EXPECT_EQ(std::get<0>(at::_unique(from_zero)).numel(), 9);
  EXPECT_TRUE(torch::equal(flip_labels(data, 0.3, 5).labels, noisy.labels));
}

TEST(Transforms, GroupingMapsClassesAndKeepsTheFineOnes) {
  const auto data = random_subset(test::fashion_test(), 1000, 0);
  const auto grouping = fashion_mnist_grouping();
  const auto grouped = group_classes(data, grouping.group_of_class, grouping.group_names);
  EXPECT_EQ(grouped.num_classes(), 3);
  for (int64_t i = 0; i < grouped.size(); ++i)
    ASSERT_EQ(grouped.labels[i].item<int64_t>(), grouping.group_of_class[data.labels[i].item<int64_t>()]);
  EXPECT_TRUE(torch::equal(grouped.original_labels, data.labels));
  EXPECT_THROW(group_classes(data, {0, 1}, {"a", "b"}), Error);
}

TEST(Transforms, MarkingStampsExactlyTheRecordedImagesOfOneClass) {
  const auto data = random_subset(test::fashion_test(), 2000, 0);
  MarkOptions options;
  options.target_class = 8;
  options.fraction = 0.5;
  const auto marked = mark_class(data, options);
  const auto changed = (marked.images - data.images).abs().flatten(1).amax(1) > 0;
  EXPECT_TRUE(torch::equal(changed, marked.marked));
  EXPECT_TRUE(marked.labels.index({marked.marked}).eq(8).all().item<bool>());
  const int64_t members = data.labels.eq(8).sum().item<int64_t>();
  EXPECT_EQ(marked.marked.sum().item<int64_t>(), std::llround(0.5 * members));
  const int64_t first = marked.marked.nonzero()[0][0].item<int64_t>();
  EXPECT_EQ(marked.images[first][0][1][1].item<float>(), 1.0f);  // the box's corner
  EXPECT_EQ(marked.images[first][0][6][6].item<float>(), 1.0f);
  options.box_size = 40;
  EXPECT_THROW(mark_class(data, options), Error);
}

TEST(Transforms, MixingReplacesTheRecordedImagesOfOneClassByTheirNegativesUnderAnotherLabel) {
  const auto data = random_subset(test::fashion_test(), 2000, 0);
  MixOptions options;
  options.source_class = 1;
  options.target_class = 0;
  options.share = 0.05;
  const auto mixed = mix_in_negatives(data, options);
  EXPECT_EQ(mixed.mixed.sum().item<int64_t>(), 100);
  EXPECT_TRUE(data.labels.index({mixed.mixed}).eq(1).all().item<bool>());  // drawn from the source class
  EXPECT_TRUE(mixed.labels.index({mixed.mixed}).eq(0).all().item<bool>());
  EXPECT_TRUE(torch::equal(mixed.labels.ne(data.labels), mixed.mixed));
  EXPECT_TRUE(torch::allclose(mixed.images.index({mixed.mixed}), 1 - data.images.index({mixed.mixed})));
  EXPECT_TRUE(torch::equal(mixed.images.index({~mixed.mixed}), data.images.index({~mixed.mixed})));
  EXPECT_TRUE(torch::equal(mixed.original_labels, data.labels));
  EXPECT_TRUE(torch::equal(mixed.select(torch::arange(10, 20)).mixed, mixed.mixed.narrow(0, 10, 10)));
  EXPECT_TRUE(torch::equal(mix_in_negatives(data, options).mixed, mixed.mixed));  // seeded
  options.share = 0.5;  // more than the class holds
  EXPECT_THROW(mix_in_negatives(data, options), Error);
  options.share = 0.05;
  options.target_class = 1;
  EXPECT_THROW(mix_in_negatives(data, options), Error);
}

}  // namespace
}  // namespace prism
