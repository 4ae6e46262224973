#include "prism/model/predict.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "prism/core/error.h"
#include "prism/model/inference.h"

namespace prism {

torch::Tensor predict_logits(Network& network, const torch::Tensor& images, int64_t batch_size) {
  InferenceOptions options;
  options.batch_size = batch_size;
  return infer(network, images, {}, options).at(0);
}

Evaluation evaluate(Network& network, const Dataset& data, int64_t batch_size) {
  require(data.num_classes() <= network.num_classes(),
          "the data has " + std::to_string(data.num_classes()) + " classes but the model only " +
              std::to_string(network.num_classes()) + "; use the data the model was trained on");
  Evaluation out;
  out.predictions = predict_logits(network, data.images, batch_size).argmax(1);
  const int64_t classes = network.num_classes();
  out.confusion = torch::bincount(data.labels * classes + out.predictions, {}, classes * classes).view({classes, classes});
  out.accuracy = out.predictions.eq(data.labels).to(torch::kFloat64).mean().item<double>();
  for (int64_t c = 0; c < classes; ++c) {
    const auto total = out.confusion[c].sum().item<int64_t>();
    out.per_class_accuracy.push_back(total ? out.confusion[c][c].item<int64_t>() / double(total) : NAN);
  }
  return out;
}

nlohmann::json Evaluation::to_json(const std::vector<std::string>& class_names) const {
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < per_class_accuracy.size(); ++c)
    per_class.push_back({{"class", c < class_names.size() ? class_names[c] : std::to_string(c)},
                         {"accuracy", std::isnan(per_class_accuracy[c]) ? nlohmann::json() : nlohmann::json(per_class_accuracy[c])},
                         {"count", confusion[c].sum().item<int64_t>()}});
  std::vector<std::vector<int64_t>> matrix;
  for (int64_t r = 0; r < confusion.size(0); ++r) {
    auto row = confusion[r].contiguous();
    matrix.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return {{"accuracy", accuracy}, {"samples", predictions.numel()}, {"per_class", per_class}, {"confusion", matrix}};
}

std::string Evaluation::table(const std::vector<std::string>& class_names) const {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "accuracy %.2f %% on %lld images\n\n", 100 * accuracy,
                static_cast<long long>(predictions.numel()));
  out << line;
  std::snprintf(line, sizeof line, "%-14s %9s %7s\n", "class", "accuracy", "count");
  out << line;
  for (size_t c = 0; c < per_class_accuracy.size(); ++c) {
    const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
    std::snprintf(line, sizeof line, "%-14s %8.2f%% %7lld\n", name.c_str(), 100 * per_class_accuracy[c],
                  static_cast<long long>(confusion[c].sum().item<int64_t>()));
    out << line;
  }
  out << "\nconfusion (rows: true class, columns: predicted)\n";
  for (int64_t r = 0; r < confusion.size(0); ++r) {
    for (int64_t c = 0; c < confusion.size(1); ++c) {
      std::snprintf(line, sizeof line, "%6lld", static_cast<long long>(confusion[r][c].item<int64_t>()));
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace prism
