// The feature-attribution evaluation: similarity and single-map measures on constructed maps with known
// values, pixel removal, the random control's MoRF and LeRF curves, the sanity check's bookkeeping, and
// ROAR end to end on a tiny subset with its cache.
#include <cmath>

#include "test_util.h"

namespace prism {
namespace {

// An mlp trained for one epoch on 2,000 Fashion-MNIST images: fast, and far from random.
Network& small_trained_mlp() {
  static std::unique_ptr<Network> network = [] {
    ZooOptions zoo;
    zoo.architecture = "mlp";
    zoo.width = 64;
    auto net = make_zoo_network(zoo);
    const auto& test = test::fashion_test();
    set_metadata(*net, {1, 28, 28}, 10, test.class_names, test.normalization);
    TrainOptions training;
    training.epochs = 1;
    train_network(*net, random_subset(test::fashion_train(), 2000, 0), nullptr, training);
    return net;
  }();
  return *network;
}

TEST(MapSimilarity, SpearmanIsOneForTheSameRankingAndMinusOneReversed) {
  const auto a = torch::tensor({0.1, 0.5, 0.2, 0.9, 0.3});
  EXPECT_NEAR(spearman_correlation(a, a), 1.0, 1e-12);
  EXPECT_NEAR(spearman_correlation(a, a.pow(3) * 7 + 2), 1.0, 1e-12);  // monotone maps rank alike
  EXPECT_NEAR(spearman_correlation(a, -a), -1.0, 1e-12);
  // Ties take their average rank: ranks (1.5, 1.5, 3) against (1, 2, 3) correlate at √3/2.
  EXPECT_NEAR(spearman_correlation(torch::tensor({1.0, 1.0, 2.0}), torch::tensor({1.0, 2.0, 3.0})), std::sqrt(3.0) / 2, 1e-12);
  EXPECT_EQ(pearson_correlation(torch::ones({4}), a.narrow(0, 0, 4)), 0.0);  // undefined for a constant
}

TEST(MapSimilarity, SsimIsOneForIdenticalMapsAndNearZeroForIndependentOnes) {
  torch::manual_seed(0);
  const auto a = torch::rand({28, 28}), b = torch::rand({28, 28});
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-9);
  EXPECT_LT(std::abs(ssim(a, b)), 0.1);
  EXPECT_LT(ssim(a, 1 - a), 0.0);  // anti-correlated structure
  const auto s = compare_maps(a - 0.5, a - 0.5);
  for (double value : as_vector(s)) EXPECT_NEAR(value, 1.0, 1e-9);
}

TEST(MapSimilarity, HogPutsAVerticalEdgeIntoTheHorizontalGradientBin) {
  auto edge = torch::zeros({16, 16});
  edge.narrow(1, 8, 8).fill_(1);  // dark left half, bright right half: gradients point along x (0°)
  const auto features = hog_features(edge, 4, 9);
  EXPECT_EQ(features.numel(), 3 * 3 * 4 * 9);
  const auto per_bin = features.view({-1, 9}).sum(0);
  EXPECT_EQ(per_bin.argmax().item<int64_t>(), 0);
  EXPECT_NEAR(per_bin.sum().item<double>(), per_bin[0].item<double>(), 1e-9);
}

TEST(MapMeasures, GiniAndEntropyHaveTheirKnownExtremes) {
  auto one_hot = torch::zeros({100});
  one_hot[37] = -4.0;  // sign does not matter
  EXPECT_NEAR(gini_index(one_hot), 0.99, 1e-12);  // (n − 1) / n
  EXPECT_NEAR(gini_index(torch::ones({100})), 0.0, 1e-12);
  EXPECT_NEAR(map_entropy(one_hot), 0.0, 1e-12);
  EXPECT_NEAR(map_entropy(torch::ones({10, 10})), std::log(100.0), 1e-12);
}

TEST(PixelRemoval, WritesTheFillToExactlyTheRankedPixelsInEveryChannel) {
  const auto images = torch::rand({2, 3, 4, 4});
  auto maps = torch::arange(32, torch::kFloat32).view({2, 4, 4});
  maps[1] = -maps[1];  // image 1 ranks its first pixel highest
  const auto ranking = rank_pixels(maps);
  EXPECT_EQ(ranking[0][0].item<int64_t>(), 15);
  EXPECT_EQ(ranking[1][0].item<int64_t>(), 0);
  const auto fill = torch::full_like(images, -7.0);
  const auto top = remove_pixels(images, ranking, 3, fill, true);
  const auto bottom = remove_pixels(images, ranking, 3, fill, false);
  const auto removed_top = (top == -7.0).all(1).flatten(1), removed_bottom = (bottom == -7.0).all(1).flatten(1);
  EXPECT_EQ(removed_top.sum().item<int64_t>(), 6);
  EXPECT_TRUE(removed_top[0].narrow(0, 13, 3).all().item<bool>());  // pixels 13, 14, 15
  EXPECT_TRUE(removed_top[1].narrow(0, 0, 3).all().item<bool>());   // pixels 0, 1, 2
  EXPECT_TRUE(removed_bottom[0].narrow(0, 0, 3).all().item<bool>());
  EXPECT_TRUE(removed_bottom[1].narrow(0, 13, 3).all().item<bool>());
  EXPECT_TRUE(torch::equal(top.masked_select(top != -7.0), images.masked_select(top != -7.0)));
  EXPECT_TRUE(torch::equal(remove_pixels(images, ranking, 0, fill, true), images));
}

TEST(PixelPerturbation, TheRandomControlsMorfAndLerfCurvesCoincideWithinNoise) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 400, 1);
  const auto targets = data.labels;
  RandomMap random({3});
  const auto maps = random.attribute(network, data.images, targets).squeeze(1);
  PerturbationOptions options;
  options.percentages = {0, 10, 20, 40, 60, 80, 100};
  const auto curves = perturbation_curves(network, data.images, targets, maps, "random", options);
  // Both orders start at the unperturbed score and end with every pixel removed.
  EXPECT_TRUE(torch::allclose(curves.morf_probability.select(1, 0), curves.original_probability, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(curves.morf_logit.select(1, 6), curves.lerf_logit.select(1, 6)));
  const auto difference = (curves.morf_probability - curves.lerf_probability).mean(1);
  const double standard_error = difference.std().item<double>() / std::sqrt(400.0);
  EXPECT_GT(aopc(curves.morf_probability, curves.original_probability, options.percentages), 0.05);  // removal hurts
  EXPECT_LT(std::abs(difference.mean().item<double>()), 4 * standard_error + 1e-3);
}

