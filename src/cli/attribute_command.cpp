#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "prism/explain/feature/attributor.h"
#include "prism/report/feature_outputs.h"

namespace prism::cli {
namespace fs = std::filesystem;
namespace {

torch::Tensor parse_targets(const std::string& spec, Network& network, const torch::Tensor& inputs,
                            const torch::Tensor& labels) {
  if (spec == "predicted") {
    torch::NoGradGuard no_grad;
    network.set_training(false);
    return network.forward(inputs).argmax(1);
  }
  if (spec == "true") {
    require(labels.defined(), "--targets true needs --data (labels); with --inputs give predicted, N or T.npy");
    return labels;
  }
  if (!spec.empty() && std::all_of(spec.begin(), spec.end(), ::isdigit))
    return torch::full({inputs.size(0)}, static_cast<int64_t>(std::stoll(spec)), torch::kInt64);
  require(fs::exists(spec), "--targets must be predicted, true, a class number or a .npy file (" + spec + " not found)");
  auto targets = read_npy(spec);
  require(!targets.is_floating_point() && targets.dim() == 1 && targets.size(0) == inputs.size(0),
          spec + " must hold " + std::to_string(inputs.size(0)) + " integer targets");
  return targets.to(torch::kInt64);
}

using Options = AttributeOptions;

}  // namespace

void run_attribute(AttributeOptions& o) {
  Dataset data;
  torch::Tensor inputs, labels;
  std::vector<int64_t> indices;
  require(o.inputs.empty() != o.data.spec.empty(), "give either --data D (with --indices) or --inputs X.npy");
  if (!o.inputs.empty()) {
    inputs = read_npy(o.inputs).to(torch::kFloat32);
    require(inputs.dim() >= 2 && inputs.dim() <= 4, o.inputs + " must hold images [B, C, H, W], sequences [B, C, T] "
                                                 "or table rows [B, F] (got " + shape_string(inputs.sizes()) + ")");
  } else {
    data = o.data.load(Split::Test);
    indices = parse_indices(o.indices, data.size());
    const auto index = torch::tensor(indices, torch::kInt64);
    inputs = data.images.index_select(0, index);
    labels = data.labels.index_select(0, index);
  }
  std::unique_ptr<Network> network = load_network(o.model, std::vector<int64_t>(inputs.sizes().begin() + 1, inputs.sizes().end()));
  std::vector<std::string> methods;
  if (o.methods == "all") {
    methods = feature_methods();
  } else if (!o.methods.empty()) {
    std::stringstream stream(o.methods);
    for (std::string m; std::getline(stream, m, ',');) methods.push_back(m);
  } else {
    require(!o.method.empty(), "give --method NAME or --methods a,b,c");
    methods.push_back(o.method);
  }
  // Each given option goes to the methods it applies to; one that applies to none is an error.
  std::vector<std::unique_ptr<FeatureAttributor>> attributors;
  std::set<std::string> used;
  for (const auto& method : methods) {
    const auto valid = make_feature_attributor(method)->options();
    nlohmann::json mine = nlohmann::json::object();
    for (const auto& item : o.method_options.items())
      if (valid.contains(item.key())) {
        mine[item.key()] = item.value();
        used.insert(item.key());
      }
    attributors.push_back(make_feature_attributor(method, mine));
  }
  for (const auto& item : o.method_options.items())
    require(used.count(item.key()), "option '" + item.key() + "' applies to none of the methods " + o.methods + o.method);
  require(o.batch_size >= 1, "--batch-size must be at least 1");
  require(o.scale >= 1 && o.scale <= 64, "--scale must lie in [1, 64]");
  collapse_channels(torch::zeros({1, 1, 1}), o.reduce);  // validates --reduce

  const auto targets = parse_targets(o.targets, *network, inputs, labels);
  check_attribution_inputs(*network, inputs, targets);
  torch::Tensor scores;
  {
    torch::NoGradGuard no_grad;
    network->set_training(false);
    scores = network->forward(inputs).gather(1, targets.view({-1, 1})).squeeze(1);
  }

  // Compute everything before writing anything.
  std::vector<FeatureExplanation> explanations;
  for (auto& attributor : attributors) {
    const auto start = std::chrono::steady_clock::now();
    auto attribution = explain_in_batches(*attributor, *network, inputs, targets, o.batch_size, attributor->name());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    explanations.push_back({attributor->name(), attributor->options(), std::move(attribution), seconds});
  }
  FeatureOutputs outputs{inputs, targets, scores, indices, network->class_names(), data.feature_names, o.reduce, o.scale,
                         {{"model", o.model}, {"data", o.inputs.empty() ? o.data.spec : o.inputs},
                          {"targets", o.targets}}};
  write_feature_outputs(o.out, outputs, explanations);
  std::printf("%lld samples, %zu method%s; attributions and pictures in %s\n", static_cast<long long>(inputs.size(0)),
              attributors.size(), attributors.size() == 1 ? "" : "s", o.out.c_str());
}

void add_attribute(CLI::App& app) {
  auto* command = app.add_subcommand("attribute", "feature attributions of a model's predictions, with heatmaps");
  auto o = std::make_shared<Options>();
  command->add_option("--model", o->model, "model file (.prism, or TorchScript .pt)")->required();
  o->data.add_to(*command, false);
  command->add_option("--indices", o->indices, "test samples: start:stop ranges and numbers, e.g. 0:16 or 3,7")
      ->capture_default_str();
  command->add_option("--inputs", o->inputs, "samples from a .npy file (instead of --data): images [B, C, H, W] in [0, 1], sequences [B, C, T] or table rows [B, F]");
  command->add_option("--targets", o->targets, "predicted, true, a class number, or a .npy of classes")
      ->capture_default_str();
  command->add_option("--method", o->method, method_names(feature_method_docs()));
  command->add_option("--methods", o->methods,
                      "several methods, comma-separated, or all: adds a comparison grid per sample");
  command->add_option("--out", o->out, "output folder")->required();
  command->add_option("--batch-size", o->batch_size, "samples per call of a method")->capture_default_str();
  command->add_option("--reduce", o->reduce, "channel reduction for pictures: sum, abs-sum, max-abs, signed-max")
      ->capture_default_str();
  command->add_option("--scale", o->scale, "pixels per image pixel in pictures")->capture_default_str();
  add_method_flags(*command, o->method_options, feature_method_docs());
  command->callback([o] { run_attribute(*o); });
}

}  // namespace prism::cli
