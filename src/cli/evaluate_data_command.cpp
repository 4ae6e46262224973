// `prism evaluate data-attribution`: the DualView paper's metrics for every data-attribution method, each
// metric with the model it needs, all cached under OUT/cache.
#include <cstdio>

#include "commands.h"

namespace prism::cli {
namespace fs = std::filesystem;

void add_evaluate_data(CLI::App& evaluate) {
  auto* command = evaluate.add_subcommand("data-attribution", "the DualView paper's metrics of data attribution: "
                                                              "identical class/subclass, mislabel, shortcut, ...");
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
  command->add_option("--model-arch", o->evaluation.architecture.architecture, "architecture of every model: " + joined_architectures())
      ->capture_default_str();
  command->add_option("--methods", o->methods, "dualview, representer, tracin, influence, trak, similarity, random (default: all)");
  command->add_option("--metrics", o->metrics, "identical-class, identical-subclass, mislabel, shortcut, sparsity, "
                                               "topk-cardinality, model-randomization, lds (default: all)");
  command->add_option("--method-options", o->method_options, "JSON options per method, e.g. {\"dualview\":{\"C\":0.01}}");
  command->add_option("--epochs", o->evaluation.training.epochs, "epochs of every model")->capture_default_str();
  command->add_option("--lr", o->evaluation.training.learning_rate, "learning rate")->capture_default_str();
  command->add_option("--seed", o->evaluation.training.seed, "seed of models, label flips, marks and subsets")->capture_default_str();
  command->add_option("--flip-fraction", o->evaluation.flip_fraction, "mislabel: share of labels flipped")->capture_default_str();
  command->add_option("--mark-class", o->evaluation.mark.target_class, "shortcut: the class partly marked")->capture_default_str();
  command->add_option("--mark-fraction", o->evaluation.mark.fraction, "shortcut: share of that class marked")->capture_default_str();
  command->add_option("--lds-subsets", o->evaluation.lds_subsets, "lds: models on random halves")->capture_default_str();
  command->add_option("--topk", o->evaluation.topk, "top-k cardinality's k")->capture_default_str();
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
    e.mark.seed = e.training.seed;
    e.cache = fs::path(o->out) / "cache";
    const auto train = o->data.load(Split::Train), test = o->data.load(Split::Test);
    const auto result = evaluate_data_attribution(train, test, e);
    const auto table = write_data_evaluation_outputs(o->out, result);
    std::printf("%s\n%lld training samples, %lld test points; tables, plot and JSON in %s\n", table.c_str(),
                static_cast<long long>(train.size()), static_cast<long long>(test.size()), o->out.c_str());
  });
}

}  // namespace prism::cli
