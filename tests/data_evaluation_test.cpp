// The data-attribution metrics on hand-made attributions with known answers (a perfect attributor scores the
// maximum, a random one the expected value), and the evaluation end to end on a tiny subset with its cache.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "test_util.h"

namespace prism {
namespace {

TEST(DataMetrics, IdenticalLabelIsOneForAPerfectAttributorAndChanceForARandomOne) {
  const int64_t n = 1000, b = 2000, classes = 10;
  const auto train_labels = torch::arange(n) % classes;
  const auto test_labels = torch::randint(classes, {b});
  auto perfect = torch::rand({b, n});
  perfect.scatter_(1, test_labels.view({-1, 1}), 5.0);  // training sample c has label c
  EXPECT_DOUBLE_EQ(identical_label(perfect, train_labels, test_labels), 1.0);
  EXPECT_NEAR(identical_label(torch::randn({b, n}), train_labels, test_labels), 0.1, 0.03);
}

TEST(DataMetrics, MislabelDetectionIsOneWhenOptimalAndZeroForARandomOrder) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto flipped = torch::rand({5000}, generator) < 0.3;
  EXPECT_NEAR(mislabel_detection(flipped.to(torch::kFloat32), flipped).normalized, 1.0, 1e-12);
  EXPECT_LT(mislabel_detection(-flipped.to(torch::kFloat32), flipped).normalized, -0.9);
  EXPECT_NEAR(mislabel_detection(torch::rand({5000}, generator), flipped).normalized, 0.0, 0.05);
  const auto curve = mislabel_detection(flipped.to(torch::kFloat32), flipped);
  EXPECT_EQ(curve.found.front(), 0.0);
  EXPECT_DOUBLE_EQ(curve.found.back(), 1.0);
  EXPECT_THROW(mislabel_detection(torch::rand({10}), torch::zeros({10}, torch::kBool)), Error);
}

TEST(DataMetrics, ShortcutDetectionFindsTheMarkedSamples) {
  auto marked = torch::zeros({100}, torch::kBool);
  marked.narrow(0, 40, 10).fill_(true);
  auto perfect = torch::rand({8, 100});
  perfect.narrow(1, 40, 10).add_(2.0);
  const auto score = shortcut_detection(perfect, marked);
  EXPECT_DOUBLE_EQ(score.top1_hit_rate, 1.0);
  EXPECT_NEAR(score.mean_average_precision, 1.0, 1e-12);
  // The marked samples ranked last: no hit, average precision of ranks 91..100.
  const auto worst = shortcut_detection(-perfect, marked);
  EXPECT_EQ(worst.top1_hit_rate, 0.0);
  double expected = 0;
  for (int r = 1; r <= 10; ++r) expected += r / (90.0 + r);
  EXPECT_NEAR(worst.mean_average_precision, expected / 10, 1e-12);
}

TEST(DataMetrics, MixedDatasetsIsOneWhenTheSecondSourceLeadsAndItsShareForARandomRanking) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  auto mixed = torch::zeros({1000}, torch::kBool);
  mixed.narrow(0, 100, 50).fill_(true);
  auto perfect = torch::rand({4, 1000}, generator);
  perfect.narrow(1, 100, 50).add_(2.0);
  EXPECT_NEAR(mixed_datasets(perfect, mixed), 1.0, 1e-12);
  // Ranked last, the 50 sit at ranks 951..1000.
  double last = 0;
  for (int r = 1; r <= 50; ++r) last += r / (950.0 + r);
  EXPECT_NEAR(mixed_datasets(-perfect, mixed), last / 50, 1e-12);
  // A random ranking's average precision is about the second source's share (0.05).
  EXPECT_NEAR(mixed_datasets(torch::rand({200, 1000}, generator), mixed), 0.05, 0.015);
  EXPECT_THROW(mixed_datasets(perfect, torch::zeros({1000}, torch::kBool)), Error);
  EXPECT_THROW(mixed_datasets(perfect, mixed.narrow(0, 0, 999)), Error);
}

TEST(DataMetrics, SparsityCardinalityRankCorrelationAndLdsOnKnownCases) {
  auto sparse = torch::zeros({3, 50});
  sparse[0][1] = 1, sparse[1][2] = -1, sparse[1][3] = 2, sparse[2][1] = 4;
  EXPECT_DOUBLE_EQ(mean_nonzero(sparse), 4.0 / 3.0);
  EXPECT_EQ(topk_cardinality(sparse, 1), 2);  // samples 1, 3, 1
  const auto a = torch::randn({5, 200});
  EXPECT_NEAR(mean_rank_correlation(a, a), 1.0, 1e-12);
  EXPECT_NEAR(mean_rank_correlation(a, -a), -1.0, 1e-12);
  // A linear datamodel is matched exactly: outputs = Σ_{i∈S} a_i.
  const auto subsets = torch::rand({12, 200}) < 0.5;
  const auto outputs = subsets.to(torch::kFloat32).matmul(a.t());
  EXPECT_NEAR(linear_datamodeling_score(a, subsets, outputs), 1.0, 1e-9);
  EXPECT_NEAR(linear_datamodeling_score(a, subsets, -outputs), -1.0, 1e-9);
  EXPECT_THROW(linear_datamodeling_score(a, subsets.narrow(0, 0, 2), outputs.narrow(0, 0, 2)), Error);
}

