#include "prism/explain/concept/flint_training.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/threads.h"
#include "prism/model/model_file.h"
#include "prism/model/train.h"
#include "prism/model/zoo.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

void check_options(const FlintTrainOptions& o, const Dataset& train) {
  check_flint_loss_weights(o.weights);
  require(o.learning_rate > 0 && std::isfinite(o.learning_rate), "FLINT: learning_rate must be positive");
  require(o.batch_size >= 2, "FLINT: batch_size must be at least 2 (the diversity term is a batch entropy)");
  require(o.epochs >= 1, "FLINT: epochs must be at least 1");
  require(!o.out.empty(), "FLINT training needs an output folder (--out)");
  require(train.size() >= 2, "the training set has fewer than 2 samples");
}

// What must be equal for an earlier run in the folder to be continued (the epoch count may grow: the
// warm-up depends on the epoch number only).
nlohmann::json run_identity(Network& network, const FlintInterpreter& interpreter, const Dataset& train,
                            const FlintTrainOptions& o) {
  nlohmann::json predictor = {{"architecture", network.architecture()}};
  if (o.train_predictor) {
    predictor["width"] = zoo_options(network).width;
    predictor["model_seed"] = zoo_options(network).seed;
  } else {
    predictor["model_fingerprint"] = o.provenance.model_fingerprint;
  }
  return {{"mode", o.train_predictor ? "joint" : "posthoc"},
          {"predictor", predictor},
          {"interpreter", interpreter->architecture().to_json()},
          {"data", train.name},
          {"train_size", train.size()},
          {"label_sum", train.labels.sum().item<int64_t>()},
          {"weights", options_json(o.weights)},
          {"learning_rate", o.learning_rate},
          {"batch_size", o.batch_size},
          {"seed", o.seed}};
}

FlintEpochRecord record_from_json(const nlohmann::json& r) {
  FlintEpochRecord e;
  e.epoch = r.at("epoch");
  e.prediction = r.at("prediction");
  e.output_fidelity = r.at("output_fidelity");
  e.input_fidelity = r.at("input_fidelity");
  e.conciseness = r.at("conciseness");
  e.diversity = r.at("diversity");
  e.sparsity = r.at("sparsity");
  e.total = r.at("total");
  e.train_predictor_accuracy = r.at("train_predictor_accuracy");
  e.train_interpreter_accuracy = r.at("train_interpreter_accuracy");
  e.test_predictor_accuracy = r.at("test_predictor_accuracy");
  e.test_interpreter_accuracy = r.at("test_interpreter_accuracy");
  e.test_fidelity = r.at("test_fidelity");
  e.seconds = r.at("seconds");
  return e;
}

nlohmann::json history_json(const std::vector<FlintEpochRecord>& records) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : records) history.push_back(r.to_json());
  return history;
}

fs::path checkpoint_dir(const fs::path& out, int64_t epoch) {
  return out / "checkpoints" / numbered_name("epoch-%03lld", epoch);
}

// The records of an earlier run's complete epochs, with f, the interpreter and the optimiser restored.
std::vector<FlintEpochRecord> resume(Network& network, FlintInterpreter& interpreter,
                                     torch::optim::Optimizer& optimizer, const FlintTrainOptions& o,
                                     const nlohmann::json& identity) {
  const fs::path progress_path = o.out / "progress.json";
  if (!fs::exists(progress_path)) return {};
  nlohmann::json progress;
  try {
    const auto bytes = read_file(progress_path, 1 << 24);
    progress = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const std::exception&) {
    throw Error(progress_path.string() + " is corrupt; delete the FLINT folder or choose another --out");
  }
  require(progress.value("run", nlohmann::json()) == identity,
          o.out.string() + " holds a FLINT run with another model, data or options; choose another --out or delete it");
  std::vector<FlintEpochRecord> records;
  try {
    for (const auto& r : progress.at("epochs")) records.push_back(record_from_json(r));
  } catch (const nlohmann::json::exception&) {
    throw Error(progress_path.string() + " is corrupt; delete the FLINT folder or choose another --out");
  }
  if (records.empty()) return records;
  const auto dir = checkpoint_dir(o.out, records.back().epoch);
  interpreter->load(dir / "interpreter");
  if (o.train_predictor) {
    auto saved = load_network(dir / "model.prism");
    torch::NoGradGuard no_grad;
    auto target = zoo_state(network), source = zoo_state(*saved);
    for (size_t i = 0; i < target.size(); ++i) target[i].second.copy_(source[i].second);
  }
  load_optimizer_state(optimizer, dir / "optimizer.pt");
  return records;
}

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * share);
  return text;
}

}  // namespace

