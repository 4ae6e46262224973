// Arnoldi influence functions (Schioppa, Zablotskaia, Vilar, Sokolov, "Scaling Up Influence Functions", AAAI 2022):
// influence functions over every parameter (or the named layers'), with the Hessian H of the mean training loss
// replaced by its top-k eigenpairs (λ_j, u_j), found by Arnoldi iteration on Hessian-vector products (Alg. 1 and 2):
// a_i = Σ_j (u_jᵀ∇_θL(x)) (u_jᵀ∇_θL(x_i)) / λ_j. Positive where up-weighting x_i lowers the test loss, as in
// influence.h. The fit keeps each training sample's k projections scaled by λ^{-1/2}; self-influence is their
// squared norm. Only positive eigenvalues are kept (the loss is not convex).
#pragma once
#include <functional>

#include "prism/explain/data/attributor.h"

namespace prism {

struct ArnoldiOptions {
  std::vector<std::string> layers;  // empty: every parameter
  int64_t arnoldi_dim = 50;         // Krylov iterations n
  int64_t projection_dim = 20;      // top eigenpairs kept, k ≤ n
  int64_t hessian_samples = 1000;   // the Hessian's training samples (a seeded subset; 0: all)
  uint64_t seed = 0;                // of the subset and the start vector

  template <typename Visit>
  void visit(Visit&& option) {
    option("layers", layers, "use these layers' parameters (empty: every parameter of the network)");
    option("arnoldi_dim", arnoldi_dim, "Arnoldi iterations: Hessian-vector products spanning the Krylov space");
    option("projection_dim", projection_dim, "top Hessian eigenpairs kept (at most arnoldi_dim)");
    option("hessian_samples", hessian_samples, "training samples whose mean loss's Hessian is used (0: all)");
    option("seed", seed, "seed of the Hessian's subset and the start vector");
  }
};

// The top-k eigenpairs of a symmetric operator on R^P from n Arnoldi iterations (with full re-orthogonalisation)
// started at a seeded random vector: eigenvalues [k] descending (the positive ones among the k largest) and
// eigenvectors [k, P].
std::pair<torch::Tensor, torch::Tensor> arnoldi_eigenpairs(const std::function<torch::Tensor(const torch::Tensor&)>& apply,
                                                           int64_t size, int64_t n, int64_t k, uint64_t seed);

class ArnoldiInfluence : public DataAttributor {
 public:
  explicit ArnoldiInfluence(ArnoldiOptions options = {});
  std::string name() const override { return "arnoldi"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override { return projections_.pow(2).sum(1); }
  std::map<std::string, torch::Tensor> state() const override {
    return {{"eigenvalues", eigenvalues_}, {"eigenvectors", eigenvectors_}, {"projections", projections_}};
  }
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return projections_.defined() ? projections_.size(0) : 0; }

 private:
  // λ^{-1/2} Uᵀ∇_θL of `images` for `labels`, [B, k].
  torch::Tensor project(Network& network, const torch::Tensor& images, const torch::Tensor& labels,
                        const std::string& label = "") const;
  ArnoldiOptions options_;
  torch::Tensor eigenvalues_, eigenvectors_;  // [k], [k, P]
  torch::Tensor projections_;                 // [N, k]
};

}  // namespace prism
