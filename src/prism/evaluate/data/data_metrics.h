// The metrics of data attribution that the DualView paper (Yolcu et al. 2024, §5) and quanda compute, as
// functions of attributions [B test points, N training samples] and what the experiment recorded.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace prism {

// Identical class / subclass: the share of test points whose top-1 attributed training sample carries the
// same label (`train_labels` [N] against `test_labels` [B]: classes, or the original subclasses).
double identical_label(const torch::Tensor& attributions, const torch::Tensor& train_labels,
                       const torch::Tensor& test_labels);

// Mislabel detection: the training set inspected in decreasing self-influence; `found` is the share of the
// flipped samples among the first `inspected` share. The area under that curve is normalised so that a random
// order scores 0 and the optimal (every flipped sample first) scores 1.
struct DetectionCurve {
  std::vector<double> inspected, found;  // sampled at up to 101 points, for plots
  double area = 0, random_area = 0, optimal_area = 0, normalized = 0;
};
DetectionCurve mislabel_detection(const torch::Tensor& self_influence, const torch::Tensor& flipped);

// Shortcut detection, for marked test points the model assigns to the marked class: the share whose top-1
// training sample is marked, and the mean average precision of the marked samples in each point's ranking.
struct ShortcutScore {
  double top1_hit_rate = 0, mean_average_precision = 0;
};
ShortcutScore shortcut_detection(const torch::Tensor& attributions, const torch::Tensor& marked);

// Mixed datasets (Hammoudeh & Lowd 2022; quanda's MixedDatasetsMetric), for test points of the second source the
// model assigns to its label: the mean over points of the average precision (the area under the precision-recall
// curve) of the second source's training samples (`mixed` [N]) in each point's ranking.
double mixed_datasets(const torch::Tensor& attributions, const torch::Tensor& mixed);

// Sparsity: the mean number of non-zero attributions per test point.
double mean_nonzero(const torch::Tensor& attributions);
// Top-k cardinality: the size of the union of every test point's k largest attributions.
int64_t topk_cardinality(const torch::Tensor& attributions, int64_t k);
// Model randomisation: the mean over test points of the Spearman correlation between their attributions under
// the trained and a randomised model (lower is better).
double mean_rank_correlation(const torch::Tensor& trained, const torch::Tensor& randomized);
// Linear datamodeling score (Park et al. 2023, Eq. 4): per test point, the Spearman correlation over subsets
// between Σ_{i ∈ S_s} a_i and the output of the model trained on S_s; averaged over test points.
// `subsets` [S, N] bool, `outputs` [S, B].
double linear_datamodeling_score(const torch::Tensor& attributions, const torch::Tensor& subsets,
                                 const torch::Tensor& outputs);

}  // namespace prism
