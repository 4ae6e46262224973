// FLINT's interpreter (Parekh et al. 2021) behind the concept interface, joint or post hoc alike: the concepts
// are its attributes Φ(x), and a concept's attribution for class c its local relevance
// r_{j,x} = φ_j(x)·w_{j,c} / max_i |φ_i(x)·w_{i,c}| (Sec. 3.1, Def. 1; flint_relevance.h).
#pragma once
#include <filesystem>
#include <memory>

#include "prism/explain/concept/concept_attributor.h"
#include "prism/explain/concept/flint_interpreter.h"

namespace prism {

class FlintAttributor : public ConceptAttributor {
 public:
  explicit FlintAttributor(FlintInterpreter interpreter);
  // The interpreter of a finished FLINT folder (prism flint train or posthoc).
  static std::unique_ptr<FlintAttributor> open(const std::filesystem::path& dir);

  std::string name() const override { return "flint"; }
  int64_t num_concepts() const override { return interpreter_->architecture().attributes; }
  torch::Tensor concepts(Network& network, const torch::Tensor& inputs) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  FlintInterpreter& interpreter() { return interpreter_; }

 private:
  FlintInterpreter interpreter_;
};

}  // namespace prism
