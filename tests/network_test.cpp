// Named layers and taps on built-in and TorchScript models, checked against manual computations
// and against PyTorch's own outputs; prism's model file.
#include <torch/script.h>

#include "test_util.h"

namespace prism {
namespace {

std::unique_ptr<Network> zoo(const std::string& architecture, std::vector<int64_t> shape = {1, 28, 28}) {
  ZooOptions options;
  options.architecture = architecture;
  options.input_shape = shape;
  options.width = architecture == "resnet18" ? 8 : 0;
  auto network = make_zoo_network(options);
  const auto channels = static_cast<size_t>(shape[0]);
  set_metadata(*network, shape, 10, {}, {std::vector<float>(channels, 0.5f), std::vector<float>(channels, 0.25f)});
  network->set_training(false);
  return network;
}

std::map<std::string, torch::Tensor> state_of(Network& network) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : zoo_state(network)) out[name] = tensor;
  return out;
}

TEST(Zoo, ListsEveryReluAsItsOwnLayer) {
  auto count_relus = [](Network& net) {
    return std::count_if(net.layers().begin(), net.layers().end(), [](const LayerInfo& l) { return l.kind == "relu"; });
  };
  EXPECT_EQ(count_relus(*zoo("mlp")), 2);
  EXPECT_EQ(count_relus(*zoo("cnn")), 3);
  EXPECT_EQ(count_relus(*zoo("resnet18", {3, 32, 32})), 17);
  auto cnn = zoo("cnn");
  EXPECT_EQ(cnn->layer_names(), (std::vector<std::string>{"conv1", "relu1", "conv2", "relu2", "pool", "dropout1",
                                                         "flatten", "fc1", "relu3", "dropout2", "fc2"}));
  try {
    cnn->layer("fc9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers are: conv1, relu1"), std::string::npos);
  }
  EXPECT_THROW(make_zoo_network({"vgg"}), Error);
}

TEST(Taps, CaptureEqualsAManualForward) {
  auto net = zoo("cnn");
  auto w = state_of(*net);
  const auto x = torch::rand({4, 1, 28, 28});
  const auto h = torch::relu(torch::conv2d((x - 0.5) / 0.25, w["conv1.weight"], w["conv1.bias"]));
  const auto expected = torch::relu(torch::conv2d(h, w["conv2.weight"], w["conv2.bias"]));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(net->activation(x, "relu2"), expected, 1e-5, 1e-5));
  torch::Tensor captured;
  TapSet taps;
  taps.capture("relu2", &captured);
  const auto logits = net->forward(x, taps);
  EXPECT_TRUE(torch::allclose(captured, expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(logits, net->forward(x)));
}

TEST(Taps, ReplacingAnActivationChangesTheOutputAsComputedByHand) {
  auto net = zoo("cnn");
  auto w = state_of(*net);
  const auto x = torch::rand({3, 1, 28, 28});
  const auto replacement = torch::rand({3, 128});
  TapSet taps;
  taps.replace("relu3", replacement);
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(x, taps);
  EXPECT_TRUE(torch::allclose(logits, torch::linear(replacement, w["fc2.weight"], w["fc2.bias"]), 1e-5, 1e-5));
  // A mask tap (as pruning uses): zeroing half the units of relu3 equals replacing with the masked value.
  const auto mask = (torch::arange(128) % 2).to(torch::kFloat32);
  TapSet masking;
  masking.on("relu3", [&](const torch::Tensor& a) { return a * mask; });
  const auto relu3 = net->activation(x, "relu3");
  EXPECT_TRUE(torch::allclose(net->forward(x, masking), torch::linear(relu3 * mask, w["fc2.weight"], w["fc2.bias"]),
                              1e-5, 1e-5));
}

TEST(Taps, GradientsFlowThroughReplacedActivations) {
  auto net = zoo("cnn");
  const auto x = torch::rand({2, 1, 28, 28}).requires_grad_(true);
  const auto scale = torch::full({128}, 2.0);
  TapSet taps;
  taps.on("relu3", [&](const torch::Tensor& a) { return a * scale; });
  net->forward(x, taps).sum().backward();
  const auto doubled = x.grad().clone();
  x.mutable_grad().zero_();
  net->forward(x).sum().backward();
  EXPECT_TRUE(torch::allclose(doubled, 2 * x.grad(), 1e-4, 1e-6));
}

