#include "prism/report/feature_outputs.h"

#include <cstdio>

#include "prism/core/files.h"
#include "prism/explain/feature/collapse.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/report/heatmap.h"

namespace prism {
namespace fs = std::filesystem;

void write_feature_outputs(const fs::path& out, const FeatureOutputs& o,
                           const std::vector<FeatureExplanation>& explanations) {
  const int64_t count = o.inputs.size(0);
  const auto position = [&](int64_t i) { return o.indices.empty() ? i : o.indices[i]; };
  const auto numbered = [&](const char* pattern, int64_t i) { return numbered_name(pattern, position(i)); };
  const bool several = explanations.size() > 1;
  const bool images = o.inputs.size(1) == 1 || o.inputs.size(1) == 3;
  nlohmann::json summary = o.head;
  summary["reduce"] = o.reduce;
  summary["methods"] = nlohmann::json::array();
  for (const auto& e : explanations) {
    const auto& maps = e.attribution.maps;
    write_npy(out / (several ? "attributions-" + e.method + ".npy" : "attributions.npy"), maps);
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
    if (!images) continue;
    const fs::path folder = several ? out / "heatmaps" / e.method : out / "heatmaps";
    for (int64_t i = 0; i < count; ++i) {
      const auto map = collapse_channels(maps[i], o.reduce);
      write_png(folder / numbered("%03lld-heatmap.png", i), heatmap_picture(map, o.scale));
      write_png(folder / numbered("%03lld-overlay.png", i), overlay_picture(o.inputs[i], map, o.scale));
    }
  }
  if (images && several)
    for (int64_t i = 0; i < count; ++i) {
      const auto label = o.class_names.at(o.targets[i].item<int64_t>());
      std::vector<torch::Tensor> row = {image_picture(o.inputs[i], o.scale, "target: " + label)};
      for (const auto& e : explanations)
        row.push_back(heatmap_picture(collapse_channels(e.attribution.maps[i], o.reduce), o.scale, e.method));
      write_png(out / numbered("compare-%03lld.png", i), side_by_side(row));
    }
  write_npy(out / "targets.npy", o.targets);
  write_file_atomic(out / "summary.json", summary.dump(2));
}

}  // namespace prism
