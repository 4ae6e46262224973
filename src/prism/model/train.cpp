#include "prism/model/train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/threads.h"
#include "prism/model/torchscript_archive.h"
#include "prism/model/model_file.h"
#include "prism/model/predict.h"
#include "prism/model/zoo.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

void check_options(const TrainOptions& o, const Dataset& train) {
  require(o.optimizer == "adam" || o.optimizer == "sgd", "training: unknown optimizer '" + o.optimizer + "'; use adam or sgd");
  require(o.schedule == "constant" || o.schedule == "step" || o.schedule == "cosine",
          "training: unknown schedule '" + o.schedule + "'; use constant, step or cosine");
  require(o.learning_rate > 0 && std::isfinite(o.learning_rate), "training: lr must be positive");
  require(o.batch_size >= 1, "training: batch_size must be at least 1");
  require(o.epochs >= 1, "training: epochs must be at least 1");
  require(o.step_every >= 1, "training: step_every must be at least 1 (epochs between decays)");
  require(train.size() >= 1, "the training set is empty");
  require(!o.augment || train.is_image(), "augment crops and flips images; leave it off for tables and sequences");
}

double learning_rate_at(const TrainOptions& o, int64_t epoch) {  // epoch counts from 0
  if (o.schedule == "step") return o.learning_rate * std::pow(o.step_gamma, epoch / o.step_every);
  if (o.schedule == "cosine") return o.learning_rate * 0.5 * (1 + std::cos(M_PI * epoch / o.epochs));
  return o.learning_rate;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Network& network, const TrainOptions& o) {
  for (auto& p : network.parameters()) p.requires_grad_(true);  // a model file may have frozen them
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        network.parameters(), torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
  return std::make_unique<torch::optim::Adam>(network.parameters(),
                                              torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
}

// Random crop after zero padding of 4 and a horizontal flip with probability 1/2, per image.
torch::Tensor augment(const torch::Tensor& batch, torch::Generator& generator) {
  const int64_t h = batch.size(2), w = batch.size(3);
  auto padded = torch::constant_pad_nd(batch, {4, 4, 4, 4});
  auto offsets = torch::randint(0, 9, {batch.size(0), 2}, generator, torch::kInt64);
  auto flips = torch::randint(0, 2, {batch.size(0)}, generator, torch::kInt64);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < batch.size(0); ++i) {
    auto image = padded[i].narrow(1, offsets[i][0].item<int64_t>(), h).narrow(2, offsets[i][1].item<int64_t>(), w);
    out.push_back(flips[i].item<int64_t>() ? image.flip({2}) : image);
  }
  return torch::stack(out);
}

// What must be equal for a run folder's checkpoints to be continued.
nlohmann::json run_identity(Network& network, const Dataset& train, const TrainOptions& o) {
  return {{"architecture", network.architecture()}, {"width", zoo_options(network).width},
          {"model_seed", zoo_options(network).seed}, {"data", train.name},
          {"train_size", train.size()},             {"label_sum", train.labels.sum().item<int64_t>()},
          {"optimizer", o.optimizer},               {"learning_rate", o.learning_rate},
          {"momentum", o.momentum},                 {"weight_decay", o.weight_decay},
          {"schedule", o.schedule},                 {"step_every", o.step_every},
          {"step_gamma", o.step_gamma},             {"batch_size", o.batch_size},
          {"seed", o.seed},                         {"augment", o.augment},
          {"epochs", o.schedule == "cosine" ? o.epochs : 0}};
}

nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},           {"learning_rate", r.learning_rate}, {"train_loss", r.train_loss},
          {"train_accuracy", r.train_accuracy}, {"test_accuracy", r.test_accuracy}, {"seconds", r.seconds}};
}

nlohmann::json history_json(const nlohmann::json& identity, const std::vector<EpochRecord>& records) {
  nlohmann::json history = {{"run", identity}, {"epochs", nlohmann::json::array()}};
  for (const auto& r : records) history["epochs"].push_back(to_json(r));
  return history;
}

fs::path checkpoint_path(const fs::path& out, int64_t epoch) {
  return out / "checkpoints" / numbered_name("epoch-%03lld.prism", epoch);
}

// Loads an earlier run's state; returns the records of its completed epochs.
std::vector<EpochRecord> resume(Network& network, torch::optim::Optimizer& optimizer, const TrainOptions& o,
                                const nlohmann::json& identity) {
  const fs::path history_path = o.out / "history.json";
  if (o.out.empty() || !fs::exists(history_path)) return {};
  nlohmann::json history;
  try {
    history = nlohmann::json::parse(std::ifstream(history_path));
  } catch (const std::exception&) {
    throw Error(history_path.string() + " is corrupt; delete the run folder or choose another --out");
  }
  require(history.value("run", nlohmann::json()) == identity,
          o.out.string() + " holds a training run with other options or data; choose another --out or delete it");
  std::vector<EpochRecord> records;
  for (const auto& r : history.at("epochs"))
    records.push_back({r.at("epoch"), r.at("learning_rate"), r.at("train_loss"), r.at("train_accuracy"),
                       r.at("test_accuracy"), r.at("seconds")});
  if (records.empty()) return records;
  const auto done = records.back().epoch;
  auto saved = load_network(checkpoint_path(o.out, done));
  torch::NoGradGuard no_grad;
  auto target = zoo_state(network), source = zoo_state(*saved);
  for (size_t i = 0; i < target.size(); ++i) target[i].second.copy_(source[i].second);
  load_optimizer_state(optimizer, o.out / "optimizer.pt");
  return records;
}

}  // namespace

