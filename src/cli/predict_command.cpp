#include <cstdio>

#include "commands.h"

namespace prism::cli {

void add_predict(CLI::App& app) {
  auto* command = app.add_subcommand("predict", "accuracy, per-class accuracy and confusion matrix of a model");
  struct Options {
    DataOptions data;
    std::string model, split = "test", out;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("--model", options->model, "model file (.prism, or TorchScript .pt)")->required();
  options->data.add_to(*command);
  command->add_option("--split", options->split, "train or test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  command->add_option("--out", options->out, "folder for evaluation.json, predictions.npy, logits.npy");
  command->add_flag("--json", options->json, "print JSON instead of a table");
  command->callback([options] {
    const auto data = options->data.load(options->split == "train" ? Split::Train : Split::Test);
    auto network = load_model(options->model, &data);
    const auto logits = predict_logits(*network, data.images);
    const auto result = evaluate(*network, data);
    if (!options->out.empty()) write_prediction_outputs(options->out, result, network->class_names(), logits);
    std::fputs(options->json ? (result.to_json(network->class_names()).dump(2) + "\n").c_str() : result.table(network->class_names()).c_str(), stdout);
  });
}

}  // namespace prism::cli
