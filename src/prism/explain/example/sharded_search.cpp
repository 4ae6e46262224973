#include "prism/explain/example/sharded_search.h"

#include <limits>

#include "prism/core/error.h"
#include "prism/core/ranks.h"

namespace prism {

Neighbours search_over_ranks(const KnnIndex* shard, int64_t offset, const torch::Tensor& queries, int64_t k) {
  const int64_t b = queries.size(0);
  // This rank's candidates, padded to k with rows that lose every comparison.
  auto distances = torch::full({b, k}, std::numeric_limits<float>::infinity(), torch::kFloat32);
  auto indices = torch::full({b, k}, std::numeric_limits<int64_t>::max(), torch::kInt64);
  const int64_t local_k = shard ? std::min(k, shard->size()) : 0;
  if (local_k > 0 && b > 0) {
    const auto local = shard->search(queries, local_k);
    distances.narrow(1, 0, local_k).copy_(local.distances);
    indices.narrow(1, 0, local_k).copy_(local.indices + offset);
  }
  // [R, B, k] → [B, R·k], then ordered by row and, stably, by distance: (distance, row) order.
  auto all_distances = ranks::all_gather(distances).permute({1, 0, 2}).reshape({b, -1});
  auto all_indices = ranks::all_gather(indices).permute({1, 0, 2}).reshape({b, -1});
  const auto by_row = std::get<1>(all_indices.sort(c10::optional<bool>(true), 1, /*descending=*/false));
  all_distances = all_distances.gather(1, by_row), all_indices = all_indices.gather(1, by_row);
  const auto by_distance = std::get<1>(all_distances.sort(c10::optional<bool>(true), 1, /*descending=*/false)).narrow(1, 0, k);
  Neighbours out{all_indices.gather(1, by_distance), all_distances.gather(1, by_distance)};
  require(!(out.indices == std::numeric_limits<int64_t>::max()).any().item<bool>(),
          "k = " + std::to_string(k) + " exceeds the training examples of the fit");
  return out;
}

}  // namespace prism
