#include "prism/core/text.h"
#include "prism/model/zoo.h"

#include <algorithm>

#include "prism/core/error.h"

namespace prism {
namespace {

using Tap = std::function<torch::Tensor(const std::string&, torch::Tensor)>;

// A piece of the model with one input and one output: a layer, or a residual block whose inner
// layers are tapped but cannot be run from. Its last layer is its output.
struct Stage {
  std::vector<LayerInfo> layers;
  std::function<torch::Tensor(torch::Tensor, const Tap&)> run;
};

// A convolution's parameters, for Conv1d and Conv2d alike (D spatial dimensions).
template <size_t D, typename Derived>
LayerParameters conv_parameters(const torch::nn::ConvNdImpl<D, Derived>& conv) {
  const auto& o = conv.options;
  LayerParameters p;
  p.kind = "conv";
  p.weight = conv.weight;
  p.bias = conv.bias;
  p.stride = c10::IntArrayRef(o.stride()).vec();
  p.padding = c10::IntArrayRef(c10::get<torch::ExpandingArray<D>>(o.padding())).vec();
  p.dilation = c10::IntArrayRef(o.dilation()).vec();
  p.groups = o.groups();
  return p;
}

std::string module_key(std::string name) {  // nn::Module names may not hold dots
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

class ZooNetwork : public Network {
 public:
  explicit ZooNetwork(ZooOptions options) : options_(std::move(options)) {
    architecture_ = options_.architecture;
    root_ = std::make_shared<torch::nn::Module>("prism_" + options_.architecture);
  }

  template <typename ModuleHolder>
  ModuleHolder add(const std::string& name, const std::string& kind, ModuleHolder module) {
    register_layer_module(name, module);
    add_function(name, kind, [module](torch::Tensor x) mutable { return module->forward(x); });
    return module;
  }
  template <typename ModuleHolder>
  ModuleHolder register_layer_module(const std::string& name, ModuleHolder module) {
    root_->register_module(module_key(name), module);
    modules_[name] = module.ptr();
    return module;
  }
  void add_function(const std::string& name, const std::string& kind, std::function<torch::Tensor(torch::Tensor)> fn) {
    stages_.push_back({{{name, kind, true, {last_output()}}},
                       [name, fn](torch::Tensor x, const Tap& tap) { return tap(name, fn(x)); }});
  }
  // The name of the current last layer's output ("" before any layer: the network input).
  std::string last_output() const { return stages_.empty() ? "" : stages_.back().layers.back().name; }
  void add_stage(Stage stage) { stages_.push_back(std::move(stage)); }
  torch::nn::Module& root() { return *root_; }

  void finish() {
    for (const auto& stage : stages_)
      for (size_t i = 0; i < stage.layers.size(); ++i) {
        layers_.push_back(stage.layers[i]);
        layers_.back().cut = i + 1 == stage.layers.size();
      }
    set_metadata(*this, options_.input_shape, options_.num_classes, {}, {});
  }

  std::vector<torch::Tensor> parameters() override { return root_->parameters(); }
  std::optional<LayerParameters> layer_parameters(const std::string& layer) override {
    const auto found = modules_.find(layer);
    if (found == modules_.end()) return std::nullopt;
    LayerParameters p;
    if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(found->second.get())) {
      p = conv_parameters(*conv);
    } else if (auto* conv1d = dynamic_cast<torch::nn::Conv1dImpl*>(found->second.get())) {
      p = conv_parameters(*conv1d);
    } else if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(found->second.get())) {
      p.kind = "linear";
      p.weight = linear->weight;
      p.bias = linear->bias;
    } else if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(found->second.get())) {
      p.kind = "batchnorm";
      p.weight = bn->weight;
      p.bias = bn->bias;
      p.running_mean = bn->running_mean;
      p.running_var = bn->running_var;
      p.eps = bn->options.eps();
    } else {
      return std::nullopt;
    }
    return p;
  }
  void set_training(bool training) override { root_->train(training); }
  void to(torch::Device device) override {
    root_->to(device);
    device_ = device;
  }
  const ZooOptions& options() const { return options_; }
  std::vector<std::pair<std::string, torch::Tensor>> state() {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : root_->named_parameters()) out.emplace_back(item.key(), item.value());
    for (const auto& item : root_->named_buffers()) out.emplace_back(item.key(), item.value());
    return out;
  }

 protected:
  torch::Tensor run(const torch::Tensor& input, const TapSet& taps, const std::string& stop_after) override {
    const Tap tap = [&taps](const std::string& name, torch::Tensor x) { return taps.apply(name, std::move(x)); };
    torch::Tensor x = input;
    for (const auto& stage : stages_) {
      x = stage.run(x, tap);
      if (!stop_after.empty() && contains(stage, stop_after)) break;
    }
    return x;
  }
  torch::Tensor run_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps) override {
    const Tap tap = [&taps](const std::string& name, torch::Tensor x) { return taps.apply(name, std::move(x)); };
    torch::Tensor x = activation;
    bool started = false;
    for (const auto& stage : stages_) {
      if (started) x = stage.run(x, tap);
      if (stage.layers.back().name == layer) started = true;
    }
    return x;
  }

 private:
  static bool contains(const Stage& stage, const std::string& name) {
    return std::any_of(stage.layers.begin(), stage.layers.end(), [&](const LayerInfo& l) { return l.name == name; });
  }
  ZooOptions options_;
  std::shared_ptr<torch::nn::Module> root_;
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules_;  // by layer name
  std::vector<Stage> stages_;
};

