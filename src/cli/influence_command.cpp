// prism influence fit | explain | self: training-data attribution (DualView, seed 002, and its baselines).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "prism/core/ranks.h"

namespace prism::cli {
namespace fs = std::filesystem;
namespace {

// Under mpirun the methods split their passes over the training (and test) samples: the pass to the penultimate
// features (last_layer.h) or the per-example gradients projected or sketched (parameter_gradients.h), and every
// rank then solves the same small problem. The others run on rank 0 alone: EBE-DNN (examples fit splits) and the
// random control, and the per-example gradient loops of influence functions and TracIn over chosen layers without
// a projection. True where this rank goes on with the command.
bool take_part(const std::string& method, const nlohmann::json& options) {
  const bool layers = options.contains("layers") && !options.at("layers").empty();
  const bool projected = options.value("projection_dim", int64_t{0}) > 0;
  const bool alone = method == "ebe-dnn" || method == "random" || (method == "influence" && layers) ||
                     (method == "tracin" && layers && !projected);
  if (!alone) return true;
  ranks::leave();
  return ranks::world_rank() == 0;
}

struct FitCommand {
  std::string model, method = "dualview", checkpoints, out;
  DataOptions train;
  nlohmann::json method_options = nlohmann::json::object();

  void run() {
    if (!take_part(method, method_options)) return;
    const auto data = train.load(Split::Train);
    auto network = load_model(model, &data);
    network->set_training(false);
    auto attributor = make_data_attributor(method, with_checkpoints(method, method_options, model, checkpoints));
    const auto start = std::chrono::steady_clock::now();
    attributor->fit(*network, data);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!ranks::is_root()) return;  // rank 0 writes
    ranks::leave();
    save_data_fit(out, *attributor, fit_provenance(model, train));
    std::uintmax_t bytes = 0;
    for (const auto& entry : fs::directory_iterator(out)) bytes += entry.is_regular_file() ? entry.file_size() : 0;
    std::printf("%s fit on %lld training samples in %.1f s; cache %.1f MiB in %s\n%s\n", method.c_str(),
                static_cast<long long>(data.size()), seconds, bytes / 1048576.0, out.c_str(),
                attributor->fit_report().dump().c_str());
  }
};

struct ExplainCommand {
  std::string fit_dir, model, indices = "0:8", targets = "predicted", out;
  DataOptions data;
  int64_t top = 10, scale = 3, xda_pairs = 3;
  bool dense = false, xda = false;

  void run() {
    const auto fit = open_data_fit(fit_dir);
    const auto provenance = Provenance::from_json(fit.record.at("provenance"));
    const PrecisionScope precision(parse_precision(provenance.precision));  // the test points' passes as the fit's
    const std::string method = fit.record.at("method");
    if (!take_part(method, fit.record.at("options"))) return;
    const auto model_path = provenance.model_path(model, fit_dir, "prism influence fit");
    require(top >= 1, "--top must be at least 1");
    const auto test = data.load(Split::Test);
    auto network = load_model(model_path, &test);
    network->set_training(false);
    const auto chosen = parse_indices(indices, test.size());
    const auto index = torch::tensor(chosen, torch::kInt64);
    const auto images = test.images.index_select(0, index);
    const auto labels = test.labels.index_select(0, index);
    torch::Tensor predictions;
    {
      torch::NoGradGuard no_grad;
      predictions = network->forward(images).argmax(1).to(torch::kCPU);
    }
    require(targets == "predicted" || targets == "true", "--targets must be predicted or true");
    const auto target = targets == "predicted" ? predictions : labels;
    const auto start = std::chrono::steady_clock::now();
    const auto attributions = fit.attributor->attribute(*network, images, target);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!ranks::is_root()) return;  // rank 0 writes
    ranks::leave();
    const auto proponents = top_attributions(attributions, top, true);
    const auto opponents = top_attributions(attributions, top, false);
    const auto train = provenance.training_data(fit.attributor->train_size(), fit_dir);
    require(!xda || supports_xda(method), "--xda splits attributions of the form c·⟨φ(x), φ(x_i)⟩; use it with "
                                          "dualview, representer or similarity, not " + method);
    require(xda_pairs >= 1, "--xda-pairs must be at least 1");

    InfluenceExplanation explanation{attributions, predictions, target, proponents, opponents, {}, dense};
    for (int64_t b = 0; xda && b < images.size(0); ++b)
      explanation.xda.push_back(xda_of_top(*network, images[b], train.images, proponents, opponents, b, xda_pairs));
    ExampleOutputs outputs{images, labels, chosen, &train, network->class_names(), scale};
    outputs.head = {{"method", method},          {"options", fit.record.at("options")},
                    {"fit", fs::absolute(fit_dir).string()},
                    {"data", data.spec},         {"targets", targets},
                    {"explain_seconds", seconds}};
    const auto samples = write_influence_outputs(out, outputs, explanation);
    const auto& names = outputs.class_names;
    for (int64_t b = 0; b < images.size(0); ++b)
      std::printf("test %lld (%s, predicted %s): top proponent %s (%+.3g), top opponent %s (%+.3g)\n",
                  static_cast<long long>(chosen[b]), names.at(labels[b].item<int64_t>()).c_str(),
                  names.at(predictions[b].item<int64_t>()).c_str(),
                  samples[b]["proponents"][0]["class"].get<std::string>().c_str(), proponents.values[b][0].item<double>(),
                  samples[b]["opponents"][0]["class"].get<std::string>().c_str(), opponents.values[b][0].item<double>());
    std::printf("%s explained %lld test samples in %.3f s; explanations.json, proponents/opponents .npy%s and "
                "influence-NNN.%s in %s\n",
                method.c_str(), static_cast<long long>(images.size(0)), seconds, dense ? ", attributions.npy" : "",
                images.dim() == 2 ? "csv" : "png", out.c_str());
  }
};

