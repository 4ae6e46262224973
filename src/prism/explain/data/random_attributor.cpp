#include "prism/explain/data/random_attributor.h"

#include <ATen/CPUGeneratorImpl.h>

namespace prism {

torch::Tensor RandomAttributor::attribute(Network&, const torch::Tensor& inputs, const torch::Tensor&) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed_);
  return at::normal(0.0, 1.0, {inputs.size(0), train_size_}, generator, torch::kFloat32);
}

torch::Tensor RandomAttributor::self_influence() const {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed_ + 1);
  return at::normal(0.0, 1.0, {train_size_}, generator, torch::kFloat32);
}

}  // namespace prism
