// `prism evaluate data-attribution`: the DualView paper's metrics for every data-attribution method, each
// metric with the model it needs, all cached under OUT/cache.
#include <cstdio>

#include "commands.h"
#include "prism/core/ranks.h"

namespace prism::cli {
namespace fs = std::filesystem;

void add_evaluate_data(CLI::App& evaluate) {
  auto* command = evaluate.add_subcommand("data-attribution", "the DualView paper's metrics of data attribution: "
                                                              "identical class/subclass, mislabel, shortcut, mixed datasets, ...");
  struct Options {
    DataOptions data;
    DataEvaluationOptions evaluation;
    std::string methods, metrics, method_options = "{}", out;
  };
  auto o = std::make_shared<Options>();
  o->data.train_size = 10000;
  o->data.test_size = 1000;
  o->evaluation.training.epochs = 2;
  o->data.add_to(*command);
  command->add_option("--model-arch", o->evaluation.architecture.architecture,
                      "architecture of every model: " + joined_architectures() + " (default: cnn for images, cnn1d for "
                      "sequences, mlp for tables)");
  command->add_option("--methods", o->methods, "comma-separated, of " + join(data_methods(), ", ") + " (default: all)");
  command->add_option("--metrics", o->metrics, "comma-separated, of " + join(data_metric_names(), ", ") + " (default: all that apply to the data)");
  command->add_option("--method-options", o->method_options, "JSON options per method, e.g. {\"dualview\":{\"C\":0.01}}");
  add_option_flags(*command, o->evaluation);
  command->add_option("--out", o->out, "output folder (tables, plot, JSON; models and fits in OUT/cache)")->required();
  command->callback([o] {
    auto& e = o->evaluation;
    if (!o->methods.empty()) e.methods = parse_list<std::string>(o->methods, "--methods");
    if (!o->metrics.empty()) e.metrics = parse_list<std::string>(o->metrics, "--metrics");
    try {
      e.method_options = nlohmann::json::parse(o->method_options);
    } catch (const std::exception&) {
      throw Error("--method-options is not valid JSON; write e.g. {\"dualview\":{\"C\":0.01}}");
    }
    require(e.method_options.is_object(), "--method-options must be a JSON object keyed by method name");
    e.cache = fs::path(o->out) / "cache";
    const auto train = o->data.load(Split::Train), test = o->data.load(Split::Test);
    // Over MPI ranks the models' trainings and the methods' fits are dealt out; rank 0 evaluates from the cache.
    if (ranks::count() > 1) prepare_data_evaluation(train, test, e);
    if (!ranks::is_root()) return;  // rank 0 writes
    ranks::leave();
    const auto result = evaluate_data_attribution(train, test, e);
    const auto table = write_data_evaluation_outputs(o->out, result);
    std::printf("%s\n%lld training samples, %lld test points; tables, plot and JSON in %s\n", table.c_str(),
                static_cast<long long>(train.size()), static_cast<long long>(test.size()), o->out.c_str());
  });
}

}  // namespace prism::cli