void add_relu(ZooNetwork& net, const std::string& name) {
  net.add_function(name, "relu", [](torch::Tensor x) { return torch::relu(x); });
}
void add_flatten(ZooNetwork& net) {
  net.add_function("flatten", "flatten", [](torch::Tensor x) { return x.flatten(1); });
}
void add_dropout(ZooNetwork& net, const std::string& name, double p) {
  auto& root = net.root();
  net.add_function(name, "dropout", [&root, p](torch::Tensor x) { return torch::dropout(x, p, root.is_training()); });
}

void build_mlp(ZooNetwork& net, const ZooOptions& o) {
  const int64_t width = o.width > 0 ? o.width : 256;
  int64_t inputs = 1;
  for (auto d : o.input_shape) inputs *= d;
  add_flatten(net);
  net.add("fc1", "linear", torch::nn::Linear(inputs, width));
  add_relu(net, "relu1");
  net.add("fc2", "linear", torch::nn::Linear(width, std::max<int64_t>(width / 2, 1)));
  add_relu(net, "relu2");
  net.add("fc3", "linear", torch::nn::Linear(std::max<int64_t>(width / 2, 1), o.num_classes));
}

void build_cnn(ZooNetwork& net, const ZooOptions& o) {
  const int64_t h = (o.input_shape[1] - 4) / 2, w = (o.input_shape[2] - 4) / 2;
  require(h >= 1 && w >= 1, "the cnn needs images of at least 6x6 pixels");
  net.add("conv1", "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.input_shape[0], 32, 3)));
  add_relu(net, "relu1");
  net.add("conv2", "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)));
  add_relu(net, "relu2");
  net.add("pool", "pool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
  add_dropout(net, "dropout1", 0.25);
  add_flatten(net);
  net.add("fc1", "linear", torch::nn::Linear(64 * h * w, 128));
  add_relu(net, "relu3");
  add_dropout(net, "dropout2", 0.5);
  net.add("fc2", "linear", torch::nn::Linear(128, o.num_classes));
}

// The cnn's shape for sequences [C, T]: 5-step convolutions (padded to keep the length), each followed by a
// 2-step max-pool.
void build_cnn1d(ZooNetwork& net, const ZooOptions& o) {
  const int64_t steps = o.input_shape[1] / 4;
  require(steps >= 1, "the cnn1d needs sequences of at least 4 steps");
  net.add("conv1", "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.input_shape[0], 32, 5).padding(2)));
  add_relu(net, "relu1");
  net.add("pool1", "pool", torch::nn::MaxPool1d(torch::nn::MaxPool1dOptions(2)));
  net.add("conv2", "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(32, 64, 5).padding(2)));
  add_relu(net, "relu2");
  net.add("pool2", "pool", torch::nn::MaxPool1d(torch::nn::MaxPool1dOptions(2)));
  add_dropout(net, "dropout1", 0.25);
  add_flatten(net);
  net.add("fc1", "linear", torch::nn::Linear(64 * steps, 128));
  add_relu(net, "relu3");
  add_dropout(net, "dropout2", 0.5);
  net.add("fc2", "linear", torch::nn::Linear(128, o.num_classes));
}

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// BasicBlock (He et al. 2016, Fig. 2): relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
void add_basic_block(ZooNetwork& net, const std::string& prefix, int64_t in, int64_t out, int64_t stride) {
  auto conv1 = net.register_layer_module(prefix + "conv1", conv3x3(in, out, stride));
  auto bn1 = net.register_layer_module(prefix + "bn1", torch::nn::BatchNorm2d(out));
  auto conv2 = net.register_layer_module(prefix + "conv2", conv3x3(out, out, 1));
  auto bn2 = net.register_layer_module(prefix + "bn2", torch::nn::BatchNorm2d(out));
  const bool project = stride != 1 || in != out;
  torch::nn::Conv2d short_conv{nullptr};
  torch::nn::BatchNorm2d short_bn{nullptr};
  const std::string block_input = net.last_output();
  std::vector<LayerInfo> layers = {{prefix + "conv1", "conv", false, {block_input}},
                                   {prefix + "bn1", "batchnorm", false, {prefix + "conv1"}},
                                   {prefix + "relu1", "relu", false, {prefix + "bn1"}},
                                   {prefix + "conv2", "conv", false, {prefix + "relu1"}},
                                   {prefix + "bn2", "batchnorm", false, {prefix + "conv2"}}};
  if (project) {
    short_conv = net.register_layer_module(
        prefix + "shortcut.conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    short_bn = net.register_layer_module(prefix + "shortcut.bn", torch::nn::BatchNorm2d(out));
    layers.push_back({prefix + "shortcut.conv", "conv", false, {block_input}});
    layers.push_back({prefix + "shortcut.bn", "batchnorm", false, {prefix + "shortcut.conv"}});
  }
  layers.push_back({prefix + "add", "add", false, {prefix + "bn2", project ? prefix + "shortcut.bn" : block_input}});
  layers.push_back({prefix + "relu2", "relu", false, {prefix + "add"}});
  net.add_stage({layers, [=](torch::Tensor x, const Tap& tap) mutable {
                   auto y = tap(prefix + "conv1", conv1->forward(x));
                   y = tap(prefix + "bn1", bn1->forward(y));
                   y = tap(prefix + "relu1", torch::relu(y));
                   y = tap(prefix + "conv2", conv2->forward(y));
                   y = tap(prefix + "bn2", bn2->forward(y));
                   auto skip = x;
                   if (project) {
                     skip = tap(prefix + "shortcut.conv", short_conv->forward(x));
                     skip = tap(prefix + "shortcut.bn", short_bn->forward(skip));
                   }
                   y = tap(prefix + "add", y + skip);
                   return tap(prefix + "relu2", torch::relu(y));
                 }});
}

void build_resnet18(ZooNetwork& net, const ZooOptions& o) {
  const int64_t width = o.width > 0 ? o.width : 16;
  net.add("conv1", "conv", conv3x3(o.input_shape[0], width, 1));
  net.add("bn1", "batchnorm", torch::nn::BatchNorm2d(width));
  add_relu(net, "relu1");
  int64_t in = width;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t out = width << stage;
    for (int block = 0; block < 2; ++block) {
      const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      add_basic_block(net, prefix, in, out, stage > 0 && block == 0 ? 2 : 1);
      in = out;
    }
  }
  net.add_function("avgpool", "pool", [](torch::Tensor x) { return x.mean({2, 3}); });
  net.add("fc", "linear", torch::nn::Linear(in, o.num_classes));
}

}  // namespace

std::vector<std::string> zoo_architectures() { return {"mlp", "cnn", "cnn1d", "resnet18"}; }

std::string joined_architectures() { return join(zoo_architectures()); }

std::unique_ptr<Network> make_zoo_network(ZooOptions options) {
  require(!options.input_shape.empty() && options.input_shape.size() <= 3 &&
              std::all_of(options.input_shape.begin(), options.input_shape.end(), [](int64_t d) { return d >= 1; }),
          "a model input shape must be [C, H, W], [C, T] or [F] with positive sizes");
  const size_t dims = options.input_shape.size();
  const std::string for_input = dims == 3 ? "cnn" : dims == 2 ? "cnn1d" : "mlp";
  if (options.architecture.empty()) options.architecture = for_input;
  const bool sequential = options.architecture == "cnn1d";
  require(options.architecture == "mlp" || sequential == (dims == 2),
          "the " + options.architecture + " takes " + (sequential ? "sequences [C, T]" : "images [C, H, W]") +
              ", not samples of shape " + shape_string(options.input_shape) + "; use --model-arch " + for_input +
              (dims == 1 ? "" : " or mlp"));
  require(options.num_classes >= 2, "a classifier needs at least 2 classes (got " +
                                        std::to_string(options.num_classes) + ")");
  require(options.width >= 0 && options.width <= 4096, "the width must lie in [1, 4096] (0: the default)");
  torch::manual_seed(options.seed);
  auto net = std::make_unique<ZooNetwork>(options);
  if (options.architecture == "mlp")
    build_mlp(*net, options);
  else if (options.architecture == "cnn")
    build_cnn(*net, options);
  else if (options.architecture == "cnn1d")
    build_cnn1d(*net, options);
  else if (options.architecture == "resnet18")
    build_resnet18(*net, options);
  else
    throw Error("unknown model '" + options.architecture + "'; built-in models are: " + joined_architectures());
  net->finish();
  return net;
}

std::unique_ptr<Network> make_zoo_network(ZooOptions options, const Dataset& data) {
  options.input_shape = data.sample_shape();
  options.num_classes = data.num_classes();
  auto network = make_zoo_network(options);
  set_metadata(*network, data.sample_shape(), data.num_classes(), data.class_names, data.normalization);
  return network;
}

std::unique_ptr<Network> make_zoo_network(ZooOptions options, const Network& trained) {
  options.input_shape = trained.input_shape();
  options.num_classes = trained.num_classes();
  auto network = make_zoo_network(options);
  set_metadata(*network, trained.input_shape(), trained.num_classes(), trained.class_names(), trained.normalization());
  return network;
}

const ZooOptions& zoo_options(const Network& network) {
  const auto* zoo = dynamic_cast<const ZooNetwork*>(&network);
  require(zoo != nullptr, "this operation needs a built-in model (" + joined_architectures() + "), not " + network.architecture());
  return zoo->options();
}

std::vector<std::pair<std::string, torch::Tensor>> zoo_state(Network& network) {
  auto* zoo = dynamic_cast<ZooNetwork*>(&network);
  require(zoo != nullptr, "this operation needs a built-in model (" + joined_architectures() + "), not " + network.architecture());
  return zoo->state();
}

}  // namespace prism
