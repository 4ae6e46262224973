// EBE-DNN (Dong, Boström, Vazirgiannis, Bresson, "Obtaining Example-Based Explanations from Deep Neural
// Networks", IDA 2025; seed 000): a k-nearest-neighbour classifier on a layer's embedding. Its prediction is
// exactly the weighted vote p(x) = Σ_i w_i · onehot(y_i) with w_i ≥ 0, Σ_i w_i = 1, so the weights are an
// example attribution that is faithful by construction.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>

#include "prism/explain/example/embedding.h"
#include "prism/explain/example/knn_index.h"
#include "prism/model/fit_folder.h"

namespace prism {

struct EbeOptions {
  int64_t k = 10;
  std::string weights = "uniform";  // "uniform" (1/k) | "distance" (normalised inverse distance)
  int64_t top = 0;                  // keep only the `top` largest weights and renormalise (0: all k)
  double share = 0;                 // keep the fewest examples whose weights reach `share` (0: all k)

  template <typename Visit>
  void visit(Visit&& option) {
    option("k", k, "neighbours");
    option("weights", weights, "uniform (1/k) or distance (normalised inverse distance)");
    option("top", top, "keep only the top largest weights and renormalise (0: all k)");
    option("share", share, "keep the fewest examples whose weights reach this share (0: all k)");
  }
};
void check_ebe_options(const EbeOptions& options);

struct ExampleAttribution {
  torch::Tensor indices;        // [B, k] int64 training examples, nearest first
  torch::Tensor weights;        // [B, k] float32, ≥ 0, each row sums to 1; 0 where truncation dropped one
  torch::Tensor distances;      // [B, k] float32
  torch::Tensor labels;         // [B, k] int64 training labels of the examples
  torch::Tensor probabilities;  // [B, classes] the weighted label vote
  torch::Tensor predictions;    // [B] int64 argmax of the vote (the lowest class on a tie)
  // The full attribution [B, n_train]: zero outside the neighbours.
  torch::Tensor dense(int64_t n_train) const;
};

// Weights of k neighbours from their distances [B, k]: uniform 1/k, or ∝ 1/d (where some distances are
// 0, those neighbours share the weight equally, as scikit-learn does).
torch::Tensor neighbour_weights(const torch::Tensor& distances, const std::string& weighting);
// Keeps the `top` largest weights of each row, then the fewest reaching `share`; renormalises.
torch::Tensor keep_largest(const torch::Tensor& weights, int64_t top, double share);
// Σ_i w_i · onehot(labels_i) per row: [B, classes].
torch::Tensor label_vote(const torch::Tensor& labels, const torch::Tensor& weights, int64_t num_classes);
// Per row, the fewest examples whose weights (largest first) reach `share` of the total.
torch::Tensor examples_to_reach(const torch::Tensor& weights, double share);
// The attribution of already-found neighbours.
ExampleAttribution attribute_neighbours(const Neighbours& neighbours, const torch::Tensor& train_labels,
                                        int64_t num_classes, const EbeOptions& options);

// A fitted EBE-DNN: the training embeddings (memory-mapped), their labels and the search index, in a folder:
// fit.json (what it was built from), embeddings.npy [N, D] float32, labels.npy [N] int64, index.faiss.
class EbeDnn {
 public:
  struct FitOptions {
    EmbeddingOptions embedding;
    KnnIndexOptions index;

    template <typename Visit>
    void visit(Visit&& option) {
      option("layer", embedding.layer, "the layer embedded (see prism layers; empty: the penultimate features)");
      option("pool", embedding.pool, "flatten, or avg (global average over space of a [B, C, H, W] map)");
      option("index", index.kind, "flat (exact), ivf or hnsw");
      option("metric", index.metric, "l2 (Euclidean) or cosine");
      option("nlist", index.nlist, "ivf: inverted lists (0: 4 sqrt(N))");
      option("nprobe", index.nprobe, "ivf: lists visited per query");
      option("hnsw_m", index.hnsw_m, "hnsw: links per node");
      option("ef_search", index.ef_search, "hnsw: candidate list length at search time");
      option("batch_size", embedding.batch_size, "samples per forward pass");
    }
  };
  // Embeds `train`, builds the index and writes the fit folder (model/fit_folder.h) with `provenance`.
  static EbeDnn fit(Network& network, const Dataset& train, const FitOptions& options,
                    const std::filesystem::path& dir, const Provenance& provenance);
  // Opens a fit folder, checking every file against fit.json; a clear error if any is missing or corrupt.
  static EbeDnn open(const std::filesystem::path& dir);

  // Explains `images` [B, C, H, W]: their embeddings' neighbours and weights. The network must be the one
  // the fit was built with (the caller checks the model file; the layer and dimension are checked here).
  ExampleAttribution explain(Network& network, const torch::Tensor& images, const EbeOptions& options) const;

  const nlohmann::json& record() const { return record_; }
  const torch::Tensor& train_labels() const { return labels_; }
  // The whole index; over MPI ranks (flat index) each holds only its shard: use size() and dim() for the fit's.
  const KnnIndex& index() const { return *index_; }
  int64_t size() const { return record_.at("size").get<int64_t>(); }
  int64_t dim() const { return record_.at("dim").get<int64_t>(); }
  int64_t num_classes() const { return record_.at("num_classes").get<int64_t>(); }
  EmbeddingOptions embedding_options() const;

 private:
  nlohmann::json record_;
  torch::Tensor labels_;
  std::shared_ptr<KnnIndex> index_;
  int64_t shard_offset_ = -1;  // over MPI ranks: the first row of this rank's shard (index_ null when empty)
};

}  // namespace prism