std::vector<EpochRecord> train_network(Network& network, const Dataset& train, const Dataset* test,
                                       const TrainOptions& o) {
  check_options(o, train);
  require(train.num_classes() <= network.num_classes(),
          "the data has " + std::to_string(train.num_classes()) + " classes but the model has " +
              std::to_string(network.num_classes()) + " outputs");
  std::optional<DirectoryLock> lock;
  if (!o.out.empty()) {
    lock.emplace(o.out);
    make_directory(o.out / "checkpoints");
  }
  auto optimizer = make_optimizer(network, o);
  SingleThreadedBlas blas;  // small batches: faster without BLAS's own threads
  const auto identity = run_identity(network, train, o);
  auto records = resume(network, *optimizer, o, identity);
  if (!records.empty() && !is_quiet())
    std::fprintf(stderr, "resuming %s after epoch %lld\n", o.out.c_str(), static_cast<long long>(records.back().epoch));

  const int64_t n = train.size();
  for (int64_t epoch = records.empty() ? 0 : records.back().epoch; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const double lr = learning_rate_at(o, epoch);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003 + epoch);
    torch::manual_seed(o.seed * 1000003 + epoch);  // dropout
    const auto order = torch::randperm(n, generator, torch::kInt64);
    network.set_training(true);
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), n);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    char loss_text[32], accuracy_text[32];
    for (int64_t begin = 0; begin < n; begin += o.batch_size) {
      const auto index = order.narrow(0, begin, std::min(o.batch_size, n - begin));
      auto images = train.images.index_select(0, index);
      if (o.augment) images = augment(images, generator);
      const auto labels = train.labels.index_select(0, index).to(network.device());
      optimizer->zero_grad();
      const auto logits = network.forward(images.to(network.device()));
      const auto loss = torch::cross_entropy_loss(logits, labels);
      loss.backward();
      optimizer->step();
      const double batch_loss = loss.item<double>();
      require(std::isfinite(batch_loss), "training diverged (loss is " + std::to_string(batch_loss) +
                                             ") in epoch " + std::to_string(epoch + 1) + "; lower --lr");
      loss_sum += batch_loss * index.size(0);
      correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
      seen += index.size(0);
      std::snprintf(loss_text, sizeof loss_text, "%.4f", loss_sum / seen);
      std::snprintf(accuracy_text, sizeof accuracy_text, "%.2f%%", 100.0 * correct / seen);
      progress.advance(index.size(0), {{"loss", loss_text}, {"acc", accuracy_text}});
    }
    EpochRecord record{epoch + 1, lr, loss_sum / n, double(correct) / n, 0, 0};
    std::vector<std::pair<std::string, std::string>> figures = {{"loss", loss_text}, {"acc", accuracy_text}};
    if (test) {
      record.test_accuracy = evaluate(network, *test).accuracy;
      char test_text[32];
      std::snprintf(test_text, sizeof test_text, "%.2f%%", 100 * record.test_accuracy);
      figures.emplace_back("test", test_text);
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish(figures);
    records.push_back(record);

    if (!o.out.empty()) {  // checkpoint, optimizer, then history: history names only complete epochs
      const auto history = history_json(identity, records);
      save_network(network, checkpoint_path(o.out, record.epoch), history);
      write_file_atomic(o.out / "optimizer.pt", [&](std::ostream& out) { torch::save(*optimizer, out); });
      write_file_atomic(o.out / "history.json", history.dump(2));
    }
  }
  if (!o.out.empty()) {
    save_network(network, o.out / "model.prism", history_json(identity, records));
  }
  network.set_training(false);
  return records;
}

std::pair<std::vector<std::string>, std::vector<double>> training_checkpoints(const std::filesystem::path& model,
                                                                              const std::string& method) {
  const auto run = fs::absolute(model).parent_path();
  std::vector<std::string> files;
  if (fs::is_directory(run / "checkpoints"))
    for (const auto& entry : fs::directory_iterator(run / "checkpoints"))
      if (entry.path().extension() == ".prism" && entry.path().filename().string().rfind("epoch-", 0) == 0)
        files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  require(!files.empty(), method + " needs the per-epoch checkpoints that prism train saves, and " +
                              (run / "checkpoints").string() + " holds none; give the checkpoints (P1,P2,...)");
  std::vector<double> rates(files.size(), 1.0);
  try {
    const auto bytes = read_file(run / "history.json", 1 << 24);
    const auto history = nlohmann::json::parse(bytes.begin(), bytes.end());
    const auto& epochs = history.at("epochs");
    require(epochs.size() >= files.size(), (run / "history.json").string() + " records fewer epochs than " +
                                               (run / "checkpoints").string() + " holds; re-train");
    for (size_t t = 0; t < files.size(); ++t) rates[t] = epochs.at(t).at("learning_rate").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error((run / "history.json").string() + " is corrupt (" + e.what() + "); re-train or give the learning_rates");
  }
  return {files, rates};
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const fs::path& path) {
  const std::string advice = "; delete the folder or choose another --out";
  load_checked_archive(path, advice);  // a second read on resume only: torch::load cannot take the checked module
  try {
    torch::load(optimizer, path.string());
  } catch (const std::exception& e) {
    throw Error(path.string() + " cannot be read (" + first_line(e) + ")" + advice);
  }
}

}  // namespace prism
