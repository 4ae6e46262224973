#include "prism/evaluate/feature/roar.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "prism/core/error.h"
#include "prism/evaluate/metrics.h"
#include "prism/core/files.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"
#include "prism/evaluate/feature/pixel_removal.h"
#include "prism/io/npy.h"
#include "prism/model/precision.h"
#include "prism/model/predict.h"
#include "prism/explain/feature/collapse.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A cached JSON entry, or null when it is missing, unreadable or made from something else.
nlohmann::json read_entry(const fs::path& path, const nlohmann::json& key) {
  if (!fs::exists(path)) return nullptr;
  try {
    const auto bytes = read_file(path, 1 << 20);
    auto entry = nlohmann::json::parse(bytes.begin(), bytes.end());
    if (entry.value("key", nlohmann::json()) == key) return entry;
  } catch (const std::exception&) {
  }
  return nullptr;
}

// The method's collapsed maps of the training and test images, computed once.
std::pair<torch::Tensor, torch::Tensor> cached_maps(FeatureAttributor& method, Network& trained, const Dataset& train,
                                                    const Dataset& test, const RoarOptions& o, double& seconds) {
  const fs::path dir = o.cache / "maps";
  const nlohmann::json key = {{"key", o.key},        {"method", method.name()},
                              {"options", method.options()}, {"reduce", o.reduce},
                              {"train", train.name}, {"train_size", train.size()},
                              {"test", test.name},   {"test_size", test.size()}};
  const auto train_path = dir / (method.name() + "-train.npy"), test_path = dir / (method.name() + "-test.npy");
  // Over ranks, rank 0 decides whether the cache holds them, so that every rank takes the same path.
  const bool cached = ranks::broadcast(read_entry(dir / (method.name() + ".json"), key).is_null() ? "" : "cached") != "";
  if (cached) {
    auto train_maps = read_npy(train_path), test_maps = read_npy(test_path);
    if (train_maps.size(0) == train.size() && test_maps.size(0) == test.size()) return {train_maps, test_maps};
  }
  const auto start = std::chrono::steady_clock::now();
  const auto train_maps = collapse_channels(
      attribute_over_ranks(method, trained, train.images, train.labels, o.batch_size, method.name() + " (train)"), o.reduce);
  const auto test_maps = collapse_channels(
      attribute_over_ranks(method, trained, test.images, test.labels, o.batch_size, method.name() + " (test)"), o.reduce);
  seconds += seconds_since(start);
  if (ranks::is_root()) {
    make_directory(dir);
    write_npy(train_path, train_maps);
    write_npy(test_path, test_maps);
    write_file_atomic(dir / (method.name() + ".json"), nlohmann::json{{"key", key}}.dump(2));  // written last: marks completion
  }
  return {train_maps, test_maps};
}

nlohmann::json training_key(const TrainOptions& t) {
  return {{"optimizer", t.optimizer}, {"learning_rate", t.learning_rate}, {"momentum", t.momentum},
          {"weight_decay", t.weight_decay}, {"schedule", t.schedule}, {"batch_size", t.batch_size},
          {"epochs", t.epochs}, {"seed", t.seed}, {"augment", t.augment}};
}

std::string fraction_text(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", fraction);
  return text;
}

// Whether the j-th retraining of the run is this rank's: they are dealt out in turn.
bool on_this_rank(size_t j) { return static_cast<int64_t>(j) % ranks::count() == ranks::rank(); }

// Every rank's retrainings, at every rank: each run's (accuracy, seconds, cached) from the rank that ran it.
void gather_runs(RoarResult& result) {
  auto values = torch::zeros({static_cast<int64_t>(result.runs.size()), 3}, torch::kFloat64);
  for (size_t i = 0; i < result.runs.size(); ++i)
    if (on_this_rank(i)) {
      const auto& run = result.runs[i];
      values[i] = torch::tensor({run.accuracy, run.seconds, run.cached ? 1.0 : 0.0}, torch::kFloat64);
    }
  const auto all = ranks::all_gather(values).sum(0);
  for (size_t i = 0; i < result.runs.size(); ++i) {
    auto& run = result.runs[i];
    run.accuracy = all[i][0].item<double>();
    run.seconds = all[i][1].item<double>();
    run.cached = all[i][2].item<double>() > 0;
  }
  result.retraining_seconds =
      ranks::all_gather(torch::tensor({result.retraining_seconds}, torch::kFloat64)).sum().item<double>();
}

}  // namespace