TEST(PixelPerturbation, AFaithfulMapBeatsTheRandomControl) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 200, 2);
  IntegratedGradients ig({.steps = 16});
  const auto maps = ig.attribute(network, data.images, data.labels).squeeze(1);
  const auto curves = perturbation_curves(network, data.images, data.labels, maps, "integrated-gradients");
  const auto& grid = PerturbationOptions().percentages;
  const double morf = aopc(curves.morf_logit, curves.original_logit, grid);
  const double lerf = aopc(curves.lerf_logit, curves.original_logit, grid);
  EXPECT_GT(morf, lerf + 1.0);  // removing the most relevant pixels first drops the logit far faster
}

TEST(SanityCheck, RandomisesFromTheOutputBackAndRestoresTheWeights) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 16, 3);
  const auto before = predict_logits(network, data.images);
  Saliency saliency;
  RandomMap random;
  const auto result = model_randomization(network, {&saliency, &random}, data.images, data.labels);
  EXPECT_EQ(result.steps, (std::vector<std::string>{"original", "fc3", "fc2", "fc1"}));
  EXPECT_TRUE(torch::equal(predict_logits(network, data.images), before));  // weights restored exactly
  for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(result.mean(0, 0, k), 1.0, 1e-9);
  EXPECT_LT(result.mean(0, 3, 0), 0.5);             // saliency follows the weights
  EXPECT_LT(std::abs(result.mean(1, 1, 0)), 0.1);   // the random control is unrelated to itself
  EXPECT_EQ(result.maps[0].sizes(), (std::vector<int64_t>{4, 16, 28, 28}));
  const auto json = result.to_json();
  EXPECT_EQ(json["methods"][0]["spearman"].size(), 4u);

  SanityOptions independent;
  independent.mode = "independent";
  const auto one_at_a_time = model_randomization(network, {&saliency}, data.images, data.labels, independent);
  // Randomising fc1 alone or with everything above it leaves a different map.
  EXPECT_NE(one_at_a_time.mean(0, 3, 0), result.mean(0, 3, 0));
  EXPECT_TRUE(torch::equal(predict_logits(network, data.images), before));
}

