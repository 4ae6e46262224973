// TCAV (Kim, Wattenberg, Gilmer, Cai, Wexler, Viégas, Sayres, "Interpretability Beyond Feature Attribution:
// Quantitative Testing with Concept Activation Vectors", ICML 2018): how much a human concept moves an output.
//  - A concept activation vector (CAV) v_C^l is the normal of a linear classifier (here L2-regularised logistic
//    regression) that separates the layer-l activations f_l of a concept's examples from those of random
//    examples, pointing towards the concept (Sec. 3.2).
//  - The conceptual sensitivity of output k at input x is the directional derivative
//    S_{C,k,l}(x) = ∇h_{l,k}(f_l(x)) · v_C^l (Eq. 1), and the TCAV score the share of the inputs X_k with
//    S > 0: |{x ∈ X_k : S_{C,k,l}(x) > 0}| / |X_k| (Eq. 2); the magnitude form Σ_{S>0} S / Σ |S| beside it.
//  - A CAV is trained against each of M random sets (Sec. 3.3); the M scores are tested against the scores of
//    CAVs of one more random set against the same M sets (random-vs-random, the null) by a two-sided t-test
//    (Welch's, which does not assume equal variances). A concept is significant for k where p < alpha.
// The outputs h_k are a classifier's logits (X_k: inputs of class k) or any function of the network's forward
// pass, such as FLINT's attributes φ_j (X_j: inputs where φ_j > 0), so learnt attributes and human concepts are
// compared on one scale.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "prism/explain/concept/flint_interpreter.h"
#include "prism/model/network.h"

namespace prism {

struct TcavOptions {
  std::string layer;              // "": default_tcav_layer
  int64_t random_sets = 10;       // M
  int64_t examples_per_set = 50;  // images per random set, and at most this many per concept
  int64_t inputs_per_output = 100;  // at most this many inputs X_k per output
  double l2 = 1e-3;               // the logistic regression's penalty on ‖w‖² (features scaled to unit RMS norm)
  double held_out = 1.0 / 3;      // share of each CAV's examples kept to measure its accuracy (as the authors' code)
  double alpha = 0.05;            // significance level of the t-test
  uint64_t seed = 0;
  int64_t batch_size = 64;

  template <typename Visit>
  void visit(Visit&& option) {
    option("layer", layer, "the layer whose activations the CAVs live in (default: the second-to-last activation, "
                           "or the penultimate features)");
    option("random_sets", random_sets, "random sets M: one CAV per concept and set, and the null's scores");
    option("examples_per_set", examples_per_set, "images per random set (and at most per concept)");
    option("inputs_per_output", inputs_per_output, "at most this many inputs per scored output (class or attribute)");
    option("l2", l2, "L2 penalty of the CAVs' logistic regression");
    option("held_out", held_out, "share of each CAV's examples held out to measure its accuracy");
    option("alpha", alpha, "significance level of the two-sided t-test against random CAVs");
    option("seed", seed, "seed of the random sets and the CAVs' held-out split");
    option("batch_size", batch_size, "images per forward and backward pass");
  }
};
// Errors name the option key.
void check_tcav_options(const TcavOptions& options);

// TCAV's default layer: the second-to-last element-wise activation in forward order, so that the rest of the model
// is still non-linear (after the last one only linear ops such as pooling and the head follow, where every input has
// the same gradient and each CAV's score is 0 or 1); the penultimate features in a model with fewer activations.
std::string default_tcav_layer(const Network& network);

// A human concept: its name and example images [N, C, H, W] in [0, 1].
struct ConceptExamples {
  std::string name;
  torch::Tensor images;
};

// The outputs h_k whose sensitivity TCAV scores: `compute` runs the network's forward pass on images with
// `taps` (which hold the CAV layer's hook) and returns [B, K]; inputs[k] is X_k.
struct TcavOutputs {
  std::vector<std::string> names;
  std::vector<int64_t> columns;  // output k is column columns[k] of compute's result
  std::vector<torch::Tensor> inputs;
  std::function<torch::Tensor(Network&, const torch::Tensor& images, const TapSet& taps)> compute;
};
// The classes `classes` (empty: every class), X_k the first inputs_per_output images of `images` labelled k. Their
// `output`: "logit" (the paper's h_k) or "log-probability" (log softmax: blind to a direction that raises every
// logit alike, which leaves the prediction unchanged).
TcavOutputs class_outputs(const Network& network, const torch::Tensor& images, const torch::Tensor& labels,
                          std::vector<int64_t> classes, int64_t inputs_per_output, const std::string& output = "logit");
// FLINT's attributes φ_j, X_j the first inputs_per_output images of `images` where φ_j > 0 (attributes that are
// never active are left out).
TcavOutputs flint_attribute_outputs(Network& network, FlintInterpreter& interpreter, const torch::Tensor& images,
                                    int64_t inputs_per_output);

// A CAV: the unit normal [D] towards the concept, and the classifier's accuracy on its held-out examples.
struct Cav {
  torch::Tensor direction;
  double accuracy = 0;
};
// The CAV separating `concept_acts` [n, D] from `random_acts` [m, D] activations.
Cav train_cav(const torch::Tensor& concept_acts, const torch::Tensor& random_acts, const TcavOptions& options, uint64_t seed);

// ∂h_k/∂f_l(x) flattened, [N, D], of `images` for output k, in batches.
torch::Tensor output_gradients(Network& network, const TcavOutputs& outputs, int64_t k, const torch::Tensor& images,
                               const std::string& layer, int64_t batch_size);

// Two-sided p-value of Welch's t-test that `a` and `b` have the same mean (1 where both are constant and equal,
// 0 where both are constant and differ).
double welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

struct TcavResult {
  std::string layer;
  std::vector<std::string> concepts, outputs;  // C, K
  torch::Tensor scores;         // [C, K, M] TCAV score of each concept's CAV against random set i (Eq. 2)
  torch::Tensor magnitudes;     // [C, K, M] Σ_{S>0} S / Σ |S|
  torch::Tensor null_scores;    // [K, M] the random-vs-random CAVs' scores
  torch::Tensor cav_accuracy;   // [C, M] held-out accuracy of each CAV
  torch::Tensor null_accuracy;  // [M]
  torch::Tensor p_values;       // [C, K]
  torch::Tensor inputs;         // [K] |X_k|
  torch::Tensor cavs;           // [C + 1, M, D] the CAVs (the last row: the null's), not in the JSON record
  double alpha = 0.05;

  bool significant(int64_t c, int64_t k) const { return p_values[c][k].item<double>() < alpha; }
  nlohmann::json to_json() const;
  static TcavResult from_json(const nlohmann::json& record);
  // One row per concept and output: mean ± std of the score, the null's mean, p, significance, CAV accuracy.
  std::string markdown() const;
};

// Every concept's TCAV scores for every output at options.layer, with the random sets drawn from `random_pool`
// [N, C, H, W] (it must hold (M + 1) · examples_per_set images; the sets are disjoint).
TcavResult tcav(Network& network, const std::vector<ConceptExamples>& concepts, const torch::Tensor& random_pool,
                const TcavOutputs& outputs, const TcavOptions& options);

}  // namespace prism
