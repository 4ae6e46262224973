#include "prism/explain/data/checkpoint_set.h"

#include <filesystem>

#include "prism/core/error.h"
#include "prism/model/model_file.h"

namespace prism {

Network& CheckpointSet::at(size_t t, Network& network) {
  if (paths_.empty()) return network;
  if (loaded_.empty())
    for (const auto& path : paths_) {
      require(std::filesystem::exists(path), method_ + ": checkpoint " + path +
                                                 " is missing; re-train with prism train (it saves one per epoch) "
                                                 "or re-run the fit with --checkpoints");
      loaded_.push_back(load_network(path, network.input_shape()));
    }
  return *loaded_.at(t);
}

}  // namespace prism
