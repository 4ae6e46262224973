// ROAR and KAR (Hooker, Erhan, Kindermans, Kim 2019, "A Benchmark for Interpretability Methods in Deep
// Neural Networks", §3): rank the pixels of every training and test image by a method's map of the trained
// model, replace the top t % (ROAR, RemOve And Retrain) or all but the top t % (KAR, Keep And Retrain) by the
// per-channel data mean, train a fresh model of the same architecture on the modified training set and
// measure its accuracy on the modified test set. A faithful ranking makes ROAR accuracy fall fastest and KAR
// accuracy stay highest; a random ranking is the control. Maps are explained for each image's label.
// Everything is cached under `cache`: each method's maps once, each retraining as it finishes, so an
// interrupted run continues where it stopped and a repeated run only reads. Each cached entry records what
// it was computed from (`key`, the method's options, the training options) and is recomputed when that differs.
// Over the ranks of a split command (core/ranks.h) the maps are computed in shares of whole batches and the
// retrainings dealt out in turn; the cache must then be on a file system every rank sees.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/explain/feature/attributor.h"
#include "prism/model/train.h"
#include "prism/model/zoo.h"

namespace prism {

struct RoarOptions {
  std::vector<double> fractions = {10, 30, 50, 70, 90};  // percentages, each in (0, 100)
  std::vector<std::string> modes = {"roar", "kar"};
  int64_t seeds = 1;             // retrainings per point, with training seeds training.seed + 0, 1, ...
  TrainOptions training;         // of each retraining (`out` is ignored)
  std::string reduce = "sum";    // channel collapse before ranking
  std::string ranking = "method";  // method (each method's own convention) | signed | magnitude (rank_pixels)
  int64_t batch_size = 64;       // images per attribution call
  std::filesystem::path cache;   // required
  nlohmann::json key;            // what the trained model and data are (e.g. file checksums), stored with each entry

  // The options a person chooses (the cache and key are the run's context, not options).
  template <typename Visit>
  void visit(Visit&& option) {
    option("fractions", fractions, "percentages of pixels removed (ROAR) or kept (KAR), each in (0, 100)");
    option("modes", modes, "roar, kar or both");
    option("seeds", seeds, "retrainings per point");
    option("epochs", training.epochs, "epochs per retraining");
    option("lr", training.learning_rate, "learning rate of the retrainings");
    option("train_batch_size", training.batch_size, "batch size of the retrainings");
    option("reduce", reduce, "channel collapse before ranking: sum, abs-sum, max-abs, signed-max");
    option("ranking", ranking, "how maps rank pixels: method (each method's paper: by magnitude for saliency, smoothgrad and the pruned gradient, signed for the rest), signed, magnitude");
    option("batch_size", batch_size, "images per attribution call");
  }
};

struct RoarRun {
  std::string method, mode;  // mode "none" for the unmodified baseline
  double fraction = 0;
  int64_t seed = 0;
  double accuracy = 0, seconds = 0;
  bool cached = false;  // read from the cache rather than trained in this run
};

struct RoarResult {
  RoarOptions options;
  std::vector<std::string> methods, rankings;  // rankings[m]: how methods[m]'s maps ranked the pixels
  std::vector<RoarRun> runs;
  bool table_rows = false;  // the runs removed features of table rows, not pixels
  double attribution_seconds = 0, retraining_seconds = 0;  // spent in this run (cache hits cost neither)

  // Mean test accuracy over seeds of (method, mode, fraction); the baseline for mode "none".
  double accuracy(const std::string& method, const std::string& mode, double fraction) const;
  nlohmann::json to_json() const;
  std::string to_csv() const;
  std::string table(const std::string& mode) const;   // markdown: methods × fractions
};

void check_roar_options(const RoarOptions& options);

// The images a ROAR / KAR point trains and tests on: the top ⌊fraction % · H·W⌉ pixels ranked by the collapsed
// `maps` [B, H, W] (as `ranking` says, see rank_pixels) replaced by the data mean (roar), or all the others (kar).
torch::Tensor roar_images(const Network& trained, const torch::Tensor& images, const torch::Tensor& maps,
                          const std::string& mode, double fraction, const std::string& ranking = "signed");

// Runs ROAR / KAR for each method. `trained` ranks the pixels; fresh models come from `architecture`.
RoarResult run_roar(Network& trained, const ZooOptions& architecture, const std::vector<FeatureAttributor*>& methods,
                    const Dataset& train, const Dataset& test, const RoarOptions& options);

}  // namespace prism
