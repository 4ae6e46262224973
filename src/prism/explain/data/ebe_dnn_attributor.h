// EBE-DNN (Dong et al., IDA 2025; seed 000) as a data attributor, so the data-attribution evaluation and the
// report score it beside DualView and the others. Its prediction is the kNN vote p_t(x) = Σ_{i ∈ N_k(x)} w_i
// [y_i = t] on a layer's embedding; the attribution of the target's vote to training example i is w_i [y_i = t]
// (zero outside the k neighbours), so each row sums exactly to the vote's probability of the target. Its
// self-influence is the leave-one-out disagreement 1 − Σ_{j ∈ N_k(i) \ i} w_j [y_j = y_i]: how little its own
// neighbours vote for its label, which ranks mislabelled samples first. `prism examples` keeps the searchable
// fit folder; this form holds the embeddings in memory and searches them exactly.
#pragma once
#include "prism/explain/data/attributor.h"
#include "prism/explain/example/ebe_dnn.h"

namespace prism {

struct EbeDnnAttributorOptions {
  std::string layer;  // empty: the penultimate features (the input of the last linear op)
  std::string pool = "flatten";
  std::string metric = "l2";
  int64_t k = 10;
  std::string weights = "uniform";

  template <typename Visit>
  void visit(Visit&& option) {
    option("layer", layer, "layer whose embedding is searched (empty: the penultimate features)");
    option("pool", pool, "flatten, or avg over space of a [C, H, W] map");
    option("metric", metric, "l2 or cosine");
    option("k", k, "neighbours that vote");
    option("weights", weights, "uniform (1/k) or distance (normalised inverse distance)");
  }
};

class EbeDnnAttributor : public DataAttributor {
 public:
  explicit EbeDnnAttributor(EbeDnnAttributorOptions options = {});
  std::string name() const override { return "ebe-dnn"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override { return self_influence_; }
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return labels_.defined() ? labels_.size(0) : 0; }

 private:
  EmbeddingOptions embedding(const Network& network) const;
  Neighbours search(const torch::Tensor& queries, int64_t k) const;
  torch::Tensor neighbour_labels(const torch::Tensor& indices) const;  // [B, k] labels of [B, k] indices

  EbeDnnAttributorOptions options_;
  torch::Tensor embeddings_, labels_, self_influence_;
  std::shared_ptr<KnnIndex> index_;
};

}  // namespace prism
