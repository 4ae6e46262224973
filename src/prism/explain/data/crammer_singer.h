// A dual solver for the linear Crammer–Singer multi-class SVM, written here because no library exposes the
// dual variables that DualView needs (LIBLINEAR solves the same problem, solver MCSVM_CS, and keeps α to itself).
//   min_α ½ Σ_m ‖w_m‖² + Σ_i Σ_m e_{i,m} α_{i,m},   w_m = Σ_i α_{i,m} φ_i,   e_{i,m} = [m ≠ y_i],
//   subject to α_{i,y_i} ≤ C, α_{i,m} ≤ 0 (m ≠ y_i), Σ_m α_{i,m} = 0.
// Sequential dual coordinate descent (Keerthi, Sundararajan, Chang, Hsieh, Lin, KDD 2008): samples in a
// seeded random order, each sample's K-variable sub-problem solved exactly by sorting, with shrinking.
#pragma once
#include <torch/torch.h>

namespace prism {

struct CrammerSingerOptions {
  double C = 1e-3;
  double tolerance = 1e-3;       // stop when the largest KKT violation (max_m G − min_m G) falls below it
  int64_t max_iterations = 10000;  // passes over the data
  bool bias = false;              // append a constant feature 1 (regularised, as LIBLINEAR's -B 1)
  bool shrinking = true;
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    // The options DualView takes (shrinking is the solver's own, on by default).
    option("C", C, "SVM regularisation: the bound on each dual variable");
    option("tolerance", tolerance, "stop when the largest KKT violation falls below it");
    option("max_iterations", max_iterations, "passes over the data");
    option("bias", bias, "append a constant feature 1 (LIBLINEAR's -B 1)");
    option("seed", seed, "seed of the solver's visiting order");
  }
};

struct CrammerSingerResult {
  torch::Tensor alpha;   // [N, K] float64 dual variables
  torch::Tensor weight;  // [K, d] (d + 1 with the bias feature, last column) float64, = Σ_i α_i φ_iᵀ
  int64_t iterations = 0;
  double max_violation = 0;                    // at the last full pass
  double primal = 0, dual = 0, duality_gap = 0;  // P(w), −f(α), P − D (≥ 0, 0 at the optimum)
  bool converged = false;
};

// `features` [N, d], `labels` [N] int64 in [0, K).
CrammerSingerResult solve_crammer_singer(const torch::Tensor& features, const torch::Tensor& labels,
                                         int64_t num_classes, const CrammerSingerOptions& options);

// The primal objective ½ Σ_m ‖w_m‖² + C Σ_i max_m (e_{i,m} + w_m·φ_i − w_{y_i}·φ_i); where `weight` has one column
// more than `features`, that last column is the bias (a constant feature 1).
double crammer_singer_primal(const torch::Tensor& weight, const torch::Tensor& features, const torch::Tensor& labels,
                             double C);

}  // namespace prism
