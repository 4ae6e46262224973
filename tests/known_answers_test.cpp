// Secondary feature methods against answers known in closed form, so that a broken implementation (an
// all-zero map, a skipped noise term, a dropped rule term) fails: on a linear model f_c(x) = w_c · x + b_c.
#include <fstream>

#include "test_util.h"

namespace prism {
namespace {

struct LinearModel {
  std::unique_ptr<Network> net = load_network(test::fixtures() / "linear.pt", {1, 28, 28});
  torch::Tensor x = read_npy(test::fixtures() / "linear.input.npy");
  torch::Tensor targets = torch::tensor({2, 5, 9}, torch::kInt64);
  // w_c per sample, in the input's shape.
  torch::Tensor weights() const {
    const auto w = net->layer_parameters("1")->weight;  // nn.Sequential(Flatten, Linear): layer "1"
    return w.index_select(0, targets).view(x.sizes()).detach();
  }
};

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
  test::TempDir tmp;
  const auto script = tmp / "make.py";
  std::ofstream(script) << "import torch, torch.nn as nn, sys\n"
                           "m = nn.Sequential(nn.Conv2d(2, 1, 1, bias=False), nn.Flatten(), nn.Linear(1, 2, bias=False))\n"
                           "with torch.no_grad():\n"
                           "    m[0].weight.copy_(torch.tensor([2.0, -1.0]).view(1, 2, 1, 1))\n"
                           "    m[2].weight.copy_(torch.tensor([[1.0], [-1.0]]))\n"
                           "torch.jit.script(m.eval()).save(sys.argv[1])\n";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script.string() + " " + (tmp / "m.pt").string()).c_str()), 0);
  auto net = load_network(tmp / "m.pt", {2, 1, 1});
  const auto x = torch::tensor({0.3f, 0.1f}).view({1, 2, 1, 1});
  const auto relevance = Lrp({"epsilon-alpha-beta", 1e-12, 0.25, 2.0}).attribute(*net, x, torch::tensor({0}, torch::kInt64));
  EXPECT_NEAR(relevance.flatten()[0].item<float>(), 1, 1e-5);
  EXPECT_NEAR(relevance.flatten()[1].item<float>(), -0.5, 1e-5);
}

}  // namespace
}  // namespace prism
