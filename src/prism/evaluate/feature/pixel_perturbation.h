// Pixel perturbation (Samek et al. 2017, "Evaluating the visualization of what a deep neural network has
// learned"): remove pixels in the order a map ranks them — most relevant first (MoRF) or least relevant
// first (LeRF) — and follow the target's probability and logit. The area over the perturbation curve
// (Eq. 12) is the mean drop from the unperturbed score over the removal steps:
//   AOPC = 1/(L+1) Σ_{k=0..L} ⟨f(x⁽⁰⁾) − f(x⁽ᵏ⁾)⟩,
// large for MoRF and small for LeRF when the map is faithful. The seed-003 authors measured steps of
// 1–10 % of the pixels; the default grid holds those and the whole 0–100 % curve.
// ROAD (Rong et al. 2022, "A consistent and efficient evaluation strategy for attribution methods") is the same
// protocol with the removed pixels imputed from their neighbours (fill "linear"), so that the shape of the removed
// region no longer tells the model the class, on 10–90 % in steps of 10 (road_options()), reported as the share
// of samples whose prediction is still the target: low for MoRF, high for LeRF.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

struct PerturbationOptions {
  std::vector<double> percentages = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  std::string fill = "mean";  // mean | zero | blur | noise (see fill_values) | linear (ROAD: impute_linear)
  double noise = 0.01;        // σ of the linear fill's noise (ROAD's), in input units
  std::string ranking = "method";  // method (each method's own convention) | signed | magnitude (rank_pixels)
  uint64_t seed = 0;          // of the noise fill
  int64_t batch_size = 64;

  template <typename Visit>
  void visit(Visit&& option) {
    option("percentages", percentages, "percentages of pixels removed, each in [0, 100]");
    option("fill", fill, "removed pixels become: mean, zero, blur, noise, linear (ROAD's noisy linear imputation)");
    option("noise", noise, "sigma of the linear fill's noise (ROAD's)");
    option("ranking", ranking, "how maps rank pixels: method (each method's paper: by magnitude for saliency, smoothgrad and the pruned gradient, signed for the rest), signed, magnitude");
    option("seed", seed, "seed of the noise fill");
    option("batch_size", batch_size, "images per forward pass");
  }
};

// One method's curves: the target's score after each removal step, per sample.
struct PerturbationCurves {
  std::string method, ranking;  // the ranking used: signed or magnitude
  torch::Tensor original_probability, original_logit;  // [B]
  torch::Tensor morf_probability, lerf_probability;    // [B, steps]
  torch::Tensor morf_logit, lerf_logit;                // [B, steps]
  torch::Tensor morf_hit, lerf_hit;                    // [B, steps]: 1 where the target is still the top class
};

// Refuses bad options, each error naming its key.
void check_perturbation_options(const PerturbationOptions& options);

// ROAD's protocol: the linear fill on 10, 20, ..., 90 % of the pixels.
PerturbationOptions road_options();

// The curves of collapsed maps [B, H, W] of `images` for `targets`, ranked as options.ranking says for `method`.
PerturbationCurves perturbation_curves(Network& network, const torch::Tensor& images, const torch::Tensor& targets,
                                       const torch::Tensor& maps, const std::string& method,
                                       const PerturbationOptions& options = {});

// AOPC of `curve` [B, steps] against `original` [B] over the steps whose percentage lies in [low, high].
double aopc(const torch::Tensor& curve, const torch::Tensor& original, const std::vector<double>& percentages,
            double low = 0, double high = 100);

// Every method's curves with the options that made them; tables, JSON and SVG plots.
struct PerturbationReport {
  PerturbationOptions options;
  std::vector<PerturbationCurves> curves;
  bool table_rows = false;  // the curves remove features of table rows, not pixels

  nlohmann::json to_json() const;
  std::string table() const;  // markdown: the ranking, AOPC of probability and logit, MoRF and LeRF, whole grid and 1–10 %
  std::string to_csv() const;  // mean curves: method, order, percentage, probability, logit, hit
  // markdown: per method the share of samples still predicted as the target after each step, MoRF and LeRF, their
  // means over the steps and LeRF − MoRF (ROAD's table)
  std::string hit_table() const;
};

}  // namespace prism
