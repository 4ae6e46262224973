// The op-level Network on the models people have: eight torchvision architectures scripted whole by PyTorch
// (scripts/make_torchscript_fixtures.py), against PyTorch's own logits and forward hooks; LRP's conservation on
// their bias-free versions and against a layer-by-layer computation; every family through the CLI; frozen,
// GELU and warning models as people export them.
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace prism {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string> kArchitectures = {"alexnet",      "vgg11_bn",        "resnet50",      "densenet121",
                                                 "mobilenet_v2", "efficientnet_b0", "squeezenet1_1", "shufflenet_v2_x0_5"};

fs::path model_path(const std::string& name) { return test::fixtures() / (name + ".pt"); }

// torchvision is part of the set-up: a missing fixture is a failure, not a skip.
void require_fixture(const std::string& name) {
  ASSERT_TRUE(fs::exists(model_path(name))) << name << ".pt was not written: is python3-torchvision installed?";
}

class TorchVision : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchVision, LogitsAndActivationsEqualPyTorchsForwardHooks) {
  const std::string name = "tv_" + GetParam();
  require_fixture(name);
  const auto x = read_npy(test::fixtures() / (name + ".input.npy"));
  auto net = load_network(model_path(name), {3, 64, 64});
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(x);
  const auto expected = read_npy(test::fixtures() / (name + ".logits.npy"));
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-4 * (1 + expected.abs().max().item<float>())));
  int hooks = 0;
  for (const auto& entry : fs::directory_iterator(test::fixtures() / (name + ".hooks"))) {
    const std::string layer = entry.path().stem().string();
    const auto reference = read_npy(entry.path());
    const auto activation = net->activation(x, layer);
    EXPECT_TRUE(torch::allclose(activation, reference, 1e-4, 1e-4 * (1 + reference.abs().max().item<float>())))
        << layer;
    ++hooks;
  }
  EXPECT_GE(hooks, 5);
  // The rest of the model from a few cuts (every kind of op in between) gives the same logits.
  std::vector<std::string> cuts;
  for (const auto& layer : net->layers())
    if (layer.cut) cuts.push_back(layer.name);
  ASSERT_GE(cuts.size(), 3u);
  for (size_t i = 0; i < cuts.size(); i += std::max<size_t>(1, cuts.size() / 5))
    EXPECT_TRUE(torch::allclose(net->forward_from(cuts[i], net->activation(x, cuts[i])), logits, 1e-4, 1e-4))
        << cuts[i];
  // Every op reads layers that exist (a DAG rooted in the input), and the penultimate features are found.
  std::set<std::string> seen = {""};
  for (const auto& layer : net->layers()) {
    for (const auto& input : layer.inputs) EXPECT_TRUE(seen.count(input)) << layer.name << " reads " << input;
    seen.insert(layer.name);
  }
  EXPECT_NO_THROW(penultimate_layer(*net));
}

