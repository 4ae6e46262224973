// The `prism` subcommands. Each registers its options on the app and runs after parsing; the
// library does the work, the commands only read options and print.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "prism/core/text.h"
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

// What a fit folder records of the model and training data it was built from.
Provenance fit_provenance(const std::string& model, const DataOptions& train);

// One flag per option key of the documented methods (--key-with-dashes, typed by its default; a list
// comma-separated), writing into `options`; its help lists each method it applies to with what it does and its
// default. Keys in `own_flags` are left to the command.
void add_method_flags(CLI::App& command, nlohmann::json& options, const std::vector<MethodDoc>& methods,
                      const std::set<std::string>& own_flags = {});
// The method names, comma-separated.
std::string method_names(const std::vector<MethodDoc>& methods);

// A comma-separated list of strings or numbers given to `flag`.
template <typename T>
std::vector<T> parse_list(const std::string& text, const std::string& flag) {
  std::vector<T> out;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) {
    if constexpr (std::is_same_v<T, std::string>) {
      out.push_back(part);
    } else {
      size_t used = 0;
      T value{};
      try {
        if constexpr (std::is_floating_point_v<T>)
          value = static_cast<T>(std::stod(part, &used));
        else
          value = static_cast<T>(std::stoll(part, &used));
      } catch (const std::exception&) {
        used = 0;
      }
      require(used == part.size() && !part.empty(), flag + " '" + text + "' is not a comma-separated list of " +
                                                        (std::is_floating_point_v<T> ? "numbers" : "integers"));
      out.push_back(value);
    }
  }
  require(!out.empty(), flag + " is empty");
  return out;
}

// The flag of an option key: "smooth_samples" → "--smooth-samples".
std::string flag_of(const std::string& key);

template <typename T>
struct is_list : std::false_type {};
template <typename T>
struct is_list<std::vector<T>> : std::true_type {};

// One flag per option of a library options struct's visit() (core/json_options.h): --key-with-dashes bound to
// the field, with its help and default; a list is given comma-separated. Keys in `skip` are the command's own
// (a seed or batch size shared by several steps). A `prefix` groups a part's flags ("am-": --am-steps). The options
// struct must outlive the parse.
template <typename Options>
void add_option_flags(CLI::App& command, Options& options, const std::set<std::string>& skip = {},
                      const std::string& prefix = "") {
  options.visit([&](const char* key, auto& field, const char* help) {
    if (skip.count(key)) return;
    using Field = std::decay_t<decltype(field)>;
    const auto flag = "--" + prefix + flag_of(key).substr(2);
    if constexpr (std::is_same_v<Field, bool>) {
      command.add_flag(flag, field, help);
    } else if constexpr (is_list<Field>::value) {
      std::string defaults;
      for (const auto& value : field) {
        defaults += defaults.empty() ? "" : ",";
        if constexpr (std::is_same_v<typename Field::value_type, std::string>)
          defaults += value;
        else
          defaults += nlohmann::json(value).dump();
      }
      command.add_option_function<std::string>(
          flag, [&field, flag](const std::string& text) { field = parse_list<typename Field::value_type>(text, flag); },
          std::string(help) + ", comma-separated [" + defaults + "]");
    } else {
      command.add_option(flag, field, help)->capture_default_str();
    }
  });
}

// The steps of `prism examples` and `prism influence` that the demo runs too.
void run_examples_fit(const std::string& model, const DataOptions& train, const std::string& layer,
                      const std::string& out);
void run_examples_explain(const std::string& fit_dir, const DataOptions& data, const std::string& indices, int64_t k,
                          const std::string& out);
void run_influence_fit(const std::string& model, const DataOptions& train, const std::string& method,
                       const std::string& out);
void run_influence_explain(const std::string& fit_dir, const DataOptions& data, const std::string& indices,
                           int64_t top, bool xda, const std::string& out);

// What `prism report` takes (report/report_page.h, with the data, indices and lists as typed); the demo fills it too.
struct ReportCommand {
  ReportOptions report;
  DataOptions data;
  std::string indices = "0:4", methods;  // methods "": the report's defaults
  std::string evaluations, out;
};
void run_report(const ReportCommand& command);

// The evaluations the demo runs: sanity checks and pixel perturbation of the default methods on `samples`
// test images.
void run_sanity_evaluation(const std::string& model, const DataOptions& data, int64_t samples, const std::string& out);
void run_perturbation_evaluation(const std::string& model, const DataOptions& data, int64_t samples,
                                 const std::string& out);

// The FLINT step of the demo: a post-hoc interpreter of `model` with `attributes` attributes in `out` (kept while
// the model is unchanged, redone otherwise).
void run_flint_posthoc(const std::string& model, const DataOptions& data, int64_t attributes,
                       const FlintTrainOptions& options, const std::string& out);

// `prism concepts tcav`, which the demo runs too: the study written to `out`, its tables printed (or, without
// `tables`, how many pairs are significant).
void run_concepts_tcav(const std::string& model, const DataOptions& data, const TcavStudyOptions& study,
                       const std::string& out, bool tables);

// Loads --model; a TorchScript model takes its input shape from `data`.
std::unique_ptr<Network> load_model(const std::string& path, const Dataset* data);

void add_train(CLI::App& app);
void add_predict(CLI::App& app);
void add_layers(CLI::App& app);
void add_demo(CLI::App& app);
void add_attribute(CLI::App& app);
void add_examples(CLI::App& app);
void add_influence(CLI::App& app);
void add_evaluate(CLI::App& app);
void add_evaluate_data(CLI::App& evaluate);
void add_report(CLI::App& app);
void add_flint(CLI::App& app);
void add_concepts(CLI::App& app);

}  // namespace prism::cli