torch::Tensor roar_images(const Network& trained, const torch::Tensor& images, const torch::Tensor& maps,
                          const std::string& mode, double fraction, const std::string& ranking) {
  require(mode == "roar" || mode == "kar", "unknown mode '" + mode + "'; modes are: roar, kar");
  const int64_t pixels = removable_positions(images.sizes());  // pixels, or a table's features
  const auto top = static_cast<int64_t>(std::llround(fraction / 100.0 * pixels));
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < images.size(0); begin += 4096) {
    const int64_t size = std::min<int64_t>(4096, images.size(0) - begin);
    const auto batch = images.narrow(0, begin, size);
    const auto order = rank_pixels(maps.narrow(0, begin, size), ranking);
    const auto fill = fill_values(trained, batch, "mean", 0);
    parts.push_back(mode == "roar" ? remove_pixels(batch, order, top, fill, true)
                                   : remove_pixels(batch, order, pixels - top, fill, false));
  }
  return torch::cat(parts);
}

void check_roar_options(const RoarOptions& o) {
  require(!o.fractions.empty(), "give at least one fraction");
  for (double f : o.fractions)
    require(f > 0 && f < 100, "fractions are percentages of pixels in (0, 100), got " + fraction_text(f));
  require(!o.modes.empty(), "give at least one mode (roar, kar)");
  for (const auto& m : o.modes) require(m == "roar" || m == "kar", "unknown mode '" + m + "'; modes are: roar, kar");
  require(o.seeds >= 1, "give at least one seed");
  require(!o.cache.empty(), "ROAR needs a cache folder");
  require(o.batch_size >= 1, "the batch size must be at least 1");
  collapse_channels(torch::zeros({1, 1, 1}), o.reduce);  // validates the reduction
  resolve_ranking(o.ranking, "random");                   // validates the ranking
}

RoarResult run_roar(Network& trained, const ZooOptions& architecture, const std::vector<FeatureAttributor*>& methods,
                    const Dataset& train, const Dataset& test, const RoarOptions& o) {
  check_roar_options(o);
  require(!methods.empty(), "give at least one method");
  require(train.sample_shape() == test.sample_shape(), "the training and test samples differ in shape");
  RoarResult result;
  result.options = o;
  result.table_rows = train.images.dim() == 2;
  make_directory(o.cache / "runs");

  // One retraining, or its cached result. The retrainings are independent: over the ranks of a split command the
  // j-th goes to rank j mod R (each writes its cache entry), and every rank receives all the results at the end.
  const auto retrain = [&](const std::string& method, const std::string& mode, double fraction, int64_t seed,
                           const nlohmann::json& maps_key, const std::function<Dataset(const Dataset&)>& change) {
    TrainOptions training = o.training;
    training.out.clear();
    training.seed = o.training.seed + static_cast<uint64_t>(seed);
    const nlohmann::json key = {{"key", o.key},          {"maps", maps_key},
                                {"mode", mode},          {"fraction", fraction},
                                {"architecture", architecture.architecture}, {"width", architecture.width},
                                {"training", training_key(training)}, {"train", train.name},
                                {"train_size", train.size()}, {"test", test.name}, {"test_size", test.size()},
                                {"precision", precision_name(current_precision())}};  // of the test pass
    const auto path = o.cache / "runs" / (mode + "-" + method + "-" + fraction_text(fraction) + "-s" +
                                          std::to_string(seed) + ".json");
    RoarRun run{method, mode, fraction, seed};
    if (!on_this_rank(result.runs.size())) {  // another rank's: its result comes at the end
      result.runs.push_back(run);
      return;
    }
    if (const auto entry = read_entry(path, key); !entry.is_null()) {
      run.accuracy = entry.at("accuracy").get<double>();
      run.seconds = entry.at("seconds").get<double>();
      run.cached = true;
    } else {
      const auto start = std::chrono::steady_clock::now();
      const auto modified_train = change(train), modified_test = change(test);
      ZooOptions fresh = architecture;
      fresh.seed = training.seed;
      auto network = make_zoo_network(fresh, trained);
      if (!is_quiet())
        std::fprintf(stderr, "%s %s %s %% (seed %lld): retraining\n", mode.c_str(), method.c_str(),
                   fraction_text(fraction).c_str(), static_cast<long long>(seed));
      train_network(*network, modified_train, nullptr, training);
      run.accuracy = evaluate(*network, modified_test).accuracy;
      run.seconds = seconds_since(start);
      result.retraining_seconds += run.seconds;
      write_file_atomic(path, nlohmann::json{{"key", key}, {"accuracy", run.accuracy}, {"seconds", run.seconds}}.dump(2));
    }
    result.runs.push_back(run);
  };

  for (int64_t seed = 0; seed < o.seeds; ++seed)
    retrain("none", "none", 0, seed, nullptr, [](const Dataset& data) { return data; });
  for (auto* method : methods) {
    result.methods.push_back(method->name());
    const auto ranking = resolve_ranking(o.ranking, *method);
    result.rankings.push_back(ranking);
    // The key is taken before any attribution: some methods fill in defaults when first used (Grad-CAM's layer).
    const nlohmann::json maps_key = {
        {"method", method->name()}, {"options", method->options()}, {"reduce", o.reduce}, {"ranking", ranking}};
    const auto [train_maps, test_maps] = cached_maps(*method, trained, train, test, o, result.attribution_seconds);
    for (const auto& mode : o.modes)
      for (double fraction : o.fractions)
        for (int64_t seed = 0; seed < o.seeds; ++seed)
          retrain(method->name(), mode, fraction, seed, maps_key, [&](const Dataset& data) {
            Dataset changed = data;
            changed.images =
                roar_images(trained, data.images, &data == &train ? train_maps : test_maps, mode, fraction, ranking);
            return changed;
          });
  }
  if (ranks::count() > 1) gather_runs(result);
  return result;
}

