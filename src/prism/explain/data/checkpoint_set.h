// The networks of a training run's checkpoints, for the data attributors that sum or average over them
// (TracIn, TRAK). Loaded on first use and kept; with no files, the fitted network is the only checkpoint.
#pragma once
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

}  // namespace prism
