// FLINT's training objective (Parekh et al. 2021, Sec. 3.2, Eq. 2–5):
//   L = CE(f(x), y) + γ·L_if + β·L_of + δ·(mean_x E(Φ(x)) − E(mean_batch Φ)) + η·mean |Φ|
// with E(v) = −Σ_j p_j log p_j, p = softmax(v). Each weight is switched on from a given epoch (the
// paper's warm-up: γ from the start, β and η from epoch 3, δ from epoch 5 on MNIST-like data).
#pragma once
#include <torch/torch.h>

#include <string>

namespace prism {

struct FlintLossWeights {
  double gamma = 0.8;  // input fidelity
  double beta = 0.5;   // output fidelity
  double delta = 0.2;  // conciseness and diversity (the two entropies)
  double eta = 0.1;    // L1 of the attributes
  int64_t gamma_from = 1, beta_from = 3, delta_from = 5, eta_from = 3;  // first epoch (1-based) each applies
  std::string input_fidelity = "l2";  // "l2" (mean squared error) or "l1" (the paper's choice for CIFAR-10)

  template <typename Visit>
  void visit(Visit&& option) {
    option("gamma", gamma, "weight of input fidelity");
    option("beta", beta, "weight of output fidelity");
    option("delta", delta, "weight of conciseness and diversity (the entropies)");
    option("eta", eta, "weight of the attributes' L1 norm");
    option("gamma_from", gamma_from, "first epoch of input fidelity");
    option("beta_from", beta_from, "first epoch of output fidelity");
    option("delta_from", delta_from, "first epoch of the entropies");
    option("eta_from", eta_from, "first epoch of the L1 norm");
    option("input_fidelity", input_fidelity, "reconstruction error: l2 or l1");
  }
};
void check_flint_loss_weights(const FlintLossWeights& weights);

// E(v) per row of [B, J]: the entropy of softmax(v).
torch::Tensor attribute_entropy(const torch::Tensor& values);

// The unweighted terms of one batch (each a scalar).
struct FlintLossTerms {
  torch::Tensor prediction;       // CE(f(x), y)
  torch::Tensor output_fidelity;  // L_of: CE of g against softmax(f), f detached: only g learns from it
  torch::Tensor input_fidelity;   // L_if: mean (d(Φ(x)) − x)² (or |·| for l1)
  torch::Tensor conciseness;      // mean_x E(Φ(x)): low when each sample uses few attributes
  torch::Tensor diversity;        // E(mean_batch Φ): high when the batch uses all attributes (subtracted)
  torch::Tensor sparsity;         // mean |Φ_j(x)| over samples and attributes
};
FlintLossTerms flint_loss_terms(const torch::Tensor& predictor_logits, const torch::Tensor& labels,
                                const torch::Tensor& interpreter_logits, const torch::Tensor& attributes,
                                const torch::Tensor& reconstruction, const torch::Tensor& images,
                                const std::string& input_fidelity = "l2");

// The weighted sum for `epoch` (1-based); the prediction term only when f is trained (not post hoc).
torch::Tensor flint_total_loss(const FlintLossTerms& terms, const FlintLossWeights& weights, int64_t epoch,
                               bool train_predictor);

}  // namespace prism
