// Classifiers of sequences [B, C, T]: the sequence data sets, attributions with known answers on scripted 1-D
// convolutional models (computed by PyTorch's autograd in the fixture script), and the built-in cnn1d trained on
// row-sequential Fashion-MNIST and explained end to end by every command.
#include <gtest/gtest.h>

#include <fstream>

#include "prism/prism.h"
#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

torch::Tensor sequence_attribution(const std::string& method, const nlohmann::json& options, Network& network,
                                   const torch::Tensor& x, const torch::Tensor& targets) {
  return make_feature_attributor(method, options)->attribute(network, x, targets);
}


const torch::Tensor kTargets = torch::tensor({0, 1, 2, 0, 1}, torch::kInt64);  // the fixture script's

TEST(SequenceData, ArraysAndRowSequentialFashionMnistLoadAsSequences) {
  test::TempDir dir;
  write_npy(dir / "x.npy", torch::randn({6, 2, 10}));
  write_npy(dir / "univariate.npy", torch::randn({6, 10}));
  write_npy(dir / "y.npy", torch::tensor({0, 1, 0, 1, 2, 2}, torch::kInt64));
  const auto data = load_dataset("sequence:" + (dir / "x.npy").string() + "," + (dir / "y.npy").string(), Split::Train);
  EXPECT_TRUE(data.is_sequence());
  EXPECT_EQ(data.sample_shape(), (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(data.normalization.mean.size(), 2u);  // per channel
  const auto one = load_dataset("sequence:" + (dir / "univariate.npy").string() + "," + (dir / "y.npy").string(), Split::Test);
  EXPECT_EQ(one.sample_shape(), (std::vector<int64_t>{1, 10}));  // [N, T] is one channel
  write_npy(dir / "bad.npy", torch::randn({6, 2, 3, 4}));
  EXPECT_NE(test::error_of([&] { load_dataset("sequence:" + (dir / "bad.npy").string() + "," + (dir / "y.npy").string(), Split::Test); })
                .find("sequences must be [N, T] (one channel) or [N, C, T]"),
            std::string::npos);
  // Row-sequential Fashion-MNIST: step t holds the 28 pixels of image row t.
  const auto rows = load_dataset("fashion-mnist:rows", Split::Test);
  EXPECT_EQ(rows.sample_shape(), (std::vector<int64_t>{28, 28}));
  EXPECT_TRUE(torch::equal(rows.images[3].t(), test::fashion_test().images[3][0]));
  EXPECT_EQ(rows.class_names, test::fashion_test().class_names);
}

TEST(SequenceAttribution, OnALinearConvolutionGradientMethodsOcclusionAndShapleyValuesHaveTheirKnownValues) {
  auto network = load_network(test::fixtures() / "conv1d_linear.pt", {2, 6});
  const auto x = read_npy(test::fixtures() / "conv1d_linear.input.npy");  // [5, 2, 6]
  const auto gradient = read_npy(test::fixtures() / "conv1d_linear.gradient.npy");
  EXPECT_TRUE(torch::allclose(network->forward(x), read_npy(test::fixtures() / "conv1d_linear.logits.npy"), 1e-5, 1e-6));
  const auto none = nlohmann::json::object();
  EXPECT_TRUE(torch::allclose(sequence_attribution("saliency", none, *network, x, kTargets), gradient, 1e-5, 1e-6));
  const auto expected = gradient * x;
  EXPECT_TRUE(torch::allclose(sequence_attribution("gradient-x-input", none, *network, x, kTargets), expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(
      sequence_attribution("integrated-gradients", {{"baseline", "zeros"}}, *network, x, kTargets), expected, 1e-4, 1e-5));
  // Occlusion covers windows of steps, every channel at once: with one-step windows and a zero fill the drop at step
  // t is Σ_c g_ct x_ct, credited to each channel of the step.
  const auto step_sums = expected.sum(1, true).expand_as(x);
  EXPECT_TRUE(torch::allclose(sequence_attribution("occlusion", {{"patch", 1}, {"stride", 1}, {"fill", 0.0}}, *network, x, kTargets),
                              step_sums, 1e-4, 1e-5));
  // KernelSHAP over one-step windows (all 62 coalitions of 6), a removed step set to its channels' means: on a
  // linear model a window's Shapley value is Σ_c g_ct (x_ct − mean_c), spread evenly over its channels.
  const auto mean = torch::tensor(network->normalization().empty() ? std::vector<float>{0, 0} : network->normalization().mean)
                        .view({1, 2, 1});
  const auto shapley = (gradient * (x - mean)).sum(1, true).expand_as(x) / 2;
  EXPECT_TRUE(torch::allclose(sequence_attribution("kernel-shap", {{"cell", 1}}, *network, x, kTargets), shapley, 1e-3, 1e-4));
  // Methods that need an image's grid refuse in one line that says why.
  EXPECT_NE(test::error_of([&] { sequence_attribution("rise", none, *network, x, kTargets); }).find("sequences do not have"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { sequence_attribution("saliency", none, *network, x.narrow(2, 0, 5), kTargets); }).find("[B, 2, 6]"),
            std::string::npos);
}

TEST(SequenceAttribution, OnBiasFreeReluConvolutionsLrpZeroIsGradientTimesInputAndGradCamIsSelvarajusOver1dMaps) {
  auto network = load_network(test::fixtures() / "conv1d_relu.pt", {2, 6});
  const auto x = read_npy(test::fixtures() / "conv1d_relu.input.npy");
  const auto lrp = sequence_attribution("lrp", {{"composite", "epsilon"}, {"epsilon", 0.0}}, *network, x, kTargets);
  EXPECT_TRUE(torch::allclose(lrp, sequence_attribution("gradient-x-input", nlohmann::json::object(), *network, x, kTargets),
                              1e-4, 1e-6));
  const auto logits = network->forward(x).gather(1, kTargets.view({-1, 1})).squeeze(1).detach();
  EXPECT_TRUE(torch::allclose(lrp.flatten(1).sum(1), logits, 1e-4, 1e-5));
  // Grad-CAM at the last ReLU with a map over steps (the default layer), the same for every channel of a step.
  const auto cam = sequence_attribution("grad-cam", nlohmann::json::object(), *network, x, kTargets);
  EXPECT_EQ(cam.sizes(), x.sizes());
  const auto expected = read_npy(test::fixtures() / "conv1d_relu.gradcam.npy");  // [5, 6]
  EXPECT_TRUE(torch::allclose(cam.select(1, 0), expected, 1e-4, 1e-6));
  EXPECT_TRUE(torch::allclose(cam.select(1, 1), expected, 1e-4, 1e-6));
}

TEST(SequencePictures, FewChannelsAreLinesManyAGridAndTheMapAStripOnTheSameTimeAxis) {
  const int64_t steps = 40;  // 6 pixels a step
  const auto wave = torch::sin(torch::arange(steps, torch::kFloat32) * 0.3).view({1, steps});
  const auto lines = sequence_picture(wave);
  EXPECT_EQ(lines.sizes(), (std::vector<int64_t>{3, 48, steps * 6}));
  // The line is drawn in the first channel's blue, and at the wave's peak it runs along the panel's top.
  const auto blue = (lines[2] > 0.6).logical_and(lines[0] < 0.2);
  EXPECT_GT(blue.sum().item<int64_t>(), steps);
  const int64_t peak = wave[0].argmax().item<int64_t>(), trough = wave[0].argmin().item<int64_t>();
  const auto first_blue_row = [&](int64_t step) {
    return blue.select(1, step * 6 + 3).to(torch::kInt64).argmax().item<int64_t>();
  };
  EXPECT_LE(first_blue_row(peak), 5);
  EXPECT_GE(first_blue_row(trough), 40);
  // 28 channels: a grey grid, one row of cells per channel, time to the right.
  const auto grid = sequence_picture(torch::randn({28, 28}));
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 28 * 4, 28 * 8}));
  EXPECT_TRUE(torch::equal(grid[0], grid[2]));
  // The strip under a sequence: step t's colour at step t's columns (red where the map is positive).
  auto map = torch::zeros({steps});
  map[7] = 1.0;
  const auto both = sequence_map_picture(wave, map);
  const auto strip = both.narrow(1, both.size(1) - 12, 1);  // a row inside the strip
  EXPECT_GT(strip[0][0][7 * 6 + 3].item<float>(), 0.6);
  EXPECT_LT(strip[2][0][7 * 6 + 3].item<float>(), 0.3);
  EXPECT_GT(strip[2][0][20 * 6 + 3].item<float>(), 0.9);  // white where the map is 0
}

