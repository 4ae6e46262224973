// Feature similarity (a baseline of the DualView paper): a_i = ⟨φ(x), φ(x_i)⟩ ("dot") or their cosine, on the
// penultimate features φ. The target class is ignored.
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

struct SimilarityOptions {
  std::string metric = "cosine";  // "cosine" | "dot"

  template <typename Visit>
  void visit(Visit&& option) {
    option("metric", metric, "cosine or dot");
  }
};

class FeatureSimilarity : public DataAttributor {
 public:
  explicit FeatureSimilarity(SimilarityOptions options = {});
  std::string name() const override { return "similarity"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override { return {{"features", features_}}; }
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return features_.defined() ? features_.size(0) : 0; }

 private:
  torch::Tensor rows(torch::Tensor phi) const;
  SimilarityOptions options_;
  torch::Tensor features_;  // [N, d], unit length for cosine
};

}  // namespace prism
