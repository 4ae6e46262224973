#include "prism/evaluate/feature/insertion_deletion.h"

#include <sstream>

#include "prism/core/error.h"
#include "prism/evaluate/feature/pixel_perturbation.h"
#include "prism/evaluate/metrics.h"

namespace prism {
double area_under(const std::vector<double>& fractions, const std::vector<double>& values) {
  require(fractions.size() == values.size() && fractions.size() >= 2, "an area needs at least two points");
  double area = 0;
  for (size_t i = 1; i < fractions.size(); ++i) area += (fractions[i] - fractions[i - 1]) * (values[i] + values[i - 1]) / 2;
  return area;
}

InsertionDeletionCurves insertion_deletion(Network& network, const torch::Tensor& images, const torch::Tensor& targets,
                                           const torch::Tensor& maps, const std::string& method,
                                           const InsertionDeletionOptions& options) {
  require(options.steps >= 1, "insertion and deletion need at least one step");
  PerturbationOptions removal;
  removal.percentages.clear();
  InsertionDeletionCurves out;
  for (int64_t s = 0; s <= options.steps; ++s) {
    out.fractions.push_back(static_cast<double>(s) / options.steps);
    removal.percentages.push_back(100.0 * s / options.steps);
  }
  removal.ranking = options.ranking;
  removal.batch_size = options.batch_size;
  removal.fill = "zero";
  const auto deleted = perturbation_curves(network, images, targets, maps, method, removal);
  removal.fill = "blur";
  const auto kept = perturbation_curves(network, images, targets, maps, method, removal);
  out.method = method;
  out.ranking = deleted.ranking;
  out.deletion = deleted.morf_probability;
  out.insertion = kept.lerf_probability.flip({1});  // inserting the top k % = removing the bottom 100 − k %
  out.deletion_auc = area_under(out.fractions, mean_curve(out.deletion));
  out.insertion_auc = area_under(out.fractions, mean_curve(out.insertion));
  return out;
}

nlohmann::json InsertionDeletionReport::to_json() const {
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& c : curves)
    methods.push_back({{"method", c.method},
                       {"ranking", c.ranking},
                       {"samples", c.deletion.size(0)},
                       {"deletion", mean_curve(c.deletion)},
                       {"insertion", mean_curve(c.insertion)},
                       {"deletion_auc", c.deletion_auc},
                       {"insertion_auc", c.insertion_auc},
                       {"insertion_minus_deletion", c.insertion_auc - c.deletion_auc}});
  return {{"fractions", curves.empty() ? std::vector<double>{} : curves.front().fractions},
          {"ranking", options.ranking},
          {"deletion_fill", "zero"},
          {"insertion_start", "blur (Gaussian, sigma 2 px)"},
          {"better", metric_directions("insertion-deletion")},
          {"methods", methods}};
}

std::string InsertionDeletionReport::table() const {
  std::ostringstream out;
  out << "| method | ranked by | deletion AUC ↓ | insertion AUC ↑ | insertion − deletion ↑ |\n|---|---|---|---|---|\n";
  char line[256];
  for (const auto& c : curves) {
    std::snprintf(line, sizeof line, "| %s | %s | %.4f | %.4f | %.4f |\n", c.method.c_str(), c.ranking.c_str(),
                  c.deletion_auc, c.insertion_auc, c.insertion_auc - c.deletion_auc);
    out << line;
  }
  return out.str();
}

}  // namespace prism
