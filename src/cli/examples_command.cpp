// prism examples fit | explain | sweep: EBE-DNN example attributions (seed 000).
#include <chrono>
#include <cstdio>
#include <sstream>

#include "commands.h"

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
                static_cast<long long>(fitted.index().size()), static_cast<long long>(fitted.index().dim()),
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
    const auto model_path = provenance.model_path(model, fit_dir, "prism examples fit");
    require(ebe.k <= fitted.index().size(), "--k " + std::to_string(ebe.k) + " exceeds the " +
                                                std::to_string(fitted.index().size()) + " training examples of the fit");
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

    const auto attribution = fitted.explain(*network, images, ebe);
    torch::Tensor network_probabilities;
    {
      torch::NoGradGuard no_grad;
      network_probabilities = torch::softmax(network->forward(images), 1);
    }
    // The training images, for the pictures: the same data and subset the fit was built from.
    const auto train = provenance.training_data(fitted.index().size(), fit_dir);
    require(train.labels.equal(fitted.train_labels()),
            "the training data's labels no longer match the fit in " + fit_dir + "; re-run prism examples fit");

    const auto& names = fitted.record().at("class_names");
    nlohmann::json samples = nlohmann::json::array();
    std::vector<std::pair<fs::path, torch::Tensor>> pictures;
    for (int64_t b = 0; b < images.size(0); ++b) {
      nlohmann::json examples = nlohmann::json::array();
      std::vector<torch::Tensor> row = {image_picture(
          images[b], scale,
          "test " + std::to_string(chosen[b]) + ": " + names.at(labels[b].item<int64_t>()).get<std::string>())};
      for (int64_t j = 0; j < attribution.indices.size(1); ++j) {
        const float weight = attribution.weights[b][j].item<float>();
        if (weight <= 0) continue;
        const int64_t i = attribution.indices[b][j].item<int64_t>(), label = attribution.labels[b][j].item<int64_t>();
        examples.push_back({{"train_index", i},
                            {"source_index", train.source_index[i].item<int64_t>()},
                            {"weight", weight},
                            {"label", label},
                            {"class", names.at(label)},
                            {"distance", attribution.distances[b][j].item<float>()}});
        char weight_text[64];
        std::snprintf(weight_text, sizeof weight_text, "w %.3f ", weight);
        row.push_back(image_picture(train.images[i], scale, weight_text + names.at(label).get<std::string>()));
      }
      const int64_t knn = attribution.predictions[b].item<int64_t>();
      const int64_t net = network_probabilities[b].argmax().item<int64_t>();
      samples.push_back({{"index", chosen[b]},
                         {"label", labels[b].item<int64_t>()},
                         {"knn_prediction", knn},
                         {"knn_probabilities", to_vector(attribution.probabilities[b])},
                         {"network_prediction", net},
                         {"network_probabilities", to_vector(network_probabilities[b])},
                         {"examples", examples}});
      char name[48];
      std::snprintf(name, sizeof name, "examples-%03lld.png", static_cast<long long>(b));
      pictures.emplace_back(fs::path(out) / name, side_by_side(row, 4));
      std::printf("test %lld (%s): kNN says %s, network says %s; %zu examples, top weight %.3f\n",
                  static_cast<long long>(chosen[b]), names.at(labels[b].item<int64_t>()).get<std::string>().c_str(),
                  names.at(knn).get<std::string>().c_str(), names.at(net).get<std::string>().c_str(), examples.size(),
                  attribution.weights[b].max().item<float>());
    }
    // Everything is computed; only now write.
    make_directory(out);
    const nlohmann::json summary = {{"method", "ebe-dnn"},
                                    {"fit", fs::absolute(fit_dir).string()},
                                    {"layer", fitted.record().at("layer")},
                                    {"k", ebe.k},
                                    {"weights", ebe.weights},
                                    {"top", ebe.top},
                                    {"share", ebe.share},
                                    {"data", data.spec},
                                    {"class_names", names},
                                    {"samples", samples}};
    write_file_atomic(fs::path(out) / "explanations.json", summary.dump(2));
    write_npy(fs::path(out) / "indices.npy", attribution.indices);
    write_npy(fs::path(out) / "weights.npy", attribution.weights);
    write_npy(fs::path(out) / "distances.npy", attribution.distances);
    for (const auto& [path, picture] : pictures) write_png(path, picture);
    std::printf("explanations, indices/weights/distances.npy and examples-NNN.png in %s\n", out.c_str());
  }
};

