// Insertion and deletion (Petsiuk, Das, Saenko 2018, "RISE: Randomized input sampling for explanation of black-box
// models", §4.1): deletion removes the most relevant pixels first (they become 0) and follows the target's
// probability; insertion starts from a blurred copy of the image and puts the most relevant pixels back first.
// The area under each curve, over the share of pixels (trapezoidal, in [0, 1]), scores the map: small for
// deletion, large for insertion. Both curves are pixel perturbation's (pixel_perturbation.h): deletion its MoRF
// curve with the zero fill, insertion its LeRF curve with the blur fill read backwards (putting back the top k %
// is removing the bottom 100 − k %).
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

struct InsertionDeletionOptions {
  int64_t steps = 20;              // the curves' points are 0, 1/steps, ..., 1 of the pixels
  std::string ranking = "method";  // method | signed | magnitude (rank_pixels)
  int64_t batch_size = 64;

  template <typename Visit>
  void visit(Visit&& option) {
    option("steps", steps, "points of each curve, after the first");
    option("ranking", ranking, "how maps rank pixels: method (each method's paper: by magnitude for saliency, smoothgrad and the pruned gradient, signed for the rest), signed, magnitude");
    option("batch_size", batch_size, "images per forward pass");
  }
};

struct InsertionDeletionCurves {
  std::string method, ranking;
  std::vector<double> fractions;        // of the pixels deleted or inserted, 0 to 1
  torch::Tensor deletion, insertion;    // [B, steps + 1]: the target's probability
  double deletion_auc = 0, insertion_auc = 0;  // of the mean curves
};

// The curves of collapsed maps [B, H, W] of `images` for `targets`.
InsertionDeletionCurves insertion_deletion(Network& network, const torch::Tensor& images, const torch::Tensor& targets,
                                           const torch::Tensor& maps, const std::string& method,
                                           const InsertionDeletionOptions& options = {});

// The area under a curve sampled at `fractions` (trapezoidal).
double area_under(const std::vector<double>& fractions, const std::vector<double>& values);

struct InsertionDeletionReport {
  InsertionDeletionOptions options;
  std::vector<InsertionDeletionCurves> curves;

  nlohmann::json to_json() const;
  std::string table() const;  // markdown: the ranking, deletion AUC ↓, insertion AUC ↑, their difference ↑
};

}  // namespace prism
