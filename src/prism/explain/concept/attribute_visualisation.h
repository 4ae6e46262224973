// What a FLINT attribute stands for (Parekh et al. 2021, Sec. 3.3): the training samples that activate it
// most, and activation maximisation started from a scaled-down copy of such a sample,
//   x* = argmax_x φ_j(x) − λ_tv·TV(x) − λ_range·Σ (relu(x − 1)² + relu(−x)²),
// which strengthens the patterns the attribute responds to while staying a plausible image.
#pragma once
#include <torch/torch.h>

#include "prism/explain/concept/flint_interpreter.h"
#include "prism/model/network.h"

namespace prism {

struct ActivationMaximisationOptions {
  double start_scale = 0.3;  // the paper's ×0.3 for MNIST-like data
  int64_t steps = 300;
  double learning_rate = 0.05;  // Adam, on the image
  double tv_weight = 20.0;      // on the mean absolute difference of neighbouring pixels (20: shapes, not noise)
  double range_weight = 10.0;   // on the mean squared excursion outside [0, 1]

  template <typename Visit>
  void visit(Visit&& option) {
    option("start_scale", start_scale, "scale of the top sample the optimisation starts from");
    option("steps", steps, "Adam steps on the image");
    option("learning_rate", learning_rate, "Adam step size");
    option("tv_weight", tv_weight, "weight of the total variation (smooth shapes, not noise)");
    option("range_weight", range_weight, "weight of the excursion outside [0, 1]");
  }
};

// The `k` samples with the largest φ_j, per attribute: [J, k] indices into `attributes` [N, J].
torch::Tensor top_activating(const torch::Tensor& attributes, int64_t k);

// One image per attribute: starts [B, C, H, W] (each scaled by start_scale first) are optimised to maximise
// φ_{attributes[b]}; the result is clamped to [0, 1]. f and the interpreter are not changed.
torch::Tensor maximise_attributes(Network& network, FlintInterpreter& interpreter, const torch::Tensor& starts,
                                  const torch::Tensor& attributes, const ActivationMaximisationOptions& options = {});

// What the attributes stand for over a set of (training) samples, as prism flint interpret and prism report
// show it: the global relevance matrix (relevance for f's predicted class), each attribute's top samples and
// its activation-maximisation image started from the top one (for table rows, which have no picture to optimise:
// the mean standardised features of its top samples instead).
struct AttributeSummary {
  FlintOutputs outputs;           // on the samples
  torch::Tensor class_relevance;  // [classes, J]
  torch::Tensor top_samples;      // [J, k] indices into the samples
  torch::Tensor maximised;        // [J, C, H, W] (images; undefined for sequences, shown by their top samples)
  // [J, F] (table rows): the top samples' mean features, in standard deviations (0 for a never active attribute)
  torch::Tensor profiles;
};
AttributeSummary summarise_attributes(Network& network, FlintInterpreter& interpreter, const torch::Tensor& samples,
                                      int64_t top, const ActivationMaximisationOptions& options = {});

// Mean absolute difference between horizontally and vertically neighbouring pixels, per image [B].
torch::Tensor total_variation(const torch::Tensor& images);

}  // namespace prism
