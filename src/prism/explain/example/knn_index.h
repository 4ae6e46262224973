// Nearest-neighbour search over a matrix of embeddings (FAISS). Exact search runs FAISS's brute-force
// kernel directly on the (possibly memory-mapped) matrix, so it costs no copy; the approximate indexes
// (IVF, HNSW) hold their own copy and are saved beside the embeddings.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

namespace faiss {
struct Index;
}

namespace prism {

struct KnnIndexOptions {
  std::string kind = "flat";  // "flat" (exact) | "ivf" | "hnsw"
  std::string metric = "l2";  // "l2" (Euclidean) | "cosine" (rows must have unit length)
  int64_t nlist = 0;          // ivf: inverted lists; 0 = 4·√N
  int64_t nprobe = 16;        // ivf: lists visited per query
  int64_t hnsw_m = 32;        // hnsw: links per node
  int64_t ef_search = 128;    // hnsw: candidate list length at search time
};

struct Neighbours {
  torch::Tensor indices;    // [B, k] int64 rows of the embedding matrix, nearest first
  torch::Tensor distances;  // [B, k] float32: Euclidean distance, or 1 − cosine similarity
};

class KnnIndex {
 public:
  // Checks the options; `embeddings` [N, D] float32 (kept, not copied, for exact search).
  KnnIndex(torch::Tensor embeddings, KnnIndexOptions options);
  ~KnnIndex();
  KnnIndex(KnnIndex&&) noexcept;
  KnnIndex& operator=(KnnIndex&&) noexcept;

  // Builds the approximate index (no-op for flat).
  void build();
  // Saves / loads the approximate index (no-op for flat); load refuses one built on other embeddings.
  void save(const std::filesystem::path& path) const;
  void load(const std::filesystem::path& path);

  // The k nearest rows to each query [B, D].
  Neighbours search(const torch::Tensor& queries, int64_t k) const;

  int64_t size() const { return embeddings_.size(0); }
  int64_t dim() const { return embeddings_.size(1); }
  const KnnIndexOptions& options() const { return options_; }

 private:
  torch::Tensor embeddings_;
  torch::Tensor norms_;  // ‖row‖² for exact L2 search
  KnnIndexOptions options_;
  std::unique_ptr<faiss::Index> approximate_;
};

// Share of the exact neighbours that an approximate search found, averaged over queries (recall@k).
double recall_at_k(const torch::Tensor& found, const torch::Tensor& exact);

}  // namespace prism
