#include "prism/evaluate/metrics.h"

#include <cmath>

#include "prism/core/error.h"

namespace prism {

const std::vector<Metric>& all_metrics() {
  static const std::vector<Metric> metrics = {
      // Quantus-style measures of one map (map_measures.h).
      {"sparseness", "map measures", "higher", "Gini index of |map| (Chalasani et al. 2020)"},
      {"complexity", "map measures", "lower", "entropy of the normalised |map| (Bhatt et al. 2020)"},
      {"max_sensitivity", "map measures", "lower", "largest change of the map under small input noise (Yeh et al. 2019)"},
      {"faithfulness", "map measures", "higher",
       "correlation of the map's sums over random subsets with the score drop when they are removed (Bhatt et al. 2020)"},
      {"infidelity", "map measures", "lower",
       "squared error of the map, best scaled, in predicting the score's change under Gaussian noise (Yeh et al. 2019)"},
      {"random_logit", "map measures", "lower",
       "SSIM between the maps of the target and of a random other class (Sixt et al. 2020)"},
      {"local_lipschitz", "map measures", "lower",
       "largest change of the map per unit of input change under Gaussian noise (Alvarez-Melis and Jaakkola 2018)"},
      {"completeness_error", "map measures", "lower",
       "relative gap between the map's sum and f(x) - f(black image) (Sundararajan et al. 2017)"},
      {"input_invariance", "map measures", "lower",
       "relative change of the map when a constant input shift is undone inside the model (Kindermans et al. 2019)"},
      {"irof", "map measures", "higher",
       "area over the probability curve as superpixels are removed by mean relevance (Rieger and Hansen 2020)"},
      // Pixel perturbation (pixel_perturbation.h): the area over the perturbation curve of the target probability.
      {"aopc_morf", "pixel perturbation", "higher", "AOPC removing the most relevant pixels first (Samek et al. 2017)"},
      {"aopc_lerf", "pixel perturbation", "lower", "AOPC removing the least relevant pixels first"},
      {"morf_minus_lerf", "pixel perturbation", "higher", "AOPC MoRF - AOPC LeRF: both ends of the ranking at once"},
      // ROAD (pixel_perturbation.h, fill "linear"): the share of samples still predicted as the target.
      {"morf_accuracy", "road", "lower",
       "share still predicted as the target, most relevant pixels imputed first, mean over 10-90 % (Rong et al. 2022)"},
      {"lerf_accuracy", "road", "higher", "the same, least relevant pixels imputed first"},
      {"lerf_minus_morf", "road", "higher", "LeRF - MoRF accuracy: both ends of the ranking at once"},
      // Insertion and deletion (insertion_deletion.h): areas under the target probability's curves.
      {"deletion_auc", "insertion-deletion", "lower",
       "area under the probability as the most relevant pixels are set to 0 first (Petsiuk et al. 2018)"},
      {"insertion_auc", "insertion-deletion", "higher",
       "area under the probability as the most relevant pixels are put back into a blurred copy first"},
      {"insertion_minus_deletion", "insertion-deletion", "higher", "insertion AUC - deletion AUC"},
      // Localisation against the shortcut mark (localisation.h).
      {"pointing_game", "localisation", "higher", "share of maps whose largest value lies in the region (Zhang et al. 2018)"},
      {"relevance_mass", "localisation", "higher", "share of positive relevance inside the region (Arras et al. 2022)"},
      {"relevance_rank", "localisation", "higher",
       "share of the |region| highest-ranked pixels inside the region (Arras et al. 2022)"},
      // Model-parameter randomisation (sanity_check.h): the similarity of the maps to the trained model's.
      {"spearman", "sanity", "lower", "rank correlation with the trained model's maps (Adebayo et al. 2018)"},
      {"spearman_abs", "sanity", "lower", "rank correlation of |map| with the trained model's"},
      {"ssim", "sanity", "lower", "structural similarity with the trained model's maps"},
      {"hog_pearson", "sanity", "lower", "correlation of histograms of oriented gradients"},
      // ROAR / KAR (roar.h): the retrained model's test accuracy.
      {"roar_accuracy", "roar", "lower", "accuracy after removing the top pixels and retraining (Hooker et al. 2019)"},
      {"kar_accuracy", "roar", "higher", "accuracy keeping only the top pixels and retraining"},
      // The DualView paper's data-attribution metrics (data_metrics.h).
      {"identical-class", "data attribution", "higher", "share of test points whose top proponent has their class"},
      {"identical-subclass", "data attribution", "higher",
       "the same, for a model trained on merged classes, against the original subclass"},
      {"mislabel", "data attribution", "higher",
       "self-influence finds the flipped labels (area, normalised: random 0, optimal 1)"},
      {"shortcut", "data attribution", "higher", "top proponents of marked test points are marked training points"},
      {"mixed-datasets", "data attribution", "higher",
       "average precision of a mixed-in second source in its test points' rankings"},
      {"sparsity", "data attribution", "lower", "mean number of non-zero attributions per test point"},
      {"topk-cardinality", "data attribution", "lower", "distinct training samples among all top-k lists"},
      {"model-randomization", "data attribution", "lower",
       "rank correlation of the attributions of the trained and a randomised model"},
      {"lds", "data attribution", "higher", "linear datamodeling score: rank correlation with retrained outputs"},
      // FLINT (flint_evaluation.h).
      {"predictor_accuracy", "flint", "higher", "test accuracy of f"},
      {"interpreter_accuracy", "flint", "higher", "test accuracy of the interpreter g"},
      {"fidelity", "flint", "higher", "share of samples where g predicts f's class"},
      {"conciseness", "flint", "lower", "mean number of attributes with relevance above 1/tau"},
      // EBE-DNN's layer and k sweep (knn_sweep.h).
      {"knn_accuracy", "knn sweep", "higher", "accuracy of the kNN vote"},
      {"agreement", "knn sweep", "higher", "share of samples where the kNN vote predicts the network's class"},
  };
  return metrics;
}

std::vector<Metric> protocol_metrics(const std::string& protocol) {
  std::vector<Metric> out;
  for (const auto& m : all_metrics())
    if (m.protocol == protocol) out.push_back(m);
  return out;
}

const Metric& find_metric(const std::string& protocol, const std::string& name) {
  std::string names;
  for (const auto& m : all_metrics()) {
    if (m.protocol != protocol) continue;
    if (m.name == name) return m;
    names += (names.empty() ? "" : ", ") + m.name;
  }
  throw Error("unknown " + protocol + " metric '" + name + "'; the metrics are: " + names);
}

nlohmann::json metric_directions(const std::string& protocol) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : protocol_metrics(protocol)) out[m.name] = m.better;
  return out;
}

std::pair<double, double> mean_and_error(const torch::Tensor& values) {
  const auto v = values.to(torch::kFloat64);
  const int64_t n = v.numel();
  const double mean = v.mean().item<double>();
  const double error = n > 1 ? v.std().item<double>() / std::sqrt(static_cast<double>(n)) : 0.0;
  return {mean, error};
}

std::vector<double> mean_curve(const torch::Tensor& curves) {
  const auto mean = curves.mean(0).to(torch::kFloat64).contiguous();
  return {mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel()};
}

}  // namespace prism
