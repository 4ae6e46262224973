// Supervised training of a built-in network, with a checkpoint per epoch (TracIn reads them later)
// and resume after an interruption. Deterministic for a given seed and thread count: each epoch's
// shuffle, augmentation and dropout draw from generators seeded by (seed, epoch).
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/model/network.h"

namespace prism {

struct TrainOptions {
  std::string optimizer = "adam";     // adam | sgd
  double learning_rate = 1e-3;
  double momentum = 0.9;              // sgd only
  double weight_decay = 0.0;
  std::string schedule = "constant";  // constant | step | cosine
  int64_t step_every = 10;            // step schedule: epochs between decays
  double step_gamma = 0.1;            // step schedule: factor per decay
  int64_t batch_size = 64;
  int64_t epochs = 3;
  uint64_t seed = 0;
  bool augment = false;               // random crop (padding 4) and horizontal flip, for CIFAR-like data
  std::filesystem::path out;          // run folder; empty: no checkpoints, no resume

  // The options a person chooses (the run folder is where, not how).
  template <typename Visit>
  void visit(Visit&& option) {
    option("epochs", epochs, "epochs");
    option("batch_size", batch_size, "batch size");
    option("optimizer", optimizer, "adam or sgd");
    option("lr", learning_rate, "learning rate");
    option("momentum", momentum, "SGD momentum");
    option("weight_decay", weight_decay, "weight decay");
    option("schedule", schedule, "learning-rate schedule: constant, step, cosine");
    option("step_every", step_every, "step schedule: epochs between decays");
    option("step_gamma", step_gamma, "step schedule: factor per decay");
    option("seed", seed, "seed of weights, shuffling, augmentation, dropout");
    option("augment", augment, "random crop and flip (for CIFAR-like data)");
  }
};

struct EpochRecord {
  int64_t epoch = 0;
  double learning_rate = 0, train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

// Trains `network` on `train`, measuring accuracy on `test` after each epoch (if given). With
// options.out set, writes OUT/checkpoints/epoch-NNN.prism, OUT/model.prism and OUT/history.json,
// and resumes from the last complete epoch of an earlier run with the same options.
std::vector<EpochRecord> train_network(Network& network, const Dataset& train, const Dataset* test,
                                       const TrainOptions& options);

// The per-epoch checkpoints (RUN/checkpoints/epoch-NNN.prism, in order) and their learning rates
// (RUN/history.json) of the training run whose RUN/model.prism is `model`; `method` names who needs them in
// the error when there are none.
std::pair<std::vector<std::string>, std::vector<double>> training_checkpoints(const std::filesystem::path& model,
                                                                              const std::string& method);

// Restores an optimizer's state that torch::save wrote into a run folder, after checking the archive (LibTorch
// does not): a damaged file is an Error that names it.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::filesystem::path& path);

}  // namespace prism