TEST(Transforms, StampMarkDrawsTheOutlineOnEveryImageAndNothingElse) {
  const auto images = torch::zeros({3, 1, 10, 10});
  MarkOptions mark;
  mark.box_size = 4;
  const auto stamped = stamp_mark(images, mark);
  EXPECT_EQ((stamped != 0).sum().item<int64_t>(), 3 * 12);  // a 4×4 outline has 12 pixels
  EXPECT_EQ(stamped[2][0][1][1].item<float>(), 1.0f);
  EXPECT_EQ(stamped[2][0][2][2].item<float>(), 0.0f);  // inside the outline
  mark.left = 8;
  EXPECT_THROW(stamp_mark(images, mark), Error);
}

TEST(DataEvaluation, RunsEndToEndAndReusesItsModelsAndFits) {
  test::TempDir dir;
  const auto train = random_subset(test::fashion_train(), 400, 1), test_data = random_subset(test::fashion_test(), 30, 1);
  DataEvaluationOptions options;
  options.methods = {"dualview", "similarity", "random", "trak"};
  options.metrics = {"identical-class", "identical-subclass", "mislabel", "sparsity", "topk-cardinality",
                     "model-randomization", "lds"};
  options.architecture.architecture = "mlp";
  options.architecture.width = 32;
  options.training.epochs = 1;
  options.lds_subsets = 8;  // enough for the random control's score to be 0 within its error
  options.cache = dir / "cache";
  const auto first = evaluate_data_attribution(train, test_data, options);
  for (const auto& metric : options.metrics)
    for (const auto& method : options.methods) EXPECT_TRUE(first.values.at(metric).count(method)) << metric << method;
  EXPECT_EQ(first.values.at("sparsity").at("random"), 400.0);   // dense
  EXPECT_LT(first.values.at("sparsity").at("dualview"), 400.0);  // support vectors only
  EXPECT_GT(first.values.at("identical-class").at("similarity"), first.values.at("identical-class").at("random"));
  // The random control scores chance where chance is 0, and a self-influence beats it at finding flipped labels.
  EXPECT_LT(std::abs(first.values.at("lds").at("random")), 0.2);
  EXPECT_LT(std::abs(first.values.at("model-randomization").at("random")), 0.05);  // mean over 30 × 400 scores
  EXPECT_LT(std::abs(first.values.at("mislabel").at("random")), 0.15);
  // (TRAK's does here, 0.66 on the 0-to-1 scale; DualView's does not, issue 19.)
  double best = -1;
  for (const auto& [method, value] : first.values.at("mislabel")) best = std::max(best, value);
  EXPECT_GT(best, first.values.at("mislabel").at("random") + 0.2);
  EXPECT_EQ(first.mislabel_curves.size(), 4u);
  EXPECT_NE(first.table().find("identical-class ↑"), std::string::npos);

  const auto fit_json = dir / "cache/fits/plain/dualview/fit.json";
  const auto written = std::filesystem::last_write_time(fit_json);
  const auto second = evaluate_data_attribution(train, test_data, options);
  EXPECT_EQ(std::filesystem::last_write_time(fit_json), written);  // the fit was reused
  for (const auto& metric : options.metrics)
    for (const auto& method : options.methods)
      EXPECT_DOUBLE_EQ(second.values.at(metric).at(method), first.values.at(metric).at(method)) << metric << method;
}

// A second source (negated trousers labelled T-shirt) mixed into the training set: feature similarity finds it
// among the proponents of its test images far above the random control, which scores about its share.
TEST(DataEvaluation, MixedDatasetsFindsTheSecondSourceAboveChance) {
  test::TempDir dir;
  const auto train = random_subset(test::fashion_train(), 600, 2), test_data = random_subset(test::fashion_test(), 200, 2);
  DataEvaluationOptions options;
  options.methods = {"similarity", "random"};
  options.metrics = {"mixed-datasets"};
  options.architecture.architecture = "mlp";
  options.architecture.width = 32;
  options.training.epochs = 3;
  options.mix.share = 0.05;  // 30 negated trousers
  options.cache = dir / "cache";
  const auto result = evaluate_data_attribution(train, test_data, options);
  const auto& notes = result.notes.at("mixed-datasets");
  EXPECT_EQ(notes.at("mixed_training_samples").get<int64_t>(), 30);
  EXPECT_GE(notes.at("test_points").get<int64_t>(), 1);
  const auto& values = result.values.at("mixed-datasets");
  EXPECT_NEAR(values.at("random"), 0.05, 0.03);
  EXPECT_GT(values.at("similarity"), 0.5);
  options.mix.source_class = options.mix.target_class;
  EXPECT_THROW(evaluate_data_attribution(train, test_data, options), Error);
}

TEST(Cli, EvaluateDataAttributionRejectsBadInput) {
  test::TempDir dir;
  const auto base = "-q evaluate data-attribution --data fashion-mnist --train-size 200 --test-size 20 --epochs 1 "
                    "--model-arch mlp --out " + (dir / "out").string();
  test::expect_clean_failure(test::run_prism(base + " --metrics identical-class,accuracy"), "unknown metric 'accuracy'");
  test::expect_clean_failure(test::run_prism(base + " --methods dualview,shapley"), "unknown");
  test::expect_clean_failure(test::run_prism(base + " --metrics lds --lds-subsets 2"), "at least 3 subsets");
  test::expect_clean_failure(test::run_prism(base + " --methods dualview --method-options '{\"trak\":{}}'"),
                             "not among the methods");
  test::expect_clean_failure(
      test::run_prism(base + " --methods influence --metrics mislabel --method-options "
                             "'{\"influence\":{\"layers\":[\"fc3\"]}}'"),
      "needs self-influence");
  EXPECT_FALSE(std::filesystem::exists(dir / "out/data-attribution.md"));
}

}  // namespace
}  // namespace prism
