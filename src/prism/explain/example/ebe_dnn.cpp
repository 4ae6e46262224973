#include "prism/explain/example/ebe_dnn.h"

#include <optional>

#include "prism/core/error.h"
#include "prism/core/files.h"
#include "prism/core/ranks.h"
#include "prism/explain/example/sharded_search.h"
#include "prism/io/npy.h"

namespace prism {
namespace fs = std::filesystem;

void check_ebe_options(const EbeOptions& o) {
  require(o.k >= 1, "EBE-DNN: k must be at least 1");
  require(o.weights == "uniform" || o.weights == "distance",
          "unknown weighting '" + o.weights + "'; use uniform or distance");
  require(o.top >= 0, "EBE-DNN: top must be 0 (all) or positive");
  require(o.share >= 0 && o.share <= 1, "EBE-DNN: share must lie in [0, 1] (0: keep all)");
}

torch::Tensor ExampleAttribution::dense(int64_t n_train) const {
  return torch::zeros({weights.size(0), n_train}, torch::kFloat32).scatter_add_(1, indices, weights);
}

torch::Tensor neighbour_weights(const torch::Tensor& distances, const std::string& weighting) {
  const auto d = distances.to(torch::kFloat64);
  if (weighting == "uniform") return torch::full_like(distances, 1.0 / distances.size(1));
  require(weighting == "distance", "unknown weighting '" + weighting + "'; use uniform or distance");
  const auto exact = d <= 0;
  const auto has_exact = exact.any(1, true);
  const auto inverse = torch::where(has_exact, exact.to(torch::kFloat64), 1.0 / d.clamp_min(1e-300));
  return (inverse / inverse.sum(1, true)).to(torch::kFloat32);
}

torch::Tensor keep_largest(const torch::Tensor& weights, int64_t top, double share) {
  if (top <= 0 && share <= 0) return weights;
  const auto sorted = weights.sort(1, true);
  const auto& values = std::get<0>(sorted);
  const auto& order = std::get<1>(sorted);
  auto keep = torch::ones_like(values, torch::kBool);
  const auto rank = torch::arange(values.size(1), torch::kInt64).unsqueeze(0);
  if (top > 0) keep &= rank < top;
  if (share > 0) {
    // Keep rank r while the weights before it have not yet reached the share (to float32 rounding).
    const auto before = values.to(torch::kFloat64).cumsum(1) - values.to(torch::kFloat64);
    keep &= before < (share - 1e-6) * values.to(torch::kFloat64).sum(1, true);
  }
  auto kept = torch::zeros_like(weights).scatter_(1, order, values * keep);
  return kept / kept.sum(1, true);
}

torch::Tensor label_vote(const torch::Tensor& labels, const torch::Tensor& weights, int64_t num_classes) {
  return torch::zeros({labels.size(0), num_classes}, torch::kFloat32).scatter_add_(1, labels, weights);
}

torch::Tensor examples_to_reach(const torch::Tensor& weights, double share) {
  const auto values = std::get<0>(weights.to(torch::kFloat64).sort(1, true));
  const auto cumulative = values.cumsum(1);
  // The first rank at which the cumulative weight reaches the share, plus one.
  return (cumulative < (share - 1e-6) * values.sum(1, true)).sum(1) + 1;
}

ExampleAttribution attribute_neighbours(const Neighbours& neighbours, const torch::Tensor& train_labels,
                                        int64_t num_classes, const EbeOptions& options) {
  check_ebe_options(options);
  ExampleAttribution out;
  out.indices = neighbours.indices;
  out.distances = neighbours.distances;
  out.labels = train_labels.index({neighbours.indices});
  out.weights = keep_largest(neighbour_weights(neighbours.distances, options.weights), options.top, options.share);
  out.probabilities = label_vote(out.labels, out.weights, num_classes);
  out.predictions = out.probabilities.argmax(1);
  return out;
}

EmbeddingOptions EbeDnn::embedding_options() const {
  EmbeddingOptions o;
  o.layer = record_.at("layer").get<std::string>();
  o.pool = record_.at("pool").get<std::string>();
  o.unit_length = record_.at("index").at("metric").get<std::string>() == "cosine";
  return o;
}

EbeDnn EbeDnn::fit(Network& network, const Dataset& train, const FitOptions& options, const fs::path& dir,
                   const Provenance& provenance) {
  auto embedding = options.embedding;
  embedding.unit_length = options.index.metric == "cosine";
  check_embedding_options(network, embedding);
  KnnIndex(torch::zeros({1, 1}), options.index);  // checks the index options before the long embedding
  // Over MPI ranks every rank embeds its share of the training set; rank 0 alone holds the folder and writes the rest.
  std::optional<FitFolderWriter> writer;
  if (ranks::is_root()) writer.emplace(dir);
  write_embeddings(network, train, embedding, dir / "embeddings.npy");
  if (!ranks::is_root()) {
    ranks::barrier();  // rank 0 has written the folder
    return open(dir);
  }
  write_npy(dir / "labels.npy", train.labels);
  EbeDnn fitted;
  fitted.labels_ = train.labels.clone();
  const auto embeddings = map_npy(dir / "embeddings.npy");
  fitted.index_ = std::make_shared<KnnIndex>(embeddings, options.index);
  fitted.index_->build();
  fitted.index_->save(dir / "index.faiss");
  fitted.record_ = {{"layer", embedding.layer},
                    {"pool", embedding.pool},
                    {"index",
                     {{"kind", options.index.kind},
                      {"metric", options.index.metric},
                      {"nlist", options.index.nlist},
                      {"nprobe", options.index.nprobe},
                      {"hnsw_m", options.index.hnsw_m},
                      {"ef_search", options.index.ef_search}}},
                    {"size", embeddings.size(0)},
                    {"dim", embeddings.size(1)},
                    {"num_classes", train.num_classes()},
                    {"class_names", train.class_names},
                    {"provenance", provenance.to_json()}};
  fitted.record_ = writer->finish(fitted.record_, "ebe-dnn");
  ranks::barrier();
  if (ranks::count() > 1) return open(dir);  // rank 0 then searches its shard, as the others do
  return fitted;
}

EbeDnn EbeDnn::open(const fs::path& dir) {
  const auto record_path = dir / "fit.json";
  EbeDnn fitted;
  fitted.record_ = read_fit_record(dir, "ebe-dnn", "prism examples fit");
  try {
    KnnIndexOptions index;
    const auto& i = fitted.record_.at("index");
    index.kind = i.at("kind").get<std::string>();
    index.metric = i.at("metric").get<std::string>();
    index.nlist = i.at("nlist").get<int64_t>();
    index.nprobe = i.at("nprobe").get<int64_t>();
    index.hnsw_m = i.at("hnsw_m").get<int64_t>();
    index.ef_search = i.at("ef_search").get<int64_t>();
    const auto size = fitted.record_.at("size").get<int64_t>(), dim = fitted.record_.at("dim").get<int64_t>();
    const auto classes = fitted.record_.at("num_classes").get<int64_t>();
    fitted.record_.at("layer").get<std::string>();
    fitted.record_.at("pool").get<std::string>();

    const auto embeddings = map_npy(dir / "embeddings.npy");
    require(embeddings.scalar_type() == torch::kFloat32 && embeddings.dim() == 2 && embeddings.size(0) == size &&
                embeddings.size(1) == dim,
            (dir / "embeddings.npy").string() + " does not match fit.json (" + shape_string(embeddings.sizes()) +
                "); re-run prism examples fit");
    fitted.labels_ = read_npy(dir / "labels.npy");
    require(fitted.labels_.scalar_type() == torch::kInt64 && fitted.labels_.dim() == 1 &&
                fitted.labels_.size(0) == size && size > 0 && fitted.labels_.min().item<int64_t>() >= 0 &&
                fitted.labels_.max().item<int64_t>() < classes,
            (dir / "labels.npy").string() + " does not match fit.json; re-run prism examples fit");
    if (ranks::count() > 1 && index.kind == "flat") {
      // Over MPI ranks each searches its shard of the rows (explain merges).
      const auto mine = ranks::share(size);
      fitted.shard_offset_ = mine.begin;
      if (mine.size() > 0) fitted.index_ = std::make_shared<KnnIndex>(embeddings.narrow(0, mine.begin, mine.size()), index);
    } else {
      fitted.index_ = std::make_shared<KnnIndex>(embeddings, index);
      if (index.kind != "flat") fitted.index_->load(dir / "index.faiss");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(record_path.string() + " is corrupt (" + e.what() + "); re-run prism examples fit");
  }
  return fitted;
}

ExampleAttribution EbeDnn::explain(Network& network, const torch::Tensor& images, const EbeOptions& options) const {
  check_ebe_options(options);
  require(options.k <= size(), "k = " + std::to_string(options.k) + " exceeds the " + std::to_string(size()) +
                                    " training examples of the fit");
  const auto queries = embed(network, images, embedding_options());
  require(queries.size(1) == dim(),
          "the model's layer " + record_.at("layer").get<std::string>() + " gives " + std::to_string(queries.size(1)) +
              " features but the fit holds " + std::to_string(dim()) + "; the fit was built for another model");
  const auto neighbours = shard_offset_ >= 0 ? search_over_ranks(index_.get(), shard_offset_, queries, options.k)
                                             : index_->search(queries, options.k);
  return attribute_neighbours(neighbours, labels_, num_classes(), options);
}

}  // namespace prism
