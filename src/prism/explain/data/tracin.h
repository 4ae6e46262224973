// TracIn (Pruthi, Liu, Kale, Sundararajan, "Estimating Training Data Influence by Tracing Gradient
// Descent", NeurIPS 2020), TracInCP on the last layer: a_i = Σ_t η_t ∇_θ L(x_i)·∇_θ L(x) over checkpoints t,
// θ = (W, b) of the final linear layer. There the gradient is the outer product of ∂L/∂z and φ, so the dot
// product is exact and cheap: (φ_i·φ(x) + 1)(∂L_i/∂z · ∂L(x)/∂z) (the 1 for the bias). With `layers`, θ is
// those layers' parameters instead and the gradients come from autograd per example (the training images are
// kept in the fit and their gradients recomputed at each explanation). With `projection_dim` k > 0, θ is every
// parameter (or `layers`') and each checkpoint's training gradients are kept count-sketched to k coordinates
// (parameter_gradients.h), which keeps the dot products in expectation: TracInCP over the whole network with a
// seeded random projection, as quanda's TracInCPFastRandomProj projects its gradients.
#pragma once
#include "prism/explain/data/attributor.h"
#include "prism/explain/data/checkpoint_set.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {

struct TracInOptions {
  std::vector<std::string> checkpoints;  // model files of the checkpoints; empty: the fitted network alone
  std::vector<double> learning_rates;    // η_t per checkpoint; empty: 1 each
  std::vector<std::string> layers;       // parameters of these layers; empty: the last layer's shortcut
  int64_t projection_dim = 0;            // > 0: sketched gradients of every parameter (or `layers`')
  uint64_t seed = 0;                     // of the sketch

  template <typename Visit>
  void visit(Visit&& option) {
    option("checkpoints", checkpoints, "model files of the checkpoints (empty: the fitted network alone)");
    option("learning_rates", learning_rates, "the learning rate at each checkpoint (empty: 1 each)");
    option("layers", layers, "use these layers' parameters, per-example autograd (empty: the last layer's exact "
                             "shortcut, or every parameter with a projection)");
    option("projection_dim", projection_dim, "> 0: keep every parameter's (or the layers') gradients count-sketched "
                                             "to this many coordinates per checkpoint (0: no projection)");
    option("seed", seed, "seed of the projection");
  }
};

class TracIn : public DataAttributor {
 public:
  explicit TracIn(TracInOptions options = {});
  std::string name() const override { return "tracin"; }
  nlohmann::json options() const override;
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override {
    if (!sketches_.empty()) return sketches_[0].size(0);
    return train_labels_.defined() ? train_labels_.size(0) : features_.empty() ? 0 : features_[0].size(0);
  }

 private:
  TracInOptions options_;
  double rate(size_t t) const { return options_.learning_rates.empty() ? 1.0 : options_.learning_rates[t]; }
  bool sketched() const { return options_.projection_dim > 0; }
  // Checkpoint `net`'s sketched gradients of `images` for `labels`.
  SketchedGradients sketch(Network& net, const torch::Tensor& images, const torch::Tensor& labels,
                           const std::string& label = "") const;
  std::vector<torch::Tensor> features_, gradients_;  // per checkpoint: φ_t [N, d], ∂L/∂z [N, K]
  std::vector<torch::Tensor> sketches_;              // per checkpoint, with a projection: S∇_θL [N, k]
  torch::Tensor train_images_, train_labels_, self_;  // with `layers`
  CheckpointSet checkpoints_;
  bool bias_ = true;
};

}  // namespace prism
