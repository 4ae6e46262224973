#include <algorithm>
#include <cstdio>

#include "commands.h"

namespace prism::cli {

void add_layers(CLI::App& app) {
  auto* command = app.add_subcommand("layers", "list a model's named layers: kind, whether the rest of the model "
                                               "runs from it (cut), the layers it reads, and its output shape");
  struct Options {
    std::string model, input_shape;
    DataOptions data;
  };
  auto options = std::make_shared<Options>();
  command->add_option("model", options->model, "model file (.prism, or TorchScript .pt)")->required();
  options->data.add_to(*command, false);
  command->add_option("--input-shape", options->input_shape, "C,H,W (images), C,T (sequences) or F (tables) of the "
                                                            "model's input, for the output shapes of a TorchScript "
                                                            "model (or give --data)");
  command->callback([options] {
    std::vector<int64_t> shape;
    if (!options->data.spec.empty()) shape = options->data.load(Split::Test).sample_shape();
    if (!options->input_shape.empty()) {
      shape = parse_list<int64_t>(options->input_shape, "--input-shape");
      require(!shape.empty() && shape.size() <= 3 && std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d > 0; }),
              "--input-shape must be C,H,W, C,T or F with positive sizes (got " + options->input_shape + ")");
    }
    auto network = load_network(options->model, shape);
    std::map<std::string, torch::Tensor> outputs;
    if (!network->input_shape().empty()) {
      std::vector<int64_t> batch = {1};
      for (auto d : network->input_shape()) batch.push_back(d);
      TapSet taps;
      for (const auto& layer : network->layers()) taps.capture(layer.name, &outputs[layer.name]);
      torch::NoGradGuard no_grad;
      network->set_training(false);
      network->forward(torch::zeros(batch), taps);
    }
    std::printf("%-32s %-12s %-4s %-18s %s\n", "layer", "kind", "cut", "output", "reads");
    for (const auto& layer : network->layers()) {
      std::string reads;
      for (const auto& input : layer.inputs) reads += (reads.empty() ? "" : ", ") + (input.empty() ? "input" : input);
      const auto& out = outputs[layer.name];
      std::printf("%-32s %-12s %-4s %-18s %s\n", layer.name.c_str(), layer.kind.c_str(), layer.cut ? "yes" : "",
                  out.defined() ? shape_string(out.sizes().slice(1)).c_str() : "-", reads.c_str());
    }
    if (network->input_shape().empty())
      std::printf("(output shapes: give --input-shape C,H,W or --data)\n");
  });
}

}  // namespace prism::cli
