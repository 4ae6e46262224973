// The output folders of explanations by training examples, written from results computed beforehand:
// `prism examples explain` (EBE-DNN's weighted neighbours) and `prism influence explain` (a data attributor's
// proponents and opponents, with XDA's heatmap pairs).
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/data/dataset.h"
#include "prism/explain/data/xda.h"
#include "prism/explain/example/ebe_dnn.h"

namespace prism {

// What both show of each explained sample.
struct ExampleOutputs {
  torch::Tensor images, labels;    // the explained test samples [B, C, H, W] or [B, F] and their labels [B]
  std::vector<int64_t> indices;    // their positions in the test set
  const Dataset* train = nullptr;  // the training set the examples index (images, labels, source_index)
  std::vector<std::string> class_names;
  int64_t scale = 3;                                // pixels per input pixel in the pictures
  nlohmann::json head = nlohmann::json::object();  // what explanations.json starts with
};

// A table explanation's rows: the test row, then each example (role, index, value, class), each with every
// feature and the three features that differ most from the test row, in the training set's standard deviations.
class ExampleTable {
 public:
  // The test row: sample b of `outputs`; `value_name` heads the examples' values (weight, value).
  ExampleTable(const ExampleOutputs& outputs, int64_t b, std::string value_name);
  void add(const std::string& role, int64_t index, double value, int64_t label, const torch::Tensor& row);
  std::vector<std::string> header() const;
  // Each row's cells, numbers to `digits` significant digits.
  std::vector<std::vector<std::string>> cells(int digits) const;
  // The header and the rows, numbers to 7 digits.
  std::string csv() const;

 private:
  struct Row {
    std::string role;
    int64_t index;
    double value;  // NaN for the test row
    int64_t label;
    std::string differs;
    torch::Tensor features;
  };
  std::string differences(const torch::Tensor& row) const;

  const ExampleOutputs& o_;
  torch::Tensor test_row_;
  std::vector<std::string> names_;  // the table's columns
  std::string value_name_;
  std::vector<Row> rows_;
};

// explanations.json (the head, then per sample the kNN's and the network's predictions and probabilities and the
// examples of positive weight), indices/weights/distances.npy and examples-NNN.png (the test image, then each
// example with its weight; for table rows examples-NNN.csv instead: the test row and each example as rows, see
// below). Returns the per-sample entries.
nlohmann::json write_knn_explanation_outputs(const std::filesystem::path& out, const ExampleOutputs& outputs,
                                             const ExampleAttribution& attribution,
                                             const torch::Tensor& network_probabilities);

struct InfluenceExplanation {
  torch::Tensor attributions, predictions, targets;  // [B, N_train], [B], [B]
  TopAttributions proponents, opponents;
  std::vector<XdaPairs> xda;  // per sample (empty: no XDA)
  bool dense = false;         // also write attributions.npy
};
// explanations.json (the head, then per sample its prediction, target, the attributions' sum and non-zeros, and
// the proponents and opponents), proponents.npy, proponent_values.npy, opponents.npy, opponent_values.npy,
// attributions.npy when dense, influence-NNN.png (the test image and its proponents above, its opponents below)
// and with XDA xda-NNN.png (each pair's maps overlaid on the test and the training image) and xda-NNN.npy
// ([P, 2, C, H, W]); for table rows influence-NNN.csv (an ExampleTable) instead of the pictures. Returns the
// per-sample entries.
nlohmann::json write_influence_outputs(const std::filesystem::path& out, const ExampleOutputs& outputs,
                                       const InfluenceExplanation& explanation);

// self_influence.npy (every training sample's) and self_influence_top.json (the method and the `top` highest: rank,
// training index, self-influence). Returns the top entries.
nlohmann::json write_self_influence_outputs(const std::filesystem::path& out, const torch::Tensor& scores,
                                            const std::string& method, int64_t top);

}  // namespace prism