double RoarResult::accuracy(const std::string& method, const std::string& mode, double fraction) const {
  double sum = 0;
  int64_t count = 0;
  for (const auto& run : runs)
    if ((mode == "none" ? run.mode == "none" : run.method == method && run.mode == mode && run.fraction == fraction)) {
      sum += run.accuracy;
      ++count;
    }
  return count ? sum / count : std::nan("");
}

nlohmann::json RoarResult::to_json() const {
  nlohmann::json runs_json = nlohmann::json::array();
  for (const auto& r : runs)
    runs_json.push_back({{"method", r.method}, {"mode", r.mode}, {"fraction", r.fraction}, {"seed", r.seed},
                         {"accuracy", r.accuracy}, {"seconds", r.seconds}, {"cached", r.cached}});
  nlohmann::json summary = nlohmann::json::object();
  for (const auto& mode : options.modes)
    for (const auto& method : methods) {
      std::vector<double> curve;
      for (double f : options.fractions) curve.push_back(accuracy(method, mode, f));
      summary[mode][method] = curve;
    }
  return {{"fractions", options.fractions},
          {"modes", options.modes},
          {"seeds", options.seeds},
          {"reduce", options.reduce},
          {"ranking", options.ranking},
          {"rankings", rankings},
          {"training", training_key(options.training)},
          {"baseline_accuracy", accuracy("", "none", 0)},
          {"better", metric_directions("roar")},
          {"accuracy", summary},
          {"attribution_seconds", attribution_seconds},
          {"retraining_seconds", retraining_seconds},
          {"runs", runs_json}};
}

std::string RoarResult::to_csv() const {
  std::ostringstream out;
  out << "method,mode,fraction,seed,accuracy,seconds,cached\n";
  for (const auto& r : runs)
    out << r.method << ',' << r.mode << ',' << r.fraction << ',' << r.seed << ',' << r.accuracy << ',' << r.seconds
        << ',' << (r.cached ? "true" : "false") << '\n';
  return out.str();
}

std::string RoarResult::table(const std::string& mode) const {
  std::ostringstream out;
  out << "| method (" << mode << (mode == "roar" ? ", % removed; lower is better" : ", % kept; higher is better")
      << ") | ranked by |";
  for (double f : options.fractions) out << ' ' << fraction_text(f) << " % |";
  out << "\n|---|---|";
  for (size_t i = 0; i < options.fractions.size(); ++i) out << "---|";
  out << '\n';
  char cell[32];
  for (size_t m = 0; m < methods.size(); ++m) {
    const auto& method = methods[m];
    out << "| " << method << " | " << rankings[m] << " |";
    for (double f : options.fractions) {
      std::snprintf(cell, sizeof cell, " %.2f %% |", 100 * accuracy(method, mode, f));
      out << cell;
    }
    out << '\n';
  }
  std::snprintf(cell, sizeof cell, "%.2f %%", 100 * accuracy("", "none", 0));
  out << "\nUnmodified data: " << cell << " test accuracy.\n";
  return out.str();
}

}  // namespace prism
