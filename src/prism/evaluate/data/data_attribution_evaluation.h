// The DualView paper's evaluation of data attribution (Yolcu et al. 2024, §5), end to end: each metric sets
// up its experiment and trains the model it needs — the plain model (identical class, sparsity, top-k
// cardinality, model randomisation against an untrained copy), a model on merged classes (identical
// subclass), a model on flipped labels (mislabel detection), a model with one class partly marked (shortcut
// detection), a model with a second source mixed into one class (mixed datasets), and models on random halves of the training set (linear datamodeling score) — then fits every
// method on it and scores the attributions. Models and fits are cached under `cache` (a training run resumes
// from its last complete epoch; a fit is reused while its model file is unchanged), so a second run of the
// same evaluation only explains and scores.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/data/transforms.h"
#include "prism/evaluate/data/data_metrics.h"
#include "prism/model/train.h"
#include "prism/model/zoo.h"

namespace prism {

struct DataEvaluationOptions {
  std::vector<std::string> methods;  // data_methods() when empty
  std::vector<std::string> metrics;  // data_metric_names() when empty
  nlohmann::json method_options = nlohmann::json::object();  // per method name
  ZooOptions architecture;  // input shape and classes are taken from the data
  TrainOptions training;    // of every model (`out` is set per model inside the cache)
  double flip_fraction = 0.3;
  MarkOptions mark;         // the marked class and share for shortcut detection
  MixOptions mix;           // the second source for mixed datasets
  ClassGrouping grouping;   // for identical subclass; Fashion-MNIST's default when empty and the data is it
  int64_t lds_subsets = 8;  // models on random halves
  int64_t topk = 10;
  std::filesystem::path cache;  // required

  // The scalar options (methods, metrics, their options, the architecture and the cache are given whole).
  template <typename Visit>
  void visit(Visit&& option) {
    option("epochs", training.epochs, "epochs of every model");
    option("lr", training.learning_rate, "learning rate of every model");
    option("seed", training.seed, "seed of models, label flips, marks, mixed-in samples and subsets");
    option("flip_fraction", flip_fraction, "mislabel: share of labels flipped");
    option("mark_class", mark.target_class, "shortcut: the class partly marked");
    option("mark_fraction", mark.fraction, "shortcut: share of that class marked");
    option("mix_source_class", mix.source_class, "mixed-datasets: the class whose negatives form the second source");
    option("mix_class", mix.target_class, "mixed-datasets: the label the second source gets");
    option("mix_share", mix.share, "mixed-datasets: share of the training set from the second source");
    option("lds_subsets", lds_subsets, "lds: models on random halves");
    option("topk", topk, "top-k cardinality's k");
  }
};

// The metric names the command line takes (evaluate/metrics.h says which direction is better).
std::vector<std::string> data_metric_names();

struct DataEvaluationResult {
  DataEvaluationOptions options;
  std::vector<std::string> methods, metrics;
  std::map<std::string, std::map<std::string, double>> values;  // metric → method → value
  std::map<std::string, DetectionCurve> mislabel_curves;        // method → curve
  std::map<std::string, double> fit_seconds, explain_seconds, cache_mib;  // per method, on the plain model
  std::map<std::string, nlohmann::json> notes;  // per metric: test points used, models trained

  nlohmann::json to_json() const;
  std::string table() const;  // markdown: metric (with its direction) × method, then the costs
};

DataEvaluationResult evaluate_data_attribution(const Dataset& train, const Dataset& test,
                                               const DataEvaluationOptions& options);

// Trains the models the metrics need and fits every method on each, into the cache evaluate_data_attribution reads:
// over the ranks of a split command (core/ranks.h) the trainings, then the fits, are dealt out in turn, each rank
// training or fitting alone; rank 0 then evaluates from the cache. On one process it is the first part of
// evaluate_data_attribution's work.
void prepare_data_evaluation(const Dataset& train, const Dataset& test, const DataEvaluationOptions& options);

}  // namespace prism