// Every family, through the commands a user runs, with no layer option.
TEST_P(TorchVision, EveryFamilyRunsThroughTheCommandLine) {
  const std::string arch = GetParam(), name = "tv_" + arch;
  require_fixture(name);
  const auto f = test::fixtures();
  const std::string model = model_path(name).string();
  const std::string data = "npy:" + (f / "rgb64.images.npy").string() + "," + (f / "rgb64.labels.npy").string();
  test::TempDir tmp;
  const auto attribute = test::run_prism(
      "-q attribute --model " + model + " --data " + data +
      " --indices 0:1 --methods all --patch 16 --stride 16 --steps 8 --samples 8 --masks 50 --count 2 --out " +
      (tmp / "attr").string());
  ASSERT_EQ(attribute.exit_code, 0) << attribute.err;
  // (The pruned gradient may be zero here: on random weights 85 % pruning can cut every path from the input.)
  for (const std::string method : {"pruned-gradient", "saliency", "lrp", "grad-cam", "integrated-gradients", "deeplift",
                                   "deeplift-shap", "gradient-shap", "guided-backprop", "feature-ablation", "kernel-shap",
                                   "lime", "rise"}) {
    const auto map = read_npy(tmp / "attr" / ("attributions-" + method + ".npy"));
    EXPECT_TRUE(torch::isfinite(map).all().item<bool>()) << method;
    if (method != "pruned-gradient") EXPECT_GT(map.abs().sum().item<float>(), 0) << method;
  }
  const auto summary = nlohmann::json::parse(std::ifstream(tmp / "attr" / "summary.json"));
  for (const auto& method : summary.at("methods"))
    if (method.at("method") == "grad-cam") EXPECT_FALSE(method.at("options").at("layer").get<std::string>().empty());

  const auto ebe = test::run_prism("-q examples fit --model " + model + " --train " + data + " --out " +
                                   (tmp / "ebe").string());
  ASSERT_EQ(ebe.exit_code, 0) << ebe.err;
  EXPECT_NE(ebe.out.find("the penultimate features"), std::string::npos) << ebe.out;
  EXPECT_EQ(test::run_prism("-q examples explain --fit " + (tmp / "ebe").string() + " --data " + data +
                            " --indices 0:2 --out " + (tmp / "ebe-x").string()).exit_code, 0);

  for (const std::string method : {"dualview", "representer"}) {
    const auto fit = test::run_prism("-q influence fit --model " + model + " --train " + data + " --method " + method +
                                     " --out " + (tmp / method).string());
    if (arch == "squeezenet1_1") {  // logits = mean(relu(conv)): no linear layer to build a surrogate on
      test::expect_clean_failure(fit, "has no linear layer");
      continue;
    }
    ASSERT_EQ(fit.exit_code, 0) << fit.err;
    const auto explain = test::run_prism("-q influence explain --fit " + (tmp / method).string() + " --data " + data +
                                         " --indices 0:2 --out " + (tmp / (method + "-x")).string());
    EXPECT_EQ(explain.exit_code, 0) << explain.err;
  }
  const auto flint = test::run_prism("-q flint posthoc --model " + model + " --data " + data +
                                     " --epochs 1 --attributes 4 --out " + (tmp / "flint").string());
  EXPECT_EQ(flint.exit_code, 0) << flint.err;
  const auto tcav = test::run_prism("-q concepts tcav --model " + model + " --data " + data +
                                    " --concepts class:3,mark --classes 3,4 --random-sets 2 --examples-per-set 8 "
                                    "--inputs-per-output 4 --out " + (tmp / "tcav").string());
  ASSERT_EQ(tcav.exit_code, 0) << tcav.err;
  const auto study = open_tcav(tmp / "tcav");
  EXPECT_EQ(study.classes.layer, default_tcav_layer(*load_network(model, {3, 64, 64})));
  EXPECT_TRUE((study.classes.scores >= 0).all().item<bool>() && (study.classes.scores <= 1).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(study.classes.p_values).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Architectures, TorchVision, ::testing::ValuesIn(kArchitectures),
                         [](const auto& info) { return info.param; });

// With no biases and BatchNorm a pure scaling, the ε-rule (ε → 0) conserves the target logit exactly on any
// DAG: skip connections, concatenations (DenseNet), ReLU6/SiLU/hardswish, squeeze-excitation gates, chunks.
class BiasFree : public ::testing::TestWithParam<std::string> {};

TEST_P(BiasFree, LrpConservesTheTargetLogit) {
  const std::string name = "tv_" + GetParam() + "_nobias";
  require_fixture(name);
  auto net = load_network(model_path(name), {3, 64, 64});
  const auto x = read_npy(test::fixtures() / (name + ".input.npy"));
  const auto targets = torch::tensor({3, 7}, torch::kInt64);
  Lrp lrp({"epsilon", 1e-9});
  const auto relevance = lrp.attribute(*net, x, targets);
  torch::NoGradGuard no_grad;
  const auto scores = net->forward(x).gather(1, targets.view({-1, 1})).squeeze(1);
  const auto sums = relevance.flatten(1).sum(1);
  for (int64_t i = 0; i < 2; ++i) {
    ASSERT_GT(std::abs(scores[i].item<double>()), 1e-3) << "the fixture's signal vanished";
    EXPECT_NEAR(sums[i].item<double>(), scores[i].item<double>(), 1e-4 * std::abs(scores[i].item<double>()))
        << "sample " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, BiasFree,
                         ::testing::Values("mobilenet_v2", "efficientnet_b0", "densenet121", "shufflenet_v2_x0_5"),
                         [](const auto& info) { return info.param; });

TEST(LrpOnASequentialModel, EqualsALayerByLayerComputation) {
  auto net = load_network(model_path("lrp_sequential"), {1, 28, 28});
  const auto x = read_npy(test::fixtures() / "lrp_sequential.input.npy");
  torch::Tensor targets;
  {
    torch::NoGradGuard no_grad;
    targets = net->forward(x).argmax(1);
  }
  const auto relevance = Lrp({"epsilon", 1e-6}).attribute(*net, x, targets);
  const auto expected = read_npy(test::fixtures() / "lrp_sequential.relevance.npy");
  EXPECT_TRUE(torch::allclose(relevance, expected, 1e-4, 1e-5 * expected.abs().max().item<float>()));
}

// Exported models often freeze every parameter: no method may depend on requires_grad.
TEST(FrozenModel, EveryFeatureMethodGivesTheMapsOfTheUnfrozenCopy) {
  require_fixture("resnet18_frozen");
  auto frozen = load_network(model_path("resnet18_frozen"), {3, 32, 32});
  auto unfrozen = load_network(model_path("resnet18"), {3, 32, 32});
  const auto x = read_npy(test::fixtures() / "resnet18.input.npy");
  const auto targets = torch::tensor({1, 4}, torch::kInt64);
  for (const auto& method : feature_methods()) {
    nlohmann::json options = nlohmann::json::object();
    if (method == "integrated-gradients") options = {{"steps", 8}};
    if (method == "smoothgrad") options = {{"samples", 4}};
    const auto a = make_feature_attributor(method, options)->attribute(*frozen, x, targets);
    const auto b = make_feature_attributor(method, options)->attribute(*unfrozen, x, targets);
    EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-7)) << method;
    EXPECT_GT(a.abs().sum().item<float>(), 0) << method;
  }
}

