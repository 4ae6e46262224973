#include "prism/explain/feature/random_map.h"

namespace prism {

RandomMap::RandomMap(RandomMapOptions options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {}

torch::Tensor RandomMap::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  return torch::rand(inputs.sizes(), generator_, torch::kFloat32).to(inputs.device());
}

}  // namespace prism
