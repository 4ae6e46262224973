// Every metric prism's evaluations report, as Quantus describes one: its name, the protocol it belongs to,
// which direction is better and what it measures. Tables mark the direction with ↑ / ↓ and JSON results carry it
// as "better", all from this one table.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace prism {

struct Metric {
  std::string name, protocol;
  std::string better;  // "higher" or "lower"
  std::string measures;
  std::string arrow() const { return better == "higher" ? "↑" : "↓"; }
};

// All metrics, by protocol: "map measures", "pixel perturbation", "road", "insertion-deletion", "localisation",
// "sanity", "roar", "data attribution", "flint", "knn sweep".
const std::vector<Metric>& all_metrics();
std::vector<Metric> protocol_metrics(const std::string& protocol);
// A metric by name within its protocol; an unknown one is an error listing the protocol's.
const Metric& find_metric(const std::string& protocol, const std::string& name);
// name → better, for a protocol's JSON result.
nlohmann::json metric_directions(const std::string& protocol);

// The mean of per-sample values and its standard error (0 for one value).
std::pair<double, double> mean_and_error(const torch::Tensor& values);
// The mean over samples (dim 0) of per-sample curves [B, points].
std::vector<double> mean_curve(const torch::Tensor& curves);

}  // namespace prism