struct SelfCommand {
  std::string fit_dir, out;
  int64_t top = 20;

  void run() {
    const auto fit = open_data_fit(fit_dir);
    const auto scores = fit.attributor->self_influence();
    const auto target = out.empty() ? fs::path(fit_dir) : fs::path(out);
    const auto ranking = write_self_influence_outputs(target, scores, fit.record.at("method"), top);
    for (const auto& entry : ranking)
      std::printf("%4lld  training sample %6lld  self-influence %.4g\n", static_cast<long long>(entry["rank"].get<int64_t>()),
                  static_cast<long long>(entry["train_index"].get<int64_t>()), entry["self_influence"].get<double>());
    std::printf("self_influence.npy (all %lld samples) and self_influence_top.json in %s\n",
                static_cast<long long>(scores.size(0)), target.string().c_str());
  }
};

}  // namespace

void run_influence_fit(const std::string& model, const DataOptions& train, const std::string& method,
                       const std::string& out) {
  FitCommand command;
  command.model = model, command.train = train, command.method = method, command.out = out;
  command.run();
}

void run_influence_explain(const std::string& fit_dir, const DataOptions& data, const std::string& indices,
                           int64_t top, bool xda, const std::string& out) {
  ExplainCommand command;
  command.fit_dir = fit_dir, command.data = data, command.indices = indices, command.top = top;
  command.xda = xda, command.out = out;
  command.run();
}

void add_influence(CLI::App& app) {
  auto* influence = app.add_subcommand("influence", "training-data attribution: DualView and its baselines");
  influence->require_subcommand(1);

  auto* fit = influence->add_subcommand("fit", "fit a data attributor on a model and its training set");
  auto f = std::make_shared<FitCommand>();
  fit->add_option("--model", f->model, "model file (.prism or TorchScript .pt)")->required();
  f->train.add_to(*fit, true, "--train");
  fit->add_option("--method", f->method, method_names(data_method_docs()))
      ->capture_default_str();
  // --checkpoints is the command's own: it also takes "all", the training run's per-epoch checkpoints, whose
  // learning rates it reads from the run's history.
  add_method_flags(*fit, f->method_options, data_method_docs(), {"checkpoints", "learning_rates"});
  fit->add_option("--checkpoints", f->checkpoints,
                  "tracin, trak: all (the training run's per-epoch checkpoints; tracin's default) or P1,P2,...");
  fit->add_option("--out", f->out, "fit folder")->required();
  fit->callback([f] { f->run(); });

  auto* explain = influence->add_subcommand("explain", "the training samples that support and oppose predictions");
  auto e = std::make_shared<ExplainCommand>();
  explain->add_option("--fit", e->fit_dir, "folder written by prism influence fit")->required();
  explain->add_option("--model", e->model, "model file (default: the one the fit was built from; must be the same)");
  e->data.add_to(*explain, true);
  explain->add_option("--indices", e->indices, "test samples: 0:16, 3,5,9 or a mix")->capture_default_str();
  explain->add_option("--targets", e->targets, "predicted or true class")->capture_default_str();
  explain->add_option("--top", e->top, "proponents and opponents per sample")->capture_default_str();
  explain->add_flag("--dense", e->dense, "also write the dense attributions [B, N_train]");
  explain->add_flag("--xda", e->xda,
                    "LRP heatmaps of each shown (test, training) pair on both images (dualview, representer, similarity)");
  explain->add_option("--xda-pairs", e->xda_pairs, "top proponents and opponents per sample that --xda shows")
      ->capture_default_str();
  explain->add_option("--scale", e->scale, "pixel scale of the pictures")->capture_default_str()->check(CLI::Range(1, 16));
  explain->add_option("--out", e->out, "output folder")->required();
  explain->callback([e] { e->run(); });

  auto* self = influence->add_subcommand("self", "rank the training set by self-influence (mislabel candidates)");
  auto s = std::make_shared<SelfCommand>();
  self->add_option("--fit", s->fit_dir, "folder written by prism influence fit")->required();
  self->add_option("--top", s->top, "samples to list")->capture_default_str();
  self->add_option("--out", s->out, "output folder (default: the fit folder)");
  self->callback([s] { s->run(); });
}

}  // namespace prism::cli
