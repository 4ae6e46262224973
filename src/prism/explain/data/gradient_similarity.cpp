#include "prism/explain/data/gradient_similarity.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {

GradientSimilarity::GradientSimilarity(GradientSimilarityOptions options) : options_(std::move(options)) {
  require(options_.metric == "cosine" || options_.metric == "dot",
          "gradient-similarity: metric must be cosine or dot (got '" + options_.metric + "')");
  require(options_.projection_dim >= 0, "gradient-similarity: projection_dim must be 0 (exact) or positive");
}

std::pair<torch::Tensor, torch::Tensor> GradientSimilarity::sketched_gradients(Network& network,
                                                                               const torch::Tensor& images,
                                                                               const torch::Tensor& labels,
                                                                               const std::string& label) {
  std::vector<torch::Tensor> parameters;
  if (options_.layers.empty())
    for (auto& p : network.parameters()) parameters.push_back(p.requires_grad_(true));
  else
    parameters = layer_parameter_tensors(network, options_.layers);
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  const int64_t k = options_.projection_dim, width = k == 0 ? size : k;
  // The sketch's bucket h(j) and sign s(j) of every parameter coordinate, the same at fit and at attribution.
  torch::Tensor bucket, sign;
  if (k > 0) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
    bucket = at::randint(k, {size}, generator, torch::kInt64);
    sign = at::randint(2, {size}, generator, torch::kFloat32) * 2 - 1;
  }
  auto out = torch::empty({images.size(0), width}, torch::kFloat32);
  auto norms = torch::empty({images.size(0)}, torch::kFloat32);
  // Chunks of at most 2^26 gradient values (256 MiB), so large networks fit in memory.
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 26) / std::max<int64_t>(size, 1), 1, 256);
  Progress progress(label, images.size(0));
  for (int64_t s = 0; s < images.size(0); s += chunk) {
    const int64_t c = std::min(chunk, images.size(0) - s);
    const auto g = per_example_gradients(network, parameters, images.narrow(0, s, c), labels.narrow(0, s, c));
    norms.narrow(0, s, c).copy_(g.pow(2).sum(1));
    if (k == 0)
      out.narrow(0, s, c).copy_(g);
    else
      out.narrow(0, s, c).zero_().index_add_(1, bucket, g * sign);
    progress.advance(c);
  }
  progress.finish();
  return {out, norms};
}

void GradientSimilarity::fit(Network& network, const Dataset& train) {
  std::tie(gradients_, self_) =
      sketched_gradients(network, train.images, train.labels, "per-example gradients of " + train.name);
}

torch::Tensor GradientSimilarity::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(gradients_.defined(), "gradient-similarity is not fitted");
  const auto g = sketched_gradients(network, inputs, targets, "").first;
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
