#include "prism/explain/data/random_attributor.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/core/fingerprint.h"

namespace prism {

void RandomAttributor::fit(Network& network, const Dataset& train) {
  train_size_ = train.size();
  stream_ = seed_ ^ tensors_fingerprint(network.parameters());  // another model, another stream
}

torch::Tensor RandomAttributor::attribute(Network&, const torch::Tensor& inputs, const torch::Tensor&) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(stream_);
  return at::normal(0.0, 1.0, {inputs.size(0), train_size_}, generator, torch::kFloat32);
}

torch::Tensor RandomAttributor::self_influence() const {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(stream_ + 1);
  return at::normal(0.0, 1.0, {train_size_}, generator, torch::kFloat32);
}

std::map<std::string, torch::Tensor> RandomAttributor::state() const {
  return {{"train_size", torch::tensor({train_size_}, torch::kInt64)},
          {"stream", torch::tensor({static_cast<int64_t>(stream_)}, torch::kInt64)}};
}

void RandomAttributor::set_state(const std::map<std::string, torch::Tensor>& state) {
  require(state.count("train_size") && state.count("stream"), "the random control's fit is incomplete; re-run the fit");
  train_size_ = state.at("train_size")[0].item<int64_t>();
  stream_ = static_cast<uint64_t>(state.at("stream")[0].item<int64_t>());
}

}  // namespace prism
