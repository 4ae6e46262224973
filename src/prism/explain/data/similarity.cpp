#include "prism/explain/data/similarity.h"

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

FeatureSimilarity::FeatureSimilarity(SimilarityOptions options) : options_(std::move(options)) {
  require(options_.metric == "cosine" || options_.metric == "dot",
          "unknown similarity '" + options_.metric + "'; use cosine or dot");
}

torch::Tensor FeatureSimilarity::rows(torch::Tensor phi) const {
  return options_.metric == "cosine" ? phi / phi.norm(2, 1, true).clamp_min(1e-12) : phi;
}

void FeatureSimilarity::fit(Network& network, const Dataset& train) {
  features_ = rows(penultimate_features(network, last_linear_layer(network), train.images, "features of " + train.name));
}

torch::Tensor FeatureSimilarity::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor&) {
  require(features_.defined(), "feature similarity is not fitted");
  return rows(penultimate_features(network, last_linear_layer(network), inputs)).matmul(features_.t());
}

torch::Tensor FeatureSimilarity::self_influence() const {
  // ⟨φ̂, φ̂⟩ = 1 for every nonzero cosine row by construction: taken as such, since the rows' rounding (which differs
  // with the thread count of the feature pass) would otherwise order the samples.
  if (options_.metric == "cosine") return features_.ne(0).any(1).to(torch::kFloat32);
  return features_.pow(2).sum(1);
}

void FeatureSimilarity::set_state(const std::map<std::string, torch::Tensor>& state) {
  features_ = state.at("features");
  require(features_.dim() == 2, "the similarity fit's features are not a matrix; re-run the fit");
}

}  // namespace prism
