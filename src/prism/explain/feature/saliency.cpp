#include "prism/explain/feature/saliency.h"

#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor Saliency::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto gradient = target_gradient(network, inputs, targets).gradient;
  return options_.absolute ? gradient.abs() : gradient;
}

}  // namespace prism
