// Feature attribution: each method against what it guarantees (completeness, finite differences,
// w ⊙ x on a linear model, a Grad-CAM answer known by construction, pruning shares), and built-in
// against TorchScript models holding the same weights.
#include <numeric>

#include "test_util.h"

namespace prism {
namespace {

std::unique_ptr<Network> random_cnn(uint64_t seed = 0) {
  ZooOptions options;
  options.seed = seed;
  auto network = make_zoo_network(options);
  set_metadata(*network, {1, 28, 28}, 10, {}, {{0.286f}, {0.353f}});
  network->set_training(false);
  return network;
}

torch::Tensor some_images(int64_t count) {
  return random_subset(test::fashion_test(), count, 21).images;
}

std::unique_ptr<Network> fixture(const std::string& name) {
  return load_network(test::fixtures() / (name + ".pt"), {1, 28, 28});
}

TEST(IntegratedGradients, GaussLegendreIsExactForPolynomials) {
  const auto [alphas, weights] = integration_rule("gausslegendre", 3);  // exact up to degree 5
  double integral = 0, total = 0;
  for (size_t k = 0; k < alphas.size(); ++k) {
    integral += weights[k] * std::pow(alphas[k], 5);
    total += weights[k];
  }
  EXPECT_NEAR(integral, 1.0 / 6, 1e-12);
  EXPECT_NEAR(total, 1.0, 1e-12);
  for (const std::string rule : {"riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid"}) {
    const auto [a, w] = integration_rule(rule, 10);
    EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-12) << rule;
  }
  EXPECT_THROW(integration_rule("simpson", 10), Error);
}

TEST(IntegratedGradients, CompletenessHolds) {
  auto net = random_cnn();
  const auto x = some_images(4);
  const auto targets = torch::tensor({0, 3, 5, 9}, torch::kInt64);
  for (const std::string baseline : {"zeros", "mean", "blur"}) {
    IntegratedGradientsOptions options;
    options.baseline = baseline;
    options.steps = 64;
    options.internal_batch_size = 50;  // not a divisor of 4 × 64: chunks cross samples
    IntegratedGradients ig(options);
    const auto explained = ig.explain(*net, x, targets);
    const auto& attribution = explained.maps;
    const auto base = make_baseline(*net, x, baseline, 5.0);
    const auto expected = target_scores(*net, x, targets) - target_scores(*net, base, targets);
    // Completeness (Sundararajan et al., Prop. 1): within 1 % of |f(x) − f(x')| (+ 1e-3).
    EXPECT_TRUE(((attribution.flatten(1).sum(1) - expected).abs() <= 0.01 * expected.abs() + 1e-3).all().item<bool>())
        << baseline << ": " << attribution.flatten(1).sum(1) << " vs " << expected;
    EXPECT_TRUE(torch::allclose(explained.per_sample.at("completeness_error"),
                                (attribution.flatten(1).sum(1) - expected).abs(), 1e-4, 1e-4));
  }
}

TEST(DeepLift, SumsToTheDifferenceOfTheLogitsOnAReluNetworkForEveryBaseline) {
  // Summation-to-delta (Shrikumar et al. 2017, Eq. 1) is exact for linear ops and element-wise activations.
  auto net = make_zoo_network({"mlp", {1, 28, 28}, 10, 0, 3});
  set_metadata(*net, {1, 28, 28}, 10, {}, {{0.286f}, {0.353f}});
  const auto x = some_images(4);
  const auto targets = torch::tensor({1, 7, 3, 0}, torch::kInt64);
  for (const std::string baseline : {"zeros", "mean", "blur"}) {
    const auto explained = DeepLift({baseline}).explain(*net, x, targets);
    const auto delta = target_scores(*net, x, targets) -
                       target_scores(*net, make_baseline(*net, x, baseline, 5.0), targets);
    EXPECT_TRUE(torch::allclose(explained.maps.flatten(1).sum(1), delta, 1e-4, 1e-4))
        << baseline << ": " << explained.maps.flatten(1).sum(1) << " vs " << delta;
    EXPECT_LT(explained.per_sample.at("completeness_error").max().item<float>(), 1e-3) << baseline;
    // Not the gradient times the difference: the multipliers are secants of the ReLUs, not their slopes at x.
    const auto gradient_times_delta = Saliency().attribute(*net, x, targets) * (x - make_baseline(*net, x, baseline, 5.0));
    EXPECT_FALSE(torch::allclose(explained.maps, gradient_times_delta, 1e-3, 1e-5)) << baseline;
  }
}

TEST(Saliency, MatchesFiniteDifferences) {
  // The mlp: max-pooling over tied zeros (the cnn's relu2) makes central differences one-sided.
  auto net = make_zoo_network({"mlp", {1, 28, 28}, 10, 0, 3});
  set_metadata(*net, {1, 28, 28}, 10, {}, {{0.286f}, {0.353f}});
  net->set_training(false);
  const auto x = some_images(2);
  const auto targets = torch::tensor({1, 7}, torch::kInt64);
  const auto gradient = Saliency().attribute(*net, x, targets);
  EXPECT_TRUE(torch::equal(Saliency({true}).attribute(*net, x, targets), gradient.abs()));
  // Central differences pixel by pixel, at the pixels of largest gradient (a one-pixel step crosses few
  // ReLU kinks, unlike a step in all pixels at once).
  const double epsilon = 1e-3;
  for (int64_t b = 0; b < 2; ++b) {
    const auto top = std::get<1>(gradient[b].flatten().abs().topk(5));
    for (int64_t k = 0; k < 5; ++k) {
      const int64_t pixel = top[k].item<int64_t>();
      auto step = torch::zeros({1, 784});
      step[0][pixel] = epsilon;
      const auto sample = x.narrow(0, b, 1), target = targets.narrow(0, b, 1);
      const auto up = target_scores(*net, sample + step.view({1, 1, 28, 28}), target);
      const auto down = target_scores(*net, sample - step.view({1, 1, 28, 28}), target);
      const double difference = ((up - down) / (2 * epsilon)).item<double>();
      const double derivative = gradient[b].flatten()[pixel].item<double>();
      EXPECT_NEAR(derivative, difference, 0.02 * std::abs(derivative) + 1e-3) << "sample " << b << " pixel " << pixel;
    }
  }
}

TEST(GradientXInput, EqualsWeightTimesInputOnALinearModel) {
  auto net = fixture("linear");
  const auto x = some_images(3);
  const auto targets = torch::tensor({2, 4, 8}, torch::kInt64);
  const auto weight = net->parameters()[0];  // [10, 784]
  const auto expected = weight.index_select(0, targets).view({3, 1, 28, 28}) * x;
  EXPECT_TRUE(torch::allclose(GradientXInput().attribute(*net, x, targets), expected, 1e-6, 1e-7));
}

TEST(GradCam, GivesTheMapKnownByConstruction) {
  auto net = fixture("gradcam");
  const auto x = some_images(2);
  GradCam cam({"1", false});  // the ReLU's output, signed map
  EXPECT_TRUE(torch::allclose(cam.attribute(*net, x, torch::tensor({0, 0}, torch::kInt64)), x, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(cam.attribute(*net, x, torch::tensor({1, 1}, torch::kInt64)), 1 - x, 1e-5, 1e-6));
  EXPECT_EQ(GradCam::default_layer(*random_cnn()), "relu2");
}

TEST(PrunedGradient, SparsityZeroIsThePlainGradient) {
  auto net = random_cnn(1);
  const auto x = some_images(3);
  const auto targets = torch::tensor({0, 1, 2}, torch::kInt64);
  PrunedGradient pruned({0.0});
  const auto explained = pruned.explain(*net, x, targets);
  EXPECT_TRUE(torch::allclose(explained.maps, Saliency().attribute(*net, x, targets), 1e-6, 1e-7));
  EXPECT_TRUE((explained.per_sample.at("pruned_share") == 0).all().item<bool>());
  EXPECT_TRUE(torch::equal(pruned.attribute(*net, x, targets), explained.maps));
}

TEST(PrunedGradient, MasksTheRequestedShareAndIsTheGradientOfThePrunedNetwork) {
  auto net = random_cnn(2);
  const auto x = some_images(3);
  const auto targets = torch::tensor({4, 5, 6}, torch::kInt64);
  for (const double sparsity : {50.0, 85.0, 95.0}) {
    PrunedGradient pruned({sparsity});
    const auto [attribution, per_sample, layer_masks] = pruned.explain(*net, x, targets);
    // p % pruned, ties at the threshold aside (dead neurons all score 0, so the share can only grow).
    const auto& share = per_sample.at("pruned_share");
    EXPECT_TRUE((share >= sparsity / 100 - 1e-4).all().item<bool>()) << share;
    ASSERT_EQ(layer_masks.size(), 3u);
    TapSet masks;
    for (const auto& [layer, mask] : layer_masks) masks.on(layer, [mask](const torch::Tensor& a) { return a * mask; });
    EXPECT_TRUE(torch::allclose(attribution, target_gradient(*net, x, targets, masks).gradient));
    // Masks are input-specific: the samples' masks differ.
    const auto& relu2 = layer_masks.at("relu2");
    EXPECT_FALSE(torch::equal(relu2[0], relu2[1]));
  }
  EXPECT_THROW(PrunedGradient({100.0}), Error);
  EXPECT_THROW(PrunedGradient({-1.0}), Error);
}

// The integrated variant scores each neuron by |a(x) · (1/m) Σ_k ∂f_c/∂a(α_k x)|, α_k = (k + ½)/m, prunes the
// lowest-scored share, and returns the gradient of the network so pruned.
TEST(PrunedGradient, IntegratedScoresArePathAveragedAndTheMapIsThePrunedNetworksGradient) {
  auto net = random_cnn(3);
  const auto x = some_images(3);
  const auto targets = torch::tensor({1, 7, 3}, torch::kInt64);
  PrunedGradientOptions options;
  options.sparsity = 70;
  options.integrated = true;
  options.steps = 4;
  PrunedGradient pruned(options);
  const auto explained = pruned.explain(*net, x, targets);
  const auto& attribution = explained.maps;
  const std::vector<std::string> layers = {"relu1", "relu2", "relu3"};
  ASSERT_EQ(explained.masks.size(), layers.size());
  const auto captured_gradients = [&](const torch::Tensor& input, std::vector<torch::Tensor>& activations) {
    activations.assign(layers.size(), {});
    TapSet taps;
    for (size_t i = 0; i < layers.size(); ++i) taps.capture(layers[i], &activations[i]);
    const auto score = net->forward(input.detach().requires_grad_(true), taps).gather(1, targets.view({-1, 1})).sum();
    return torch::autograd::grad({score}, activations);
  };
  std::vector<torch::Tensor> at_x, on_path;
  captured_gradients(x, at_x);
  std::vector<torch::Tensor> mean_gradient(layers.size());
  for (int64_t k = 0; k < options.steps; ++k) {
    const auto gradients = captured_gradients((k + 0.5) / options.steps * x, on_path);
    for (size_t i = 0; i < layers.size(); ++i)
      mean_gradient[i] = k == 0 ? gradients[i] / options.steps : mean_gradient[i] + gradients[i] / options.steps;
  }
  std::vector<torch::Tensor> scores, masks;
  for (size_t i = 0; i < layers.size(); ++i) {
    scores.push_back((at_x[i].detach() * mean_gradient[i]).abs().flatten(1));
    masks.push_back(explained.masks.at(layers[i]).flatten(1));
  }
  const auto all_scores = torch::cat(scores, 1), kept = torch::cat(masks, 1) > 0.5;
  for (int64_t b = 0; b < x.size(0); ++b) {
    const double highest_pruned = all_scores[b].masked_select(~kept[b]).max().item<double>();
    const double lowest_kept = all_scores[b].masked_select(kept[b]).min().item<double>();
    EXPECT_LE(highest_pruned, lowest_kept * (1 + 1e-5)) << "sample " << b;
  }
  EXPECT_TRUE((explained.per_sample.at("pruned_share") >= 0.7 - 1e-4).all().item<bool>());
  TapSet masked;
  for (const auto& [layer, mask] : explained.masks) masked.on(layer, [mask](const torch::Tensor& a) { return a * mask; });
  EXPECT_TRUE(torch::allclose(attribution, target_gradient(*net, x, targets, masked).gradient));
  PrunedGradient plain({70.0});
  const auto plain_masks = plain.explain(*net, x, targets).masks;
  EXPECT_FALSE(torch::equal(plain_masks.at("relu2"), explained.masks.at("relu2")));  // the path changes the scores
}

TEST(PrunedGradient, KeysMasksByCallOnTorchvisionResNet18) {
  const auto dir = test::fixtures();
  ASSERT_TRUE(std::filesystem::exists(dir / "resnet18.pt")) << "no torchvision";
  auto net = load_network(dir / "resnet18.pt", {3, 32, 32});
  const auto x = read_npy(dir / "resnet18.input.npy");
  PrunedGradient pruned;
  const auto [attribution, per_sample, masks] = pruned.explain(*net, x, torch::tensor({0, 1}, torch::kInt64));
  EXPECT_EQ(attribution.sizes(), x.sizes());
  EXPECT_EQ(masks.size(), 17u);
  EXPECT_FALSE(torch::equal(masks.at("layer1.0.relu:0"), masks.at("layer1.0.relu:1")));
  EXPECT_TRUE(torch::isfinite(attribution).all().item<bool>());
}

// The zoo cnn and the same network scripted by PyTorch, with the same weights, give the same maps.
TEST(FeatureMethods, AgreeBetweenBuiltInAndTorchScriptModels) {
  auto scripted = fixture("zoo_cnn");
  ZooOptions options;
  auto builtin = make_zoo_network(options);
  set_metadata(*builtin, {1, 28, 28}, 10, {}, {});  // the scripted model does not normalise
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : zoo_state(*builtin)) tensor.copy_(read_npy(test::fixtures() / ("zoo_cnn." + name + ".npy")));
  }
  builtin->set_training(false);
  const auto x = some_images(3);
  const auto targets = torch::tensor({3, 1, 4}, torch::kInt64);
  ASSERT_TRUE(torch::allclose(builtin->forward(x), scripted->forward(x), 1e-4, 1e-4));
  for (const auto& method : feature_methods()) {
    nlohmann::json small = nlohmann::json::object();
    if (method == "integrated-gradients" || method == "pruned-gradient") small["steps"] = 8;
    if (method == "smoothgrad") small["samples"] = 4;
    const auto a = make_feature_attributor(method, small)->attribute(*builtin, x, targets);
    const auto b = make_feature_attributor(method, small)->attribute(*scripted, x, targets);
    EXPECT_EQ(a.sizes(), x.sizes()) << method;
    EXPECT_TRUE(torch::isfinite(a).all().item<bool>()) << method;
    const double scale = a.abs().max().item<double>();
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-3 * scale + 1e-6) << method;
  }
}

