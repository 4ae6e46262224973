// The EBE-DNN evaluation (seed 000): for each layer and k, how accurate the kNN on the layer's embedding is,
// how often it agrees with the network, and how concentrated its explanations are. The layer and k are
// chosen on a validation split and reported on the test split.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/explain/example/ebe_dnn.h"
#include "prism/model/network.h"

namespace prism {

struct KnnSweepOptions {
  std::vector<std::string> layers;  // empty: every layer of the network
  std::vector<int64_t> ks = {1, 5, 10, 20};
  std::string pool = "flatten", metric = "l2", weights = "uniform";
  int64_t batch_size = 256;
  // Layers whose embeddings of all three splits fit together are embedded in one pass.
  double memory_budget_bytes = 4.0 * (1 << 30);

  // The options a person chooses (the layers are the caller's: "all" or a list).
  template <typename Visit>
  void visit(Visit&& option) {
    option("k", ks, "values of k");
    option("pool", pool, "flatten, or avg over space for conv maps");
    option("metric", metric, "l2 or cosine");
    option("weights", weights, "uniform or distance");
    option("batch_size", batch_size, "samples per forward pass");
  }
};

struct KnnSweepRow {
  std::string layer, split;  // split: "validation" or "test"
  int64_t depth = 0, dim = 0, k = 0;
  double knn_accuracy = 0, network_accuracy = 0, agreement = 0;
  double mean_nonzero = 0, mean_to_half = 0, mean_to_90 = 0;  // concentration of the weights
  double seconds = 0;  // embedding the three splits (its share of a shared pass) and searching (shared by its k)
};

struct KnnSweepResult {
  std::vector<KnnSweepRow> rows;
  std::string best_layer;  // chosen by validation kNN accuracy
  int64_t best_k = 0;
  nlohmann::json to_json() const;
  std::string to_csv() const;
  std::string table() const;  // Markdown, test split, the best k of each layer
};

KnnSweepResult knn_sweep(Network& network, const Dataset& train, const Dataset& validation, const Dataset& test,
                         const KnnSweepOptions& options);

}  // namespace prism
