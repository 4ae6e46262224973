// FLINT training (Parekh et al. 2021, Sec. 3.2 and App. S.2): one Adam optimiser over the predictor f (joint
// training; left out post hoc, where f is frozen in evaluation mode), the attribute network Ψ, the linear
// head h and the decoder d, with the loss terms of flint_losses.h logged per epoch.
//
// The FLINT folder, a fit folder (model/fit_folder.h): flint.json (architecture, mode, options, provenance,
// per-epoch history, written last), interpreter/
// (Ψ, h and d weights as .npy), model.prism (f, joint training only), progress.json and checkpoints/ (the last
// complete epoch's state, from which an interrupted run resumes and a finished one is extended).
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/explain/concept/flint_interpreter.h"
#include "prism/explain/concept/flint_losses.h"
#include "prism/model/fit_folder.h"
#include "prism/model/network.h"

namespace prism {

struct FlintTrainOptions {
  bool train_predictor = true;  // false: post hoc, f frozen (its weights are not touched)
  FlintLossWeights weights;
  double learning_rate = 1e-4;  // the paper's Adam step for MNIST-like data
  int64_t batch_size = 16;
  int64_t epochs = 12;
  uint64_t seed = 0;
  std::filesystem::path out;  // the FLINT folder (required)
  // What f and the data are; kept in flint.json. Joint training sets the model to OUT/model.prism.
  Provenance provenance;
};

struct FlintEpochRecord {
  int64_t epoch = 0;
  // Means over the epoch's batches of the unweighted terms, and of the weighted total.
  double prediction = 0, output_fidelity = 0, input_fidelity = 0, conciseness = 0, diversity = 0, sparsity = 0,
         total = 0;
  double train_predictor_accuracy = 0, train_interpreter_accuracy = 0;
  double test_predictor_accuracy = 0, test_interpreter_accuracy = 0, test_fidelity = 0;  // 0 without test data
  double seconds = 0;
  nlohmann::json to_json() const;
};

// Trains (or, with the same options, resumes or finds finished) a FLINT run and writes its folder.
std::vector<FlintEpochRecord> train_flint(Network& network, FlintInterpreter& interpreter, const Dataset& train,
                                          const Dataset* test, const FlintTrainOptions& options);

// FLINT's interpreter for `network` and its training: J `attributes` read at f's hidden `layers` (empty: the
// default_flint_layers), initial weights from train.seed, then train_flint. What the command line and Python
// fit and train with.
struct FlintFitOptions {
  int64_t attributes = 25;
  std::vector<std::string> layers;
  FlintTrainOptions train;

  // The options a caller sets (the loss weights' among them); train_predictor, out and provenance are the caller's.
  template <typename Visit>
  void visit(Visit&& option) {
    option("attributes", attributes, "J, the attributes learnt");
    option("layers", layers, "f's hidden layers the attributes read (empty: the last ReLU with a spatial map)");
    option("epochs", train.epochs, "epochs");
    option("batch_size", train.batch_size, "batch size");
    option("learning_rate", train.learning_rate, "Adam learning rate (the paper's for MNIST-like data)");
    option("seed", train.seed, "seed of weights, shuffling and dropout");
    train.weights.visit(option);
  }
};
struct FlintFit {
  FlintInterpreter interpreter{nullptr};
  std::vector<FlintEpochRecord> history;
};
FlintFit learn_flint(Network& network, const Dataset& train, const Dataset* test, const FlintFitOptions& options);

// A finished FLINT folder: its record and its interpreter (weights loaded, evaluation mode).
struct FlintFolder {
  nlohmann::json record;
  FlintInterpreter interpreter{nullptr};
  Provenance provenance() const;  // f's model file and the training data, as recorded
};
FlintFolder open_flint(const std::filesystem::path& dir);

}  // namespace prism
