// prism examples fit | explain | sweep: EBE-DNN example attributions (seed 000).
#include <chrono>
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "prism/core/ranks.h"

namespace prism::cli {
namespace fs = std::filesystem;
namespace {

struct FitCommand {
  std::string model, out;
  DataOptions train;
  EbeDnn::FitOptions fit;
  void run() {
    const auto data = train.load(Split::Train);
    auto network = load_model(model, &data);
    network->set_training(false);
    if (fit.embedding.layer.empty()) {
      fit.embedding.layer = penultimate_layer(*network);
      std::printf("layer: %s (the penultimate features; choose another with --layer)\n", fit.embedding.layer.c_str());
    }
    const auto provenance = fit_provenance(model, train);
    const auto start = std::chrono::steady_clock::now();
    const auto fitted = EbeDnn::fit(*network, data, fit, out, provenance);
    std::printf("EBE-DNN fit: %lld training embeddings of dimension %lld at layer %s (%s, %s index) in %.1f s -> %s\n",
                static_cast<long long>(fitted.size()), static_cast<long long>(fitted.dim()),
                fit.embedding.layer.c_str(), fit.index.metric.c_str(), fit.index.kind.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), out.c_str());
  }
};

struct ExplainCommand {
  std::string fit_dir, model, indices = "0:8", out;
  DataOptions data;
  EbeOptions ebe;
  int64_t scale = 3;

  void run() {
    const auto fitted = EbeDnn::open(fit_dir);
    const auto provenance = Provenance::from_json(fitted.record().at("provenance"));
    const PrecisionScope precision(parse_precision(provenance.precision));  // the test points' passes as the fit's
    const auto model_path = provenance.model_path(model, fit_dir, "prism examples fit");
    require(ebe.k <= fitted.size(), "--k " + std::to_string(ebe.k) + " exceeds the " +
                                                std::to_string(fitted.size()) + " training examples of the fit");
    const auto test = data.load(Split::Test);
    auto network = load_model(model_path, &test);
    network->set_training(false);
    require(test.num_classes() == fitted.num_classes(),
            data.spec + " has " + std::to_string(test.num_classes()) + " classes but the fit has " +
                std::to_string(fitted.num_classes()));
    const auto chosen = parse_indices(indices, test.size());
    const auto index = torch::tensor(chosen, torch::kInt64);
    const auto images = test.images.index_select(0, index);
    const auto labels = test.labels.index_select(0, index);

    const auto attribution = fitted.explain(*network, images, ebe);  // over MPI ranks, each searches its shard
    if (!ranks::is_root()) return;  // rank 0 writes
    ranks::leave();
    torch::Tensor network_probabilities;
    {
      torch::NoGradGuard no_grad;
      network_probabilities = torch::softmax(network->forward(images), 1);
    }
    // The training images, for the pictures: the same data and subset the fit was built from.
    const auto train = provenance.training_data(fitted.size(), fit_dir);
    require(train.labels.equal(fitted.train_labels()),
            "the training data's labels no longer match the fit in " + fit_dir + "; re-run prism examples fit");

    ExampleOutputs outputs{images, labels, chosen, &train,
                           fitted.record().at("class_names").get<std::vector<std::string>>(), scale};
    outputs.head = {{"method", "ebe-dnn"},   {"fit", fs::absolute(fit_dir).string()},
                    {"layer", fitted.record().at("layer")},
                    {"k", ebe.k},            {"weights", ebe.weights},
                    {"top", ebe.top},        {"share", ebe.share},
                    {"data", data.spec}};
    const auto samples = write_knn_explanation_outputs(out, outputs, attribution, network_probabilities);
    const auto& names = outputs.class_names;
    for (size_t b = 0; b < samples.size(); ++b) {
      const auto& sample = samples[b];
      std::printf("test %lld (%s): kNN says %s, network says %s; %zu examples, top weight %.3f\n",
                  static_cast<long long>(chosen[b]), names.at(sample.at("label").get<int64_t>()).c_str(),
                  names.at(sample.at("knn_prediction").get<int64_t>()).c_str(),
                  names.at(sample.at("network_prediction").get<int64_t>()).c_str(), sample.at("examples").size(),
                  attribution.weights[b].max().item<float>());
    }
    std::printf("explanations, indices/weights/distances.npy and examples-NNN.%s in %s\n",
                images.dim() == 2 ? "csv" : "png", out.c_str());
  }
};

struct SweepCommand {
  std::string model, test_spec, layers = "all", out;
  DataOptions train;
  KnnSweepOptions sweep;
  double val_fraction = 0.1;
  uint64_t seed = 0;

