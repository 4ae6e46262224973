// TRAK (Park, Georgiev, Ilyas, Leclerc, Madry, "TRAK: Attributing Model Behavior at Scale", ICML 2023) on
// the last layer θ = (W, b): per-example gradients of the margin f = log(p_y / (1 − p_y)) projected by a
// seeded Gaussian matrix P to `projection_dim` features Φ; score(x)_i = g(x)ᵀ (ΦᵀΦ + λI)⁻¹ Φ_iᵀ · (1 − p_i),
// averaged over checkpoints (Eq. 16 with the last-layer gradient; one model, or several checkpoints).
#pragma once
#include "prism/explain/data/attributor.h"
#include "prism/explain/data/checkpoint_set.h"

namespace prism {

struct TrakOptions {
  int64_t projection_dim = 512;
  double lambda = 1e-3;  // ridge, relative to the mean diagonal of ΦᵀΦ
  std::vector<std::string> checkpoints;  // model files; empty: the fitted network alone
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("projection_dim", projection_dim, "dimension of the random projection of the gradients");
    option("lambda", lambda, "ridge, relative to the mean diagonal of the projected Gram matrix");
    option("checkpoints", checkpoints, "model files of the checkpoints (empty: the fitted network alone)");
    option("seed", seed, "seed of the projection");
  }
};

class Trak : public DataAttributor {
 public:
  explicit Trak(TrakOptions options = {});
  std::string name() const override { return "trak"; }
  nlohmann::json options() const override;
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return projected_.empty() ? 0 : projected_[0].size(0); }

 private:
  // Projected margin gradients [N, projection_dim] of `images` for `labels` at `net`; also 1 − p_label.
  std::pair<torch::Tensor, torch::Tensor> projected_gradients(Network& net, const torch::Tensor& images,
                                                              const torch::Tensor& labels, const std::string& label);
  TrakOptions options_;
  std::vector<torch::Tensor> projected_, kernel_inverse_, residual_;  // per checkpoint: Φ, (ΦᵀΦ + λI)⁻¹, 1 − p_i
  CheckpointSet checkpoints_;
};

}  // namespace prism
