// The output folder of a feature explanation, what `prism attribute` writes, from results computed beforehand:
// attributions.npy (attributions-METHOD.npy each for several methods), targets.npy, per sample a heatmap and an
// overlay (heatmaps/[METHOD/]NNN-heatmap.png, -overlay.png; images of 1 or 3 channels only), a comparison grid per
// sample for several methods (compare-NNN.png), and summary.json last (the head given, then per method its options,
// time and per sample the target, its score and the method's diagnostics). For table rows [B, F] the pictures are
// per sample a bar chart of the features by |attribution| (bars/[METHOD/]NNN-bars.png), over several samples the
// mean |attribution| per feature (bars/[METHOD/]mean-abs-bars.png, the global summary), and the attributions are
// also written as attributions[-METHOD].csv, a row per sample, a column per feature. For sequences [B, C, T] the
// picture is per sample the sequence over time with the collapsed map [T] as a colour strip under it
// (lines/[METHOD/]NNN-lines.png), and for several methods the sequence over each method's strip (compare-NNN.png).
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/explain/feature/attributor.h"

namespace prism {

struct FeatureExplanation {
  std::string method;
  nlohmann::json options;
  Attribution attribution;
  double seconds = 0;
};

struct FeatureOutputs {
  torch::Tensor inputs, targets, target_scores;  // [B, ...], [B], [B]
  std::vector<int64_t> indices;                   // the samples' positions in their data set (empty: 0, 1, ...)
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  // a table's columns (empty: f0, f1, ...)
  std::string reduce = "sum";  // channel collapse of the pictures
  int64_t scale = 8;           // pixels per input pixel in the pictures
  nlohmann::json head = nlohmann::json::object();  // what summary.json starts with (model, data, targets)
};

void write_feature_outputs(const std::filesystem::path& out, const FeatureOutputs& outputs,
                           const std::vector<FeatureExplanation>& explanations);

}  // namespace prism
