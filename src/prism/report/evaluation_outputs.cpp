#include "prism/report/evaluation_outputs.h"

#include <cstdio>

#include "prism/core/files.h"
#include "prism/io/npy.h"
#include "prism/io/png.h"
#include "prism/report/evaluation_plots.h"
#include "prism/report/heatmap.h"
#include "prism/report/raster_plot.h"

namespace prism {

void write_prediction_outputs(const std::filesystem::path& out, const Evaluation& evaluation,
                              const std::vector<std::string>& class_names, const torch::Tensor& logits) {
  make_directory(out);
  if (logits.defined()) {
    write_npy(out / "logits.npy", logits);
    write_npy(out / "predictions.npy", evaluation.predictions);
  }
  write_file_atomic(out / "evaluation.json", evaluation.to_json(class_names).dump(2));
}
namespace fs = std::filesystem;
namespace {

// Each method's maps as randomisation proceeds, for one sample: rows methods, columns steps.
torch::Tensor randomisation_grid(const SanityResult& result, int64_t sample, const torch::Tensor& image) {
  std::vector<torch::Tensor> rows;
  for (size_t m = 0; m < result.methods.size(); ++m) {
    std::vector<torch::Tensor> row = {image_picture(image, 3, result.methods[m])};
    for (size_t s = 0; s < result.steps.size(); ++s)
      row.push_back(heatmap_picture(result.maps[m][s][sample], 3, result.steps[s]));
    rows.push_back(side_by_side(row));
  }
  return stack_rows(rows);
}

}  // namespace

std::string write_sanity_outputs(const fs::path& out, const SanityResult& result, const torch::Tensor& images) {
  const auto measures = similarity_measures();
  std::string markdown;
  for (const size_t k : result.measures()) {
    markdown += "### " + measures[k] + "\n\n" + result.table(k) + "\n";
    const auto plot = sanity_plot(result, k);
    write_file_atomic(out / ("sanity-" + measures[k] + ".svg"), render_svg(plot));
    write_png(out / ("sanity-" + measures[k] + ".png"), render_picture(plot));
  }
  if (images.dim() == 4)  // image grids; a table's maps are in sanity.json's curves
    for (int64_t i = 0; i < std::min<int64_t>(4, images.size(0)); ++i)
      write_png(out / numbered_name("grid-%03lld.png", i), randomisation_grid(result, i, images[i]));
  write_file_atomic(out / "sanity.md", markdown);
  write_file_atomic(out / "sanity.csv", result.to_csv());
  write_file_atomic(out / "sanity.json", result.to_json().dump(2));
  return markdown;
}

std::string write_perturbation_outputs(const fs::path& out, const PerturbationReport& report) {
  if (report.options.fill == "linear") {
    const auto table = report.hit_table();
    write_file_atomic(out / "road.svg", render_svg(perturbation_plot(report, "hit")));
    write_file_atomic(out / "road-probability.svg", render_svg(perturbation_plot(report, "probability")));
    write_file_atomic(out / "road.csv", report.to_csv());
    write_file_atomic(out / "road.md", table);
    write_file_atomic(out / "road.json", report.to_json().dump(2));
    return table;
  }
  const auto table = report.table();
  write_file_atomic(out / "perturbation-probability.svg", render_svg(perturbation_plot(report, "probability")));
  write_file_atomic(out / "perturbation-logit.svg", render_svg(perturbation_plot(report, "logit")));
  write_file_atomic(out / "perturbation-probability-0-10.svg", render_svg(perturbation_plot(report, "probability", 10)));
  write_file_atomic(out / "perturbation.csv", report.to_csv());
  write_file_atomic(out / "perturbation.md", table);
  write_file_atomic(out / "perturbation.json", report.to_json().dump(2));
  return table;
}

std::string write_insertion_deletion_outputs(const fs::path& out, const InsertionDeletionReport& report) {
  const auto table = report.table();
  write_file_atomic(out / "deletion.svg", render_svg(insertion_deletion_plot(report, "deletion")));
  write_file_atomic(out / "insertion.svg", render_svg(insertion_deletion_plot(report, "insertion")));
  write_file_atomic(out / "insertion-deletion.md", table);
  write_file_atomic(out / "insertion-deletion.json", report.to_json().dump(2));
  return table;
}

std::string write_localisation_outputs(const fs::path& out, const LocalisationResult& result) {
  const auto table = result.table();
  write_file_atomic(out / "localisation.md", table);
  write_file_atomic(out / "localisation.json", result.to_json().dump(2));
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < std::min<int64_t>(4, result.samples.images.size(0)); ++i) {
    std::vector<torch::Tensor> row = {image_picture(result.samples.images[i], 3, "marked")};
    for (size_t m = 0; m < result.methods.size(); ++m) row.push_back(heatmap_picture(result.maps[m][i], 3, result.methods[m]));
    rows.push_back(side_by_side(row));
  }
  write_png(out / "localisation.png", stack_rows(rows));
  return table;
}

std::string write_measures_outputs(const fs::path& out, const std::vector<MapMeasures>& measures,
                                   const MapMeasureOptions& options) {
  const auto table = measures_table(measures);
  write_file_atomic(out / "measures.md", table);
  write_file_atomic(out / "measures.json", measures_to_json(measures, options).dump(2));
  return table;
}

std::string write_roar_outputs(const fs::path& out, const RoarResult& result, double wall_seconds) {
  std::string markdown;
  for (const auto& mode : result.options.modes) {
    markdown += result.table(mode) + "\n";
    write_file_atomic(out / (mode + ".svg"), render_svg(roar_plot(result, mode)));
  }
  auto json = result.to_json();
  json["wall_seconds"] = wall_seconds;
  write_file_atomic(out / "roar.md", markdown);
  write_file_atomic(out / "roar.csv", result.to_csv());
  write_file_atomic(out / "roar.json", json.dump(2));
  return markdown;
}

std::string write_knn_sweep_outputs(const fs::path& out, const KnnSweepResult& result) {
  make_directory(out);
  const auto table = result.table();
  write_file_atomic(out / "sweep.json", result.to_json().dump(2));
  write_file_atomic(out / "sweep.csv", result.to_csv());
  write_file_atomic(out / "sweep.md", table);
  write_file_atomic(out / "accuracy-by-layer.svg", render_svg(knn_sweep_plot(result)));
  return table;
}

std::string write_data_evaluation_outputs(const fs::path& out, const DataEvaluationResult& result) {
  const auto table = result.table();
  if (!result.mislabel_curves.empty()) write_file_atomic(out / "mislabel.svg", render_svg(mislabel_plot(result)));
  write_file_atomic(out / "data-attribution.md", table);
  write_file_atomic(out / "data-attribution.json", result.to_json().dump(2));
  return table;
}

}  // namespace prism
