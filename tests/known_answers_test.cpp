// Secondary feature methods against answers known in closed form, so that a broken implementation (an
// all-zero map, a skipped noise term, a dropped rule term) fails: on a linear model f_c(x) = w_c · x + b_c, and
// on small networks whose maps are written out by hand.
#include <fstream>

#include "test_util.h"

namespace prism {
namespace {

using test::LinearModel;

// The scripted nn.Sequential that `build` (Python statements making `m` and setting its weights under no_grad)
// describes, written by PyTorch and loaded by prism for inputs shaped `input_shape`.
std::unique_ptr<Network> scripted_sequential(const std::string& build, const std::vector<int64_t>& input_shape) {
  test::TempDir tmp;
  std::ofstream(tmp / "make.py") << "import torch, torch.nn as nn, sys\n" << build
                                 << "torch.jit.script(m.eval()).save(sys.argv[1])\n";
  EXPECT_EQ(std::system(("/usr/bin/python3 " + (tmp / "make.py").string() + " " + (tmp / "m.pt").string()).c_str()), 0);
  return load_network(tmp / "m.pt", input_shape);
}

TEST(Occlusion, OnePixelPatchesOnALinearModelGiveWeightTimesInput) {
  LinearModel m;
  const auto map = make_feature_attributor("occlusion", {{"patch", 1}, {"stride", 1}, {"fill", 0.0}})
                       ->attribute(*m.net, m.x, m.targets);
  const auto expected = m.weights() * m.x;
  EXPECT_TRUE(torch::allclose(map, expected, 1e-4, 1e-5 * expected.abs().max().item<float>()));
}

TEST(SmoothGrad, IsSaliencyWithoutNoiseAndTheWeightsOnALinearModel) {
  LinearModel m;
  const auto saliency = make_feature_attributor("saliency")->attribute(*m.net, m.x, m.targets);
  EXPECT_TRUE(torch::allclose(saliency, m.weights(), 1e-5, 1e-7));
  const auto noiseless = make_feature_attributor("smoothgrad", {{"noise_level", 0.0}, {"samples", 3}})
                             ->attribute(*m.net, m.x, m.targets);
  EXPECT_TRUE(torch::allclose(noiseless, saliency, 1e-5, 1e-7));
  // The gradient of a linear model is w_c at every noisy copy: the mean is w_c and the variance 0.
  const auto noisy = make_feature_attributor("smoothgrad", {{"noise_level", 0.3}, {"samples", 8}})
                         ->attribute(*m.net, m.x, m.targets);
  EXPECT_TRUE(torch::allclose(noisy, m.weights(), 1e-5, 1e-7));
  const auto vargrad = make_feature_attributor("smoothgrad", {{"noise_level", 0.3}, {"samples", 8}, {"variant", "vargrad"}})
                           ->attribute(*m.net, m.x, m.targets);
  EXPECT_LT(vargrad.abs().max().item<float>(), 1e-6 * m.weights().pow(2).max().item<float>());
}

// α = 1, β = 0 is the z⁺ rule (w⁺a⁺ + w⁻a⁻), so the two composites agree; β > 0 subtracts the negative part.
TEST(Lrp, AlphaOneBetaZeroIsTheZPlusRule) {
  ZooOptions options;
  options.seed = 3;
  auto net = make_zoo_network(options);
  net->set_training(false);
  const auto x = random_subset(test::fashion_test(), 4, 5).images;
  const auto targets = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  const auto alpha1 = Lrp({"epsilon-alpha-beta", 1e-6, 0.25, 1.0}).attribute(*net, x, targets);
  const auto plus = Lrp({"epsilon-plus", 1e-6}).attribute(*net, x, targets);
  EXPECT_TRUE(torch::allclose(alpha1, plus, 1e-4, 1e-6 * plus.abs().max().item<float>()));
  const auto alpha2 = Lrp({"epsilon-alpha-beta", 1e-6, 0.25, 2.0}).attribute(*net, x, targets);
  EXPECT_FALSE(torch::allclose(alpha2, plus, 1e-3, 1e-3 * plus.abs().max().item<float>()));
}

// A hand-computed α2β1 case: one input pixel layer (a 1×1 conv with weights +2 and −1 on two channels read by
// one linear unit), where R_j = a_j (α w⁺/z⁺ − β w⁻/z⁻) R_k can be written out.
TEST(Lrp, AlphaTwoBetaOneMatchesAHandComputation) {
  // a = [0.3, 0.1] (two pixels), w = [2, −1], z⁺ = 0.6, z⁻ = −0.1, R_k = y = 0.5:
  // R_1 = 0.3 · (2 · 2 / 0.6) · 0.5 = 1, R_2 = 0.1 · (−1 · (−1) / (−0.1)) · 0.5 = −0.5; Σ = 0.5 = y.
  const auto a = torch::tensor({0.3, 0.1}, torch::kFloat64), w = torch::tensor({2.0, -1.0}, torch::kFloat64);
  const double alpha = 2, beta = 1, y = (a * w).sum().item<double>();
  const double z_plus = (a * w.clamp_min(0)).sum().item<double>(), z_minus = (a * w.clamp_max(0)).sum().item<double>();
  const auto by_hand = a * (alpha * w.clamp_min(0) / z_plus - beta * w.clamp_max(0) / z_minus) * y;
  EXPECT_NEAR(by_hand[0].item<double>(), 1, 1e-12);
  EXPECT_NEAR(by_hand[1].item<double>(), -0.5, 1e-12);
  // The same through prism: a 1×1 conv (weights 2, −1 from channels 0, 1) into a sum, the ε-rule on the dense
  // layer (here the identity, which passes R on) and α2β1 on the conv.
  auto net = scripted_sequential("m = nn.Sequential(nn.Conv2d(2, 1, 1, bias=False), nn.Flatten(), nn.Linear(1, 2, bias=False))\n"
                                 "with torch.no_grad():\n"
                                 "    m[0].weight.copy_(torch.tensor([2.0, -1.0]).view(1, 2, 1, 1))\n"
                                 "    m[2].weight.copy_(torch.tensor([[1.0], [-1.0]]))\n",
                                 {2, 1, 1});
  const auto x = torch::tensor({0.3f, 0.1f}).view({1, 2, 1, 1});
  const auto relevance = Lrp({"epsilon-alpha-beta", 1e-12, 0.25, 2.0}).attribute(*net, x, torch::tensor({0}, torch::kInt64));
  EXPECT_NEAR(relevance.flatten()[0].item<float>(), 1, 1e-5);
  EXPECT_NEAR(relevance.flatten()[1].item<float>(), -0.5, 1e-5);
}

TEST(DeepLift, OnALinearModelIsWeightTimesTheDifferenceFromTheBaseline) {
  LinearModel m;
  const auto explained = make_feature_attributor("deeplift")->explain(*m.net, m.x, m.targets);
  const auto expected = m.weights() * m.x;
  EXPECT_TRUE(torch::allclose(explained.maps, expected, 1e-4, 1e-6));
  EXPECT_LT(explained.per_sample.at("completeness_error").max().item<float>(), 1e-4);
}

TEST(GradientShap, WithTheZeroImageAsItsOnlyBaselineIsWeightTimesInputOnALinearModel) {
  // The gradient of a linear model is w_c at every point of every path, so each draw gives w_c ⊙ (x − 0).
  LinearModel m;
  test::TempDir tmp;
  write_npy(tmp / "zero.npy", torch::zeros({1, 1, 28, 28}));
  const auto map = make_feature_attributor("gradient-shap", {{"baselines", (tmp / "zero.npy").string()}, {"samples", 3}})
                       ->attribute(*m.net, m.x, m.targets);
  EXPECT_TRUE(torch::allclose(map, m.weights() * m.x, 1e-4, 1e-6));
  // Uniform baselines: w_c ⊙ (x − x'_k) averaged over the draws, so the sum is w_c · x minus w_c · (the mean draw),
  // and the noise of the input adds nothing in expectation.
  const auto noisy = make_feature_attributor("gradient-shap", {{"samples", 200}, {"stdev", 0.05}})
                         ->attribute(*m.net, m.x, m.targets);
  const auto expected = (m.weights() * (m.x - 0.5)).flatten(1).sum(1);
  const auto spread = (m.weights().abs() * 0.5).flatten(1).sum(1);
  EXPECT_TRUE(((noisy.flatten(1).sum(1) - expected).abs() < 0.15 * spread).all().item<bool>())
      << noisy.flatten(1).sum(1) << " vs " << expected;
}

TEST(GuidedBackprop, RefusesAModelWithoutActivationsInOneLine) {
  LinearModel m;
  try {
    make_feature_attributor("guided-backprop")->attribute(*m.net, m.x, m.targets);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has none"), std::string::npos) << e.what();
  }
}

// f = w2 · ReLU(W1 x + b1) with W1 = [[1, −1], [2, 1]], b1 = [−1, 0], w2 (class 0) = [1, −3], at x = [2, 0]:
// the hidden units are h = [1, 4] (both on), and at the baseline x' = 0 they are h' = [−1, 0] (both off).
struct TwoUnitNetwork {
  std::unique_ptr<Network> net = scripted_sequential(
      "m = nn.Sequential(nn.Flatten(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2, bias=False))\n"
      "with torch.no_grad():\n"
      "    m[1].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 1.0]]))\n"
      "    m[1].bias.copy_(torch.tensor([-1.0, 0.0]))\n"
      "    m[3].weight.copy_(torch.tensor([[1.0, -3.0], [0.0, 1.0]]))\n",
      {2, 1, 1});
  torch::Tensor x = torch::tensor({2.0f, 0.0f}).view({1, 2, 1, 1});
  torch::Tensor target = torch::tensor({0}, torch::kInt64);
};

TEST(GuidedBackprop, PassesOnlyPositiveGradientsThroughTheReluAsWrittenOutByHand) {
  TwoUnitNetwork m;
  // The gradient is W1ᵀ [1, −3] = [−5, −4]; guided backprop drops the negative −3 at the ReLU: W1ᵀ [1, 0] = [1, −1].
  const auto gradient = make_feature_attributor("saliency")->attribute(*m.net, m.x, m.target).flatten();
  const auto guided = make_feature_attributor("guided-backprop")->attribute(*m.net, m.x, m.target).flatten();
  EXPECT_TRUE(torch::allclose(gradient, torch::tensor({-5.0f, -4.0f}), 1e-6, 1e-6)) << gradient;
  EXPECT_TRUE(torch::allclose(guided, torch::tensor({1.0f, -1.0f}), 1e-6, 1e-6)) << guided;
}

TEST(DeepLift, TheRescaleRuleMatchesAHandComputationAndSumsToTheDifferenceOfTheLogits) {
  TwoUnitNetwork m;
  // Unit 0 goes from −1 to 1 and its ReLU from 0 to 1: multiplier 1/2 (its gradient is 1); unit 1 from 0 to 4,
  // multiplier 1. m_x = W1ᵀ [1/2 · 1, 1 · (−3)] = [−5.5, −3.5], so the map is x ⊙ m_x = [−11, 0], which sums to
  // f(x) − f(0) = (1 − 12) − 0. Gradient × input gives [−10, 0] and misses by 1.
  const auto explained = make_feature_attributor("deeplift")->explain(*m.net, m.x, m.target);
  EXPECT_TRUE(torch::allclose(explained.maps.flatten(), torch::tensor({-11.0f, 0.0f}), 1e-5, 1e-5)) << explained.maps;
  EXPECT_LT(explained.per_sample.at("completeness_error").item<float>(), 1e-5);
  // DeepLIFT-SHAP over the baselines {0, x}: the mean of the map against 0 and the zero map against x itself.
  test::TempDir tmp;
  write_npy(tmp / "baselines.npy", torch::cat({torch::zeros({1, 2, 1, 1}), m.x}));
  const auto shap = make_feature_attributor("deeplift-shap", {{"baselines", (tmp / "baselines.npy").string()}})
                        ->explain(*m.net, m.x, m.target);
  EXPECT_TRUE(torch::allclose(shap.maps.flatten(), torch::tensor({-5.5f, 0.0f}), 1e-5, 1e-5)) << shap.maps;
  EXPECT_LT(shap.per_sample.at("completeness_error").item<float>(), 1e-5);
}

// A 1×1 conv (weights 1, −0.5; biases 0, 1) and its ReLU (layer "1") read by a linear layer: at x = [[1, 2], [3, 0]]
// the feature maps are A⁰ = [[1, 2], [3, 0]], A¹ = [[0.5, 0], [0, 1]], and the gradients of logit 0 are the linear
// layer's weights G⁰ = [[1, −1], [2, 0]], G¹ = [[−2, 1], [0, 3]]. The map has the layer's 2 × 2 size, as the input.
TEST(ClassActivationMaps, EachVariantMatchesAHandComputation) {
  auto net = scripted_sequential(
      "m = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2, bias=False))\n"
      "with torch.no_grad():\n"
      "    m[0].weight.copy_(torch.tensor([1.0, -0.5]).view(2, 1, 1, 1))\n"
      "    m[0].bias.copy_(torch.tensor([0.0, 1.0]))\n"
      "    m[3].weight.copy_(torch.tensor([[1.0, -1, 2, 0, -2, 1, 0, 3], [0.0] * 8]))\n",
      {1, 2, 2});
  const auto x = torch::tensor({1.0f, 2.0f, 3.0f, 0.0f}).view({1, 1, 2, 2});
  const auto target = torch::tensor({0}, torch::kInt64);
  const auto cam = [&](const std::string& method) {
    return make_feature_attributor(method, {{"layer", "1"}})->attribute(*net, x, target).flatten();
  };
  // Grad-CAM: α = (mean G⁰, mean G¹) = (0.5, 0.5). HiResCAM: Σ_k G^k ⊙ A^k = [[0, −2], [6, 3]], then the ReLU.
  // LayerCAM: Σ_k ReLU(G^k) ⊙ A^k = [[1, 0], [6, 3]]. Grad-CAM++: a⁰ = (1/8, −1/4, 1/14, 0) and a¹ = (−1, 1/3.5, 0,
  // 9/58.5) by (G)² / (2 G² + ΣA · G³) with ΣA⁰ = 6, ΣA¹ = 1.5; w = Σ a ReLU(G) = (15/56, 2/7 + 27/58.5).
  EXPECT_TRUE(torch::allclose(cam("grad-cam"), torch::tensor({0.75f, 1.0f, 1.5f, 0.5f}), 1e-5, 1e-6)) << cam("grad-cam");
  EXPECT_TRUE(torch::allclose(cam("hires-cam"), torch::tensor({0.0f, 0.0f, 6.0f, 3.0f}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(cam("layer-cam"), torch::tensor({1.0f, 0.0f, 6.0f, 3.0f}), 1e-5, 1e-6));
  const double w0 = 15.0 / 56, w1 = 2.0 / 7 + 27 / 58.5;
  const auto plus_plus = torch::tensor({static_cast<float>(w0 + 0.5 * w1), static_cast<float>(2 * w0),
                                        static_cast<float>(3 * w0), static_cast<float>(w1)});
  EXPECT_TRUE(torch::allclose(cam("grad-cam++"), plus_plus, 1e-5, 1e-6)) << cam("grad-cam++");
  // Score-CAM: the masks are A⁰ / 3 and A¹ (already in [0, 1]); their logits, softmaxed, weight A⁰ and A¹.
  const auto masks = torch::stack({torch::tensor({1.0f, 2.0f, 3.0f, 0.0f}) / 3, torch::tensor({0.5f, 0.0f, 0.0f, 1.0f})});
  const auto logits = target_scores(*net, x * masks.view({2, 1, 2, 2}), torch::tensor({0, 0}, torch::kInt64));
  const auto weights = logits.softmax(0);
  const auto expected = weights[0] * torch::tensor({1.0f, 2.0f, 3.0f, 0.0f}) + weights[1] * torch::tensor({0.5f, 0.0f, 0.0f, 1.0f});
  EXPECT_TRUE(torch::allclose(cam("score-cam"), expected, 1e-5, 1e-6)) << cam("score-cam") << " vs " << expected;
}

}  // namespace
}  // namespace prism
