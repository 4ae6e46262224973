#include "prism/report/feature_outputs.h"

#include <algorithm>
#include <cstdio>

#include "prism/core/files.h"
#include "prism/explain/feature/collapse.h"
#include "prism/io/csv.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/report/chart_pictures.h"
#include "prism/report/heatmap.h"
#include "prism/report/sequence_pictures.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

// One row per sample: its index, target and the attribution of every feature.
std::string attribution_table(const FeatureOutputs& o, const torch::Tensor& maps) {
  const auto names = feature_labels(o.feature_names, o.inputs.size(1));
  std::string csv = "index,target";
  for (const auto& name : names) csv += "," + csv_cell(name);
  csv += "\n";
  const auto values = maps.to(torch::kFloat64).contiguous();
  for (int64_t i = 0; i < maps.size(0); ++i) {
    csv += std::to_string(o.indices.empty() ? i : o.indices[i]) + "," +
           csv_cell(o.class_names.at(o.targets[i].item<int64_t>()));
    for (int64_t f = 0; f < maps.size(1); ++f) {
      char number[32];
      std::snprintf(number, sizeof number, ",%.7g", values[i][f].item<double>());
      csv += number;
    }
    csv += "\n";
  }
  return csv;
}

}  // namespace

void write_feature_outputs(const fs::path& out, const FeatureOutputs& o,
                           const std::vector<FeatureExplanation>& explanations) {
  const int64_t count = o.inputs.size(0);
  const auto position = [&](int64_t i) { return o.indices.empty() ? i : o.indices[i]; };
  const auto numbered = [&](const char* pattern, int64_t i) { return numbered_name(pattern, position(i)); };
  const bool several = explanations.size() > 1;
  const bool images = o.inputs.dim() == 4 && (o.inputs.size(1) == 1 || o.inputs.size(1) == 3);
  const bool table = o.inputs.dim() == 2, sequences = o.inputs.dim() == 3;
  nlohmann::json summary = o.head;
  summary["reduce"] = o.reduce;
  summary["methods"] = nlohmann::json::array();
  for (const auto& e : explanations) {
    const auto& maps = e.attribution.maps;
    const std::string stem = several ? "attributions-" + e.method : "attributions";
    write_npy(out / (stem + ".npy"), maps);
    if (table) write_file_atomic(out / (stem + ".csv"), attribution_table(o, maps));
    nlohmann::json samples = nlohmann::json::array();
    for (int64_t i = 0; i < count; ++i) {
      nlohmann::json sample = {{"target", o.targets[i].item<int64_t>()},
                               {"target_score", o.target_scores[i].item<double>()}};
      if (!o.indices.empty()) sample["index"] = o.indices[i];
      for (const auto& [name, values] : e.attribution.per_sample) sample[name] = values[i].item<double>();
      samples.push_back(sample);
    }
    summary["methods"].push_back({{"method", e.method}, {"options", e.options}, {"seconds", e.seconds},
                                  {"seconds_per_sample", e.seconds / count}, {"samples", samples}});
    if (table) {
      const fs::path folder = several ? out / "bars" / e.method : out / "bars";
      const auto names = feature_labels(o.feature_names, o.inputs.size(1));
      for (int64_t i = 0; i < count; ++i)
        write_png(folder / numbered("%03lld-bars.png", i),
                  feature_bar_picture(maps[i], names, e.method + ", target " + o.class_names.at(o.targets[i].item<int64_t>())));
      // Global: which features the method uses across the samples (mean |attribution|, as SHAP's bar summary).
      if (count > 1)
        write_png(folder / "mean-abs-bars.png",
                  feature_bar_picture(maps.abs().mean(0), names,
                                      e.method + ": mean |attribution| over " + std::to_string(count) + " samples"));
    }
    if (sequences) {
      const fs::path folder = several ? out / "lines" / e.method : out / "lines";
      for (int64_t i = 0; i < count; ++i)
        write_png(folder / numbered("%03lld-lines.png", i),
                  sequence_map_picture(o.inputs[i], collapse_sample_channels(maps[i], o.reduce),
                                       e.method + ", target " + o.class_names.at(o.targets[i].item<int64_t>())));
    }
    if (!images) continue;
    const fs::path folder = several ? out / "heatmaps" / e.method : out / "heatmaps";
    for (int64_t i = 0; i < count; ++i) {
      const auto map = collapse_sample_channels(maps[i], o.reduce);
      write_png(folder / numbered("%03lld-heatmap.png", i), heatmap_picture(map, o.scale));
      write_png(folder / numbered("%03lld-overlay.png", i), overlay_picture(o.inputs[i], map, o.scale));
    }
  }
  if (images && several)
    for (int64_t i = 0; i < count; ++i) {
      const auto label = o.class_names.at(o.targets[i].item<int64_t>());
      std::vector<torch::Tensor> row = {image_picture(o.inputs[i], o.scale, "target: " + label)};
      for (const auto& e : explanations)
        row.push_back(heatmap_picture(collapse_sample_channels(e.attribution.maps[i], o.reduce), o.scale, e.method));
      write_png(out / numbered("compare-%03lld.png", i), side_by_side(row));
    }
  if (sequences && several)  // the methods' strips under the sequence, on one time axis
    for (int64_t i = 0; i < count; ++i) {
      std::vector<torch::Tensor> rows = {
          sequence_picture(o.inputs[i], "target: " + o.class_names.at(o.targets[i].item<int64_t>()))};
      for (const auto& e : explanations)
        rows.push_back(sequence_strip_picture(collapse_sample_channels(e.attribution.maps[i], o.reduce), e.method));
      write_png(out / numbered("compare-%03lld.png", i), stack_rows(rows, 4));
    }
  write_npy(out / "targets.npy", o.targets);
  write_file_atomic(out / "summary.json", summary.dump(2));
}

}  // namespace prism
