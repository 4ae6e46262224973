// The networks of a training run's checkpoints, for the data attributors that sum or average over them
// (TracIn, TRAK). Loaded on first use and kept; with no files, the fitted network is the only checkpoint.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

class CheckpointSet {
 public:
  CheckpointSet(std::vector<std::string> paths, std::string method)
      : paths_(std::move(paths)), method_(std::move(method)) {}
  size_t count() const { return paths_.empty() ? 1 : paths_.size(); }
  // Checkpoint t's network (`network` itself when there are no files); a missing file is named in the error.
  Network& at(size_t t, Network& network);

 private:
  std::vector<std::string> paths_;
  std::string method_;
  std::vector<std::unique_ptr<Network>> loaded_;
};

// The options of data method `method` fitted on the model file `model`, its checkpoints resolved from
// `checkpoints`: "" for the method's default (TracIn sums over the per-epoch checkpoints that prism train kept
// beside the model, weighted by the run's learning rates, and uses the model alone, with a warning, when there are
// none; TRAK uses the model alone), "all" for the kept checkpoints, or model files, comma-separated. Checkpoints
// already in `options` are kept. The other methods take none.
nlohmann::json with_checkpoints(const std::string& method, nlohmann::json options, const std::filesystem::path& model,
                                const std::string& checkpoints = "");

}  // namespace prism
