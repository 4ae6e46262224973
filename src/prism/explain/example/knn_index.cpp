#include "prism/explain/example/knn_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>

#include <cmath>

#include "prism/core/error.h"
#include "prism/core/threads.h"
#include "prism/model/network.h"

namespace prism {

KnnIndex::KnnIndex(torch::Tensor embeddings, KnnIndexOptions options)
    : embeddings_(std::move(embeddings)), options_(std::move(options)) {
  require(embeddings_.dim() == 2 && embeddings_.scalar_type() == torch::kFloat32 && embeddings_.is_contiguous(),
          "embeddings must be a contiguous float32 matrix [N, D] (got " + shape_string(embeddings_.sizes()) + ")");
  require(embeddings_.size(0) > 0 && embeddings_.size(1) > 0, "the embedding matrix is empty");
  require(options_.kind == "flat" || options_.kind == "ivf" || options_.kind == "hnsw",
          "unknown index '" + options_.kind + "'; use flat, ivf or hnsw");
  require(options_.metric == "l2" || options_.metric == "cosine",
          "unknown metric '" + options_.metric + "'; use l2 or cosine");
  require(options_.nlist >= 0 && options_.nprobe >= 1 && options_.hnsw_m >= 2 && options_.ef_search >= 1,
          "index options must be positive (nlist >= 0, nprobe >= 1, hnsw-m >= 2, ef-search >= 1)");
  if (options_.kind == "flat" && options_.metric == "l2") norms_ = embeddings_.pow(2).sum(1).contiguous();
}

KnnIndex::~KnnIndex() = default;
KnnIndex::KnnIndex(KnnIndex&&) noexcept = default;
KnnIndex& KnnIndex::operator=(KnnIndex&&) noexcept = default;

void KnnIndex::build() {
  if (options_.kind == "flat") return;
  const auto metric = options_.metric == "l2" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  const int64_t n = size(), d = dim();
  const float* rows = embeddings_.data_ptr<float>();
  try {
    if (options_.kind == "ivf") {
      const int64_t nlist =
          std::min<int64_t>(n, options_.nlist > 0 ? options_.nlist : std::max<int64_t>(1, 4 * std::sqrt(double(n))));
      auto index = std::make_unique<faiss::IndexIVFFlat>(new faiss::IndexFlat(d, metric), d, nlist, metric);
      index->own_fields = true;
      index->train(n, rows);
      index->add(n, rows);
      approximate_ = std::move(index);
    } else {
      auto index = std::make_unique<faiss::IndexHNSWFlat>(d, options_.hnsw_m, metric);
      index->add(n, rows);
      approximate_ = std::move(index);
    }
  } catch (const faiss::FaissException& e) {
    throw Error("building the " + options_.kind + " index failed: " + e.what());
  }
}

void KnnIndex::save(const std::filesystem::path& path) const {
  if (!approximate_) return;
  try {
    faiss::write_index(approximate_.get(), path.c_str());
  } catch (const faiss::FaissException& e) {
    throw Error("cannot write " + path.string() + ": " + e.what());
  }
}

void KnnIndex::load(const std::filesystem::path& path) {
  if (options_.kind == "flat") return;
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::read_index(path.c_str()));
  } catch (const faiss::FaissException& e) {
    throw Error(path.string() + " is not a readable FAISS index (" + std::string(e.what()).substr(0, 120) +
                "); re-run the fit");
  }
  const bool right_kind = options_.kind == "ivf" ? dynamic_cast<faiss::IndexIVFFlat*>(index.get()) != nullptr
                                                 : dynamic_cast<faiss::IndexHNSWFlat*>(index.get()) != nullptr;
  require(right_kind && index->d == dim() && index->ntotal == size(),
          path.string() + " was not built on these embeddings (kind, dimension or count differ); re-run the fit");
  approximate_ = std::move(index);
}

Neighbours KnnIndex::search(const torch::Tensor& queries, int64_t k) const {
  require(k >= 1 && k <= size(), "k = " + std::to_string(k) + " must be between 1 and the " +
                                     std::to_string(size()) + " training examples");
  require(queries.dim() == 2 && queries.size(1) == dim(),
          "queries must be [B, " + std::to_string(dim()) + "] (got " + shape_string(queries.sizes()) + ")");
  require(options_.kind == "flat" || approximate_, "internal: the approximate index was neither built nor loaded");
  const auto x = queries.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t b = x.size(0);
  auto distances = torch::empty({b, k}, torch::kFloat32);
  auto indices = torch::empty({b, k}, torch::kInt64);
  if (b == 0) return {indices, distances};
  float* dist = distances.data_ptr<float>();
  int64_t* ids = indices.data_ptr<int64_t>();
  const bool l2 = options_.metric == "l2";
  if (approximate_) {
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(approximate_.get())) ivf->nprobe = options_.nprobe;
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(approximate_.get())) hnsw->hnsw.efSearch = options_.ef_search;
    approximate_->search(b, x.data_ptr<float>(), k, dist, ids);
  } else {
    // FAISS's exact search alternates BLAS products with OpenMP loops over the queries: with OpenBLAS's threads
    // beside OpenMP's the two pools spin against each other (bench_knn_explain, 10,000 queries: 2.73 → 2.16 s).
    SingleThreadedBlas blas;
    if (l2)
      faiss::knn_L2sqr(x.data_ptr<float>(), embeddings_.data_ptr<float>(), dim(), b, size(), k, dist, ids,
                       norms_.data_ptr<float>());
    else
      faiss::knn_inner_product(x.data_ptr<float>(), embeddings_.data_ptr<float>(), dim(), b, size(), k, dist, ids);
  }
  require(!(indices < 0).any().item<bool>(),
          "the " + options_.kind + " index found fewer than k = " + std::to_string(k) +
              " neighbours for some query; raise nprobe (ivf) or ef_search (hnsw), or use the flat index");
  // FAISS gives squared L2 distances and inner products; report distances.
  distances = l2 ? distances.clamp_min(0).sqrt() : 1 - distances;
  return {indices, distances};
}

double recall_at_k(const torch::Tensor& found, const torch::Tensor& exact) {
  require(found.sizes() == exact.sizes() && found.dim() == 2, "recall@k needs two [B, k] index tensors");
  if (found.numel() == 0) return 1.0;
  // A match is any found index equal to any exact one in the same row.
  const auto hits = (found.unsqueeze(2) == exact.unsqueeze(1)).any(2);
  return hits.to(torch::kFloat64).mean().item<double>();
}

}  // namespace prism