// The built-in cnn1d on row-sequential Fashion-MNIST, by the commands a user runs, with no option but the data.
TEST(SequenceCommands, TheCnn1dTrainsOnRowSequentialFashionMnistAndEveryCommandExplainsIt) {
  test::TempDir dir;
  const std::string data = " --data fashion-mnist:rows --train-size 6000 --test-size 500";
  const auto trained = test::run_prism("-q train" + data + " --epochs 5 --out " + (dir / "run").string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto history = nlohmann::json::parse(std::ifstream(dir / "run" / "history.json"));
  EXPECT_GE(history.at("epochs").back().at("test_accuracy").get<double>(), 0.78);
  const auto model = (dir / "run" / "model.prism").string();
  EXPECT_EQ(load_network(model)->architecture(), "cnn1d");

  const auto out = dir / "attr";
  const auto attributed = test::run_prism("-q attribute --model " + model + data +
                                          " --indices 0:3 --methods integrated-gradients,occlusion,grad-cam,kernel-shap --out " +
                                          out.string());
  ASSERT_EQ(attributed.exit_code, 0) << attributed.err;
  EXPECT_EQ(read_npy(out / "attributions-occlusion.npy").sizes(), (std::vector<int64_t>{3, 28, 28}));
  EXPECT_TRUE(fs::exists(out / "lines" / "grad-cam" / "000-lines.png"));
  EXPECT_TRUE(fs::exists(out / "compare-002.png"));
  const auto summary = nlohmann::json::parse(std::ifstream(out / "summary.json"));
  for (const auto& sample : summary["methods"][0]["samples"])  // IG sums to f(x) − f(0)
    EXPECT_LT(std::abs(sample.at("completeness_error").get<double>()), 0.05 * std::abs(sample.at("target_score").get<double>()) + 0.05);

  const auto run = [&](const std::string& arguments) {
    const auto result = test::run_prism("-q " + arguments);
    EXPECT_EQ(result.exit_code, 0) << arguments << "\n" << result.err;
  };
  const auto folder = [&](const std::string& name) { return (dir / name).string(); };
  run("examples fit --model " + model + " --train fashion-mnist:rows --train-size 6000 --out " + folder("examples"));
  run("examples explain --fit " + folder("examples") + data + " --indices 0:2 --out " + folder("examples-out"));
  EXPECT_TRUE(fs::exists(dir / "examples-out" / "examples-001.png"));
  run("influence fit --model " + model + " --train fashion-mnist:rows --train-size 2000 --out " + folder("influence"));
  run("influence explain --fit " + folder("influence") + data + " --indices 0:2 --out " + folder("influence-out"));
  EXPECT_TRUE(fs::exists(dir / "influence-out" / "influence-001.png"));
  run("flint posthoc --model " + model + data + " --epochs 1 --out " + folder("flint"));
  run("flint interpret --flint " + folder("flint") + data + " --indices 0:2 --out " + folder("flint-out"));
  EXPECT_TRUE(fs::exists(dir / "flint-out" / "attribute-00.png"));
  run("evaluate perturbation --model " + model + data + " --samples 40 --out " + folder("perturbation"));
  const auto curves = nlohmann::json::parse(std::ifstream(dir / "perturbation" / "perturbation.json"));
  EXPECT_FALSE(curves.empty());
  run("evaluate sanity --model " + model + data + " --samples 10 --out " + folder("sanity"));
  run("report --model " + model + data + " --indices 0:2 --examples " + folder("examples") + " --influence " +
      folder("influence") + " --flint " + folder("flint") + " --evaluations " + folder("perturbation") + " --out " +
      folder("report.html"));
  const auto page = test::read_text(dir / "report.html");
  EXPECT_NE(page.find("Which steps"), std::string::npos);
  EXPECT_NE(page.find("grad-cam"), std::string::npos);
}

}  // namespace
}  // namespace prism
