// XDA, the feature-level view of one (test, training) pair (Yolcu et al., DualXDA, TMLR 2025): an attribution
// of the form a_i = c·⟨φ(x), φ(x_i)⟩ (DualView, representer points, feature similarity) is split over the
// penultimate features, R_k = a_i · φ_k(x) φ_k(x_i) / ⟨φ(x), φ(x_i)⟩ (Σ_k R_k = a_i), and R is propagated to
// both images with LRP, giving two heatmaps that show which parts of each image the attribution rests on.
#pragma once
#include <torch/torch.h>

#include "prism/explain/data/attributor.h"
#include "prism/explain/feature/lrp.h"
#include "prism/model/network.h"

namespace prism {

struct XdaMaps {
  torch::Tensor feature_relevance;  // [P, d] R per pair
  torch::Tensor test_maps;          // [P, C, H, W] relevance on the test image
  torch::Tensor train_maps;         // [P, C, H, W] relevance on each training image
};

// The pairs (test_image, train_images[p]) with attributions [P].
XdaMaps xda_heatmaps(Network& network, const torch::Tensor& test_image, const torch::Tensor& train_images,
                     const torch::Tensor& attributions, const LrpOptions& lrp = {});

// XDA of test sample `sample` (`image`) with its first `pairs` proponents, then its first `pairs` opponents (at most
// as many as were kept): the training indices and attributions of those pairs and their maps.
struct XdaPairs {
  torch::Tensor train_indices, values;  // [P]
  XdaMaps maps;
};
XdaPairs xda_of_top(Network& network, const torch::Tensor& image, const torch::Tensor& train_images,
                    const TopAttributions& proponents, const TopAttributions& opponents, int64_t sample, int64_t pairs);

// Whether a data-attribution method's values are feature inner products XDA can split.
bool supports_xda(const std::string& method);

}  // namespace prism