struct SweepCommand {
  std::string model, test_spec, layers = "all", ks = "1,5,10,20", out;
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
    sweep.ks = parse_list<int64_t>(ks, "--k");
    const auto split = split_validation(full_train, val_fraction, seed);
    const auto result = knn_sweep(*network, split.train, split.validation, test, sweep);
    make_directory(out);
    const auto summary = result.to_json();
    write_file_atomic(fs::path(out) / "sweep.json", summary.dump(2));
    write_file_atomic(fs::path(out) / "sweep.csv", result.to_csv());
    write_file_atomic(fs::path(out) / "sweep.md", result.table());
    write_file_atomic(fs::path(out) / "accuracy-by-layer.svg", result.plot_svg());
    const auto& chosen = summary.at("chosen_on_validation");
    std::printf("%s\nchosen on validation: layer %s, k = %lld: test kNN accuracy %.2f %%, network %.2f %%\n"
                "sweep.json, sweep.csv, sweep.md and accuracy-by-layer.svg in %s\n",
                result.table().c_str(), result.best_layer.c_str(), static_cast<long long>(result.best_k),
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
  fit->add_option("--layer", f->fit.embedding.layer,
                  "layer whose output is the embedding (see prism layers; default: the penultimate features)");
  fit->add_option("--pool", f->fit.embedding.pool, "flatten, or avg over space for conv maps")->capture_default_str();
  fit->add_option("--metric", f->fit.index.metric, "l2 or cosine")->capture_default_str();
  fit->add_option("--index", f->fit.index.kind, "flat (exact), ivf or hnsw")->capture_default_str();
  fit->add_option("--nlist", f->fit.index.nlist, "ivf: inverted lists (0: 4·√N)")->capture_default_str();
  fit->add_option("--hnsw-m", f->fit.index.hnsw_m, "hnsw: links per node")->capture_default_str();
  fit->add_option("--nprobe", f->fit.index.nprobe, "ivf: inverted lists visited per query")->capture_default_str();
  fit->add_option("--ef-search", f->fit.index.ef_search, "hnsw: candidate list length at search time")
      ->capture_default_str();
  fit->add_option("--batch-size", f->fit.embedding.batch_size, "images per forward pass")->capture_default_str();
  fit->add_option("--out", f->out, "fit folder")->required();
  fit->callback([f] { f->run(); });

  auto* explain = examples->add_subcommand("explain", "the training examples behind predictions, with weights");
  auto e = std::make_shared<ExplainCommand>();
  explain->add_option("--fit", e->fit_dir, "folder written by prism examples fit")->required();
  explain->add_option("--model", e->model, "model file (default: the one the fit was built from; must be the same)");
  e->data.add_to(*explain, true);
  explain->add_option("--indices", e->indices, "test samples: 0:16, 3,5,9 or a mix")->capture_default_str();
  explain->add_option("--k", e->ebe.k, "neighbours")->capture_default_str();
  explain->add_option("--weights", e->ebe.weights, "uniform or distance")->capture_default_str();
  explain->add_option("--top", e->ebe.top, "keep the K largest weights and renormalise (0: all)")->capture_default_str();
  explain->add_option("--share", e->ebe.share, "keep the fewest examples reaching this weight share (0: all)")
      ->capture_default_str();
  explain->add_option("--scale", e->scale, "pixel scale of the pictures")->capture_default_str()->check(CLI::Range(1, 16));
  explain->add_option("--out", e->out, "output folder")->required();
  explain->callback([e] { e->run(); });

  auto* sweep = examples->add_subcommand("sweep", "kNN accuracy and concentration per layer and k");
  auto s = std::make_shared<SweepCommand>();
  sweep->add_option("--model", s->model, "model file")->required();
  s->train.add_to(*sweep, true, "--train");
  sweep->add_option("--test", s->test_spec, "test data (default: the --train data set's test split)");
  sweep->add_option("--layers", s->layers, "all, or L1,L2,...")->capture_default_str();
  sweep->add_option("--k", s->ks, "values of k, comma-separated")->capture_default_str();
  sweep->add_option("--val-fraction", s->val_fraction, "training share held out to choose layer and k")
      ->capture_default_str();
  sweep->add_option("--seed", s->seed, "seed of the validation split")->capture_default_str();
  sweep->add_option("--pool", s->sweep.pool, "flatten, or avg over space for conv maps")->capture_default_str();
  sweep->add_option("--metric", s->sweep.metric, "l2 or cosine")->capture_default_str();
  sweep->add_option("--weights", s->sweep.weights, "uniform or distance")->capture_default_str();
  sweep->add_option("--out", s->out, "output folder")->required();
  sweep->callback([s] { s->run(); });
}

}  // namespace prism::cli
