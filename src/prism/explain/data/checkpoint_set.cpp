#include "prism/explain/data/checkpoint_set.h"

#include <filesystem>
#include <sstream>

#include "prism/core/error.h"
#include "prism/model/model_file.h"
#include "prism/model/train.h"

namespace prism {

Network& CheckpointSet::at(size_t t, Network& network) {
  if (paths_.empty()) return network;
  if (loaded_.empty())
    for (const auto& path : paths_) {
      require(std::filesystem::exists(path), method_ + ": checkpoint " + path +
                                                 " is missing; re-train with prism train (it saves one per epoch) "
                                                 "or re-run the fit with other checkpoints");
      loaded_.push_back(load_network(path, network.input_shape()));
    }
  return *loaded_.at(t);
}

nlohmann::json with_checkpoints(const std::string& method, nlohmann::json options, const std::filesystem::path& model,
                                const std::string& checkpoints) {
  namespace fs = std::filesystem;
  if (method != "tracin" && method != "trak") {
    require(checkpoints.empty(), "checkpoints apply to tracin and trak only, not " + method);
    return options;
  }
  if (options.contains("checkpoints")) return options;
  const bool kept = fs::is_directory(fs::absolute(model).parent_path() / "checkpoints");
  if (checkpoints == "all" || (checkpoints.empty() && method == "tracin" && kept)) {
    const auto [files, rates] = training_checkpoints(model, method);
    options["checkpoints"] = files;
    if (method == "tracin") options["learning_rates"] = rates;
  } else if (checkpoints.empty()) {
    if (method == "tracin")
      TORCH_WARN("tracin: ", model.string(), " has no per-epoch checkpoints beside it (prism train keeps them); "
                 "TracIn uses the model alone");
  } else {
    std::vector<std::string> files;
    std::stringstream stream(checkpoints);
    for (std::string file; std::getline(stream, file, ',');) {
      require(fs::exists(file), "checkpoint " + file + " not found");
      files.push_back(file);
    }
    options["checkpoints"] = files;
  }
  return options;
}

}  // namespace prism
