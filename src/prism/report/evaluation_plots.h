// The plots of the evaluations' results, drawn here rather than in evaluate/ (which computes and does not draw):
// each returns a LinePlot for render_svg (svg_plot.h) or render_picture (raster_plot.h).
#pragma once
#include <string>

#include "prism/evaluate/data/data_attribution_evaluation.h"
#include "prism/evaluate/example/knn_sweep.h"
#include "prism/evaluate/feature/insertion_deletion.h"
#include "prism/evaluate/feature/pixel_perturbation.h"
#include "prism/evaluate/feature/roar.h"
#include "prism/evaluate/feature/sanity_check.h"
#include "prism/report/svg_plot.h"

namespace prism {

// Mean similarity to the original map per method against the randomisation steps; `measure` indexes
// similarity_measures().
LinePlot sanity_plot(const SanityResult& result, size_t measure);
// Mean MoRF (solid) and LeRF (dashed) curves per method of `score` ("probability", "logit" or "hit"), up to
// `max_percentage` removed.
LinePlot perturbation_plot(const PerturbationReport& report, const std::string& score, double max_percentage = 100);
// The mean "deletion" or "insertion" curve per method.
LinePlot insertion_deletion_plot(const InsertionDeletionReport& report, const std::string& curve);
// Test accuracy against the share of pixels removed ("roar") or kept ("kar"), from the unmodified model's.
LinePlot roar_plot(const RoarResult& result, const std::string& mode);
// Per layer by depth, the kNN's test accuracy at the k best on validation, and the network's.
LinePlot knn_sweep_plot(const KnnSweepResult& result);
// Flipped labels found against the share of the training set inspected, with the random and optimal orders.
LinePlot mislabel_plot(const DataEvaluationResult& result);

}  // namespace prism
