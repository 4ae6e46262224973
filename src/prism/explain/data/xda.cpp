#include "prism/explain/data/xda.h"

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

bool supports_xda(const std::string& method) {
  return method == "dualview" || method == "representer" || method == "similarity";
}

XdaMaps xda_heatmaps(Network& network, const torch::Tensor& test_image, const torch::Tensor& train_images,
                     const torch::Tensor& attributions, const LrpOptions& lrp_options) {
  const auto layer = last_linear_layer(network);
  require(!layer.input.empty(), "XDA needs a hidden layer before the final linear layer");
  const int64_t pairs = train_images.size(0);
  require(attributions.numel() == pairs, "give one attribution per training image");
  const auto test = test_image.unsqueeze(0).expand({pairs, -1, -1, -1}).contiguous();
  const auto phi_x = penultimate_features(network, layer, test.narrow(0, 0, 1)).to(torch::kFloat64);
  const auto phi_i = penultimate_features(network, layer, train_images).to(torch::kFloat64);
  const auto products = phi_x * phi_i;                   // [P, d]
  const auto inner = products.sum(1, true);              // ⟨φ(x), φ(x_i)⟩
  const auto share = torch::where(inner.abs() > 1e-12, products / inner, torch::zeros_like(products));
  XdaMaps maps;
  maps.feature_relevance = (share * attributions.to(torch::kFloat64).view({pairs, 1})).to(torch::kFloat32);
  Lrp lrp(lrp_options);
  maps.test_maps = lrp.attribute_from_layer(network, test, layer.input, maps.feature_relevance);
  maps.train_maps = lrp.attribute_from_layer(network, train_images, layer.input, maps.feature_relevance);
  return maps;
}

XdaPairs xda_of_top(Network& network, const torch::Tensor& image, const torch::Tensor& train_images,
                    const TopAttributions& proponents, const TopAttributions& opponents, int64_t sample, int64_t pairs) {
  require(pairs >= 1, "XDA needs at least 1 pair per sample");
  const int64_t shown = std::min(pairs, proponents.indices.size(1));
  XdaPairs out;
  out.train_indices = torch::cat({proponents.indices[sample].narrow(0, 0, shown), opponents.indices[sample].narrow(0, 0, shown)});
  out.values = torch::cat({proponents.values[sample].narrow(0, 0, shown), opponents.values[sample].narrow(0, 0, shown)});
  out.maps = xda_heatmaps(network, image, train_images.index_select(0, out.train_indices), out.values);
  return out;
}

}  // namespace prism
