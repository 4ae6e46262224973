#include "prism/evaluate/feature/localisation.h"

#include <cstdio>
#include <sstream>

#include "prism/core/error.h"
#include "prism/data/dataset.h"
#include "prism/evaluate/metrics.h"
#include "prism/explain/feature/collapse.h"
#include "prism/model/predict.h"

namespace prism {
namespace {

const torch::Tensor& scores_of(const LocalisationScores& s, const std::string& metric) {
  if (metric == "pointing_game") return s.pointing_game;
  if (metric == "relevance_mass") return s.relevance_mass;
  return s.relevance_rank;
}

}  // namespace

LocalisationScores localisation_scores(const torch::Tensor& maps, const torch::Tensor& regions, const std::string& method) {
  require(maps.dim() == 3 && maps.sizes() == regions.sizes(),
          "localisation needs maps [B, H, W] and regions of the same shape, not " + shape_string(maps.sizes()) + " and " +
              shape_string(regions.sizes()));
  const auto values = maps.flatten(1).to(torch::kFloat64), inside = regions.flatten(1).to(maps.device()).to(torch::kBool);
  const auto region_size = inside.sum(1);
  require((region_size > 0).all().item<bool>(), "every sample needs a non-empty region");
  LocalisationScores out;
  out.method = method;
  out.pointing_game = inside.gather(1, values.argmax(1, true)).squeeze(1).to(torch::kFloat64).cpu();
  const auto positive = values.clamp_min(0);
  const auto total = positive.sum(1);
  out.relevance_mass = torch::where(total > 0, (positive * inside).sum(1) / total.clamp_min(1e-300), torch::zeros_like(total)).cpu();
  // The top K = |region| pixels: the first K of each row's descending order.
  const auto order = values.argsort(1, true);
  const auto rank_of_top = torch::arange(values.size(1), order.options()).view({1, -1}) < region_size.view({-1, 1});
  out.relevance_rank = ((inside.gather(1, order) & rank_of_top).sum(1).to(torch::kFloat64) / region_size).cpu();
  return out;
}

MarkedSamples marked_samples(Network& network, const Dataset& test, const MarkOptions& mark, int64_t count, uint64_t seed) {
  require(count >= 1, "localisation needs at least 1 sample");
  require(mark.target_class >= 0 && mark.target_class < network.num_classes(),
          "the marked class " + std::to_string(mark.target_class) + " is not among the model's classes 0.." +
              std::to_string(network.num_classes() - 1));
  auto others = (test.labels != mark.target_class).nonzero().squeeze(1);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  others = others.index_select(0, torch::randperm(others.numel(), generator, torch::kInt64));
  MarkedSamples out;
  std::vector<torch::Tensor> chosen;
  int64_t found = 0;
  // Marked images in chunks until `count` are assigned to the class (or the candidates run out).
  for (int64_t start = 0; start < others.numel() && found < count; start += 4 * count) {
    const auto batch = stamp_mark(test.images.index_select(0, others.narrow(0, start, std::min(4 * count, others.numel() - start))), mark);
    out.candidates += batch.size(0);
    auto fooled = batch.index_select(0, (predict_logits(network, batch).argmax(1) == mark.target_class).nonzero().squeeze(1));
    fooled = fooled.narrow(0, 0, std::min(fooled.size(0), count - found));
    found += fooled.size(0);
    chosen.push_back(fooled);
  }
  require(found >= 1, "none of the " + std::to_string(out.candidates) + " marked test images of other classes is predicted "
                      "as the marked class " + std::to_string(mark.target_class) +
                      "; the model did not learn the mark (train it with prism train --mark-class " +
                      std::to_string(mark.target_class) + ")");
  out.images = torch::cat(chosen);
  out.targets = torch::full({found}, mark.target_class, torch::kInt64);
  // The region is the mark's own pixels: the outline stamped on a blank image.
  auto outline = mark;
  outline.value = 1.0f;
  const auto region = stamp_mark(torch::zeros({1, 1, test.images.size(2), test.images.size(3)}), outline)[0] > 0.5;
  out.regions = region.expand({found, -1, -1}).contiguous();
  return out;
}

nlohmann::json localisation_to_json(const std::vector<LocalisationScores>& scores) {
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& s : scores) {
    nlohmann::json entry = {{"method", s.method}, {"samples", s.pointing_game.numel()}};
    for (const auto& metric : protocol_metrics("localisation")) {
      const auto [mean, error] = mean_and_error(scores_of(s, metric.name));
      entry[metric.name] = {{"mean", mean}, {"standard_error", error}, {"better", metric.better}};
    }
    methods.push_back(entry);
  }
  return {{"methods", methods}};
}

std::string localisation_table(const std::vector<LocalisationScores>& scores) {
  std::ostringstream out;
  out << "| method |";
  for (const auto& metric : protocol_metrics("localisation")) out << ' ' << metric.name << ' ' << metric.arrow() << " |";
  out << "\n|---|---|---|---|\n";
  char cell[64];
  for (const auto& s : scores) {
    out << "| " << s.method << " |";
    for (const auto& metric : protocol_metrics("localisation")) {
      const auto [mean, error] = mean_and_error(scores_of(s, metric.name));
      std::snprintf(cell, sizeof cell, " %.3f ± %.3f |", mean, error);
      out << cell;
    }
    out << '\n';
  }
  return out.str();
}

LocalisationResult evaluate_localisation(Network& network, const std::vector<FeatureAttributor*>& methods,
                                         const Dataset& test, const MarkOptions& mark, int64_t count, uint64_t seed,
                                         const std::string& reduce, int64_t batch_size) {
  LocalisationResult out;
  out.mark = mark;
  out.samples = marked_samples(network, test, mark, count, seed);
  for (auto* method : methods) {
    out.methods.push_back(method->name());
    out.maps.push_back(collapse_channels(attribute_in_batches(*method, network, out.samples.images, out.samples.targets,
                                                              batch_size, method->name()),
                                         reduce));
    out.scores.push_back(localisation_scores(out.maps.back(), out.samples.regions, method->name()));
  }
  return out;
}

double LocalisationResult::region_share() const {
  return samples.regions[0].to(torch::kFloat64).mean().item<double>();
}

std::string LocalisationResult::table() const {
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "%lld of %lld marked test images of other classes are predicted as class %lld; the mark (the region) is "
                "%.1f %% of the image (about what a map that ignores it scores)\n\n",
                static_cast<long long>(samples.images.size(0)), static_cast<long long>(samples.candidates),
                static_cast<long long>(mark.target_class), 100 * region_share());
  return summary + localisation_table(scores);
}

nlohmann::json LocalisationResult::to_json() const {
  auto json = localisation_to_json(scores);
  json["samples"] = samples.images.size(0), json["candidates"] = samples.candidates, json["region_share"] = region_share();
  json["mark"] = {{"class", mark.target_class}, {"box_size", mark.box_size}, {"top", mark.top}, {"left", mark.left}};
  json["better"] = metric_directions("localisation");
  return json;
}

}  // namespace prism
