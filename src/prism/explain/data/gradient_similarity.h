// Gradient similarity (Charpiat, Girard, Felardos, Tarabalka, "Input Similarity from the Neural Network
// Perspective", NeurIPS 2019; quanda's GradDot and GradCos): a_i = ⟨g(x), g(x_i)⟩ ("dot") or their cosine, g =
// ∇_θ L(x, y) of the cross-entropy over every parameter of the network (or the named layers'). TracIn at one
// checkpoint with every parameter is the dot form. The gradients are sketched to `projection_dim` coordinates by a
// seeded count sketch S (Charikar, Chen, Farach-Colton 2002; Weinberger et al. 2009: coordinate j is added with a
// random sign s(j) to bucket h(j)), which keeps inner products in expectation, E⟨Sg, Sg'⟩ = ⟨g, g'⟩, costs one pass
// over g and needs no projection matrix; projection_dim 0 keeps the exact gradients. Self-influence is ‖g_i‖².
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

struct GradientSimilarityOptions {
  std::string metric = "cosine";  // "cosine" | "dot"
  std::vector<std::string> layers;  // empty: every parameter
  int64_t projection_dim = 1024;    // 0: the exact gradients
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("metric", metric, "cosine or dot");
    option("layers", layers, "use these layers' parameters (empty: every parameter of the network)");
    option("projection_dim", projection_dim, "coordinates of the gradients' count sketch (0: the exact gradients)");
    option("seed", seed, "seed of the sketch");
  }
};

class GradientSimilarity : public DataAttributor {
 public:
  explicit GradientSimilarity(GradientSimilarityOptions options = {});
  std::string name() const override { return "gradient-similarity"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override { return self_; }
  std::map<std::string, torch::Tensor> state() const override {
    return {{"gradients", gradients_}, {"self_influence", self_}};
  }
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return gradients_.defined() ? gradients_.size(0) : 0; }

 private:
  GradientSimilarityOptions options_;
  torch::Tensor gradients_, self_;  // [N, projection_dim or P], [N]
};

}  // namespace prism
