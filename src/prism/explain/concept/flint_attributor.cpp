#include "prism/explain/concept/flint_attributor.h"

#include "prism/core/error.h"
#include "prism/explain/concept/flint_relevance.h"
#include "prism/explain/concept/flint_training.h"

namespace prism {

FlintAttributor::FlintAttributor(FlintInterpreter interpreter) : interpreter_(std::move(interpreter)) {
  require(!interpreter_.is_empty(), "FLINT's concept attributor needs an interpreter");
}

std::unique_ptr<FlintAttributor> FlintAttributor::open(const std::filesystem::path& dir) {
  return std::make_unique<FlintAttributor>(open_flint(dir).interpreter);
}

torch::Tensor FlintAttributor::concepts(Network& network, const torch::Tensor& inputs) {
  return run_flint(network, interpreter_, inputs).attributes;
}

torch::Tensor FlintAttributor::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(targets.dim() == 1 && targets.size(0) == inputs.size(0),
          "FLINT's attribution needs one target per input (" + std::to_string(inputs.size(0)) + ")");
  const auto classes = targets.to(torch::kInt64).cpu();
  const int64_t num_classes = interpreter_->architecture().num_classes;
  require(classes.numel() == 0 || (classes.min().item<int64_t>() >= 0 && classes.max().item<int64_t>() < num_classes),
          "a target is outside the model's " + std::to_string(num_classes) + " classes");
  return local_relevance(concepts(network, inputs), interpreter_->head_weight().detach().cpu(), classes);
}

}  // namespace prism
