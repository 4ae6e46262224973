#include "prism/report/flint_outputs.h"

#include <cstdio>

#include "prism/core/files.h"
#include "prism/core/tensor_values.h"
#include "prism/explain/concept/flint_relevance.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/report/chart_pictures.h"
#include "prism/report/flint_pictures.h"
#include "prism/report/heatmap.h"
#include "prism/report/sequence_pictures.h"

namespace prism {
namespace fs = std::filesystem;
namespace {

// An attribute's profile [F] as its three features of largest |value|: [{"feature", "sd"}].
nlohmann::json strongest_features(const torch::Tensor& profile, const std::vector<std::string>& names) {
  const auto order = std::get<1>(profile.abs().sort(/*stable=*/true, 0, /*descending=*/true));
  nlohmann::json out = nlohmann::json::array();
  for (int64_t k = 0; k < std::min<int64_t>(3, profile.size(0)); ++k) {
    const int64_t f = order[k].item<int64_t>();
    out.push_back({{"feature", names[f]}, {"sd", profile[f].item<double>()}});
  }
  return out;
}

}  // namespace
nlohmann::json write_flint_interpretation_outputs(const fs::path& out, const FlintInterpretationOutputs& o) {
  const auto& names = o.class_names;
  const auto f_pred = o.outputs.predictor_logits.argmax(1), g_pred = o.outputs.interpreter_logits.argmax(1);
  const auto local = local_interpretation(o.outputs.relevance, o.tau);
  const auto& class_relevance = o.summary.class_relevance;
  const int64_t J = o.outputs.attributes.size(1);
  const bool table = o.images.dim() == 2;
  std::vector<std::string> attribute_names, bar_labels;
  const auto feature_names = table ? feature_labels(o.feature_names, o.images.size(1)) : std::vector<std::string>{};
  for (int64_t j = 0; j < J; ++j) attribute_names.push_back(std::to_string(j)), bar_labels.push_back("phi " + std::to_string(j));

  nlohmann::json samples = nlohmann::json::array();
  std::vector<std::pair<fs::path, torch::Tensor>> pictures;
  for (int64_t b = 0; b < o.images.size(0); ++b) {
    const int64_t f = f_pred[b].item<int64_t>(), g = g_pred[b].item<int64_t>(), label = o.labels[b].item<int64_t>();
    std::vector<double> values;
    for (int64_t j = 0; j < J; ++j) values.push_back(o.outputs.relevance[b][j].item<double>());
    const auto chart = bar_chart_picture(values, bar_labels, 1 / o.tau, "relevance for " + names[f]);
    auto caption = torch::ones({3, table ? 44 : 30, 200});
    if (table) draw_text(caption, "test " + std::to_string(o.indices[b]) + ": " + names[label], 2, 2);
    draw_text(caption, "f says " + names[f], table ? 16 : 2, 2);
    draw_text(caption, "g says " + names[g], table ? 30 : 16, 2);
    const auto described =
        table ? caption
              : stack_rows({sample_picture(o.images[b], 4, "test " + std::to_string(o.indices[b]) + ": " + names[label]),
                            caption},
                           2);
    pictures.emplace_back(out / numbered_name("sample-%03lld.png", b), side_by_side({described, chart}));
    samples.push_back({{"index", o.indices[b]},
                       {"label", label},
                       {"predictor_prediction", f},
                       {"interpreter_prediction", g},
                       {"attributes", to_vector(o.outputs.attributes[b])},
                       {"relevance", to_vector(o.outputs.relevance[b])},
                       {"local_interpretation", local[b]}});
  }
  pictures.emplace_back(out / "global-relevance.png", matrix_picture(class_relevance, names, attribute_names,
                                                                      "global relevance r(c, j): class x attribute"));
  std::vector<torch::Tensor> rows;
  nlohmann::json attributes = nlohmann::json::array();
  const auto& tops = o.summary.top_samples;
  for (int64_t j = 0; j < J; ++j) {
    nlohmann::json top_indices = nlohmann::json::array();
    for (int64_t k = 0; k < tops.size(1); ++k) top_indices.push_back(tops[j][k].item<int64_t>());
    const auto activations = o.summary.outputs.attributes.select(1, j);
    attributes.push_back({{"attribute", j},
                          {"top_training_indices", top_indices},
                          {"largest_activation", activations.max().item<double>()},
                          {"mean_activation", activations.mean().item<double>()}});
    if (table) {
      if (activations.max().item<double>() > 0)
        attributes.back()["strongest_features"] = strongest_features(o.summary.profiles[j], feature_names);
      continue;
    }
    rows.push_back(attribute_picture(o.summary, o.global_images, j, o.scale));
    pictures.emplace_back(out / numbered_name("attribute-%02lld.png", j), rows.back());
  }
  pictures.emplace_back(out / "attributes.png",
                        table ? matrix_picture(o.summary.profiles.t(), feature_names, attribute_names,
                                               "feature x attribute: top samples' mean, in standard deviations")
                              : stack_rows(rows, 4));
  nlohmann::json global = nlohmann::json::array();
  for (const auto& [c, j] : global_interpretation(class_relevance, o.tau))
    global.push_back({{"class", names[c]}, {"attribute", j}, {"relevance", class_relevance[c][j].item<double>()}});

  make_directory(out);
  auto interpretation = o.head;
  interpretation["tau"] = o.tau;
  interpretation["class_names"] = names;
  interpretation["samples"] = samples;
  interpretation["global_samples"] = o.global_images.size(0);
  interpretation["global_interpretation"] = global;
  interpretation["attributes"] = attributes;
  write_file_atomic(out / "interpretation.json", interpretation.dump(2));
  write_npy(out / "relevance.npy", o.outputs.relevance);
  write_npy(out / "global-relevance.npy", class_relevance);
  if (table) write_npy(out / "profiles.npy", o.summary.profiles);
  else if (o.summary.maximised.defined()) write_npy(out / "maximised.npy", o.summary.maximised);
  for (const auto& [path, picture] : pictures) write_png(path, picture);
  return interpretation;
}

void write_flint_evaluation_outputs(const fs::path& out, const FlintEvaluation& evaluation, const nlohmann::json& about) {
  make_directory(out);
  auto record = evaluation.to_json();
  record.update(about);
  write_file_atomic(out / "flint-evaluation.json", record.dump(2));
  write_file_atomic(out / "flint-evaluation.md", evaluation.markdown());
}

}  // namespace prism
