// The axiomatic, robustness and localisation measures of feature maps against values known in closed form on a
// linear model f_c(x) = w_c · x + b_c (completeness, input invariance, the local Lipschitz estimate), hand-made
// maps (pointing game, relevance mass and rank, IROF's ordering), smooth MPRT's averaging, and the localisation
// benchmark end to end on a model trained with the shortcut mark.
#include "test_util.h"

namespace prism {
namespace {

struct ZeroMeanLinearModel {
  std::unique_ptr<Network> net = load_network(test::fixtures() / "linear.pt", {1, 28, 28});
  torch::Tensor x = random_subset(test::fashion_test(), 4, 5).images;
  torch::Tensor targets = torch::tensor({1, 3, 6, 8}, torch::kInt64);
  ZeroMeanLinearModel() { set_metadata(*net, {1, 28, 28}, 10, {}, {{0.0f}, {1.0f}}); }
  torch::Tensor weights() const {
    return net->layer_parameters("1")->weight.index_select(0, targets).view(x.sizes()).detach();
  }
};

MapMeasureOptions quick_options() {
  MapMeasureOptions options;
  options.faithfulness_runs = 4, options.sensitivity_samples = 2, options.infidelity_samples = 2;
  options.lipschitz_samples = 3;
  return options;
}

// f(x) − f(0) = w_c · x: gradient × input is complete, saliency is not. The gradient w_c ignores a shift of the
// input that the model undoes, and does not move under noise (Lipschitz 0); w_c ⊙ x moves by w_c ⊙ s and by
// w_c ⊙ δ, at most max |w_c| per unit of δ.
TEST(MapMeasures, CompletenessInputInvarianceAndLipschitzHaveTheirKnownValuesOnALinearModel) {
  ZeroMeanLinearModel m;
  GradientXInput gradient_x_input;
  Saliency saliency;
  const auto options = quick_options();
  const auto product = measure_maps(*m.net, gradient_x_input, m.x, m.targets, gradient_x_input.attribute(*m.net, m.x, m.targets), options);
  const auto gradient = measure_maps(*m.net, saliency, m.x, m.targets, saliency.attribute(*m.net, m.x, m.targets), options);
  EXPECT_LT(product.completeness_error.max().item<double>(), 1e-4);
  EXPECT_GT(gradient.completeness_error.min().item<double>(), 1e-2);
  EXPECT_LT(gradient.input_invariance.max().item<double>(), 1e-6);
  const auto w = m.weights();
  for (int64_t b = 0; b < 4; ++b) {
    // ‖w ⊙ (x − 1) − w ⊙ x‖₁ / ‖w ⊙ x‖₁ = ‖w‖₁ / ‖w ⊙ x‖₁
    const double expected = (w[b].abs().sum() / (w[b] * m.x[b]).abs().sum()).item<double>();
    EXPECT_NEAR(product.input_invariance[b].item<double>(), expected, 1e-3 * expected) << "sample " << b;
    EXPECT_GT(product.local_lipschitz[b].item<double>(), 0.0);
    EXPECT_LE(product.local_lipschitz[b].item<double>(), w[b].abs().max().item<double>() * (1 + 1e-5));
  }
  EXPECT_LT(gradient.local_lipschitz.max().item<double>(), 1e-6);
  // The network's own normalisation is back after the shifted pass.
  EXPECT_EQ(m.net->normalization().mean, std::vector<float>{0.0f});
}

TEST(MapMeasures, IrofPrefersTheOrderThatRemovesTheEvidenceFirst) {
  ZeroMeanLinearModel m;
  GradientXInput gradient_x_input;
  const auto maps = gradient_x_input.attribute(*m.net, m.x, m.targets);
  const auto forward = measure_maps(*m.net, gradient_x_input, m.x, m.targets, maps, quick_options());
  const auto reversed = measure_maps(*m.net, gradient_x_input, m.x, m.targets, -maps, quick_options());
  EXPECT_GT(forward.irof.mean().item<double>(), reversed.irof.mean().item<double>() + 0.1)
      << forward.irof << " vs " << reversed.irof;
}

TEST(Localisation, PointingGameRelevanceMassAndRankMatchAHandComputation) {
  auto regions = torch::zeros({2, 3, 3}, torch::kBool);
  regions[0][0][0] = true, regions[0][0][1] = true;  // two pixels
  regions[1][2][2] = true;
  // Sample 0: the largest value (3) inside; positive mass 3 + 1 inside of 3 + 1 + 2 + 2; of the top 2, 3 is inside
  // and either 2 outside. Sample 1: the largest value (5) outside; no positive mass inside; the top 1 outside.
  const auto maps = torch::tensor({3.0, 1.0, -4.0, 2.0, 0.0, 0.0, 0.0, 0.0, 2.0,  //
                                   0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, -1.0})
                        .view({2, 3, 3});
  const auto scores = localisation_scores(maps, regions, "hand");
  EXPECT_EQ(scores.pointing_game[0].item<double>(), 1.0);
  EXPECT_EQ(scores.pointing_game[1].item<double>(), 0.0);
  EXPECT_NEAR(scores.relevance_mass[0].item<double>(), 4.0 / 8.0, 1e-12);
  EXPECT_EQ(scores.relevance_mass[1].item<double>(), 0.0);
  EXPECT_NEAR(scores.relevance_rank[0].item<double>(), 0.5, 1e-12);
  EXPECT_EQ(scores.relevance_rank[1].item<double>(), 0.0);
  EXPECT_THROW(localisation_scores(maps, torch::zeros({2, 3, 3}, torch::kBool), "empty"), Error);
}

TEST(SanityCheck, SmoothMprtAveragesEachMapOverTheSameNoisyCopiesAtEveryStep) {
  ZeroMeanLinearModel m;
  Saliency saliency;
  GradientXInput gradient_x_input;
  SanityOptions options;
  options.smooth_samples = 3, options.smooth_noise = 0.2;
  const auto result = model_randomization(*m.net, {&saliency, &gradient_x_input}, m.x, m.targets, options);
  // Step 0 of w ⊙ x: the mean of w ⊙ (x + σ range ε_k) over the copies, drawn from the seed after the test's.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed + 1);
  const auto range = (m.x.flatten(1).amax(1) - m.x.flatten(1).amin(1)).view({-1, 1, 1, 1});
  auto sum = torch::zeros_like(m.x);
  for (int k = 0; k < 3; ++k) sum += m.weights() * (m.x + 0.2 * range * torch::randn(m.x.sizes(), generator, torch::kFloat32));
  EXPECT_TRUE(torch::allclose(result.maps[1][0], (sum / 3).squeeze(1), 1e-4, 1e-6));
  // The gradient of a linear model is the same at every copy: smoothing leaves saliency's map as it was.
  SanityOptions plain;
  const auto unsmoothed = model_randomization(*m.net, {&saliency}, m.x, m.targets, plain);
  EXPECT_TRUE(torch::allclose(result.maps[0], unsmoothed.maps[0], 1e-5, 1e-7));
}

// A model trained with every class-0 training image marked assigns marked images of other classes to class 0; the
// mark is then the evidence, and gradient × input puts more of its relevance there than the random control does.
TEST(Localisation, TheBenchmarkFindsTheMarkOnAModelTrainedWithIt) {
  test::TempDir dir;
  auto result = test::run_prism("-q train --model-arch cnn --data fashion-mnist --train-size 3000 --test-size 200 "
                                "--epochs 2 --mark-class 0 --mark-fraction 1 --out " + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  result = test::run_prism("-q evaluate localisation --model " + (dir / "run/model.prism").string() +
                           " --data fashion-mnist --test-size 200 --samples 40 --methods gradient-x-input,saliency --out " +
                           (dir / "loc").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(test::read_bytes(dir / "loc/localisation.json"));
  EXPECT_GE(json["samples"].get<int64_t>(), 10) << result.out;
  EXPECT_NEAR(json["region_share"].get<double>(), 20.0 / 784.0, 1e-9);  // a 6-pixel square outline
  const auto& methods = json["methods"];
  ASSERT_EQ(methods.size(), 3u);
  EXPECT_EQ(methods[2]["method"], "random");
  const double product_mass = methods[0]["relevance_mass"]["mean"], random_mass = methods[2]["relevance_mass"]["mean"];
  EXPECT_GT(product_mass, 2 * random_mass) << result.out;
  EXPECT_NEAR(random_mass, 20.0 / 784.0, 0.02);
  EXPECT_TRUE(std::filesystem::exists(dir / "loc/localisation.png"));
  test::expect_clean_failure(
      test::run_prism("evaluate localisation --model " + (dir / "run/model.prism").string() +
                      " --data fashion-mnist --test-size 50 --mark-class 12 --methods saliency --out " + (dir / "no").string()),
      "not among the model's classes");
  EXPECT_FALSE(std::filesystem::exists(dir / "no"));
}

}  // namespace
}  // namespace prism
