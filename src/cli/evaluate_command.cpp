// `prism evaluate sanity | perturbation | roar | measures`: the evaluation protocols of feature attribution.
// Each computes everything first and writes its tables, JSON and plots only at the end.
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "prism/core/ranks.h"

namespace prism::cli {
namespace fs = std::filesystem;
namespace {

// What every feature evaluation reads: a model, test samples, methods and their options.
struct FeatureEvaluationOptions {
  std::string model, methods;  // "": default_feature_methods
  std::string method_options = "{}", targets = "predicted", reduce = "sum", out;
  DataOptions data;
  int64_t samples = 100, batch_size = 32;
  uint64_t seed = 0;
  bool no_random = false;

  void add_to(CLI::App& command, const std::string& default_samples_help) {
    command.add_option("--model", model, "model file (.prism, or TorchScript .pt)")->required();
    data.add_to(command);
    command.add_option("--methods", methods,
                       "comma-separated methods, or all; the random control is added (default: pruned-gradient, "
                       "saliency, gradient-x-input, integrated-gradients, smoothgrad, grad-cam where the model has a "
                       "convolution, lrp)");
    command.add_option("--method-options", method_options,
                       "JSON options per method, e.g. {\"integrated-gradients\":{\"steps\":20}}");
    command.add_flag("--no-random", no_random, "leave out the random control");
    command.add_option("--samples", samples, default_samples_help)->capture_default_str();
    command.add_option("--targets", targets, "predicted or true")->capture_default_str();
    command.add_option("--reduce", reduce, "channel collapse: sum, abs-sum, max-abs, signed-max")->capture_default_str();
    command.add_option("--batch-size", batch_size, "samples per call of a method")->capture_default_str();
    command.add_option("--seed", seed, "seed of the sample choice and of random steps")->capture_default_str();
    command.add_option("--out", out, "output folder")->required();
  }

  std::vector<std::unique_ptr<FeatureAttributor>> make_methods(Network& network, bool table_rows) const {
    nlohmann::json given;
    try {
      given = nlohmann::json::parse(method_options);
    } catch (const std::exception&) {
      throw Error("--method-options is not valid JSON; write e.g. {\"integrated-gradients\":{\"steps\":20}}");
    }
    require(given.is_object(), "--method-options must be a JSON object keyed by method name");
    auto names = methods == "all"  ? feature_methods()
                 : methods.empty() ? default_feature_methods(network, table_rows)
                                   : parse_list<std::string>(methods, "--methods");
    if (!no_random && std::find(names.begin(), names.end(), "random") == names.end()) names.push_back("random");
    for (const auto& item : given.items())
      require(std::find(names.begin(), names.end(), item.key()) != names.end(),
              "--method-options names '" + item.key() + "', which is not among --methods " + methods);
    std::vector<std::unique_ptr<FeatureAttributor>> out;
    for (const auto& name : names) {
      require(std::count(names.begin(), names.end(), name) == 1, "--methods names '" + name + "' twice");
      auto options = given.value(name, nlohmann::json::object());
      if (name == "random" && !options.contains("seed")) options["seed"] = seed;
      out.push_back(make_feature_attributor(name, options));
    }
    return out;
  }

  // What the sanity, perturbation and measures protocols start from: the model, the methods, and `samples`
  // test images (a seeded random choice) with their targets.
  struct Setup {
    std::unique_ptr<Network> network;
    std::vector<std::unique_ptr<FeatureAttributor>> methods;
    torch::Tensor images, targets;
  };
  Setup set_up() const {
    const auto test = data.load(Split::Test);
    auto network = load_model(model, &test);
    auto methods = make_methods(*network, test.is_table());
    Setup setup{std::move(network), std::move(methods), {}, {}};
    require(samples >= 1, "--samples must be at least 1");
    require(targets == "predicted" || targets == "true", "--targets must be predicted or true");
    const auto chosen = random_subset(test, std::min(samples, test.size()), seed);
    setup.images = chosen.images;
    setup.targets = targets == "predicted" ? predict_logits(*setup.network, chosen.images).argmax(1) : chosen.labels;
    check_attribution_inputs(*setup.network, setup.images, setup.targets);
    return setup;
  }

