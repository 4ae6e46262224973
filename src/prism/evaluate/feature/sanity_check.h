// Sanity checks for saliency maps (Adebayo et al. 2018, §3–4). Model-parameter randomisation: re-initialise
// the weighted layers from the output back to the input — all up to the current one (cascading) or one at a
// time (independent) — recompute every method's map after each step and compare it with the map of the
// trained model. Weights and biases are drawn from N(0, σ²), σ = 0.1 as the seed-003 authors did. A method
// that explains the model, not the input alone, loses similarity quickly. The targets stay the classes the
// trained model was explained for. The network's weights are restored afterwards.
// The data-randomisation test compares the maps of the trained model with those of a model trained on
// permuted labels (`compare_networks`).
// Smooth MPRT (Hedström et al. 2023, Eq. 5): with smooth_samples > 0, every map (at every step) is the mean of the
// method's maps of smooth_samples noisy copies x + N(0, σ²), σ = smooth_noise · (max x − min x), the same copies at
// each step, so that the noise of a method's maps does not read as randomisation. Quantus's defaults: 50, 0.1.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "prism/evaluate/feature/map_similarity.h"
#include "prism/data/dataset.h"
#include "prism/explain/feature/attributor.h"
#include "prism/model/train.h"
#include "prism/model/zoo.h"

namespace prism {

struct SanityOptions {
  std::string mode = "cascading";  // cascading | independent
  double init_std = 0.1;
  uint64_t seed = 0;
  std::string reduce = "sum";  // channel collapse (see collapse_channels)
  int64_t batch_size = 32;
  int64_t smooth_samples = 0;  // smooth MPRT's noisy copies per map; 0: the plain test
  double smooth_noise = 0.1;

  template <typename Visit>
  void visit(Visit&& option) {
    option("mode", mode, "cascading or independent");
    option("init_std", init_std, "standard deviation of the re-initialised weights");
    option("seed", seed, "seed of the re-initialisation");
    option("reduce", reduce, "channel collapse: sum, abs-sum, max-abs, signed-max");
    option("batch_size", batch_size, "images per attribution call");
    option("smooth_samples", smooth_samples,
           "smooth MPRT (Hedstrom et al. 2023): average each map over this many noisy copies (Quantus: 50; 0: plain)");
    option("smooth_noise", smooth_noise, "smooth MPRT: noise sigma as a share of the input range");
  }
};

struct SanityResult {
  SanityOptions options;
  std::vector<std::string> methods;
  std::vector<std::string> steps;  // "original", then the layer randomised at each step (or "labels permuted")
  // Similarity to the original map, per method, step and sample: [methods][steps][samples].
  std::vector<std::vector<std::vector<MapSimilarity>>> similarity;
  // Collapsed maps per method and step, [steps, samples, H, W] ([steps, samples, F] for table rows).
  std::vector<torch::Tensor> maps;

  // The measures (indices into similarity_measures()) defined for these maps: all for images, all but HOG for
  // table rows.
  std::vector<size_t> measures() const;
  double mean(size_t method, size_t step, size_t measure) const;
  nlohmann::json to_json() const;
  std::string to_csv() const;  // method, step, layer, measure, mean, standard error
  std::string table(size_t measure) const;  // markdown: methods × steps
};

// The weighted layers (conv, linear, batchnorm) from the output back to the input.
std::vector<std::string> randomizable_layers(Network& network);

// Model-parameter randomisation over `layers` (randomizable_layers when empty).
SanityResult model_randomization(Network& network, const std::vector<FeatureAttributor*>& methods,
                                 const torch::Tensor& images, const torch::Tensor& targets,
                                 const SanityOptions& options = {}, std::vector<std::string> layers = {});

// The data-randomisation test (Adebayo et al. 2018, §5): a fresh network of `architecture` (initialised and
// trained with training.seed) learns `train` with its labels permuted by a permutation drawn from
// training.seed; each method's maps of it are appended as the step "labels permuted". Returns that network.
std::unique_ptr<Network> data_randomization(SanityResult& result, const Network& trained, const ZooOptions& architecture,
                                            const Dataset& train, const TrainOptions& training,
                                            const std::vector<FeatureAttributor*>& methods, const torch::Tensor& images,
                                            const torch::Tensor& targets);
// The labels permuted by the seeded permutation data_randomization uses.
torch::Tensor permuted_labels(const torch::Tensor& labels, uint64_t seed);

// Appends a step comparing each method's maps of `other` (say, a model trained on permuted labels) with the
// original maps in `result`.
void compare_networks(SanityResult& result, Network& other, const std::string& step,
                      const std::vector<FeatureAttributor*>& methods, const torch::Tensor& images,
                      const torch::Tensor& targets);

}  // namespace prism
