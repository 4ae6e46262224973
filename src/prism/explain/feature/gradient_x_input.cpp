#include "prism/explain/feature/gradient_x_input.h"

#include "prism/explain/feature/gradient.h"

namespace prism {

torch::Tensor GradientXInput::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  return inputs * target_gradient(network, inputs, targets).gradient;
}

}  // namespace prism
