#include "prism/report/example_outputs.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include "prism/core/files.h"
#include "prism/core/tensor_values.h"
#include "prism/explain/feature/collapse.h"
#include "prism/io/csv.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/report/heatmap.h"
#include "prism/report/sequence_pictures.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

std::string value_text(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// The explained test image, titled with its position and label.
torch::Tensor test_picture(const ExampleOutputs& o, int64_t b) {
  return sample_picture(o.images[b], o.scale,
                        "test " + std::to_string(o.indices[b]) + ": " + o.class_names.at(o.labels[b].item<int64_t>()));
}

// One column per XDA pair: the pair's map overlaid on the test image above, on the training image below.
torch::Tensor xda_picture(const ExampleOutputs& o, const torch::Tensor& image, const XdaPairs& xda) {
  std::vector<torch::Tensor> columns;
  for (int64_t p = 0; p < xda.train_indices.size(0); ++p) {
    const int64_t i = xda.train_indices[p].item<int64_t>();
    columns.push_back(stack_rows(
        {overlay_picture(image, collapse_sample_channels(xda.maps.test_maps[p]), o.scale, value_text("%+.3g", xda.values[p].item<double>())),
         overlay_picture(o.train->images[i], collapse_sample_channels(xda.maps.train_maps[p]), o.scale, "train " + std::to_string(i))},
        4));
  }
  return side_by_side(columns, 8);
}

}  // namespace

ExampleTable::ExampleTable(const ExampleOutputs& o, int64_t b, std::string value_name)
    : o_(o), test_row_(o.images[b]), names_(feature_labels(o.train->feature_names, test_row_.size(0))),
      value_name_(std::move(value_name)) {
  add("test", o.indices[b], std::nan(""), o.labels[b].item<int64_t>(), test_row_);
}

void ExampleTable::add(const std::string& role, int64_t index, double value, int64_t label, const torch::Tensor& row) {
  rows_.push_back({role, index, value, label, role == "test" ? "" : differences(row), row.to(torch::kFloat64)});
}

std::vector<std::string> ExampleTable::header() const {
  std::vector<std::string> header = {"role", "index", value_name_, "class", "differs_most"};
  header.insert(header.end(), names_.begin(), names_.end());
  return header;
}

std::vector<std::vector<std::string>> ExampleTable::cells(int digits) const {
  const std::string format = "%." + std::to_string(digits) + "g";
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows_) {
    std::vector<std::string> row = {r.role, std::to_string(r.index), std::isnan(r.value) ? "" : value_text(format.c_str(), r.value),
                                    o_.class_names.at(r.label), r.differs};
    for (int64_t f = 0; f < r.features.size(0); ++f) row.push_back(value_text(format.c_str(), r.features[f].item<double>()));
    cells.push_back(std::move(row));
  }
  return cells;
}

std::string ExampleTable::csv() const {
  const auto line = [](const std::vector<std::string>& cells) {
    std::string text;
    for (const auto& cell : cells) text += (text.empty() ? "" : ",") + csv_cell(cell);
    return text + "\n";
  };
  std::string csv = line(header());
  for (const auto& row : cells(7)) csv += line(row);
  return csv;
}

// "worst area +2.1 sd; mean radius -1.3 sd": the three largest |row - test| / σ (the training set's σ).
std::string ExampleTable::differences(const torch::Tensor& row) const {
  const auto& norm = o_.train->normalization;
  auto gap = row - test_row_;
  if (!norm.empty()) gap = gap / torch::tensor(norm.std);
  const auto order = std::get<1>(gap.abs().sort(/*stable=*/true, 0, /*descending=*/true));
  std::string text;
  for (int64_t k = 0; k < std::min<int64_t>(3, gap.size(0)); ++k) {
    const int64_t f = order[k].item<int64_t>();
    text += (text.empty() ? "" : "; ") + names_[f] + value_text(norm.empty() ? " %+.3g" : " %+.2g sd", gap[f].item<double>());
  }
  return text;
}

nlohmann::json write_knn_explanation_outputs(const fs::path& out, const ExampleOutputs& o,
                                             const ExampleAttribution& attribution,
                                             const torch::Tensor& network_probabilities) {
  const auto& names = o.class_names;
  nlohmann::json samples = nlohmann::json::array();
  const bool table = o.images.dim() == 2;
  std::vector<torch::Tensor> pictures;
  std::vector<std::string> tables;
  for (int64_t b = 0; b < o.images.size(0); ++b) {
    nlohmann::json examples = nlohmann::json::array();
    std::vector<torch::Tensor> row;
    std::optional<ExampleTable> rows;
    if (table) rows.emplace(o, b, "weight");
    else row.push_back(test_picture(o, b));
    for (int64_t j = 0; j < attribution.indices.size(1); ++j) {
      const float weight = attribution.weights[b][j].item<float>();
      if (weight <= 0) continue;
      const int64_t i = attribution.indices[b][j].item<int64_t>(), label = attribution.labels[b][j].item<int64_t>();
      examples.push_back({{"train_index", i},
                          {"source_index", o.train->source_index[i].item<int64_t>()},
                          {"weight", weight},
                          {"label", label},
                          {"class", names.at(label)},
                          {"distance", attribution.distances[b][j].item<float>()}});
      if (table) rows->add("example", i, weight, label, o.train->images[i]);
      else row.push_back(sample_picture(o.train->images[i], o.scale, value_text("w %.3f ", weight) + names.at(label)));
    }
    samples.push_back({{"index", o.indices[b]},
                       {"label", o.labels[b].item<int64_t>()},
                       {"knn_prediction", attribution.predictions[b].item<int64_t>()},
                       {"knn_probabilities", to_vector(attribution.probabilities[b])},
                       {"network_prediction", network_probabilities[b].argmax().item<int64_t>()},
                       {"network_probabilities", to_vector(network_probabilities[b])},
                       {"examples", examples}});
    if (table) tables.push_back(rows->csv());
    else pictures.push_back(side_by_side(row, 4));
  }
  make_directory(out);
  auto summary = o.head;
  summary["class_names"] = names;
  summary["samples"] = samples;
  write_file_atomic(out / "explanations.json", summary.dump(2));
  write_npy(out / "indices.npy", attribution.indices);
  write_npy(out / "weights.npy", attribution.weights);
  write_npy(out / "distances.npy", attribution.distances);
  for (size_t b = 0; b < pictures.size(); ++b) write_png(out / numbered_name("examples-%03lld.png", b), pictures[b]);
  for (size_t b = 0; b < tables.size(); ++b) write_file_atomic(out / numbered_name("examples-%03lld.csv", b), tables[b]);
  return samples;
}

