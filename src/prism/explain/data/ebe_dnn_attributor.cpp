#include "prism/explain/data/ebe_dnn_attributor.h"

#include "prism/core/error.h"

namespace prism {

EbeDnnAttributor::EbeDnnAttributor(EbeDnnAttributorOptions options) : options_(std::move(options)) {
  check_ebe_options({options_.k, options_.weights, 0, 0});
  require(options_.metric == "l2" || options_.metric == "cosine",
          "ebe-dnn: metric must be l2 or cosine (got " + options_.metric + ")");
}

EmbeddingOptions EbeDnnAttributor::embedding(const Network& network) const {
  EmbeddingOptions o;
  o.layer = options_.layer.empty() ? penultimate_layer(network) : options_.layer;
  o.pool = options_.pool;
  o.unit_length = options_.metric == "cosine";
  return o;
}

Neighbours EbeDnnAttributor::search(const torch::Tensor& queries, int64_t k) const {
  require(index_ != nullptr, "ebe-dnn: fit before attributing");
  require(queries.size(1) == index_->dim(), "ebe-dnn: the model's embedding has " + std::to_string(queries.size(1)) +
                                                " features but the fit holds " + std::to_string(index_->dim()) +
                                                "; the fit was built for another model");
  return index_->search(queries, k);
}

torch::Tensor EbeDnnAttributor::neighbour_labels(const torch::Tensor& indices) const {
  return labels_.index_select(0, indices.flatten()).view_as(indices);
}

void EbeDnnAttributor::fit(Network& network, const Dataset& train) {
  const auto options = embedding(network);
  check_embedding_options(network, options);
  require(options_.k < train.size(), "ebe-dnn: k = " + std::to_string(options_.k) + " needs more than k training samples");
  set_state({{"embeddings", embed(network, train.images, options)}, {"labels", train.labels.clone()}});
  // Leave-one-out: each training sample's k nearest others (the k + 1 nearest, itself dropped; with duplicates
  // it may not come first, so it is removed by index).
  const auto found = index_->search(embeddings_, options_.k + 1);
  const auto others = found.indices != torch::arange(train.size()).unsqueeze(1);
  const auto keep = others.cumsum(1).le(options_.k).logical_and(others);
  const auto indices = found.indices.masked_select(keep).view({train.size(), options_.k});
  const auto distances = found.distances.masked_select(keep).view({train.size(), options_.k});
  const auto weights = neighbour_weights(distances, options_.weights);
  const auto agree = neighbour_labels(indices).eq(labels_.unsqueeze(1)).to(torch::kFloat32);
  self_influence_ = 1 - (weights * agree).sum(1);
}

torch::Tensor EbeDnnAttributor::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  const auto found = search(embed(network, inputs, embedding(network)), options_.k);
  const auto weights = neighbour_weights(found.distances, options_.weights);
  const auto votes_for_target = neighbour_labels(found.indices).eq(targets.view({-1, 1})).to(torch::kFloat32);
  return torch::zeros({inputs.size(0), train_size()}, torch::kFloat32)
      .scatter_add_(1, found.indices, weights * votes_for_target);
}

std::map<std::string, torch::Tensor> EbeDnnAttributor::state() const {
  return {{"embeddings", embeddings_}, {"labels", labels_}, {"self_influence", self_influence_}};
}

void EbeDnnAttributor::set_state(const std::map<std::string, torch::Tensor>& state) {
  embeddings_ = state.at("embeddings").to(torch::kFloat32).contiguous();
  labels_ = state.at("labels").to(torch::kInt64);
  require(embeddings_.dim() == 2 && labels_.dim() == 1 && labels_.size(0) == embeddings_.size(0),
          "ebe-dnn: the embeddings and labels of the fit disagree");
  if (state.count("self_influence")) self_influence_ = state.at("self_influence");
  KnnIndexOptions index;
  index.metric = options_.metric;
  index_ = std::make_shared<KnnIndex>(embeddings_, index);
}

}  // namespace prism
