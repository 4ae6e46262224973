// Running a network over a data set: logits in batches, accuracy, per-class accuracy, confusion.
#pragma once
#include <nlohmann/json.hpp>

#include "prism/data/dataset.h"
#include "prism/model/network.h"

namespace prism {

// Logits [N, classes] for `images` [N, C, H, W], in evaluation mode and without gradients.
torch::Tensor predict_logits(Network& network, const torch::Tensor& images, int64_t batch_size = 256);

struct Evaluation {
  double accuracy = 0;
  std::vector<double> per_class_accuracy;  // NaN for classes absent from the data
  torch::Tensor confusion;                 // [classes, classes] int64, rows true, columns predicted
  torch::Tensor predictions;               // [N] int64
  nlohmann::json to_json(const std::vector<std::string>& class_names) const;
  std::string table(const std::vector<std::string>& class_names) const;
};

Evaluation evaluate(Network& network, const Dataset& data, int64_t batch_size = 256);

}  // namespace prism
