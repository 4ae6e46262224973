// Inference mode (issue 17): the compiled, fused graph gives the eager pass's logits and activations to float
// tolerance — on built-in models with batch norms and residual blocks, and on scripted torchvision models —
// with a last batch smaller than the traced one, and leaves the network trainable; in bf16 within bf16's error of
// float32, falling back to float32 where a model's bf16 graph is beyond it.
#include "test_util.h"

namespace prism {
namespace {

void expect_close(const torch::Tensor& fast, const torch::Tensor& eager, const std::string& what) {
  ASSERT_EQ(fast.sizes(), eager.sizes()) << what;
  const double scale = eager.abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(fast, eager, 1e-3, 1e-4 * (1 + scale)))
      << what << ": largest difference " << (fast - eager).abs().max().item<double>() << " at scale " << scale;
}

// Every output of a compiled pass (batch 16, so 40 images end in a batch of 8) against the eager forward.
void expect_compiled_equals_eager(Network& network, const torch::Tensor& images, const std::vector<std::string>& layers) {
  InferenceOptions options;
  options.batch_size = 16;
  options.compile_from = 0;
  InferencePass pass(network, layers, options);
  const auto outputs = pass.run(images);
  EXPECT_TRUE(pass.compiled());
  torch::NoGradGuard no_grad;
  if (layers.empty()) {
    expect_close(outputs.at(0), network.forward(images), "logits");
    return;
  }
  for (size_t l = 0; l < layers.size(); ++l) expect_close(outputs.at(l), network.activation(images, layers[l]), layers[l]);
}

torch::Tensor fashion_images(int64_t count) { return test::fashion_test().images.narrow(0, 0, count); }

// A bf16 pass (batch 16, 40 images) runs in bf16 and stays within bf16's error of the float32 forward: above
// float32's rounding, under the 5 % of the output's norm that its check allows, and with the same top class.
void expect_bf16_close_to_float32(Network& network, const torch::Tensor& images, const std::vector<std::string>& layers) {
  InferenceOptions options;
  options.batch_size = 16;
  options.compile_from = 0;
  options.precision = Precision::kBFloat16;
  InferencePass pass(network, layers, options);
  const auto outputs = pass.run(images);
  ASSERT_EQ(pass.precision(), Precision::kBFloat16);
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < std::max<size_t>(layers.size(), 1); ++l) {
    const auto exact = layers.empty() ? network.forward(images) : network.activation(images, layers[l]);
    const double error = relative_error(outputs.at(l), exact);
    EXPECT_GT(error, 1e-5) << "not computed in bf16";
    EXPECT_LT(error, kBf16Tolerance);
    if (layers.empty()) EXPECT_GE(outputs[0].argmax(1).eq(exact.argmax(1)).sum().item<int64_t>(), images.size(0) - 1);
  }
}

TEST(Inference, ZooCnnLogitsAndLayersEqualTheEagerPass) {
  auto network = make_zoo_network(ZooOptions{}, test::fashion_test());
  const auto images = fashion_images(40);
  expect_compiled_equals_eager(*network, images, {});
  expect_compiled_equals_eager(*network, images, {"relu3"});
  expect_compiled_equals_eager(*network, images, {"relu1", "pool", "fc2"});
}

TEST(Inference, ResNetWithTrainedBatchNormStatisticsEqualsTheEagerPass) {
  ZooOptions options;
  options.architecture = "resnet18";
  options.width = 8;
  auto network = make_zoo_network(options, test::fashion_test());
  // Running statistics away from (0, 1), so that folding them into the convolutions changes the weights.
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : zoo_state(*network))
      if (name.find("running_var") != std::string::npos) tensor.uniform_(0.5, 2.0);
      else if (name.find("running_mean") != std::string::npos) tensor.uniform_(-0.5, 0.5);
  }
  const auto images = fashion_images(40);
  expect_compiled_equals_eager(*network, images, {});
  expect_compiled_equals_eager(*network, images, {"layer2.1.relu2", penultimate_layer(*network)});
}

TEST(Inference, ScriptedTorchvisionModelsEqualTheEagerPass) {
  for (const std::string name : {"tv_resnet50", "tv_mobilenet_v2", "tv_densenet121"}) {
    const auto path = test::fixtures() / (name + ".pt");
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    auto network = load_network(path, {3, 64, 64});
    const auto images = read_npy(test::fixtures() / "rgb64.images.npy").narrow(0, 0, 20);
    expect_compiled_equals_eager(*network, images, {});
    expect_compiled_equals_eager(*network, images, {penultimate_layer(*network)});
  }
}

