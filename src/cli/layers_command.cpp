#include <cstdio>

#include "commands.h"

namespace prism::cli {

void add_layers(CLI::App& app) {
  auto* command = app.add_subcommand("layers", "list a model's named layers with their kinds and output shapes");
  struct Options {
    std::string model;
    DataOptions data;
  };
  auto options = std::make_shared<Options>();
  command->add_option("model", options->model, "model file (.prism, or TorchScript .pt)")->required();
  options->data.add_to(*command, false);
  command->callback([options] {
    std::unique_ptr<Dataset> data;
    if (!options->data.spec.empty()) data = std::make_unique<Dataset>(options->data.load(Split::Test));
    auto network = load_model(options->model, data.get());
    std::vector<int64_t> shape = {1};
    for (auto d : network->input_shape()) shape.push_back(d);
    std::map<std::string, torch::Tensor> outputs;
    TapSet taps;
    for (const auto& layer : network->layers()) taps.capture(layer.name, &outputs[layer.name]);
    torch::NoGradGuard no_grad;
    network->set_training(false);
    network->forward(torch::zeros(shape), taps);
    std::printf("%-28s %-10s %-4s %s\n", "layer", "kind", "cut", "output");
    for (const auto& layer : network->layers()) {
      const auto& out = outputs[layer.name];
      std::printf("%-28s %-10s %-4s %s\n", layer.name.c_str(), layer.kind.c_str(), layer.cut ? "yes" : "",
                  out.defined() ? shape_string(out.sizes().slice(1)).c_str() : "-");
    }
  });
}

}  // namespace prism::cli