  void run() {
    require(val_fraction > 0 && val_fraction < 1, "--val-fraction must lie strictly between 0 and 1");
    const auto full_train = train.load(Split::Train);
    DataOptions test_options = train;
    if (!test_spec.empty()) test_options.spec = test_spec;
    const auto test = test_options.load(Split::Test);
    auto network = load_model(model, &full_train);
    network->set_training(false);
    if (layers != "all") sweep.layers = parse_list<std::string>(layers, "--layers");
    const auto split = split_validation(full_train, val_fraction, seed);
    const auto result = knn_sweep(*network, split.train, split.validation, test, sweep);
    const auto table = write_knn_sweep_outputs(out, result);
    const auto summary = result.to_json();
    const auto& chosen = summary.at("chosen_on_validation");
    std::printf("%s\nchosen on validation: layer %s, k = %lld: test kNN accuracy %.2f %%, network %.2f %%\n"
                "sweep.json, sweep.csv, sweep.md and accuracy-by-layer.svg in %s\n",
                table.c_str(), result.best_layer.c_str(), static_cast<long long>(result.best_k),
                100 * chosen.at("test_knn_accuracy").get<double>(), 100 * chosen.at("test_network_accuracy").get<double>(),
                out.c_str());
  }
};

}  // namespace

void run_examples_fit(const std::string& model, const DataOptions& train, const std::string& layer,
                      const std::string& out) {
  FitCommand command;
  command.model = model, command.train = train, command.out = out;
  command.fit.embedding.layer = layer;
  command.run();
}

void run_examples_explain(const std::string& fit_dir, const DataOptions& data, const std::string& indices, int64_t k,
                          const std::string& out) {
  ExplainCommand command;
  command.fit_dir = fit_dir, command.data = data, command.indices = indices, command.out = out;
  command.ebe.k = k;
  command.run();
}

void add_examples(CLI::App& app) {
  auto* examples = app.add_subcommand("examples", "EBE-DNN: explain predictions by weighted training examples (kNN)");
  examples->require_subcommand(1);

  auto* fit = examples->add_subcommand("fit", "embed the training set at a layer and build the search index");
  auto f = std::make_shared<FitCommand>();
  fit->add_option("--model", f->model, "model file (.prism or TorchScript .pt)")->required();
  f->train.add_to(*fit, true, "--train");
  add_option_flags(*fit, f->fit);
  fit->add_option("--out", f->out, "fit folder")->required();
  fit->callback([f] { f->run(); });

  auto* explain = examples->add_subcommand("explain", "the training examples behind predictions, with weights");
  auto e = std::make_shared<ExplainCommand>();
  explain->add_option("--fit", e->fit_dir, "folder written by prism examples fit")->required();
  explain->add_option("--model", e->model, "model file (default: the one the fit was built from; must be the same)");
  e->data.add_to(*explain, true);
  explain->add_option("--indices", e->indices, "test samples: 0:16, 3,5,9 or a mix")->capture_default_str();
  add_option_flags(*explain, e->ebe);
  explain->add_option("--scale", e->scale, "pixel scale of the pictures")->capture_default_str()->check(CLI::Range(1, 16));
  explain->add_option("--out", e->out, "output folder")->required();
  explain->callback([e] { e->run(); });

  auto* sweep = examples->add_subcommand("sweep", "kNN accuracy and concentration per layer and k");
  auto s = std::make_shared<SweepCommand>();
  sweep->add_option("--model", s->model, "model file")->required();
  s->train.add_to(*sweep, true, "--train");
  sweep->add_option("--test", s->test_spec, "test data (default: the --train data set's test split)");
  sweep->add_option("--layers", s->layers, "all, or L1,L2,...")->capture_default_str();
  add_option_flags(*sweep, s->sweep);
  sweep->add_option("--val-fraction", s->val_fraction, "training share held out to choose layer and k")
      ->capture_default_str();
  sweep->add_option("--seed", s->seed, "seed of the validation split")->capture_default_str();
  sweep->add_option("--out", s->out, "output folder")->required();
  sweep->callback([s] { s->run(); });
}

}  // namespace prism::cli