nlohmann::json FlintEpochRecord::to_json() const {
  return {{"epoch", epoch},
          {"prediction", prediction},
          {"output_fidelity", output_fidelity},
          {"input_fidelity", input_fidelity},
          {"conciseness", conciseness},
          {"diversity", diversity},
          {"sparsity", sparsity},
          {"total", total},
          {"train_predictor_accuracy", train_predictor_accuracy},
          {"train_interpreter_accuracy", train_interpreter_accuracy},
          {"test_predictor_accuracy", test_predictor_accuracy},
          {"test_interpreter_accuracy", test_interpreter_accuracy},
          {"test_fidelity", test_fidelity},
          {"seconds", seconds}};
}

std::vector<FlintEpochRecord> train_flint(Network& network, FlintInterpreter& interpreter, const Dataset& train,
                                          const Dataset* test, const FlintTrainOptions& o) {
  check_options(o, train);
  require(train.num_classes() <= network.num_classes(),
          "the data has " + std::to_string(train.num_classes()) + " classes but the model has " +
              std::to_string(network.num_classes()) + " outputs");
  const FitFolderWriter writer(o.out, "flint.json");
  SingleThreadedBlas blas;  // small batches: faster without BLAS's own threads
  make_directory(o.out / "checkpoints");
  interpreter->to(network.device());
  std::vector<torch::Tensor> parameters = interpreter->parameters();
  if (o.train_predictor)
    for (auto& p : network.parameters()) parameters.push_back(p);
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(o.learning_rate));
  const auto identity = run_identity(network, interpreter, train, o);
  auto records = resume(network, interpreter, optimizer, o, identity);
  if (!records.empty() && !is_quiet())
    std::fprintf(stderr, "resuming %s after epoch %lld\n", o.out.c_str(), static_cast<long long>(records.back().epoch));
  const auto& layers = interpreter->architecture().layers;

  const int64_t n = train.size();
  for (int64_t epoch = records.empty() ? 1 : records.back().epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003 + epoch);
    torch::manual_seed(o.seed * 1000003 + epoch);  // dropout
    const auto order = torch::randperm(n, generator, torch::kInt64);
    network.set_training(o.train_predictor);
    interpreter->train();
    Progress progress("FLINT epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), n);
    FlintEpochRecord record;
    record.epoch = epoch;
    int64_t batches = 0;
    torch::Tensor term_sums, correct = torch::zeros({2}, torch::kInt64).to(network.device());
    // A last batch of one sample has no batch entropy to speak of: it joins the previous one.
    const int64_t usable = n % o.batch_size == 1 ? n - 1 : n;
    for (int64_t begin = 0; begin < usable; begin += o.batch_size) {
      const int64_t size = begin + o.batch_size >= usable ? n - begin : o.batch_size;
      const auto index = order.narrow(0, begin, size);
      const auto images = train.images.index_select(0, index).to(network.device());
      const auto labels = train.labels.index_select(0, index).to(network.device());
      torch::Tensor logits;
      std::vector<torch::Tensor> hidden;
      if (o.train_predictor) {
        std::tie(logits, hidden) = forward_with_layers(network, images, layers);
      } else {
        torch::NoGradGuard frozen;
        std::tie(logits, hidden) = forward_with_layers(network, images, layers);
      }
      const auto phi = interpreter->attributes(hidden);
      const auto g_logits = interpreter->classify(phi);
      const auto terms = flint_loss_terms(logits, labels, g_logits, phi, interpreter->decode(phi),
                                          interpreter->decoder_target(images, network.normalization()),
                                          o.weights.input_fidelity);
      const auto loss = flint_total_loss(terms, o.weights, epoch, o.train_predictor);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      const double total = loss.item<double>();
      require(std::isfinite(total), "FLINT training diverged (loss " + std::to_string(total) + ") in epoch " +
                                        std::to_string(epoch) + "; lower --lr or the loss weights");
      record.total += total;
      // The terms add up as one tensor, read once per epoch (each read is a synchronisation).
      const auto values = torch::stack({terms.prediction, terms.output_fidelity, terms.input_fidelity,
                                        terms.conciseness, terms.diversity, terms.sparsity})
                              .detach();
      term_sums = term_sums.defined() ? term_sums + values : values;
      correct += torch::stack({logits.argmax(1).eq(labels).sum(), g_logits.argmax(1).eq(labels).sum()});
      ++batches;
      progress.advance(size, {{"loss", std::to_string(record.total / batches).substr(0, 6)}});
      if (size != o.batch_size) break;
    }
    record.total /= batches;
    const auto means = (term_sums / batches).to(torch::kCPU, torch::kDouble);
    double* terms[] = {&record.prediction, &record.output_fidelity, &record.input_fidelity,
                       &record.conciseness, &record.diversity, &record.sparsity};
    for (int i = 0; i < 6; ++i) *terms[i] = means[i].item<double>();
    record.train_predictor_accuracy = correct[0].item<double>() / n;
    record.train_interpreter_accuracy = correct[1].item<double>() / n;
    std::vector<std::pair<std::string, std::string>> figures = {
        {"f", percent(record.train_predictor_accuracy)}, {"g", percent(record.train_interpreter_accuracy)}};
    if (test) {
      const auto outputs = run_flint(network, interpreter, test->images);
      const auto f_pred = outputs.predictor_logits.argmax(1), g_pred = outputs.interpreter_logits.argmax(1);
      record.test_predictor_accuracy = f_pred.eq(test->labels).to(torch::kDouble).mean().item<double>();
      record.test_interpreter_accuracy = g_pred.eq(test->labels).to(torch::kDouble).mean().item<double>();
      record.test_fidelity = f_pred.eq(g_pred).to(torch::kDouble).mean().item<double>();
      figures.push_back({"test f", percent(record.test_predictor_accuracy)});
      figures.push_back({"test g", percent(record.test_interpreter_accuracy)});
      figures.push_back({"fidelity", percent(record.test_fidelity)});
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish(figures);
    records.push_back(record);

    // The epoch's state, then the progress file that names it complete, then the previous state goes.
    const auto dir = checkpoint_dir(o.out, epoch);
    interpreter->save(dir / "interpreter");
    if (o.train_predictor) save_network(network, dir / "model.prism");
    write_file_atomic(dir / "optimizer.pt", [&](std::ostream& out) { torch::save(optimizer, out); });
    write_file_atomic(o.out / "progress.json",
                      nlohmann::json{{"run", identity}, {"epochs", history_json(records)}}.dump(2));
    if (epoch > 1) fs::remove_all(checkpoint_dir(o.out, epoch - 1));
  }
  network.set_training(false);
  interpreter->eval();

  auto provenance = o.provenance;
  interpreter->save(o.out / "interpreter");
  if (o.train_predictor) {
    save_network(network, o.out / "model.prism", {{"flint", "predictor of a jointly trained FLINT model"}});
    provenance.model = fs::absolute(o.out / "model.prism").string();
    provenance.model_fingerprint = file_fingerprint(o.out / "model.prism");
  }
  const nlohmann::json record = {{"mode", o.train_predictor ? "joint" : "posthoc"},
                           {"architecture", interpreter->architecture().to_json()},
                           {"class_names", network.class_names()},
                           {"options", {{"weights", options_json(o.weights)},
                                        {"learning_rate", o.learning_rate},
                                        {"batch_size", o.batch_size},
                                        {"epochs", o.epochs},
                                        {"seed", o.seed}}},
                           {"provenance", provenance.to_json()},
                           {"train_samples", train.size()},
                           {"history", history_json(records)}};
  writer.finish(record, "flint");
  return records;
}

Provenance FlintFolder::provenance() const { return Provenance::from_json(record.at("provenance")); }

FlintFolder open_flint(const fs::path& dir) {
  const auto path = dir / "flint.json";
  FlintFolder folder;
  folder.record = read_fit_record(dir, "flint", "prism flint train or prism flint posthoc with --out " + dir.string(),
                                  "flint.json");
  try {
    folder.record.at("train_samples").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + " is corrupt (" + e.what() + "); re-run the FLINT training");
  }
  folder.interpreter = FlintInterpreter(FlintArchitecture::from_json(folder.record.at("architecture")));
  folder.interpreter->load(dir / "interpreter");
  folder.interpreter->eval();
  return folder;
}

FlintFit learn_flint(Network& network, const Dataset& train, const Dataset* test, const FlintFitOptions& options) {
  const auto layers = options.layers.empty() ? default_flint_layers(network) : options.layers;
  torch::manual_seed(options.train.seed);  // the interpreter's initial weights
  FlintFit fit{FlintInterpreter(describe_flint_layers(network, layers, options.attributes)), {}};
  fit.history = train_flint(network, fit.interpreter, train, test, options.train);
  fit.interpreter->eval();
  network.set_training(false);
  return fit;
}

}  // namespace prism
