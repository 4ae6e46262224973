// Localisation against a known region (as Quantus's localisation metrics), per sample, on maps [B, H, W]
// (channels collapsed) and regions [B, H, W] (true inside):
//   pointing game       1 when the map's largest value lies inside the region (Zhang et al. 2018).
//   relevance mass      Σ_{region} R⁺ / Σ R⁺, the share of positive relevance inside (Arras et al. 2022, Eq. 1).
//   relevance rank      the share of the K = |region| highest-ranked pixels that lie inside (Arras et al. 2022, Eq. 2).
// A map that ignores the region scores about |region| / (H W) on each.
// prism's benchmark region is the shortcut mark (data/transforms.h): a model trained with one class partly
// marked, explained for that class on marked test images of other classes that it now assigns to it (the mark is
// then the only evidence for the class), with the mark's pixels (its square outline) as the region.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/data/transforms.h"
#include "prism/explain/feature/attributor.h"
#include "prism/model/network.h"

namespace prism {

struct LocalisationScores {
  std::string method;
  torch::Tensor pointing_game, relevance_mass, relevance_rank;  // [B] each, float64
};

LocalisationScores localisation_scores(const torch::Tensor& maps, const torch::Tensor& regions, const std::string& method);

// The benchmark's samples: up to `count` marked test images of the other classes (a seeded choice) that `network`
// predicts as the marked class, their targets (that class) and regions (the mark's outline). An error when the model
// assigns none of them to the class: it did not learn the mark.
struct MarkedSamples {
  torch::Tensor images, targets, regions;
  int64_t candidates = 0;  // marked images of other classes looked at
};
MarkedSamples marked_samples(Network& network, const Dataset& test, const MarkOptions& mark, int64_t count, uint64_t seed);

// Means and standard errors per method; a markdown table with each metric's direction.
nlohmann::json localisation_to_json(const std::vector<LocalisationScores>& scores);
std::string localisation_table(const std::vector<LocalisationScores>& scores);

// The benchmark whole: the marked samples, each method's maps of them for the marked class (channels collapsed as
// `reduce`) and the maps' scores.
struct LocalisationResult {
  MarkOptions mark;
  MarkedSamples samples;
  std::vector<std::string> methods;
  std::vector<torch::Tensor> maps;  // per method, [B, H, W]
  std::vector<LocalisationScores> scores;

  double region_share() const;  // the region's share of the image: about what a map that ignores it scores
  std::string table() const;    // a line on the samples and the region, then the scores' table
  nlohmann::json to_json() const;
};
LocalisationResult evaluate_localisation(Network& network, const std::vector<FeatureAttributor*>& methods,
                                         const Dataset& test, const MarkOptions& mark, int64_t count, uint64_t seed,
                                         const std::string& reduce = "sum", int64_t batch_size = 32);

}  // namespace prism
