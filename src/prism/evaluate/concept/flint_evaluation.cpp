#include "prism/evaluate/concept/flint_evaluation.h"

#include <cstdio>

#include "prism/core/error.h"
#include "prism/evaluate/metrics.h"
#include "prism/explain/concept/flint_relevance.h"

namespace prism {

FlintEvaluation evaluate_flint(Network& network, FlintInterpreter& interpreter, const Dataset& data,
                               const std::vector<double>& taus) {
  require(data.size() >= 1, "the evaluation data is empty");
  require(!taus.empty(), "give at least one τ");
  for (double tau : taus) require(tau > 1, "every τ must exceed 1 (the relevance threshold is 1/τ)");
  const auto outputs = run_flint(network, interpreter, data.images);
  const auto f_pred = outputs.predictor_logits.argmax(1), g_pred = outputs.interpreter_logits.argmax(1);
  FlintEvaluation e;
  e.samples = data.size();
  e.attributes = outputs.attributes.size(1);
  e.predictor_accuracy = f_pred.eq(data.labels).to(torch::kDouble).mean().item<double>();
  e.interpreter_accuracy = g_pred.eq(data.labels).to(torch::kDouble).mean().item<double>();
  e.fidelity = f_pred.eq(g_pred).to(torch::kDouble).mean().item<double>();
  const auto& relevance = outputs.relevance;
  for (double tau : taus) e.conciseness.emplace_back(tau, conciseness(relevance, tau));
  const double smallest = *std::min_element(taus.begin(), taus.end());
  e.unused_attributes = relevance.gt(1 / smallest).any(0).logical_not().sum().item<int64_t>();
  return e;
}

nlohmann::json FlintEvaluation::to_json() const {
  nlohmann::json c = nlohmann::json::array();
  for (const auto& [tau, value] : conciseness) c.push_back({{"tau", tau}, {"conciseness", value}});
  return {{"samples", samples},
          {"attributes", attributes},
          {"predictor_accuracy", predictor_accuracy},
          {"interpreter_accuracy", interpreter_accuracy},
          {"fidelity", fidelity},
          {"conciseness", c},
          {"unused_attributes", unused_attributes},
          {"better", metric_directions("flint")}};
}

std::string FlintEvaluation::markdown() const {
  char line[160];
  std::string out = "| measure | value |\n| --- | --- |\n";
  std::snprintf(line, sizeof line, "| accuracy of f | %.2f %% |\n| accuracy of g | %.2f %% |\n| fidelity | %.2f %% |\n",
                100 * predictor_accuracy, 100 * interpreter_accuracy, 100 * fidelity);
  out += line;
  for (const auto& [tau, value] : conciseness) {
    std::snprintf(line, sizeof line, "| conciseness, τ = %g | %.2f of %lld |\n", tau, value,
                  static_cast<long long>(attributes));
    out += line;
  }
  std::snprintf(line, sizeof line, "| attributes never relevant | %lld |\n", static_cast<long long>(unused_attributes));
  out += line;
  std::snprintf(line, sizeof line, "\n%lld samples\n", static_cast<long long>(samples));
  return out + line;
}

}  // namespace prism
