// FLINT's interpretations (Parekh et al. 2021, Sec. 3.1, Def. 1): the contribution of attribute j to the
// score of the predicted class ŷ, α_j = φ_j(x)·w_{j,ŷ}; its local relevance r_{j,x} = α_j / max_i |α_i|; the
// global relevance of j for class c, r_{j,c} = mean of r_{j,x} over the samples predicted as c. The local
// (global) interpretation is the attributes (class–attribute pairs) with relevance above 1/τ, τ > 1.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace prism {

// r [B, J] from attributes Φ [B, J], h's weights W [classes, J] and the explained classes [B]; a sample
// whose contributions are all zero gets r = 0.
torch::Tensor local_relevance(const torch::Tensor& attributes, const torch::Tensor& head_weight,
                              const torch::Tensor& classes);

// r [classes, J]: mean local relevance per predicted class (0 for a class nobody is predicted as).
torch::Tensor global_relevance(const torch::Tensor& relevance, const torch::Tensor& classes, int64_t num_classes);

// The attributes of each row with relevance > 1/τ, most relevant first.
std::vector<std::vector<int64_t>> local_interpretation(const torch::Tensor& relevance, double tau);

// Conciseness: the mean number of attributes with relevance > 1/τ per sample.
double conciseness(const torch::Tensor& relevance, double tau);

// The class–attribute pairs (c, j) with global relevance > 1/τ.
std::vector<std::pair<int64_t, int64_t>> global_interpretation(const torch::Tensor& class_relevance, double tau);

}  // namespace prism
