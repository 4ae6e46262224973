// Single-map quality measures in the form Quantus computes them:
//   sparseness   Gini index of |map| (Chalasani et al. 2020): Σ_i (2i − n − 1) a_(i) / (n Σ a), a sorted
//                ascending; 1 when one pixel holds everything, 0 when all are equal. Higher: sparser.
//   complexity   entropy of p = |map| / Σ |map| (Bhatt et al. 2020, Eq. 5), in nats. Lower: simpler.
//   max-sensitivity  max over noisy copies x + δ, δ ~ U(−r, r) per pixel, of ‖Φ(x+δ) − Φ(x)‖ / ‖Φ(x)‖
//                (Yeh et al. 2019, Eq. 3, normalised as Quantus does). Lower: more robust.
//   faithfulness correlation  Pearson correlation, over random pixel subsets S, between Σ_{i∈S} map_i and
//                f_c(x) − f_c(x with S filled by the data mean) (Bhatt et al. 2020, Eq. 3). Higher: more faithful.
//   infidelity   E_I[(β Iᵀφ − (f_c(x) − f_c(x − I)))²] over Gaussian perturbations I ~ N(0, σ²) of every input
//                value (Yeh et al. 2019, Eq. 1), φ the uncollapsed map, β the scale that minimises it (Captum's
//                normalize=True), so maps of any scale compare. Lower: the map predicts the score's changes.
//   random logit SSIM between the map of the target and that of a random other class (Sixt et al. 2020, as
//                Quantus's RandomLogit). Lower: the map depends on the class explained.
//   local Lipschitz  max over noisy copies x' = x + N(0, σ²) of ‖Φ(x) − Φ(x')‖ / ‖x − x'‖ (Alvarez-Melis and
//                Jaakkola 2018, Eq. 5, as Quantus's LocalLipschitzEstimate). Lower: a smoother explanation.
//   completeness error  |Σ φ − (f_c(x) − f_c(0))| / |f_c(x) − f_c(0)|, φ the uncollapsed map, 0 the black image
//                (Sundararajan et al. 2017's axiom, as Quantus's Completeness, relative). Lower: the map accounts
//                for the score. Only the methods that promise completeness reach 0.
//   input invariance  ‖Φ(x) − Φ'(x + s)‖₁ / ‖Φ(x)‖₁, Φ' the maps of the same model preceded by a shift that undoes
//                s (its normalisation's mean moved by s), s = −1 as Quantus's InputInvariance (Kindermans et al.
//                2019). Lower: 0 when the map ignores a constant shift the model ignores too. Methods that assume
//                images in [0, 1] (LRP's bounds, occlusion's fill) are not invariant by construction.
//   IROF         superpixels (SLIC) removed in order of their mean relevance, each set to the image's mean; the area
//                over the curve of p_c(x_k) / p_c(x), divided by the number of segments (Rieger and Hansen 2020).
//                Higher: the segments the map ranks first matter most.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/explain/feature/attributor.h"

namespace prism {

struct MapMeasureOptions {
  std::string reduce = "sum";          // channel collapse before measuring (see collapse_channels)
  int64_t sensitivity_samples = 10;    // noisy copies per input
  double sensitivity_radius = 0.1;     // r, in input units (images in [0, 1])
  int64_t faithfulness_runs = 50;      // random subsets per input
  double faithfulness_subset = 0.05;   // share of pixels per subset
  int64_t infidelity_samples = 10;     // perturbations per input (Captum's n_perturb_samples)
  double infidelity_noise = 0.1;       // σ of the perturbations, in input units
  int64_t lipschitz_samples = 10;      // noisy copies per input (Quantus: 20)
  double lipschitz_noise = 0.1;        // σ, in input units (Quantus's perturb_std)
  double invariance_shift = -1.0;      // s
  int64_t irof_segments = 50;          // SLIC segments aimed at
  uint64_t seed = 0;
  int64_t batch_size = 32;

  template <typename Visit>
  void visit(Visit&& option) {
    option("reduce", reduce, "channel collapse: sum, abs-sum, max-abs, signed-max");
    option("sensitivity_samples", sensitivity_samples, "noisy copies for max-sensitivity");
    option("sensitivity_radius", sensitivity_radius, "max-sensitivity's noise radius (input units)");
    option("faithfulness_runs", faithfulness_runs, "random subsets for faithfulness correlation");
    option("faithfulness_subset", faithfulness_subset, "share of pixels per faithfulness subset");
    option("infidelity_samples", infidelity_samples, "Gaussian perturbations for infidelity");
    option("infidelity_noise", infidelity_noise, "sigma of infidelity's perturbations");
    option("lipschitz_samples", lipschitz_samples, "noisy copies for the local Lipschitz estimate");
    option("lipschitz_noise", lipschitz_noise, "sigma of the Lipschitz estimate's noise");
    option("invariance_shift", invariance_shift, "constant input shift of input invariance");
    option("irof_segments", irof_segments, "SLIC segments aimed at by IROF");
    option("seed", seed, "seed of the noise and subsets");
    option("batch_size", batch_size, "images per attribution call");
  }
};

// Gini index and entropy of one map (any shape; absolute values used).
double gini_index(const torch::Tensor& map);
double map_entropy(const torch::Tensor& map);

// Per-sample values [B] of each measure, for one method.
struct MapMeasures {
  std::string method;
  torch::Tensor sparseness, complexity, max_sensitivity, faithfulness, infidelity, random_logit, local_lipschitz,
      completeness_error, input_invariance, irof;
  // The values of the measure called `name` (a "map measures" metric of metrics.h).
  const torch::Tensor& values(const std::string& name) const;
};

// The measures of `attributor`'s maps of `images` for `targets`; `attributions` are its maps [B, C, H, W].
MapMeasures measure_maps(Network& network, FeatureAttributor& attributor, const torch::Tensor& images,
                         const torch::Tensor& targets, const torch::Tensor& attributions,
                         const MapMeasureOptions& options = {});

// Means and standard errors per method and measure; a markdown table with each measure's direction.
nlohmann::json measures_to_json(const std::vector<MapMeasures>& measures, const MapMeasureOptions& options);
std::string measures_table(const std::vector<MapMeasures>& measures);

}  // namespace prism