TEST(Inference, Bf16PassesStayWithinBf16ErrorOfFloat32) {
  auto cnn = make_zoo_network(ZooOptions{}, test::fashion_test());
  const auto images = fashion_images(40);
  expect_bf16_close_to_float32(*cnn, images, {});
  expect_bf16_close_to_float32(*cnn, images, {"relu1", "relu3"});
  ZooOptions resnet;
  resnet.architecture = "resnet18";
  resnet.width = 8;
  auto network = make_zoo_network(resnet, test::fashion_test());
  expect_bf16_close_to_float32(*network, images, {});
  expect_bf16_close_to_float32(*network, images, {penultimate_layer(*network)});
}

TEST(Inference, ABf16GraphBeyondItsToleranceFallsBackToFloat32) {
  // An untrained torchvision ResNet-50 amplifies bf16's rounding through its 16 residual blocks: its logits in bf16
  // are ~40 % off float32's (PyTorch's own autocast too), so the pass runs in float32, with float32's results.
  auto network = load_network(test::fixtures() / "tv_resnet50.pt", {3, 64, 64});
  const auto images = read_npy(test::fixtures() / "rgb64.images.npy").narrow(0, 0, 20);
  InferenceOptions options;
  options.batch_size = 16;
  options.compile_from = 0;
  options.precision = Precision::kBFloat16;
  InferencePass pass(*network, {}, options);
  const auto logits = pass.run(images).at(0);
  EXPECT_TRUE(pass.compiled());
  EXPECT_EQ(pass.precision(), Precision::kFloat32);
  torch::NoGradGuard no_grad;
  expect_close(logits, network->forward(images), "logits");
}

TEST(Inference, APrecisionScopeSetsThePassesBuiltInIt) {
  EXPECT_EQ(InferenceOptions{}.precision, Precision::kFloat32);
  {
    const PrecisionScope bf16(Precision::kBFloat16);
    EXPECT_EQ(InferenceOptions{}.precision, Precision::kBFloat16);
    {
      const PrecisionScope fp32(Precision::kFloat32);
      EXPECT_EQ(current_precision(), Precision::kFloat32);
    }
    EXPECT_EQ(current_precision(), Precision::kBFloat16);
    auto network = make_zoo_network(ZooOptions{}, test::fashion_test());
    const auto images = fashion_images(1100);  // above compile_from: compiled, in bf16
    network->set_training(false);
    torch::NoGradGuard no_grad;
    const double error = relative_error(predict_logits(*network, images, 256), network->forward(images));
    EXPECT_GT(error, 1e-5);
    EXPECT_LT(error, kBf16Tolerance);
  }
  EXPECT_EQ(current_precision(), Precision::kFloat32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBFloat16);
  EXPECT_THROW(parse_precision("fp16"), Error);
}

TEST(Inference, SmallInputsRunEagerlyAndTheNetworkStaysTrainable) {
  auto network = make_zoo_network(ZooOptions{}, test::fashion_test());
  InferencePass small(*network, {"relu3"});
  small.run(fashion_images(8));
  EXPECT_FALSE(small.compiled());  // fewer images than compile_from
  InferenceOptions options;
  options.batch_size = 8;
  options.compile_from = 0;
  InferencePass pass(*network, {}, options);
  pass.run(fashion_images(8));
  ASSERT_TRUE(pass.compiled());
  for (const auto& p : network->parameters()) EXPECT_TRUE(p.requires_grad());
  const auto images = fashion_images(4).clone().requires_grad_(true);
  network->forward(images).sum().backward();
  EXPECT_GT(images.grad().abs().sum().item<double>(), 0);
}

TEST(Inference, PredictionsAndEmbeddingsGoThroughItWithTheSameResults) {
  auto network = make_zoo_network(ZooOptions{}, test::fashion_test());
  const auto images = fashion_images(1100);  // above compile_from: compiled
  network->set_training(false);
  torch::NoGradGuard no_grad;
  expect_close(predict_logits(*network, images, 256), network->forward(images), "predict_logits");
  EmbeddingOptions embedding;
  embedding.layer = "relu2";
  embedding.pool = "avg";
  expect_close(embed(*network, images, embedding), network->activation(images, "relu2").mean({2, 3}), "embed");
}

}  // namespace
}  // namespace prism
