// The concept interface (interpretation by design, seed 001): a dictionary of J learnt concepts Φ(x) ≥ 0 read
// from a network's hidden layers, whose linear read-out mimics the network. A prediction is attributed to the
// concepts, [B, J], the way a feature attributor attributes it to pixels and a data attributor to training
// samples: the same call, attribute(network, inputs, targets), so evaluations and reports loop over any of them.
#pragma once
#include <torch/torch.h>

#include <string>

#include "prism/model/network.h"

namespace prism {

class ConceptAttributor {
 public:
  virtual ~ConceptAttributor() = default;
  virtual std::string name() const = 0;
  // J, the number of concepts.
  virtual int64_t num_concepts() const = 0;
  // Φ(x) [B, J] of `inputs` [B, C, H, W].
  virtual torch::Tensor concepts(Network& network, const torch::Tensor& inputs) = 0;
  // Each concept's attribution [B, J] for the score of `targets` [B] at `inputs`.
  virtual torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) = 0;
};

}  // namespace prism
