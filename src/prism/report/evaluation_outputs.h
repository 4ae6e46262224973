// The output folders of the evaluations, written from results computed beforehand: tables (.md), JSON, CSV,
// plots (.svg, and .png where a page shows them) and map grids. Each writer returns the markdown it wrote, which
// the CLI prints.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/evaluate/data/data_attribution_evaluation.h"
#include "prism/evaluate/example/knn_sweep.h"
#include "prism/evaluate/feature/insertion_deletion.h"
#include "prism/evaluate/feature/localisation.h"
#include "prism/evaluate/feature/map_measures.h"
#include "prism/evaluate/feature/pixel_perturbation.h"
#include "prism/evaluate/feature/roar.h"
#include "prism/evaluate/feature/sanity_check.h"
#include "prism/model/predict.h"

namespace prism {

// A model's accuracy on a data set (prism predict, prism demo): evaluation.json (accuracy, per class, confusion) and,
// given its logits, logits.npy and predictions.npy.
void write_prediction_outputs(const std::filesystem::path& out, const Evaluation& evaluation,
                              const std::vector<std::string>& class_names, const torch::Tensor& logits = {});

// sanity.md, .csv, .json; per similarity measure defined for the maps sanity-MEASURE.svg and .png; for images
// grid-NNN.png (each method's maps as randomisation proceeds) for the first four of `images`, the samples the result
// explains.
std::string write_sanity_outputs(const std::filesystem::path& out, const SanityResult& result, const torch::Tensor& images);
// perturbation.md, .csv, .json and perturbation-{probability,logit,probability-0-10}.svg; for ROAD (the linear
// fill) road.md (its table of accuracies), .csv, .json, road.svg and road-probability.svg.
std::string write_perturbation_outputs(const std::filesystem::path& out, const PerturbationReport& report);
// insertion-deletion.md, .json, deletion.svg and insertion.svg.
std::string write_insertion_deletion_outputs(const std::filesystem::path& out, const InsertionDeletionReport& report);
// localisation.md, .json and localisation.png (the first four marked images and each method's maps).
std::string write_localisation_outputs(const std::filesystem::path& out, const LocalisationResult& result);
// measures.md and .json.
std::string write_measures_outputs(const std::filesystem::path& out, const std::vector<MapMeasures>& measures,
                                   const MapMeasureOptions& options);
// roar.md, .csv, .json (with the run's wall time) and MODE.svg for each of the options' modes.
std::string write_roar_outputs(const std::filesystem::path& out, const RoarResult& result, double wall_seconds);
// sweep.md, .csv, .json and accuracy-by-layer.svg.
std::string write_knn_sweep_outputs(const std::filesystem::path& out, const KnnSweepResult& result);
// data-attribution.md, .json and, when mislabel detection ran, mislabel.svg.
std::string write_data_evaluation_outputs(const std::filesystem::path& out, const DataEvaluationResult& result);

}  // namespace prism
