// The feature-attribution evaluation: similarity and single-map measures on constructed maps with known
// values, pixel removal, the random control's MoRF and LeRF curves, the sanity check's bookkeeping, and
// ROAR end to end on a tiny subset with its cache.
#include <cmath>
#include <set>

#include "test_util.h"

namespace prism {
namespace {

// An mlp trained for one epoch on 2,000 Fashion-MNIST images: fast, and far from random.
Network& small_trained_mlp() {
  static std::unique_ptr<Network> network = [] {
    ZooOptions zoo;
    zoo.architecture = "mlp";
    zoo.width = 64;
    auto net = make_zoo_network(zoo, test::fashion_test());
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

TEST(PixelRemoval, MagnitudeRankingPutsTheLargestAbsoluteValueFirstAndEachMethodHasItsPapersConvention) {
  const auto maps = torch::tensor({0.5f, -3.0f, 2.0f, -0.1f}).view({1, 2, 2});
  EXPECT_TRUE(torch::equal(rank_pixels(maps)[0], torch::tensor({2, 0, 3, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(rank_pixels(maps, "magnitude")[0], torch::tensor({1, 2, 0, 3}, torch::kInt64)));
  EXPECT_THROW(rank_pixels(maps, "abs"), Error);
  // Gradients rank by magnitude, contributions to the score by sign; an explicit choice overrides both.
  for (const std::string gradient : {"saliency", "smoothgrad", "pruned-gradient"})
    EXPECT_EQ(resolve_ranking("method", gradient), "magnitude") << gradient;
  for (const std::string contribution : {"gradient-x-input", "integrated-gradients", "lrp", "occlusion", "grad-cam"})
    EXPECT_EQ(resolve_ranking("method", contribution), "signed") << contribution;
  EXPECT_EQ(resolve_ranking("method", "someone-elses-method"), "signed");
  EXPECT_EQ(resolve_ranking("signed", Saliency()), "signed");
  EXPECT_EQ(resolve_ranking("magnitude", "integrated-gradients"), "magnitude");
  EXPECT_THROW(resolve_ranking("largest", "saliency"), Error);
}

TEST(PixelRemoval, LinearImputationReproducesALinearImageAndAPixelBecomesItsNeighboursWeightedMean) {
  // The weighted mean of the eight neighbours of a linear function is its value: holes inside a ramp fill exactly.
  const auto ramp = (torch::arange(12, torch::kFloat32).view({12, 1}) * 0.02 + torch::arange(10, torch::kFloat32) * 0.05)
                        .view({1, 1, 12, 10}).repeat({2, 3, 1, 1});
  auto removed = torch::zeros({2, 1, 12, 10}, torch::kBool);
  removed[0][0].narrow(0, 2, 7).narrow(1, 3, 5).fill_(true);  // a 7 × 5 hole
  removed[1][0].narrow(0, 4, 3).narrow(1, 1, 8).fill_(true);  // a 3 × 8 one
  const auto filled = impute_linear(ramp, removed, 0.0, 0);
  EXPECT_TRUE(torch::allclose(filled, ramp, 1e-5, 1e-5)) << (filled - ramp).abs().max();
  // A corner has three neighbours: (f(0, 1) / 6 + f(1, 0) / 6 + f(1, 1) / 12) / (5 / 12) = 0.042 for f = 0.02 i + 0.05 j.
  auto corner = torch::zeros({1, 1, 12, 10}, torch::kBool);
  corner[0][0][0][0] = true;
  EXPECT_NEAR(impute_linear(ramp.narrow(0, 0, 1), corner, 0.0, 0)[0][2][0][0].item<float>(), 0.042, 1e-6);
  // One pixel of an image: (1/6 · Σ direct + 1/12 · Σ diagonal neighbours) / (4/6 + 4/12).
  const auto image = torch::rand({1, 1, 3, 3});
  auto centre = torch::zeros({1, 1, 3, 3}, torch::kBool);
  centre[0][0][1][1] = true;
  const auto v = image[0][0];
  const auto direct = v[0][1] + v[1][0] + v[1][2] + v[2][1], diagonal = v[0][0] + v[0][2] + v[2][0] + v[2][2];
  const auto expected = (direct / 6 + diagonal / 12).item<float>();
  const auto one = impute_linear(image, centre, 0.0, 0);
  EXPECT_NEAR(one[0][0][1][1].item<float>(), expected, 1e-6);
  EXPECT_TRUE(torch::equal(one.masked_select(~centre), image.masked_select(~centre)));
  // The noise: seeded, of the given σ, on the removed pixels only.
  const auto noisy = impute_linear(ramp, removed, 0.05, 3);
  EXPECT_TRUE(torch::equal(noisy, impute_linear(ramp, removed, 0.05, 3)));
  const auto jitter = (noisy - filled).masked_select(removed.expand_as(ramp));
  EXPECT_NEAR(jitter.std().item<double>(), 0.05, 0.01);
  EXPECT_TRUE(torch::equal(noisy.masked_select(~removed.expand_as(ramp)), ramp.masked_select(~removed.expand_as(ramp))));
}

TEST(PixelRemoval, FillsAreZeroTheMeanAGaussianBlurOrSeededUniformNoise) {
  auto& network = small_trained_mlp();
  auto images = torch::zeros({2, 1, 16, 16});
  images[0][0][8][8] = 1;  // an impulse, far from the edges
  images[1].fill_(0.25);   // a constant image
  EXPECT_TRUE(torch::equal(fill_values(network, images, "zero", 0), torch::zeros_like(images)));
  const float mean = network.normalization().mean.at(0);
  EXPECT_TRUE(torch::equal(fill_values(network, images, "mean", 0), torch::full_like(images, mean)));
  // σ = 2 px: neighbours fall off as exp(−d² / 8), nothing beyond the 4-pixel radius, mass and constants kept.
  const auto blur = fill_values(network, images, "blur", 0);
  const auto impulse = blur[0][0];
  EXPECT_NEAR((impulse[8][9] / impulse[8][8]).item<double>(), std::exp(-1.0 / 8), 1e-5);
  EXPECT_NEAR((impulse[10][10] / impulse[8][8]).item<double>(), std::exp(-8.0 / 8), 1e-5);
  EXPECT_EQ(impulse[8][13].item<float>(), 0.0f);
  EXPECT_NEAR(impulse.sum().item<double>(), 1.0, 1e-5);
  EXPECT_TRUE(torch::allclose(blur[1], images[1], 1e-6, 1e-7));
  const auto noise = fill_values(network, torch::zeros({4, 1, 28, 28}), "noise", 5);
  EXPECT_TRUE(torch::equal(noise, fill_values(network, torch::zeros({4, 1, 28, 28}), "noise", 5)));
  EXPECT_FALSE(torch::equal(noise, fill_values(network, torch::zeros({4, 1, 28, 28}), "noise", 6)));
  EXPECT_GE(noise.min().item<float>(), 0.0f);
  EXPECT_LT(noise.max().item<float>(), 1.0f);
  EXPECT_NEAR(noise.mean().item<double>(), 0.5, 0.03);
  EXPECT_NEAR(noise.var().item<double>(), 1.0 / 12, 0.01);
  EXPECT_THROW(fill_values(network, images, "paint", 0), Error);
}

// On a linear model f_c(x) = w_c·x + b_c with a zero data mean, removing a subset S changes the logit by exactly
// Σ_{i∈S} w_c,i x_i, the sum of gradient × input over S: faithfulness correlation 1 (−1 for the negated map).
// Saliency |w_c| does not depend on x: max-sensitivity 0; gradient × input moves by w_c ⊙ δ, bounded by r‖w_c‖.
// A perturbation I changes the logit by w_c · I, which is exactly Iᵀ(saliency): infidelity 0, and not Iᵀ(w_c ⊙ x).
TEST(MapMeasures, FaithfulnessAndSensitivityOnALinearModelHaveTheirKnownValues) {
  auto network = load_network(test::fixtures() / "linear.pt", {1, 28, 28});
  set_metadata(*network, {1, 28, 28}, 10, {}, {{0.0f}, {1.0f}});
  const auto images = random_subset(test::fashion_test(), 6, 9).images;
  const auto targets = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64);
  MapMeasureOptions options;
  options.faithfulness_runs = 20;
  options.sensitivity_samples = 4;
  GradientXInput gradient_x_input;
  const auto maps = gradient_x_input.attribute(*network, images, targets);
  const auto measured = measure_maps(*network, gradient_x_input, images, targets, maps, options);
  EXPECT_TRUE(torch::allclose(measured.faithfulness, torch::ones({6}, measured.faithfulness.options()), 1e-4, 1e-4))
      << measured.faithfulness;
  const auto negated = measure_maps(*network, gradient_x_input, images, targets, -maps, options);
  EXPECT_TRUE(torch::allclose(negated.faithfulness, -torch::ones({6}, negated.faithfulness.options()), 1e-4, 1e-4));
  const auto weight = network->parameters()[0].detach().index_select(0, targets);  // [6, 784]
  for (int64_t b = 0; b < 6; ++b) {
    EXPECT_NEAR(measured.sparseness[b].item<double>(), gini_index(maps[b]), 1e-6);
    EXPECT_NEAR(measured.complexity[b].item<double>(), map_entropy(maps[b]), 1e-6);
    const double bound = (options.sensitivity_radius * weight[b].norm() / maps[b].norm()).item<double>();
    EXPECT_GT(measured.max_sensitivity[b].item<double>(), 0.0);
    EXPECT_LE(measured.max_sensitivity[b].item<double>(), bound * (1 + 1e-5));
  }
  Saliency saliency;
  const auto constant = measure_maps(*network, saliency, images, targets, saliency.attribute(*network, images, targets), options);
  EXPECT_LT(constant.max_sensitivity.abs().max().item<double>(), 1e-6);
  // (Δ² is about (σ‖w_c‖)²; float32 logits leave ~1e-6 of it.)
  EXPECT_LT(constant.infidelity.max().item<double>(), 1e-4 * measured.infidelity.min().item<double>() + 1e-9)
      << constant.infidelity << " vs " << measured.infidelity;
  EXPECT_GT(measured.infidelity.min().item<double>(), 0.0);
  // Another class's weights: a different map, so the SSIM to it is below 1.
  EXPECT_LT(constant.random_logit.max().item<double>(), 0.99);
  EXPECT_GT(constant.random_logit.min().item<double>(), -1.0);
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
  EXPECT_EQ(curves.ranking, "signed");
  const auto& grid = PerturbationOptions().percentages;
  const double morf = aopc(curves.morf_logit, curves.original_logit, grid);
  const double lerf = aopc(curves.lerf_logit, curves.original_logit, grid);
  EXPECT_GT(morf, lerf + 1.0);  // removing the most relevant pixels first drops the logit far faster
}

TEST(Road, AFaithfulMapKeepsThePredictionLongerLeastRelevantFirstAndTheRandomControlDoesNot) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 200, 5);
  const auto targets = predict_logits(network, data.images).argmax(1);
  const auto gradient = Saliency().attribute(network, data.images, targets).squeeze(1);
  const auto random = RandomMap({4}).attribute(network, data.images, targets).squeeze(1);
  const auto options = road_options();
  const auto faithful = perturbation_curves(network, data.images, targets, gradient, "saliency", options);
  const auto control = perturbation_curves(network, data.images, targets, random, "random", options);
  ASSERT_EQ(faithful.morf_hit.size(1), 9);
  EXPECT_GT(faithful.lerf_hit.mean().item<double>(), faithful.morf_hit.mean().item<double>() + 0.1)
      << faithful.lerf_hit.mean() << " vs " << faithful.morf_hit.mean();
  const double spread = (control.lerf_hit - control.morf_hit).mean(1).std().item<double>() / std::sqrt(200.0);
  EXPECT_LT(std::abs((control.lerf_hit - control.morf_hit).mean().item<double>()), 4 * spread + 0.02);
  const PerturbationReport report{options, {faithful, control}};
  EXPECT_NE(report.hit_table().find("| saliency | magnitude |"), std::string::npos) << report.hit_table();
}

TEST(InsertionDeletion, CurvesRunFromTheImageToZerosAndFromTheBlurToTheImageAndAFaithfulMapBeatsRandom) {
  EXPECT_DOUBLE_EQ(area_under({0, 0.5, 1}, {1, 0.5, 0}), 0.5);
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 100, 6);
  const auto targets = predict_logits(network, data.images).argmax(1);
  const auto gradient = Saliency().attribute(network, data.images, targets).squeeze(1);
  const auto random = RandomMap({5}).attribute(network, data.images, targets).squeeze(1);
  InsertionDeletionOptions options;
  options.steps = 10;
  const auto faithful = insertion_deletion(network, data.images, targets, gradient, "saliency", options);
  const auto control = insertion_deletion(network, data.images, targets, random, "random", options);
  ASSERT_EQ(faithful.fractions.size(), 11u);
  EXPECT_EQ(faithful.ranking, "magnitude");
  const auto probability = [&](const torch::Tensor& images) {
    return predict_logits(network, images).softmax(1).gather(1, targets.view({-1, 1})).squeeze(1);
  };
  EXPECT_TRUE(torch::allclose(faithful.deletion.select(1, 0), probability(data.images), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(faithful.deletion.select(1, 10), probability(torch::zeros_like(data.images)), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(faithful.insertion.select(1, 10), probability(data.images), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(faithful.insertion.select(1, 0),
                              probability(make_baseline(network, data.images, "blur", 2.0)), 1e-4, 1e-5));
  EXPECT_LT(faithful.deletion_auc, control.deletion_auc);
  EXPECT_GT(faithful.insertion_auc, control.insertion_auc);
  const InsertionDeletionReport report{options, {faithful, control}};
  EXPECT_EQ(report.to_json()["better"]["deletion_auc"], "lower");
  EXPECT_NE(report.table().find("| saliency | magnitude |"), std::string::npos) << report.table();
}

TEST(PixelPerturbation, SaliencyRanksByMagnitudeAndItsCurvesAreThoseOfTheAbsoluteMap) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 64, 4);
  const auto maps = Saliency().attribute(network, data.images, data.labels).squeeze(1);
  PerturbationOptions options;
  options.percentages = {0, 5, 10, 30};
  const auto by_method = perturbation_curves(network, data.images, data.labels, maps, "saliency", options);
  options.ranking = "signed";
  const auto of_magnitude = perturbation_curves(network, data.images, data.labels, maps.abs(), "saliency", options);
  const auto signed_curves = perturbation_curves(network, data.images, data.labels, maps, "saliency", options);
  EXPECT_EQ(by_method.ranking, "magnitude");
  EXPECT_EQ(signed_curves.ranking, "signed");
  EXPECT_TRUE(torch::equal(by_method.morf_logit, of_magnitude.morf_logit));
  EXPECT_TRUE(torch::equal(by_method.lerf_logit, of_magnitude.lerf_logit));
  EXPECT_FALSE(torch::equal(by_method.morf_logit, signed_curves.morf_logit));
  const PerturbationReport report{options, {by_method}};
  EXPECT_EQ(report.to_json()["methods"][0]["ranking"], "magnitude");
}

// Saliency that records, at each call, which randomisable layers' weights differ from the trained ones.
class ChangedLayers : public FeatureAttributor {
 public:
  explicit ChangedLayers(Network& network) {
    for (const auto& layer : randomizable_layers(network))
      trained_[layer] = network.layer_parameters(layer)->weight.detach().clone();
  }
  std::string name() const override { return "saliency"; }
  nlohmann::json options() const override { return nlohmann::json::object(); }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override {
    std::set<std::string> changed;
    for (const auto& [layer, weight] : trained_)
      if (!torch::equal(network.layer_parameters(layer)->weight, weight)) changed.insert(layer);
    calls.push_back(changed);
    return Saliency().attribute(network, inputs, targets);
  }
  std::vector<std::set<std::string>> calls;

 private:
  std::map<std::string, torch::Tensor> trained_;
};

TEST(SanityCheck, RandomisesFromTheOutputBackAndRestoresTheWeights) {
  auto& network = small_trained_mlp();
  const auto data = random_subset(test::fashion_test(), 16, 3);
  const auto before = predict_logits(network, data.images);
  ChangedLayers saliency(network);
  RandomMap random;
  const auto result = model_randomization(network, {&saliency, &random}, data.images, data.labels);
  EXPECT_EQ(result.steps, (std::vector<std::string>{"original", "fc3", "fc2", "fc1"}));
  using Layers = std::vector<std::set<std::string>>;
  EXPECT_EQ(saliency.calls, (Layers{{}, {"fc3"}, {"fc3", "fc2"}, {"fc3", "fc2", "fc1"}}));  // cascading
  EXPECT_TRUE(torch::equal(predict_logits(network, data.images), before));  // weights restored exactly
  EXPECT_LT(result.mean(0, 3, 0), 0.5);             // saliency follows the weights
  EXPECT_LT(std::abs(result.mean(1, 1, 0)), 0.1);   // the random control is unrelated to itself
  // Fully randomised, saliency's rank correlation with the trained map is 0 within its standard error.
  std::vector<double> spearman;
  for (const auto& s : result.similarity[0][3]) spearman.push_back(s.spearman);
  const auto values = torch::tensor(spearman, torch::kFloat64);
  const double error = values.std().item<double>() / std::sqrt(double(values.numel()));
  EXPECT_LT(std::abs(values.mean().item<double>()), 4 * error + 0.05) << values;
  EXPECT_EQ(result.maps[0].sizes(), (std::vector<int64_t>{4, 16, 28, 28}));
  const auto json = result.to_json();
  EXPECT_EQ(json["methods"][0]["spearman"].size(), 4u);

  SanityOptions independent;
  independent.mode = "independent";
  ChangedLayers watched(network);
  const auto one_at_a_time = model_randomization(network, {&watched}, data.images, data.labels, independent);
  EXPECT_EQ(watched.calls, (Layers{{}, {"fc3"}, {"fc2"}, {"fc1"}}));  // one layer at a time, the others trained
  // Both modes randomise the output layer alone first, with the same draw: the same maps.
  EXPECT_TRUE(torch::equal(one_at_a_time.maps[0][1], result.maps[0][1]));
  EXPECT_FALSE(torch::equal(one_at_a_time.maps[0][3], result.maps[0][3]));
  EXPECT_TRUE(torch::equal(predict_logits(network, data.images), before));
}

TEST(SanityCheck, DataRandomisationTrainsOnPermutedLabelsAndComparesItsMaps) {
  auto& network = small_trained_mlp();
  const auto train = random_subset(test::fashion_train(), 1000, 6);
  const auto data = random_subset(test::fashion_test(), 16, 3);
  Saliency saliency;
  auto result = model_randomization(network, {&saliency}, data.images, data.labels);
  TrainOptions training;
  training.epochs = 1;
  training.seed = 3;
  const auto permuted = data_randomization(result, network, zoo_options(network), train, training, {&saliency},
                                           data.images, data.labels);
  ASSERT_EQ(result.steps.size(), 5u);
  EXPECT_EQ(result.steps.back(), "labels permuted");
  // The labels are a permutation of the training labels, far from the original assignment.
  const auto labels = permuted_labels(train.labels, 3);
  EXPECT_TRUE(torch::equal(std::get<0>(labels.sort()), std::get<0>(train.labels.sort())));
  EXPECT_LT(labels.eq(train.labels).to(torch::kFloat32).mean().item<float>(), 0.2f);
  // The network learned nothing that transfers: chance on held-out images.
  EXPECT_LT(evaluate(*permuted, random_subset(test::fashion_test(), 1000, 4)).accuracy, 0.2);
  // The appended maps are its saliency maps, and their similarity to the trained model's is recomputed here.
  const auto maps = Saliency().attribute(*permuted, data.images, data.labels).sum(1);
  EXPECT_TRUE(torch::allclose(result.maps[0][4], maps, 1e-6, 1e-7));
  double spearman = 0;
  for (int64_t i = 0; i < 16; ++i) spearman += compare_maps(result.maps[0][0][i], maps[i]).spearman / 16;
  EXPECT_NEAR(result.mean(0, 4, 0), spearman, 1e-9);
  EXPECT_LT(spearman, 0.5);
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
  options.ranking = "signed";  // saliency's own is by magnitude; the signed ranking shows the leak below
  ZooOptions architecture = zoo_options(network);
  const auto first = run_roar(network, architecture, {&saliency, &random}, train, test_data, options);
  EXPECT_EQ(first.runs.size(), 1u + 2 * 2 * 2);  // the baseline, then 2 methods × 2 modes × 2 fractions
  EXPECT_EQ(first.rankings, (std::vector<std::string>{"signed", "signed"}));
  for (const auto& run : first.runs) {
    EXPECT_FALSE(run.cached);
    EXPECT_GE(run.accuracy, 0.0);
    EXPECT_LE(run.accuracy, 1.0);
  }
  EXPECT_GT(first.accuracy("", "none", 0), 0.3);  // well above chance (0.1)
  // Removing 90 % of the pixels at random costs accuracy. (Removing them by signed saliency here *raises* it,
  // 0.82 against 0.41: the mask, computed for each image's label, leaks that label — Rong et al. 2022; see
  // docs/feature-evaluation.md. Ranked by magnitude, saliency's own convention, it gives 0.11.)
  EXPECT_LT(first.accuracy("random", "roar", 90), first.accuracy("", "none", 0) - 0.05);
  EXPECT_GT(first.accuracy("saliency", "roar", 90), first.accuracy("random", "roar", 90));
  // The images retrained on: exactly the top-ranked share by the cached maps is the data mean (ROAR), or all
  // but it (KAR); every other pixel is untouched.
  const auto maps = read_npy(dir / "cache/maps/saliency-train.npy");
  const auto ranking = rank_pixels(maps);
  const auto fill = fill_values(network, train.images, "mean", 0);
  for (const double fraction : {50.0, 90.0}) {
    const auto top = std::llround(fraction / 100 * 784);
    const auto removed = torch::zeros({train.size(), 784}, torch::kBool).scatter_(1, ranking.narrow(1, 0, top), true);
    const auto roar = roar_images(network, train.images, maps, "roar", fraction).flatten(2);
    const auto kar = roar_images(network, train.images, maps, "kar", fraction).flatten(2);
    const auto original = train.images.flatten(2), mean = fill.flatten(2);
    const auto mask = removed.unsqueeze(1).expand_as(original);
    EXPECT_TRUE(torch::equal(roar.masked_select(mask), mean.masked_select(mask)));
    EXPECT_TRUE(torch::equal(roar.masked_select(~mask), original.masked_select(~mask)));
    EXPECT_TRUE(torch::equal(kar.masked_select(mask), original.masked_select(mask)));
    EXPECT_TRUE(torch::equal(kar.masked_select(~mask), mean.masked_select(~mask)));
  }
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
  result = test::run_prism("-q evaluate road" + base + (dir / "road").string() + " --methods saliency");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto road = nlohmann::json::parse(test::read_bytes(dir / "road/road.json"));
  EXPECT_EQ(road["fill"], "linear");
  EXPECT_EQ(road["percentages"].size(), 9u);
  EXPECT_EQ(road["methods"][0]["ranking"], "magnitude");
  EXPECT_EQ(road["better"]["lerf_minus_morf"], "higher");
  EXPECT_NE(result.out.find("LeRF − MoRF ↑"), std::string::npos) << result.out;
  result = test::run_prism("-q evaluate insertion-deletion" + base + (dir / "insdel").string() +
                           " --methods integrated-gradients --steps 4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto insdel = nlohmann::json::parse(test::read_bytes(dir / "insdel/insertion-deletion.json"));
  EXPECT_EQ(insdel["fractions"].size(), 5u);
  EXPECT_EQ(insdel["methods"][0]["ranking"], "signed");
  EXPECT_TRUE(std::filesystem::exists(dir / "insdel/insertion.svg"));
  result = test::run_prism("-q evaluate sanity" + base + (dir / "sanity").string() + " --methods saliency");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "sanity/grid-000.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "sanity/sanity-ssim.svg"));

  const auto out = (dir / "bad").string();
  test::expect_clean_failure(test::run_prism("evaluate sanity" + base + out + " --methods deeplab"),
                             "unknown attribution method");
  test::expect_clean_failure(test::run_prism("evaluate road" + base + out + " --ranking largest"), "rankings are");
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
