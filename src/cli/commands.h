// The `prism` subcommands. Each registers its options on the app and runs after parsing; the
// library does the work, the commands only read options and print.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "prism/prism.h"

namespace prism::cli {

// Options shared by commands that read a data set.
struct DataOptions {
  std::string spec;
  int64_t train_size = 0;  // 0: all
  int64_t test_size = 0;
  uint64_t subset_seed = 0;
  void add_to(CLI::App& command, bool required = true, const std::string& flag = "--data");
  Dataset load(Split split) const;
};

// What `prism attribute` takes; the demo fills it too.
struct AttributeOptions {
  std::string model, inputs, indices = "0:8", targets = "predicted", method, methods, reduce = "sum", out;
  DataOptions data;
  int64_t batch_size = 32, scale = 8;
  // Method options given on the command line, by their JSON key.
  nlohmann::json method_options = nlohmann::json::object();
};
// Computes the attributions, then writes attributions, targets, summary and pictures to o.out.
void run_attribute(AttributeOptions& o);

// "0:16" (start:stop), "3,5,9", or a mix: "0:4,10"; each index checked against `size`.
std::vector<int64_t> parse_indices(const std::string& text, int64_t size);

// Loads --model; a TorchScript model takes its input shape from `data`.
std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data);

void add_train(CLI::App& app);
void add_predict(CLI::App& app);
void add_layers(CLI::App& app);
void add_demo(CLI::App& app);
void add_attribute(CLI::App& app);
void add_examples(CLI::App& app);

}  // namespace prism::cli