nlohmann::json write_influence_outputs(const fs::path& out, const ExampleOutputs& o, const InfluenceExplanation& e) {
  const auto& names = o.class_names;
  nlohmann::json samples = nlohmann::json::array();
  const bool table = o.images.dim() == 2;
  std::vector<std::pair<fs::path, torch::Tensor>> pictures;
  std::vector<std::pair<fs::path, std::string>> tables;
  std::optional<ExampleTable> rows;
  const auto examples = [&](const TopAttributions& t, int64_t b, const std::string& role, std::vector<torch::Tensor>* row) {
    nlohmann::json list = nlohmann::json::array();
    for (int64_t j = 0; j < t.indices.size(1); ++j) {
      const int64_t i = t.indices[b][j].item<int64_t>(), label = o.train->labels[i].item<int64_t>();
      const float value = t.values[b][j].item<float>();
      list.push_back({{"train_index", i}, {"value", value}, {"label", label}, {"class", names.at(label)}});
      if (table) rows->add(role, i, value, label, o.train->images[i]);
      else row->push_back(sample_picture(o.train->images[i], o.scale, value_text("%+.3g ", value) + names.at(label)));
    }
    return list;
  };
  for (int64_t b = 0; b < o.images.size(0); ++b) {
    const int64_t c = e.targets[b].item<int64_t>();
    std::vector<torch::Tensor> up, down;
    if (table) {
      rows.emplace(o, b, "value");
    } else {
      up = {test_picture(o, b)};
      const auto blank = o.images[b].dim() == 3 ? torch::ones_like(o.images[b]) : torch::ones({1, 1, 1});
      down = {image_picture(blank, o.scale, "for " + names.at(c))};
    }
    samples.push_back({{"index", o.indices[b]},
                       {"label", o.labels[b].item<int64_t>()},
                       {"prediction", e.predictions[b].item<int64_t>()},
                       {"target", c},
                       {"sum", e.attributions[b].sum().item<double>()},
                       {"nonzero", (e.attributions[b] != 0).sum().item<int64_t>()},
                       {"proponents", examples(e.proponents, b, "proponent", &up)},
                       {"opponents", examples(e.opponents, b, "opponent", &down)}});
    if (table) {
      tables.emplace_back(out / numbered_name("influence-%03lld.csv", b), rows->csv());
      continue;
    }
    pictures.emplace_back(out / numbered_name("influence-%03lld.png", b),
                          stack_rows({side_by_side(up, 4), side_by_side(down, 4)}, 6));
    if (!e.xda.empty()) pictures.emplace_back(out / numbered_name("xda-%03lld.png", b), xda_picture(o, o.images[b], e.xda[b]));
  }
  make_directory(out);
  auto summary = o.head;
  summary["class_names"] = names;
  summary["samples"] = samples;
  write_file_atomic(out / "explanations.json", summary.dump(2));
  write_npy(out / "proponents.npy", e.proponents.indices);
  write_npy(out / "proponent_values.npy", e.proponents.values);
  write_npy(out / "opponents.npy", e.opponents.indices);
  write_npy(out / "opponent_values.npy", e.opponents.values);
  if (e.dense) write_npy(out / "attributions.npy", e.attributions);
  for (const auto& [path, picture] : pictures) write_png(path, picture);
  for (const auto& [path, text] : tables) write_file_atomic(path, text);
  for (size_t b = 0; b < e.xda.size(); ++b)
    write_npy(out / numbered_name("xda-%03lld.npy", b), torch::stack({e.xda[b].maps.test_maps, e.xda[b].maps.train_maps}, 1));
  return samples;
}

nlohmann::json write_self_influence_outputs(const std::filesystem::path& out, const torch::Tensor& scores,
                                            const std::string& method, int64_t top) {
  const auto [values, order] = scores.sort(0, true);
  nlohmann::json ranking = nlohmann::json::array();
  for (int64_t r = 0; r < std::min<int64_t>(top, order.size(0)); ++r)
    ranking.push_back({{"rank", r + 1}, {"train_index", order[r].item<int64_t>()}, {"self_influence", values[r].item<float>()}});
  make_directory(out);
  write_npy(out / "self_influence.npy", scores);
  write_file_atomic(out / "self_influence_top.json", nlohmann::json{{"method", method}, {"top", ranking}}.dump(2));
  return ranking;
}

}  // namespace prism