TEST(Roar, RetrainsOnRemovedPixelsAndReadsEverythingFromItsCacheTheSecondTime) {
  test::TempDir dir;
  auto& network = small_trained_mlp();
  const auto train = random_subset(test::fashion_train(), 600, 4), test_data = random_subset(test::fashion_test(), 200, 4);
  Saliency saliency;
  RandomMap random;
  RoarOptions options;
  options.fractions = {50, 90};
  options.training.epochs = 1;
  options.cache = dir / "cache";
  options.key = {{"model", "small mlp"}};
  ZooOptions architecture = zoo_options(network);
  const auto first = run_roar(network, architecture, {&saliency, &random}, train, test_data, options);
  EXPECT_EQ(first.runs.size(), 1u + 2 * 2 * 2);  // the baseline, then 2 methods × 2 modes × 2 fractions
  for (const auto& run : first.runs) {
    EXPECT_FALSE(run.cached);
    EXPECT_GE(run.accuracy, 0.0);
    EXPECT_LE(run.accuracy, 1.0);
  }
  EXPECT_GT(first.accuracy("", "none", 0), 0.3);  // well above chance (0.1)
  EXPECT_GT(first.retraining_seconds, 0.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "cache/maps/saliency-train.npy"));

  RandomMap same_random;  // a fresh instance of the same control, as a new process would make
  const auto second = run_roar(network, architecture, {&saliency, &same_random}, train, test_data, options);
  for (size_t i = 0; i < second.runs.size(); ++i) {
    EXPECT_TRUE(second.runs[i].cached);
    EXPECT_EQ(second.runs[i].accuracy, first.runs[i].accuracy);
  }
  EXPECT_EQ(second.retraining_seconds, 0.0);

  options.fractions = {70};  // a new point trains; the baseline stays cached
  const auto third = run_roar(network, architecture, {&saliency}, train, test_data, options);
  EXPECT_TRUE(third.runs[0].cached);
  EXPECT_FALSE(third.runs[1].cached);

  options.fractions = {0};
  EXPECT_THROW(check_roar_options(options), Error);
  options.fractions = {100};
  EXPECT_THROW(check_roar_options(options), Error);
}

TEST(Cli, EvaluateWritesTablesAndRejectsBadInput) {
  test::TempDir dir;
  auto& network = small_trained_mlp();
  save_network(network, dir / "mlp.prism");
  const auto model = (dir / "mlp.prism").string();
  const auto base = " --model " + model + " --data fashion-mnist --samples 8 --out ";
  auto result = test::run_prism("-q evaluate perturbation" + base + (dir / "pert").string() +
                                " --methods saliency --percentages 0,5,50");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "pert/perturbation.json"));
  EXPECT_EQ(report["methods"].size(), 2u);  // saliency and the random control
  EXPECT_EQ(report["methods"][1]["method"], "random");
  EXPECT_TRUE(std::filesystem::exists(dir / "pert/perturbation-probability.svg"));
  result = test::run_prism("-q evaluate sanity" + base + (dir / "sanity").string() + " --methods saliency");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "sanity/grid-000.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "sanity/sanity-ssim.svg"));

  const auto out = (dir / "bad").string();
  test::expect_clean_failure(test::run_prism("evaluate sanity" + base + out + " --methods deeplift"),
                             "unknown attribution method");
  test::expect_clean_failure(test::run_prism("evaluate sanity" + base + out + " --mode sideways"), "cascading");
  test::expect_clean_failure(test::run_prism("evaluate perturbation" + base + out + " --fill paint"), "fills are");
  test::expect_clean_failure(test::run_prism("evaluate perturbation" + base + out + " --percentages 5,120"), "[0, 100]");
  test::expect_clean_failure(test::run_prism("evaluate roar" + base + out + " --fractions 10,100"), "(0, 100)");
  test::expect_clean_failure(test::run_prism("evaluate roar" + base + out + " --modes roar,drop"), "modes are");
  // Grad-CAM needs a convolutional layer, which the mlp lacks.
  test::expect_clean_failure(test::run_prism("evaluate sanity" + base + out + " --methods grad-cam"), "spatial feature maps");
  test::expect_clean_failure(
      test::run_prism("evaluate measures" + base + out + " --methods saliency --method-options '{\"lrp\":{\"epsilon\":1}}'"),
      "not among --methods");
  // ROAR retrains the architecture: a TorchScript model cannot be retrained by prism.
  test::expect_clean_failure(test::run_prism("evaluate roar --model " + (test::fixtures() / "sequential.pt").string() +
                                             " --data fashion-mnist --train-size 50 --test-size 20 --out " + out),
                             "built-in models");
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
}

}  // namespace
}  // namespace prism
