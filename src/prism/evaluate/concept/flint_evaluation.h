// FLINT's metrics (Parekh et al. 2021, Sec. 4.1): accuracy of the predictor f and of the interpreter g,
// fidelity (the share of samples where g predicts f's class) and conciseness (the mean number of attributes
// with local relevance above 1/τ) for a range of τ.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/explain/concept/flint_interpreter.h"
#include "prism/model/network.h"

namespace prism {

struct FlintEvaluation {
  int64_t samples = 0;
  int64_t attributes = 0;
  double predictor_accuracy = 0, interpreter_accuracy = 0, fidelity = 0;
  std::vector<std::pair<double, double>> conciseness;  // (τ, mean attributes above 1/τ)
  int64_t unused_attributes = 0;  // attributes never relevant (> 1/τ for the smallest τ) for any sample

  nlohmann::json to_json() const;
  std::string markdown() const;
};

inline const std::vector<double> kFlintTaus = {1.5, 2, 2.5, 3, 4, 5};

// Relevance is taken for f's predicted class.
FlintEvaluation evaluate_flint(Network& network, FlintInterpreter& interpreter, const Dataset& data,
                               const std::vector<double>& taus = kFlintTaus);

}  // namespace prism