  // `method`'s maps of the set-up images, channels collapsed as --reduce says.
  torch::Tensor collapsed_maps(const Setup& setup, FeatureAttributor& method) const {
    return collapse_channels(
        attribute_in_batches(method, *setup.network, setup.images, setup.targets, batch_size, method.name()), reduce);
  }
};

std::vector<FeatureAttributor*> pointers(const std::vector<std::unique_ptr<FeatureAttributor>>& methods) {
  std::vector<FeatureAttributor*> out;
  for (const auto& m : methods) out.push_back(m.get());
  return out;
}

// The options a built-in model was made with; an error for TorchScript models, which prism cannot retrain.
ZooOptions retrainable(const Network& network, const std::string& model, const std::string& what) {
  try {
    return zoo_options(network);
  } catch (const Error&) {
    throw Error(what + " retrains the model's architecture, which prism can only do for its built-in models; " +
                model + " is not one (train one with prism train)");
  }
}

// `options` holds the test's own settings (mode, smooth MPRT); the rest comes from `o`.
void run_sanity(const FeatureEvaluationOptions& o, SanityOptions options, int64_t permuted_epochs) {
  auto [network, methods, images, targets] = o.set_up();
  options.seed = o.seed;
  options.reduce = o.reduce;
  options.batch_size = o.batch_size;
  auto result = model_randomization(*network, pointers(methods), images, targets, options);
  if (permuted_epochs > 0) {
    // The data-randomisation test: the same architecture trained on permuted labels (cached in OUT).
    const auto architecture = retrainable(*network, o.model, "the data-randomisation test");
    TrainOptions training;
    training.epochs = permuted_epochs;
    training.seed = o.seed;
    training.out = fs::path(o.out) / "permuted-labels";
    data_randomization(result, *network, architecture, o.data.load(Split::Train), training, pointers(methods), images,
                       targets);
  }

  const auto markdown = write_sanity_outputs(o.out, result, images);
  std::printf("%s", markdown.c_str());
  std::printf("tables, plots (sanity-*.svg, .png)%s in %s\n", images.dim() == 4 ? " and map grids (grid-NNN.png)" : "",
              o.out.c_str());
}

// Pixel perturbation, or ROAD (options.fill "linear"): its files are road.* with ROAD's table of accuracies. The
// removal's seed and batch size are the evaluation's own.
void run_perturbation(const FeatureEvaluationOptions& o, PerturbationOptions options) {
  options.seed = o.seed;
  options.batch_size = o.batch_size;
  check_perturbation_options(options);
  const auto setup = o.set_up();
  PerturbationReport report;
  report.options = options;
  report.table_rows = setup.images.dim() == 2;
  for (const auto& method : setup.methods)
    report.curves.push_back(perturbation_curves(*setup.network, setup.images, setup.targets,
                                                o.collapsed_maps(setup, *method), method->name(), options));
  const auto table = write_perturbation_outputs(o.out, report);
  std::printf("%s\ncurves, plots (%s*.svg) and tables in %s\n", table.c_str(),
              options.fill == "linear" ? "road" : "perturbation-", o.out.c_str());
}

void run_insertion_deletion(const FeatureEvaluationOptions& o, InsertionDeletionOptions options) {
  const auto setup = o.set_up();
  options.batch_size = o.batch_size;
  InsertionDeletionReport report;
  report.options = options;
  for (const auto& method : setup.methods)
    report.curves.push_back(insertion_deletion(*setup.network, setup.images, setup.targets,
                                               o.collapsed_maps(setup, *method), method->name(), options));
  const auto table = write_insertion_deletion_outputs(o.out, report);
  std::printf("%s\ncurves (deletion.svg, insertion.svg) and tables in %s\n", table.c_str(), o.out.c_str());
}

// Localisation against the shortcut mark: marked test images of other classes that the model assigns to the marked
// class, explained for it, the mark's pixels as the region.
void run_localisation(const FeatureEvaluationOptions& o, const MarkOptions& mark) {
  require(o.targets == "predicted", "localisation explains the marked class, which is the prediction; leave --targets");
  const auto test = o.data.load(Split::Test);
  auto network = load_model(o.model, &test);
  const auto methods = o.make_methods(*network, test.is_table());
  const auto result =
      evaluate_localisation(*network, pointers(methods), test, mark, o.samples, o.seed, o.reduce, o.batch_size);
  const auto table = write_localisation_outputs(o.out, result);
  std::printf("%s\ntables and maps (localisation.png) in %s\n", table.c_str(), o.out.c_str());
}

void run_measures(const FeatureEvaluationOptions& o, MapMeasureOptions options) {
  auto [network, methods, images, targets] = o.set_up();
  options.reduce = o.reduce;
  options.seed = o.seed;
  options.batch_size = o.batch_size;
  std::vector<MapMeasures> measures;
  for (const auto& method : methods) {
    const auto attributions = attribute_in_batches(*method, *network, images, targets, o.batch_size, method->name());
    measures.push_back(measure_maps(*network, *method, images, targets, attributions, options));
  }
  const auto table = write_measures_outputs(o.out, measures, options);
  std::printf("%s\ntables in %s\n", table.c_str(), o.out.c_str());
}

void run_roar_command(const FeatureEvaluationOptions& o, RoarOptions options) {
  options.cache = fs::path(o.out) / "cache";
  options.reduce = o.reduce;
  options.batch_size = o.batch_size;
  check_roar_options(options);
  const auto train = o.data.load(Split::Train), test = o.data.load(Split::Test);
  auto network = load_model(o.model, &test);
  const auto methods = o.make_methods(*network, test.is_table());
  const auto architecture = retrainable(*network, o.model, "ROAR");
  options.key = {{"model_fingerprint", file_fingerprint(o.model)}, {"data", o.data.spec},
                 {"subset_seed", o.data.subset_seed}};
  const auto start = std::chrono::steady_clock::now();
  const auto result = run_roar(*network, architecture, pointers(methods), train, test, options);  // split over ranks
  if (!ranks::is_root()) return;  // rank 0 writes
  ranks::leave();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto markdown = write_roar_outputs(o.out, result, seconds);
  std::printf("%s%.1f s (attribution %.1f s, retraining %.1f s; the rest read from %s)\n", markdown.c_str(), seconds,
              result.attribution_seconds, result.retraining_seconds, options.cache.c_str());
}

}  // namespace

void run_sanity_evaluation(const std::string& model, const DataOptions& data, int64_t samples, const std::string& out) {
  FeatureEvaluationOptions o;
  o.model = model, o.data = data, o.samples = samples, o.out = out;
  run_sanity(o, {}, 0);
}

void run_perturbation_evaluation(const std::string& model, const DataOptions& data, int64_t samples,
                                 const std::string& out) {
  FeatureEvaluationOptions o;
  o.model = model, o.data = data, o.samples = samples, o.out = out;
  run_perturbation(o, {});
}

void add_evaluate(CLI::App& app) {
  auto* evaluate = app.add_subcommand("evaluate", "evaluate explanations: sanity, perturbation, road, insertion-deletion, "
                                                  "localisation, roar, measures (feature maps), data-attribution");
  evaluate->require_subcommand(1);

  // Each protocol's own options come from its options struct; the seed, batch size and reduction are shared.
  const std::set<std::string> shared = {"seed", "batch_size", "reduce"};

  auto* sanity = evaluate->add_subcommand("sanity", "model-parameter (and data) randomisation tests of the maps");
  auto sanity_options = std::make_shared<FeatureEvaluationOptions>();
  auto randomisation = std::make_shared<SanityOptions>();
  auto permuted_epochs = std::make_shared<int64_t>(0);
  sanity_options->samples = 32;
  sanity_options->add_to(*sanity, "test samples (a seeded random choice)");
  add_option_flags(*sanity, *randomisation, shared);
  sanity->add_option("--data-randomization", *permuted_epochs,
                     "also train the model's architecture on permuted labels for this many epochs and compare");
  sanity->callback([=] { run_sanity(*sanity_options, *randomisation, *permuted_epochs); });

  auto* perturbation = evaluate->add_subcommand("perturbation", "pixel perturbation: MoRF and LeRF curves, AOPC");
  auto perturbation_options = std::make_shared<FeatureEvaluationOptions>();
  auto removal = std::make_shared<PerturbationOptions>();
  perturbation_options->add_to(*perturbation, "test samples (a seeded random choice)");
  add_option_flags(*perturbation, *removal, shared);
  perturbation->callback([=] { run_perturbation(*perturbation_options, *removal); });

  auto* road = evaluate->add_subcommand("road", "ROAD: MoRF and LeRF with the removed pixels imputed from their "
                                                "neighbours (no retraining), accuracy at 10-90 %");
  auto road_setup = std::make_shared<FeatureEvaluationOptions>();
  auto imputation = std::make_shared<PerturbationOptions>(road_options());
  road_setup->add_to(*road, "test samples (a seeded random choice)");
  add_option_flags(*road, *imputation, {"seed", "batch_size", "fill", "percentages"});  // ROAD's protocol fixes these
  road->callback([=] { run_perturbation(*road_setup, *imputation); });

  auto* insertion = evaluate->add_subcommand("insertion-deletion", "insertion and deletion curves of the target's "
                                                                   "probability and their areas (Petsiuk et al. 2018)");
  auto insertion_setup = std::make_shared<FeatureEvaluationOptions>();
  auto insertion_options = std::make_shared<InsertionDeletionOptions>();
  insertion_setup->add_to(*insertion, "test samples (a seeded random choice)");
  add_option_flags(*insertion, *insertion_options, shared);
  insertion->callback([=] { run_insertion_deletion(*insertion_setup, *insertion_options); });

  auto* roar = evaluate->add_subcommand("roar", "ROAR / KAR: remove (or keep) the top pixels, retrain, measure");
  auto roar_options = std::make_shared<FeatureEvaluationOptions>();
  auto retraining = std::make_shared<RoarOptions>();
  roar_options->batch_size = 64;
  roar_options->add_to(*roar, "(unused: ROAR explains every training and test image)");
  add_option_flags(*roar, *retraining, shared);
  roar->callback([=] {
    retraining->training.seed = roar_options->seed;
    run_roar_command(*roar_options, *retraining);
  });

  auto* localisation = evaluate->add_subcommand(
      "localisation", "pointing game, relevance mass and rank accuracy against the shortcut mark, for a model trained "
                      "with it (prism train --mark-class)");
  auto localisation_options = std::make_shared<FeatureEvaluationOptions>();
  auto mark = std::make_shared<MarkOptions>();
  localisation_options->add_to(*localisation, "marked test images the model assigns to the marked class, at most");
  add_option_flags(*localisation, *mark, {"seed", "mark_fraction"});  // every test image chosen gets the mark
  localisation->callback([=] { run_localisation(*localisation_options, *mark); });

  auto* measures = evaluate->add_subcommand("measures", "single-map measures: sparseness, complexity, "
                                                        "max-sensitivity, faithfulness correlation, infidelity, "
                                                        "random logit, local Lipschitz, completeness error, input "
                                                        "invariance, IROF");
  auto measure_options = std::make_shared<FeatureEvaluationOptions>();
  auto map_options = std::make_shared<MapMeasureOptions>();
  measure_options->add_to(*measures, "test samples (a seeded random choice)");
  add_option_flags(*measures, *map_options, shared);
  measures->callback([=] { run_measures(*measure_options, *map_options); });

  add_evaluate_data(*evaluate);
}

}  // namespace prism::cli
