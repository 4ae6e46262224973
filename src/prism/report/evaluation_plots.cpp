#include "prism/report/evaluation_plots.h"

#include <map>

#include "prism/core/error.h"
#include "prism/evaluate/metrics.h"

namespace prism {

LinePlot sanity_plot(const SanityResult& result, size_t measure) {
  const std::string name = similarity_measures().at(measure);
  LinePlot plot;
  plot.title = std::string(result.options.smooth_samples > 0 ? "Smooth MPRT (" : "Sanity check (") +
               result.options.mode + " randomisation): " + name;
  plot.x_label = "layers randomised, from the output";
  plot.y_label = name + " to the original map";
  for (size_t s = 0; s < result.steps.size(); ++s) plot.x_categories.push_back({static_cast<double>(s), result.steps[s]});
  for (size_t m = 0; m < result.methods.size(); ++m) {
    PlotSeries series{result.methods[m], {}, {}};
    for (size_t s = 0; s < result.steps.size(); ++s) {
      series.x.push_back(static_cast<double>(s));
      series.y.push_back(result.mean(m, s, measure));
    }
    plot.series.push_back(series);
  }
  return plot;
}

LinePlot perturbation_plot(const PerturbationReport& report, const std::string& score, double max_percentage) {
  require(score == "probability" || score == "logit" || score == "hit", "plot the probability, the logit or the hit");
  const auto& options = report.options;
  LinePlot plot;
  plot.title = std::string(options.fill == "linear" ? "ROAD" : report.table_rows ? "Feature perturbation" : "Pixel perturbation") +
               " (fill: " + options.fill + "): solid MoRF, dashed LeRF";
  plot.x_label = report.table_rows ? "features removed (%)" : "pixels removed (%)";
  plot.y_label = score == "probability" ? "target probability"
                 : score == "logit"     ? "target logit"
                                        : "share still predicted as the target";
  for (size_t m = 0; m < report.curves.size(); ++m)
    for (bool morf : {true, false}) {
      const auto& c = report.curves[m];
      const auto& curve = score == "probability" ? (morf ? c.morf_probability : c.lerf_probability)
                          : score == "logit"     ? (morf ? c.morf_logit : c.lerf_logit)
                                                 : (morf ? c.morf_hit : c.lerf_hit);
      const auto mean = mean_curve(curve);
      PlotSeries series{c.method + (morf ? " MoRF" : " LeRF"), {}, {}, !morf, static_cast<int>(m)};
      for (size_t s = 0; s < mean.size(); ++s)
        if (options.percentages[s] <= max_percentage) {
          series.x.push_back(options.percentages[s]);
          series.y.push_back(mean[s]);
        }
      plot.series.push_back(series);
    }
  return plot;
}

LinePlot insertion_deletion_plot(const InsertionDeletionReport& report, const std::string& curve) {
  require(curve == "deletion" || curve == "insertion", "plot the deletion or the insertion curve");
  LinePlot plot;
  plot.title = curve == "deletion" ? "Deletion: most relevant pixels set to 0 first"
                                   : "Insertion: most relevant pixels put back into a blurred copy first";
  plot.x_label = curve == "deletion" ? "pixels deleted (%)" : "pixels inserted (%)";
  plot.y_label = "target probability";
  for (size_t m = 0; m < report.curves.size(); ++m) {
    const auto& c = report.curves[m];
    const auto mean = mean_curve(curve == "deletion" ? c.deletion : c.insertion);
    PlotSeries series{c.method, {}, {}, false, static_cast<int>(m)};
    for (size_t s = 0; s < mean.size(); ++s) {
      series.x.push_back(100 * c.fractions[s]);
      series.y.push_back(mean[s]);
    }
    plot.series.push_back(series);
  }
  return plot;
}

LinePlot roar_plot(const RoarResult& result, const std::string& mode) {
  LinePlot plot;
  const std::string unit = result.table_rows ? "features" : "pixels";
  plot.title = mode == "roar" ? "ROAR: top " + unit + " replaced by the mean, model retrained"
                              : "KAR: only the top " + unit + " kept, model retrained";
  plot.x_label = unit + (mode == "roar" ? " removed (%)" : " kept (%)");
  plot.y_label = "test accuracy (%)";
  const double baseline = 100 * result.accuracy("", "none", 0);
  for (const auto& method : result.methods) {
    PlotSeries series{method, {}, {}};
    if (mode == "roar") {
      series.x.push_back(0);
      series.y.push_back(baseline);
    }
    for (double f : result.options.fractions) {
      series.x.push_back(f);
      series.y.push_back(100 * result.accuracy(method, mode, f));
    }
    if (mode == "kar") {
      series.x.push_back(100);
      series.y.push_back(baseline);
    }
    plot.series.push_back(series);
  }
  return plot;
}

LinePlot knn_sweep_plot(const KnnSweepResult& result) {
  std::map<int64_t, std::pair<std::string, const KnnSweepRow*>> by_depth;
  std::map<std::string, double> best_validation;
  std::map<std::string, int64_t> best_k_of;
  for (const auto& r : result.rows)
    if (r.split == "validation" && (!best_validation.count(r.layer) || r.knn_accuracy > best_validation[r.layer]))
      best_validation[r.layer] = r.knn_accuracy, best_k_of[r.layer] = r.k;
  for (const auto& r : result.rows)
    if (r.split == "test" && r.k == best_k_of[r.layer]) by_depth[r.depth] = {r.layer, &r};
  LinePlot plot;
  plot.title = "kNN on a layer's embedding against the network (test split)";
  plot.x_label = "layer (by depth)";
  plot.y_label = "accuracy (%)";
  PlotSeries knn{"kNN, k chosen on validation", {}, {}, false}, net{"network", {}, {}, true};
  for (const auto& [d, entry] : by_depth) {
    knn.x.push_back(d), knn.y.push_back(100 * entry.second->knn_accuracy);
    net.x.push_back(d), net.y.push_back(100 * entry.second->network_accuracy);
    plot.x_categories.emplace_back(d, entry.first);
  }
  plot.series = {knn, net};
  return plot;
}

LinePlot mislabel_plot(const DataEvaluationResult& result) {
  LinePlot plot;
  plot.title = "Mislabel detection: flipped labels found by inspecting in decreasing self-influence";
  plot.x_label = "share of the training set inspected";
  plot.y_label = "share of flipped labels found";
  plot.y_min = 0;
  plot.y_max = 1;
  for (const auto& method : result.methods)
    if (result.mislabel_curves.count(method)) {
      const auto& c = result.mislabel_curves.at(method);
      plot.series.push_back({method, c.inspected, c.found});
    }
  if (!result.mislabel_curves.empty()) {
    plot.series.push_back({"random order", {0, 1}, {0, 1}, true});
    plot.series.push_back({"optimal", {0, result.options.flip_fraction, 1}, {0, 1, 1}, true});
  }
  return plot;
}

}  // namespace prism
