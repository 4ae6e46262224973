#include "prism/evaluate/feature/pixel_perturbation.h"

#include <cmath>
#include <sstream>

#include "prism/core/error.h"
#include "prism/core/text.h"
#include "prism/evaluate/metrics.h"
#include "prism/evaluate/feature/pixel_removal.h"
#include "prism/model/inference.h"

namespace prism {

void check_perturbation_options(const PerturbationOptions& options) {
  require(!options.percentages.empty(), "percentages: give at least one percentage of pixels to remove");
  for (double p : options.percentages)
    require(p >= 0 && p <= 100, "percentages: each must lie in [0, 100] (got " + short_number(p) + ")");
  require(options.batch_size >= 1, "batch_size: must be at least 1");
  require(options.noise >= 0, "noise: must not be negative");
  const auto& f = options.fill;
  require(f == "mean" || f == "zero" || f == "blur" || f == "noise" || f == "linear",
          "fill: unknown '" + f + "'; fills are: mean, zero, blur, noise, linear (ROAD's imputation)");
  resolve_ranking(options.ranking, "random");  // validates the ranking
}

PerturbationCurves perturbation_curves(Network& network, const torch::Tensor& images, const torch::Tensor& targets,
                                       const torch::Tensor& maps, const std::string& method,
                                       const PerturbationOptions& options) {
  check_perturbation_options(options);
  const auto expected = map_shape(images.sizes());
  require(maps.sizes() == at::IntArrayRef(expected), "the maps must be " + shape_string(expected) + " for samples " +
                                                         shape_string(images.sizes()) + ", got " + shape_string(maps.sizes()));
  require(images.dim() == 4 || options.fill != "linear",
          "fill: ROAD's linear imputation fills pixels from their neighbours in an image, which " +
              sample_noun(images.dim() - 1) + "s do not have; use the mean or zero fill");
  torch::NoGradGuard no_grad;
  network.set_training(false);
  const int64_t count = images.size(0), steps = static_cast<int64_t>(options.percentages.size());
  const int64_t pixels = removable_positions(images.sizes());
  PerturbationCurves out;
  out.method = method;
  out.ranking = resolve_ranking(options.ranking, method);
  out.morf_probability = torch::empty({count, steps});
  out.lerf_probability = torch::empty({count, steps});
  out.morf_logit = torch::empty({count, steps});
  out.lerf_logit = torch::empty({count, steps});
  out.morf_hit = torch::empty({count, steps});
  out.lerf_hit = torch::empty({count, steps});
  out.original_probability = torch::empty({count});
  out.original_logit = torch::empty({count});
  // Forward passes only, (1 + 2 × steps) per batch: through the compiled graph where there are enough.
  InferenceOptions inference;
  inference.batch_size = 2 * options.batch_size;
  inference.pass_images = count * (1 + 2 * steps);
  InferencePass pass(network, {}, inference);
  const bool imputed = options.fill == "linear";
  const auto scores = [&](const torch::Tensor& batch, const torch::Tensor& target) {
    const auto logits = pass.run(batch).at(0).to(target.device());
    const auto index = target.view({-1, 1});
    return std::make_tuple(logits.softmax(1).gather(1, index).squeeze(1), logits.gather(1, index).squeeze(1),
                           logits.argmax(1).eq(target).to(torch::kFloat32));
  };
  for (int64_t begin = 0; begin < count; begin += options.batch_size) {
    const int64_t size = std::min(options.batch_size, count - begin);
    const auto batch = images.narrow(0, begin, size);
    const auto target = targets.narrow(0, begin, size);
    const auto ranking = rank_pixels(maps.narrow(0, begin, size), out.ranking);
    const auto fill = imputed ? torch::Tensor() : fill_values(network, batch, options.fill, options.seed + begin);
    const auto removed_images = [&](int64_t removed, bool from_top, int64_t s) {
      if (!imputed) return remove_pixels(batch, ranking, removed, fill, from_top);
      const auto mask = removal_mask(ranking, removed, from_top, batch.sizes()).to(batch.device());
      // A noise seed of its own per batch, step and order.
      return impute_linear(batch, mask, options.noise, options.seed + 1000003 * begin + 2 * s + from_top);
    };
    const auto original = scores(batch, target);
    out.original_probability.narrow(0, begin, size).copy_(std::get<0>(original));
    out.original_logit.narrow(0, begin, size).copy_(std::get<1>(original));
    for (int64_t s = 0; s < steps; ++s) {
      const auto removed = static_cast<int64_t>(std::llround(options.percentages[s] / 100.0 * pixels));
      const auto both = torch::cat({removed_images(removed, true, s), removed_images(removed, false, s)});
      const auto [p, l, h] = scores(both, torch::cat({target, target}));
      out.morf_probability.narrow(0, begin, size).select(1, s).copy_(p.narrow(0, 0, size));
      out.lerf_probability.narrow(0, begin, size).select(1, s).copy_(p.narrow(0, size, size));
      out.morf_logit.narrow(0, begin, size).select(1, s).copy_(l.narrow(0, 0, size));
      out.lerf_logit.narrow(0, begin, size).select(1, s).copy_(l.narrow(0, size, size));
      out.morf_hit.narrow(0, begin, size).select(1, s).copy_(h.narrow(0, 0, size));
      out.lerf_hit.narrow(0, begin, size).select(1, s).copy_(h.narrow(0, size, size));
    }
  }
  return out;
}

PerturbationOptions road_options() {
  PerturbationOptions options;
  options.percentages = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  options.fill = "linear";
  return options;
}

double aopc(const torch::Tensor& curve, const torch::Tensor& original, const std::vector<double>& percentages,
            double low, double high) {
  std::vector<int64_t> steps;
  for (size_t s = 0; s < percentages.size(); ++s)
    if (percentages[s] >= low && percentages[s] <= high) steps.push_back(static_cast<int64_t>(s));
  if (steps.empty()) return std::nan("");
  const auto chosen = curve.index_select(1, torch::tensor(steps, torch::kInt64));
  return (original.view({-1, 1}) - chosen).mean().item<double>();
}

nlohmann::json PerturbationReport::to_json() const {
  nlohmann::json methods = nlohmann::json::array();
  const auto& grid = options.percentages;
  for (const auto& c : curves) {
    nlohmann::json entry = {{"method", c.method}, {"ranking", c.ranking}, {"samples", c.original_logit.size(0)}};
    for (const auto& [score, morf, lerf, original] :
         {std::tuple{"probability", c.morf_probability, c.lerf_probability, c.original_probability},
          std::tuple{"logit", c.morf_logit, c.lerf_logit, c.original_logit}}) {
      entry[score] = {{"original", original.mean().item<double>()},
                      {"morf", mean_curve(morf)},
                      {"lerf", mean_curve(lerf)},
                      {"aopc_morf", aopc(morf, original, grid)},
                      {"aopc_lerf", aopc(lerf, original, grid)},
                      {"aopc_morf_1_10", aopc(morf, original, grid, 1, 10)},
                      {"aopc_lerf_1_10", aopc(lerf, original, grid, 1, 10)}};
    }
    const double morf_hit = c.morf_hit.mean().item<double>(), lerf_hit = c.lerf_hit.mean().item<double>();
    entry["hit"] = {{"morf", mean_curve(c.morf_hit)}, {"lerf", mean_curve(c.lerf_hit)},
                    {"morf_accuracy", morf_hit}, {"lerf_accuracy", lerf_hit}, {"lerf_minus_morf", lerf_hit - morf_hit}};
    methods.push_back(entry);
  }
  auto better = metric_directions("pixel perturbation");
  better.update(metric_directions("road"));
  nlohmann::json out = {{"percentages", grid}, {"fill", options.fill},   {"ranking", options.ranking},
                        {"seed", options.seed}, {"better", better}, {"methods", methods}};
  if (options.fill == "linear") out["noise"] = options.noise;
  return out;
}

std::string PerturbationReport::table() const {
  std::ostringstream out;
  out << "| method | ranked by | AOPC MoRF (prob.) ↑ | AOPC LeRF (prob.) ↓ | MoRF − LeRF ↑ | AOPC MoRF 1–10 % ↑ | "
         "AOPC MoRF (logit) ↑ | AOPC LeRF (logit) ↓ |\n|---|---|---|---|---|---|---|---|\n";
  const auto& grid = options.percentages;
  char line[256];
  for (const auto& c : curves) {
    const double morf = aopc(c.morf_probability, c.original_probability, grid);
    const double lerf = aopc(c.lerf_probability, c.original_probability, grid);
    std::snprintf(line, sizeof line, "| %s | %s | %.4f | %.4f | %.4f | %.4f | %.3f | %.3f |\n", c.method.c_str(),
                  c.ranking.c_str(), morf, lerf,
                  morf - lerf, aopc(c.morf_probability, c.original_probability, grid, 1, 10),
                  aopc(c.morf_logit, c.original_logit, grid), aopc(c.lerf_logit, c.original_logit, grid));
    out << line;
  }
  return out.str();
}

std::string PerturbationReport::to_csv() const {
  std::ostringstream out;
  out << "method,order,percentage,probability,logit,hit\n";
  for (const auto& c : curves)
    for (const auto& [order, probability, logit, hit] :
         {std::tuple{"morf", c.morf_probability, c.morf_logit, c.morf_hit},
          std::tuple{"lerf", c.lerf_probability, c.lerf_logit, c.lerf_hit}}) {
      const auto p = mean_curve(probability), l = mean_curve(logit), h = mean_curve(hit);
      for (size_t s = 0; s < p.size(); ++s)
        out << c.method << ',' << order << ',' << options.percentages[s] << ',' << p[s] << ',' << l[s] << ',' << h[s]
            << '\n';
    }
  return out.str();
}

std::string PerturbationReport::hit_table() const {
  std::ostringstream out;
  out << "| method | ranked by |";
  for (double p : options.percentages) out << " MoRF " << short_number(p) << " % |";
  for (double p : options.percentages) out << " LeRF " << short_number(p) << " % |";
  out << " MoRF mean ↓ | LeRF mean ↑ | LeRF − MoRF ↑ |\n|---|---|";
  for (size_t i = 0; i < 2 * options.percentages.size() + 3; ++i) out << "---|";
  out << '\n';
  char cell[32];
  for (const auto& c : curves) {
    out << "| " << c.method << " | " << c.ranking << " |";
    for (const auto* curve : {&c.morf_hit, &c.lerf_hit})
      for (const double value : mean_curve(*curve)) {
        std::snprintf(cell, sizeof cell, " %.3f |", value);
        out << cell;
      }
    const double morf = c.morf_hit.mean().item<double>(), lerf = c.lerf_hit.mean().item<double>();
    std::snprintf(cell, sizeof cell, " %.3f | %.3f | %.3f |\n", morf, lerf, lerf - morf);
    out << cell;
  }
  return out.str();
}

}  // namespace prism
