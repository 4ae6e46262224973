#include "prism/explain/data/gradient_similarity.h"

#include "prism/core/error.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {

GradientSimilarity::GradientSimilarity(GradientSimilarityOptions options) : options_(std::move(options)) {
  require(options_.metric == "cosine" || options_.metric == "dot",
          "gradient-similarity: metric must be cosine or dot (got '" + options_.metric + "')");
  require(options_.projection_dim >= 0, "gradient-similarity: projection_dim must be 0 (exact) or positive");
}

void GradientSimilarity::fit(Network& network, const Dataset& train) {
  auto sketched = sketched_gradients(network, gradient_parameters(network, options_.layers), train.images, train.labels,
                                     options_.projection_dim, options_.seed, "per-example gradients of " + train.name);
  gradients_ = sketched.gradients, self_ = sketched.squared_norms;
}

torch::Tensor GradientSimilarity::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(gradients_.defined(), "gradient-similarity is not fitted");
  const auto g = sketched_gradients(network, gradient_parameters(network, options_.layers), inputs, targets,
                                    options_.projection_dim, options_.seed).gradients;
  require(g.size(1) == gradients_.size(1),
          "the gradient-similarity fit has " + std::to_string(gradients_.size(1)) + " gradient coordinates, the network " +
              std::to_string(g.size(1)) + "; fit it again for this network");
  if (options_.metric == "dot") return g.matmul(gradients_.t());
  const auto unit = [](const torch::Tensor& rows) { return rows / rows.norm(2, 1, true).clamp_min(1e-12); };
  return unit(g).matmul(unit(gradients_).t());
}

void GradientSimilarity::set_state(const std::map<std::string, torch::Tensor>& state) {
  gradients_ = state.at("gradients"), self_ = state.at("self_influence");
  require(gradients_.dim() == 2 && self_.dim() == 1 && self_.size(0) == gradients_.size(0) &&
              (options_.projection_dim == 0 || gradients_.size(1) == options_.projection_dim),
          "the gradient-similarity fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
