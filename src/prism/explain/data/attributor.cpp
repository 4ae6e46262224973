#include "prism/explain/data/attributor.h"

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/json_options.h"
#include "prism/explain/data/dualview.h"
#include "prism/explain/data/influence.h"
#include "prism/explain/data/random_attributor.h"
#include "prism/explain/data/representer.h"
#include "prism/explain/data/similarity.h"
#include "prism/explain/data/tracin.h"
#include "prism/explain/data/trak.h"
#include "prism/io/npy.h"

namespace prism {
namespace fs = std::filesystem;

std::vector<std::string> data_methods() {
  return {"dualview", "representer", "tracin", "influence", "trak", "similarity", "random"};
}

std::unique_ptr<DataAttributor> make_data_attributor(const std::string& name, const nlohmann::json& o) {
  std::unique_ptr<DataAttributor> made;
  if (name == "dualview") {
    CrammerSingerOptions options;
    read_option(o, "C", options.C, name);
    read_option(o, "tolerance", options.tolerance, name);
    read_option(o, "max_iterations", options.max_iterations, name);
    read_option(o, "bias", options.bias, name);
    read_option(o, "seed", options.seed, name);
    require(options.C > 0, "dualview: C must be positive (got " + std::to_string(options.C) + ")");
    made = std::make_unique<DualView>(options);
  } else if (name == "representer") {
    RepresenterOptions options;
    read_option(o, "lambda", options.lambda, name);
    read_option(o, "max_iterations", options.max_iterations, name);
    made = std::make_unique<RepresenterPoints>(options);
  } else if (name == "tracin") {
    TracInOptions options;
    read_option(o, "checkpoints", options.checkpoints, name);
    read_option(o, "learning_rates", options.learning_rates, name);
    read_option(o, "layers", options.layers, name);
    made = std::make_unique<TracIn>(options);
  } else if (name == "influence") {
    InfluenceOptions options;
    read_option(o, "damping", options.damping, name);
    read_option(o, "layers", options.layers, name);
    read_option(o, "cg_iterations", options.cg_iterations, name);
    read_option(o, "cg_tolerance", options.cg_tolerance, name);
    made = std::make_unique<InfluenceFunctions>(options);
  } else if (name == "trak") {
    TrakOptions options;
    read_option(o, "projection_dim", options.projection_dim, name);
    read_option(o, "lambda", options.lambda, name);
    read_option(o, "checkpoints", options.checkpoints, name);
    read_option(o, "seed", options.seed, name);
    made = std::make_unique<Trak>(options);
  } else if (name == "similarity") {
    SimilarityOptions options;
    read_option(o, "metric", options.metric, name);
    made = std::make_unique<FeatureSimilarity>(options);
  } else if (name == "random") {
    uint64_t seed = 0;
    read_option(o, "seed", seed, name);
    made = std::make_unique<RandomAttributor>(seed);
  } else {
    std::string names;
    for (const auto& m : data_methods()) names += (names.empty() ? "" : ", ") + m;
    throw Error("unknown data-attribution method '" + name + "'; methods are: " + names);
  }
  check_option_keys(o, made->options(), name);
  return made;
}

TopAttributions top_attributions(const torch::Tensor& attributions, int64_t k, bool largest) {
  require(attributions.dim() == 2, "attributions must be [B, N]");
  k = std::min<int64_t>(k, attributions.size(1));
  auto [values, indices] = attributions.topk(k, 1, largest);
  return {indices, values};
}

void save_data_fit(const fs::path& dir, const DataAttributor& attributor, const nlohmann::json& provenance) {
  const DirectoryLock lock(dir);
  // An earlier fit's record goes first, so that the folder never pairs an old fit.json with new arrays.
  std::error_code ignored;
  fs::remove(dir / "fit.json", ignored);
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& [name, tensor] : attributor.state()) {
    write_npy(dir / (name + ".npy"), tensor);
    arrays[name] = tensor.sizes().vec();
  }
  const nlohmann::json record = {{"format", "prism-data-attribution-fit"},
                                 {"version", 1},
                                 {"method", attributor.name()},
                                 {"options", attributor.options()},
                                 {"train_size", attributor.train_size()},
                                 {"arrays", arrays},
                                 {"report", attributor.fit_report()},
                                 {"provenance", provenance}};
  write_file_atomic(dir / "fit.json", record.dump(2));
}

DataFit open_data_fit(const fs::path& dir) {
  const auto record_path = dir / "fit.json";
  require(fs::exists(record_path), dir.string() + " holds no finished fit (no fit.json); run prism influence fit");
  DataFit fit;
  try {
    const auto bytes = read_file(record_path, 1 << 24);
    fit.record = nlohmann::json::parse(bytes.begin(), bytes.end());
    require(fit.record.at("format") == "prism-data-attribution-fit" && fit.record.at("version") == 1,
            record_path.string() + " is not a data-attribution fit of this prism version; re-run prism influence fit");
    fit.attributor = make_data_attributor(fit.record.at("method").get<std::string>(), fit.record.at("options"));
    std::map<std::string, torch::Tensor> state;
    for (const auto& item : fit.record.at("arrays").items()) {
      require(item.key().find_first_of("/\\.") == std::string::npos, record_path.string() + " names a bad array '" +
                                                                         item.key() + "'; re-run the fit");
      auto tensor = read_npy(dir / (item.key() + ".npy"));
      require(tensor.sizes().vec() == item.value().get<std::vector<int64_t>>(),
              (dir / (item.key() + ".npy")).string() + " does not have the shape fit.json records; re-run the fit");
      state[item.key()] = tensor;
    }
    fit.attributor->set_state(state);
    require(fit.attributor->train_size() == fit.record.at("train_size").get<int64_t>(),
            record_path.string() + " and its arrays disagree on the training-set size; re-run the fit");
  } catch (const nlohmann::json::exception& e) {
    throw Error(record_path.string() + " is corrupt (" + e.what() + "); re-run prism influence fit");
  } catch (const std::out_of_range&) {
    throw Error(dir.string() + " lacks an array the " + fit.record.value("method", std::string("fit")) +
                " method needs; re-run prism influence fit");
  }
  return fit;
}

}  // namespace prism