TEST(GeluModel, LoadsFromItsDataVersionRecordAndEveryMethodRuns) {
  // The archive's layout: the version record at .data/version only (linear.pt has it at version).
  const auto bytes = test::read_bytes(model_path("gelu_net"));
  const std::string text(bytes.begin(), bytes.end());
  ASSERT_NE(text.find("gelu_net/.data/version"), std::string::npos);
  ASSERT_EQ(text.find("gelu_net/version"), std::string::npos);
  auto net = load_network(model_path("gelu_net"), {1, 28, 28});
  const auto x = read_npy(test::fixtures() / "gelu_net.input.npy");
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(net->forward(x), read_npy(test::fixtures() / "gelu_net.logits.npy"), 1e-4, 1e-5));
  }
  EXPECT_EQ(net->layer("gelu").kind, "gelu");
  const auto targets = torch::tensor({0, 1, 2}, torch::kInt64);
  for (const auto& method : feature_methods()) {
    const auto map = make_feature_attributor(method)->attribute(*net, x, targets);
    EXPECT_TRUE(torch::isfinite(map).all().item<bool>()) << method;
  }
}

// stderr of the prism binary run without the --quiet that test::run_prism adds.
std::string stderr_of(const std::string& arguments, const test::TempDir& tmp) {
  const auto err = tmp / "stderr";
  EXPECT_EQ(std::system((std::string(PRISM_BINARY) + " " + arguments + " >/dev/null 2>" + err.string()).c_str()), 0);
  std::stringstream text;
  text << std::ifstream(err).rdbuf();
  return text.str();
}

TEST(WarningModel, WarnsInOnePrismLineAndNotWhenQuiet) {
  const auto f = test::fixtures();
  const std::string arguments = "attribute --model " + (f / "warning_net.pt").string() + " --inputs " +
                                (f / "warning_net.input.npy").string() + " --method saliency --out ";
  test::TempDir tmp;
  struct {
    std::string err;
  } loud{stderr_of(arguments + (tmp / "a").string(), tmp)};
  EXPECT_NE(loud.err.find("prism: warning: this model warns on every forward"), std::string::npos) << loud.err;
  EXPECT_EQ(loud.err.find("InitGoogleLogging"), std::string::npos) << loud.err;
  size_t lines = 0;
  for (size_t at = loud.err.find("warning"); at != std::string::npos; at = loud.err.find("warning", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << loud.err;
  const auto quiet = stderr_of(arguments + (tmp / "b").string() + " --quiet", tmp);  // after the subcommand
  EXPECT_EQ(quiet.find("warning"), std::string::npos) << quiet;
}

TEST(ModelContract, RefusesModelsThatAreNotClassifiersInOneLine) {
  const auto f = test::fixtures();
  for (const auto& [name, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"tuple_output", "returns Tuple"}, {"two_inputs", "takes 2 inputs"}, {"one_logit", "one logit per image"}}) {
    try {
      load_network(model_path(name), {1, 28, 28});
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  auto nan_net = load_network(model_path("nan_output"), {1, 28, 28});
  const auto x = read_npy(f / "linear.input.npy");
  try {
    Saliency().attribute(*nan_net, x, torch::tensor({0, 0, 0}, torch::kInt64));
    ADD_FAILURE() << "NaN logits were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN or infinite"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace prism