TEST(FeatureMethods, RejectBadInput) {
  auto net = random_cnn();
  const auto x = some_images(2);
  EXPECT_THROW(make_feature_attributor("deeplab"), Error);
  EXPECT_THROW(make_feature_attributor("saliency", {{"steps", 3}}), Error);
  EXPECT_THROW(make_feature_attributor("smoothgrad", {{"samples", "many"}}), Error);
  EXPECT_THROW(Saliency().attribute(*net, x, torch::tensor({0, 10}, torch::kInt64)), Error);
  EXPECT_THROW(Saliency().attribute(*net, x, torch::tensor({0}, torch::kInt64)), Error);
  auto bad = x.clone();
  bad[1][0][3][3] = NAN;
  try {
    Saliency().attribute(*net, bad, torch::tensor({0, 1}, torch::kInt64));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(GradCam({"fc9"}).attribute(*net, x, torch::tensor({0, 1}, torch::kInt64)), Error);
}

}  // namespace
}  // namespace prism

namespace prism {
namespace {

void zero_biases(Network& network) {
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : zoo_state(network))
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) tensor.zero_();
}

TEST(Lrp, ConservesRelevanceWithoutBiasesUnderEveryComposite) {
  auto net = random_cnn(4);
  zero_biases(*net);
  const auto x = some_images(3);
  const auto targets = torch::tensor({0, 2, 9}, torch::kInt64);
  const auto scores = target_scores(*net, x, targets);
  for (const std::string composite :
       {"epsilon", "epsilon-plus", "epsilon-plus-box", "epsilon-gamma-box", "epsilon-alpha-beta"}) {
    Lrp lrp({composite, 1e-9});
    const auto explained = lrp.explain(*net, x, targets);
    const auto& relevance = explained.maps;
    const auto& conservation_error = explained.per_sample.at("conservation_error");
    EXPECT_TRUE(torch::allclose(conservation_error, (relevance.flatten(1).sum(1) - scores).abs(), 1e-4, 1e-6));
    // α β loses relevance at neurons with no negative (or no positive) input: β R (or α R) has nowhere
    // to go. It conserves only where both parts exist, so it is only checked for a reported error.
    if (composite == "epsilon-alpha-beta") continue;
    EXPECT_TRUE(torch::allclose(relevance.flatten(1).sum(1), scores, 1e-3, 1e-4))
        << composite << ": " << relevance.flatten(1).sum(1) << " vs " << scores;
    EXPECT_LT(conservation_error.max().item<double>(), 1e-3 * scores.abs().max().item<double>() + 1e-4) << composite;
  }
}