TEST(Taps, ForwardFromEveryCutMatchesTheFullForward) {
  for (const auto& [architecture, shape] :
       std::vector<std::pair<std::string, std::vector<int64_t>>>{{"mlp", {1, 28, 28}}, {"cnn", {1, 28, 28}},
                                                               {"resnet18", {1, 28, 28}}}) {
    auto net = zoo(architecture, shape);
    torch::NoGradGuard no_grad;
    const auto x = torch::rand({2, 1, 28, 28});
    const auto logits = net->forward(x);
    int cuts = 0;
    for (const auto& layer : net->layers()) {
      if (!layer.cut) {
        EXPECT_THROW(net->forward_from(layer.name, torch::zeros({1})), Error) << layer.name;
        continue;
      }
      ++cuts;
      EXPECT_TRUE(torch::allclose(net->forward_from(layer.name, net->activation(x, layer.name)), logits, 1e-5, 1e-5))
          << architecture << " " << layer.name;
    }
    EXPECT_GE(cuts, 5);
  }
}

TEST(Network, RejectsImagesOfTheWrongShape) {
  auto net = zoo("cnn");
  try {
    net->forward(torch::rand({2, 3, 32, 32}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expects images [B, 1, 28, 28] but got [2, 3, 32, 32]"), std::string::npos);
  }
  TapSet bad;
  bad.capture("nope", nullptr);
  EXPECT_THROW(net->forward(torch::rand({1, 1, 28, 28}), bad), Error);
}

TEST(ModelFile, RoundTripsAndRejectsCorruptOrForeignFiles) {
  test::TempDir dir;
  auto net = zoo("resnet18");
  // Non-trivial batch-norm statistics, so buffers are checked too.
  net->set_training(true);
  net->forward(torch::rand({8, 1, 28, 28}));
  net->set_training(false);
  save_network(*net, dir / "m.prism");
  auto back = load_network(dir / "m.prism");
  EXPECT_EQ(back->layer_names(), net->layer_names());
  EXPECT_EQ(back->normalization().std, std::vector<float>{0.25f});
  back->set_training(false);
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 1, 28, 28});
  EXPECT_TRUE(torch::equal(back->forward(x), net->forward(x)));

  const auto bytes = test::read_bytes(dir / "m.prism");
  auto expect_error = [&](const std::vector<uint8_t>& b, const std::string& fragment) {
    try {
      parse_network(b, "m.prism");
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error({bytes.begin(), bytes.end() - 10}, "truncated");
  expect_error({bytes.begin(), bytes.begin() + 30}, "truncated");
  auto magic = bytes;
  magic[0] = 'X';
  expect_error(magic, "not a prism model file");
  auto json = bytes;
  json[21] = '!';
  expect_error(json, "not valid JSON");
  // Same header length, another architecture: the tensors no longer fit.
  std::string text(bytes.begin(), bytes.end());
  text.replace(text.find("\"resnet18\""), 10, "\"mlp\"     ");
  expect_error({text.begin(), text.end()}, "does not match the 'mlp' architecture");
  test::write_bytes(dir / "garbage.pt", {'P', 'K', 3, 4, 0, 0, 0});
  EXPECT_THROW(load_network(dir / "garbage.pt", {1, 28, 28}), Error);
  EXPECT_THROW(load_network(dir / "missing.prism"), Error);
}

// TorchScript fixtures written by scripts/make_torchscript_fixtures.py with PyTorch's references.
struct Fixture {
  std::string name;
  std::string reference_layer;  // its activation, as PyTorch computed it
  std::string architecture;
};

void PrintTo(const Fixture& f, std::ostream* out) { *out << f.name; }

class TorchScriptFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(TorchScriptFixture, MatchesPyTorchAndTapsWork) {
  const auto& f = GetParam();
  const auto dir = test::fixtures();
  ASSERT_TRUE(std::filesystem::exists(dir / (f.name + ".pt"))) << "fixture not written (is python3-torchvision installed?)";
  const auto x = read_npy(dir / (f.name + ".input.npy"));
  auto net = load_network(dir / (f.name + ".pt"), {x.size(1), x.size(2), x.size(3)});
  EXPECT_EQ(net->architecture(), f.architecture);
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(x);
  EXPECT_TRUE(torch::allclose(logits, read_npy(dir / (f.name + ".logits.npy")), 1e-4, 1e-4));
  const auto activation = net->activation(x, f.reference_layer);
  EXPECT_TRUE(torch::allclose(activation, read_npy(dir / (f.name + "." + f.reference_layer + ".npy")), 1e-4, 1e-4));
  for (const auto& layer : net->layers())
    if (layer.cut)
      EXPECT_TRUE(torch::allclose(net->forward_from(layer.name, net->activation(x, layer.name)), logits, 1e-4, 1e-4))
          << layer.name;
  // Replacing the last ReLU's output by zeros leaves only what follows it: for these fixtures
  // (ReLU, [flatten,] linear) that is the final linear layer's bias.
  std::string last_relu;
  for (const auto& layer : net->layers())
    if (layer.kind == "relu") last_relu = layer.name;
  if (f.name != "resnet18") {
    TapSet zero;
    zero.on(last_relu, [](const torch::Tensor& a) { return torch::zeros_like(a); });
    const auto bias = net->parameters().back();
    EXPECT_TRUE(torch::allclose(net->forward(x, zero), bias.expand({x.size(0), bias.size(0)})));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchScriptFixture,
                         ::testing::Values(Fixture{"sequential", "2", "torchscript"},
                                           Fixture{"nested", "0.1", "torchscript"},
                                           Fixture{"skipnet", "relu:0", "torchscript"},
                                           Fixture{"resnet18", "layer1.1.relu:1", "torchscript"}),
                         [](const auto& info) { return info.param.name; });

// LibTorch does not check an archive's CRC-32s and crashes on many damaged ones: prism checks the container first.
TEST(TorchScript, RefusesDamagedOrForeignArchivesWithAReason) {
  const auto dir = test::fixtures();
  const auto bytes = test::read_bytes(dir / "linear.pt");
  test::TempDir tmp;
  auto expect_refused = [&](const std::vector<uint8_t>& copy, const std::string& fragment) {
    test::write_bytes(tmp / "copy.pt", copy);
    try {
      load_network(tmp / "copy.pt", {1, 28, 28});
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  // The middle of the file lies in the stored weights, linear/data/0 (31,360 of its 36 KB bytes).
  auto flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  expect_refused(flipped, "record 'linear/data/0' fails its check (CRC error)");
  for (const size_t size : {size_t{4}, size_t{100}, bytes.size() / 2, bytes.size() - 1})
    expect_refused({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)}, "not a consistent zip file");
  // Correct checksums, but the bias record holds half the bytes its shape needs.
  expect_refused(test::read_bytes(dir / "short_bias.pt"),
                 "its tensors need a storage of 40 bytes that no data record of the archive holds");
  expect_refused(test::read_bytes(dir / "state_dict.pt"),
                 "as torch.save writes them; give a model saved with torch.jit.save");

  // A byte flipped anywhere (every 53rd position): either still a loadable model (a field no check covers,
  // such as a time stamp in both headers) or refused with prism's error, never LibTorch's or a crash.
  int refused = 0;
  for (size_t at = 0; at < bytes.size(); at += 53) {
    auto copy = bytes;
    copy[at] ^= 0x5a;
    test::write_bytes(tmp / "copy.pt", copy);
    try {
      load_network(tmp / "copy.pt", {1, 28, 28});
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(bytes.size() / 53) * 9 / 10);

  // Inputs on which the fuzzer crashed LibTorch 1.13 before the check (fuzz/regressions/torchscript/).
  for (const auto& crash : std::filesystem::directory_iterator(PRISM_SOURCE_DIR "/fuzz/regressions/torchscript"))
    EXPECT_THROW(load_network(crash.path(), {1, 28, 28}), Error) << crash.path();
}

TEST(TorchScript, NamesResNet18ReluCallsAndGradientsMatchThePlainModule) {
  const auto dir = test::fixtures();
  ASSERT_TRUE(std::filesystem::exists(dir / "resnet18.pt")) << "no torchvision";
  const auto x = read_npy(dir / "resnet18.input.npy");
  auto net = load_network(dir / "resnet18.pt", {3, 32, 32});
  int relus = 0;
  for (const auto& layer : net->layers()) relus += layer.kind == "relu";
  EXPECT_EQ(relus, 17);
  EXPECT_NO_THROW(net->layer("layer1.0.relu:0"));
  EXPECT_NO_THROW(net->layer("layer4.1.relu:1"));
  EXPECT_TRUE(net->layer("layer2.0.relu:1").cut);
  EXPECT_FALSE(net->layer("layer2.0.relu:0").cut);  // the skip connection bypasses it

  // Input gradients through the rewritten graph equal those of the module as PyTorch scripted it.
  auto plain = torch::jit::load((dir / "resnet18.pt").string());
  plain.eval();
  const auto a = x.clone().requires_grad_(true), b = x.clone().requires_grad_(true);
  net->forward(a).select(1, 3).sum().backward();
  plain.forward({b}).toTensor().select(1, 3).sum().backward();
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-4, 1e-6));
}

}  // namespace
}  // namespace prism
