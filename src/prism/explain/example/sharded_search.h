// Exact k-nearest-neighbour search over the ranks of an MPI run (issue 20): each rank searches its shard of the
// training embeddings (consecutive rows of the memory-mapped matrix, so no rank reads the others' pages), every
// rank receives all ranks' k best and keeps the k nearest in order of (distance, row), the order a search of all
// rows gives wherever distances differ.
#pragma once
#include <torch/torch.h>

#include "prism/explain/example/knn_index.h"

namespace prism {

// `shard` holds rows [offset, offset + shard->size()) of the matrix (nullptr: this rank's shard is empty); every
// rank calls it with the same queries [B, D]. Returns the k nearest rows of the whole matrix.
Neighbours search_over_ranks(const KnnIndex* shard, int64_t offset, const torch::Tensor& queries, int64_t k);

}  // namespace prism