TEST(Lrp, EpsilonZeroIsGradientTimesInputOnAReluNetwork) {
  // Ancona et al. 2018, Prop. 1; compared on the unnormalised input (no normalisation in the model).
  ZooOptions options;
  options.seed = 6;
  auto net = make_zoo_network(options);
  set_metadata(*net, {1, 28, 28}, 10, {}, {});
  net->set_training(false);
  const auto x = some_images(2);
  const auto targets = torch::tensor({1, 8}, torch::kInt64);
  const auto lrp = Lrp({"epsilon", 0.0}).attribute(*net, x, targets);
  const auto gxi = GradientXInput().attribute(*net, x, targets);
  EXPECT_TRUE(torch::allclose(lrp, gxi, 1e-4, 1e-6));
}

// A scripted torchvision ResNet-18 at 64 × 64: its largest activation is the stem's, 64 channels at 32 × 32.
TEST(Gradient, TheLargestActivationOfAResNetIsItsStemsOutput) {
  auto net = load_network(test::fixtures() / "resnet18.pt", {3, 64, 64});
  net->set_training(false);
  EXPECT_EQ(net->largest_activation_bytes(torch::rand({5, 3, 64, 64})), 64 * 32 * 32 * 4);
}

// Large batches run in chunks (32 images of that ResNet per 8 MiB): each sample still gets its own score and
// gradient, as when it runs alone.
TEST(Gradient, ChunkedBatchesGiveEachSampleItsOwnScoreAndGradient) {
  auto net = load_network(test::fixtures() / "resnet18.pt", {3, 64, 64});
  const auto x = torch::rand({70, 3, 64, 64});
  const auto targets = torch::arange(70, torch::kInt64).remainder(10);
  const auto batched = target_gradient(*net, x, targets);
  for (const int64_t i : {0, 31, 40, 69}) {
    const auto alone = target_gradient(*net, x.narrow(0, i, 1), targets.narrow(0, i, 1));
    EXPECT_TRUE(torch::allclose(batched.gradient[i], alone.gradient[0], 1e-4, 1e-6)) << "sample " << i;
    EXPECT_NEAR(batched.scores[i].item<double>(), alone.scores[0].item<double>(), 1e-4) << "sample " << i;
  }
}

TEST(Lrp, HandlesResidualBlocksAndMergedBatchNorm) {
  ZooOptions options;
  options.architecture = "resnet18";
  options.width = 8;
  auto net = make_zoo_network(options);
  set_metadata(*net, {1, 28, 28}, 10, {}, {{0.286f}, {0.353f}});
  net->set_training(true);
  net->forward(some_images(32));  // batch statistics, so BatchNorm is not the identity
  net->set_training(false);
  const auto x = some_images(2);
  const auto targets = torch::tensor({3, 4}, torch::kInt64);
  Lrp lrp({"epsilon", 1e-9});
  const auto relevance = lrp.attribute(*net, x, targets);
  EXPECT_TRUE(torch::isfinite(relevance).all().item<bool>());
  // The ε-rule with ε → 0 is gradient × input here too (at the normalised input): residual additions
  // split relevance in proportion and merged BatchNorm is the same affine map.
  const auto normalised = normalize(x, net->normalization());
  const auto gradient = target_gradient(*net, x, targets).gradient * 0.353f;  // ∂f/∂x_n
  EXPECT_TRUE(torch::allclose(relevance, normalised * gradient, 1e-3, 1e-5));
  EXPECT_THROW(Lrp({"epsilon-foo"}), Error);
}

}  // namespace
}  // namespace prism
