#include "prism/evaluate/feature/map_measures.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>

#include "prism/core/error.h"
#include "prism/evaluate/feature/map_similarity.h"
#include "prism/evaluate/feature/pixel_removal.h"
#include "prism/evaluate/metrics.h"
#include "prism/explain/feature/collapse.h"
#include "prism/explain/feature/superpixels.h"

namespace prism {
namespace {

// The unit of the noise options: 1 for images in [0, 1]; for table rows and sequences, whose values come in their own
// units, each feature's (channel's) training standard deviation (the model's normalisation), so a noise level means
// the same for every one. [1, F], [1, C, 1] or a scalar.
torch::Tensor noise_unit(const Network& network, const torch::Tensor& images) {
  if (images.dim() == 4 || network.normalization().empty()) return torch::ones({}, images.options());
  const auto sd = torch::tensor(network.normalization().std, images.options()).unsqueeze(0);
  return images.dim() == 3 ? sd.unsqueeze(2) : sd;  // a sequence's per channel
}

// Noisy inputs kept in their domain: images in [0, 1]; table rows are unbounded.
torch::Tensor in_domain(const torch::Tensor& inputs) { return inputs.dim() == 4 ? inputs.clamp(0, 1) : inputs; }

double sensitivity(const torch::Tensor& original, const torch::Tensor& noisy) {
  const double norm = original.norm().item<double>();
  return norm > 0 ? (noisy - original).norm().item<double>() / norm : 0.0;
}


// The network preceded by x ↦ x − s while this lives: its normalisation's mean moved by s.
class ShiftedInput {
 public:
  ShiftedInput(Network& network, double shift) : network_(network), original_(network.normalization()) {
    auto shifted = original_;
    if (shifted.empty()) {
      const auto channels = static_cast<size_t>(network.input_shape().at(0));
      shifted = {std::vector<float>(channels, 0.0f), std::vector<float>(channels, 1.0f)};
    }
    for (auto& mean : shifted.mean) mean += static_cast<float>(shift);
    set_metadata(network, network.input_shape(), network.num_classes(), network.class_names(), shifted);
  }
  ~ShiftedInput() {
    set_metadata(network_, network_.input_shape(), network_.num_classes(), network_.class_names(), original_);
  }
  ShiftedInput(const ShiftedInput&) = delete;
  ShiftedInput& operator=(const ShiftedInput&) = delete;

 private:
  Network& network_;
  Normalization original_;
};

torch::Tensor local_lipschitz(Network& network, FeatureAttributor& attributor, const torch::Tensor& images,
                              const torch::Tensor& targets, const torch::Tensor& maps, const MapMeasureOptions& o,
                              at::Generator& generator) {
  auto out = torch::zeros({images.size(0)}, torch::kFloat64);
  for (int64_t s = 0; s < o.lipschitz_samples; ++s) {
    const auto noise = torch::randn(images.sizes(), generator, torch::kFloat32).to(images.device()) * o.lipschitz_noise;
    const auto noisy = in_domain(images + noise * noise_unit(network, images));
    const auto noisy_maps = collapse_channels(attribute_in_batches(attributor, network, noisy, targets, o.batch_size), o.reduce);
    const auto ratio = (noisy_maps - maps).flatten(1).norm(2, 1).to(torch::kFloat64) /
                       (noisy - images).flatten(1).norm(2, 1).to(torch::kFloat64).clamp_min(1e-12);
    out = torch::maximum(out, ratio.to(torch::kCPU));
  }
  return out;
}

torch::Tensor completeness_error(Network& network, const torch::Tensor& images, const torch::Tensor& targets,
                                 const torch::Tensor& attributions) {
  const auto score = [&](const torch::Tensor& x) {
    return network.forward(x).gather(1, targets.view({-1, 1})).squeeze(1).to(torch::kFloat64);
  };
  const auto difference = score(images) - score(torch::zeros_like(images));
  const auto total = attributions.flatten(1).sum(1).to(torch::kFloat64);
  return ((total - difference).abs() / difference.abs().clamp_min(1e-12)).to(torch::kCPU);
}

torch::Tensor input_invariance(Network& network, FeatureAttributor& attributor, const torch::Tensor& images,
                               const torch::Tensor& targets, const torch::Tensor& maps, const MapMeasureOptions& o) {
  torch::Tensor shifted_maps;
  {
    ShiftedInput shifted(network, o.invariance_shift);
    shifted_maps = collapse_channels(
        attribute_in_batches(attributor, network, images + o.invariance_shift, targets, o.batch_size), o.reduce);
  }
  const auto change = (shifted_maps - maps).abs().flatten(1).sum(1).to(torch::kFloat64);
  return (change / maps.abs().flatten(1).sum(1).to(torch::kFloat64).clamp_min(1e-12)).to(torch::kCPU);
}

// IROF per sample: each image's K segments set to its channel means in order of mean relevance, one more per step.
// A table row's segments are its features, each set to the training mean (the model's normalisation; the rows' mean
// where it records none).
torch::Tensor irof(Network& network, const torch::Tensor& images, const torch::Tensor& targets, const torch::Tensor& maps,
                   const MapMeasureOptions& o) {
  const bool table = images.dim() == 2;
  torch::Tensor labels, table_fill;
  std::vector<int64_t> counts;
  if (table) {
    labels = torch::arange(images.size(1), torch::kInt64).to(images.device()).expand({images.size(0), images.size(1)});
    counts.assign(images.size(0), images.size(1));
    table_fill = network.normalization().empty() ? images.mean(0, true) : fill_values(network, images, "mean", 0);
  } else {
    SegmentationOptions slic;
    slic.segments = o.irof_segments;
    labels = segment_images(images, slic).to(images.device());
    counts = segment_counts(labels);
  }
  auto out = torch::empty({images.size(0)}, torch::kFloat64);
  for (int64_t b = 0; b < images.size(0); ++b) {
    const int64_t segments = counts[b];
    const auto flat = labels[b].flatten();
    const auto sizes = torch::bincount(flat, {}, segments).to(torch::kFloat32);
    const auto relevance = torch::zeros({segments}, maps.options()).index_add_(0, flat, maps[b].flatten()) / sizes;
    // rank[m]: the step at which segment m goes; copy k has the segments of rank < k removed (k = 0 .. K).
    const auto rank = torch::empty({segments}, torch::kInt64).to(images.device())
                          .index_put_({relevance.argsort(0, true)}, torch::arange(segments, torch::kInt64).to(images.device()));
    const auto steps = torch::arange(segments + 1, torch::kInt64).to(images.device()).view({-1, 1});
    auto removed = (rank.index_select(0, flat).view({1, -1}) < steps).to(images.scalar_type());
    if (!table) {  // over the channels: [K + 1, 1, H, W] or a sequence's [K + 1, 1, T]
      std::vector<int64_t> shape = {segments + 1, 1};
      for (int64_t d = 2; d < images.dim(); ++d) shape.push_back(images.size(d));
      removed = removed.view(shape);
    }
    const auto image = images[b].unsqueeze(0);
    std::vector<int64_t> positions;
    for (int64_t d = 2; d < images.dim(); ++d) positions.push_back(d);
    const auto mean = table ? table_fill.narrow(0, table_fill.size(0) == 1 ? 0 : b, 1) : image.mean(positions, true);
    const auto copies = image * (1 - removed) + mean * removed;
    std::vector<torch::Tensor> probabilities;
    for (int64_t start = 0; start <= segments; start += o.batch_size)
      probabilities.push_back(network.forward(copies.narrow(0, start, std::min(o.batch_size, segments + 1 - start)))
                                  .softmax(1).select(1, targets[b].item<int64_t>()));
    const auto curve = torch::cat(probabilities).to(torch::kFloat64) / torch::cat(probabilities)[0].item<double>();
    // Trapezoids over K unit steps, divided by K: 1 − AUC / K.
    out[b] = 1 - ((curve.narrow(0, 0, segments) + curve.narrow(0, 1, segments)) / 2).mean().item<double>();
  }
  return out;
}

}  // namespace
const torch::Tensor& MapMeasures::values(const std::string& name) const {
  if (name == "sparseness") return sparseness;
  if (name == "complexity") return complexity;
  if (name == "max_sensitivity") return max_sensitivity;
  if (name == "faithfulness") return faithfulness;
  if (name == "infidelity") return infidelity;
  if (name == "random_logit") return random_logit;
  if (name == "local_lipschitz") return local_lipschitz;
  if (name == "completeness_error") return completeness_error;
  if (name == "input_invariance") return input_invariance;
  if (name == "irof") return irof;
  throw Error("unknown map measure '" + name + "'");
}

double gini_index(const torch::Tensor& map) {
  const auto a = std::get<0>(map.abs().flatten().to(torch::kFloat64).sort());
  const int64_t n = a.numel();
  const double total = a.sum().item<double>();
  if (total <= 0) return 0.0;
  const auto weights = 2 * torch::arange(1, n + 1, torch::kFloat64) - n - 1;
  return (weights * a).sum().item<double>() / (n * total);
}

double map_entropy(const torch::Tensor& map) {
  const auto a = map.abs().flatten().to(torch::kFloat64);
  const double total = a.sum().item<double>();
  if (total <= 0) return 0.0;
  const auto p = a / total;
  return -(p * torch::log(p.clamp_min(1e-300))).sum().item<double>();
}

MapMeasures measure_maps(Network& network, FeatureAttributor& attributor, const torch::Tensor& images,
                         const torch::Tensor& targets, const torch::Tensor& attributions,
                         const MapMeasureOptions& o) {
  require(attributions.sizes() == images.sizes(), "the attributions must have the images' shape");
  require(o.sensitivity_samples >= 1 && o.sensitivity_radius > 0, "max-sensitivity needs samples ≥ 1 and a radius > 0");
  require(o.faithfulness_runs >= 2 && o.faithfulness_subset > 0 && o.faithfulness_subset < 1,
          "faithfulness correlation needs ≥ 2 runs and a subset share in (0, 1)");
  require(o.infidelity_samples >= 1 && o.infidelity_noise > 0, "infidelity needs samples ≥ 1 and a noise σ > 0");
  require(network.num_classes() >= 2, "the random-logit test needs at least two classes");
  require(o.lipschitz_samples >= 1 && o.lipschitz_noise > 0, "the local Lipschitz estimate needs samples ≥ 1 and σ > 0");
  require(o.irof_segments >= 1, "IROF needs at least 1 segment");
  const int64_t count = images.size(0), pixels = removable_positions(images.sizes());
  MapMeasures out;
  out.method = attributor.name();
  const auto maps = collapse_channels(attributions, o.reduce);
  out.sparseness = torch::empty({count}, torch::kFloat64);
  out.complexity = torch::empty({count}, torch::kFloat64);
  for (int64_t i = 0; i < count; ++i) {
    out.sparseness[i] = gini_index(maps[i]);
    out.complexity[i] = map_entropy(maps[i]);
  }

  // Max-sensitivity: the largest relative change of the map over noisy copies.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  out.max_sensitivity = torch::zeros({count}, torch::kFloat64);
  for (int64_t s = 0; s < o.sensitivity_samples; ++s) {
    const auto noise = (torch::rand(images.sizes(), generator, torch::kFloat32).to(images.device()) * 2 - 1) * o.sensitivity_radius;
    const auto noisy = in_domain(images + noise * noise_unit(network, images));
    const auto noisy_maps = collapse_channels(attribute_in_batches(attributor, network, noisy, targets, o.batch_size), o.reduce);
    for (int64_t i = 0; i < count; ++i)
      out.max_sensitivity[i] = std::max(out.max_sensitivity[i].item<double>(), sensitivity(maps[i], noisy_maps[i]));
  }

  // Random logit: the map of a random other class (drawn per sample), compared with the target's.
  const auto offset = torch::randint(1, network.num_classes(), {count}, generator, torch::kInt64).to(targets.device());
  const auto others = (targets + offset).remainder(network.num_classes());
  const auto other_maps =
      collapse_channels(attribute_in_batches(attributor, network, images, others, o.batch_size), o.reduce);
  out.random_logit = torch::empty({count}, torch::kFloat64);
  for (int64_t i = 0; i < count; ++i) out.random_logit[i] = magnitude_ssim(maps[i], other_maps[i]);
  out.local_lipschitz = local_lipschitz(network, attributor, images, targets, maps, o, generator);
  out.input_invariance = input_invariance(network, attributor, images, targets, maps, o);

  // Faithfulness correlation: random subsets filled with the data mean.
  torch::NoGradGuard no_grad;
  network.set_training(false);
  const int64_t subset = std::max<int64_t>(1, std::llround(o.faithfulness_subset * pixels));
  out.faithfulness = torch::empty({count}, torch::kFloat64);
  const auto fill = fill_values(network, images, "mean", o.seed);
  const auto original = network.forward(images).gather(1, targets.view({-1, 1})).squeeze(1);
  auto drops = torch::empty({count, o.faithfulness_runs}), sums = torch::empty({count, o.faithfulness_runs});
  for (int64_t r = 0; r < o.faithfulness_runs; ++r) {
    // A random ranking per image; removing its first `subset` pixels removes a uniform random subset.
    const auto ranking = torch::rand({count, pixels}, generator).argsort(/*dim=*/int64_t{1}).to(images.device());
    const auto perturbed = remove_pixels(images, ranking, subset, fill, true);
    const auto scores = network.forward(perturbed).gather(1, targets.view({-1, 1})).squeeze(1);
    drops.select(1, r).copy_(original - scores);
    sums.select(1, r).copy_(maps.flatten(1).gather(1, ranking.narrow(1, 0, subset)).sum(1));
  }
  for (int64_t i = 0; i < count; ++i) out.faithfulness[i] = pearson_correlation(sums[i], drops[i]);

  // Infidelity with the optimal scale β = E[Iᵀφ Δ] / E[(Iᵀφ)²]: E[Δ²] − E[Iᵀφ Δ]² / E[(Iᵀφ)²].
  const auto phi = attributions.to(torch::kFloat64).flatten(1);
  auto predicted = torch::empty({count, o.infidelity_samples}, torch::kFloat64);
  auto changes = torch::empty({count, o.infidelity_samples}, torch::kFloat64);
  for (int64_t s = 0; s < o.infidelity_samples; ++s) {
    const auto perturbation = torch::randn(images.sizes(), generator, torch::kFloat32).to(images.device()) *
                              o.infidelity_noise * noise_unit(network, images);
    const auto scores = network.forward(images - perturbation).gather(1, targets.view({-1, 1})).squeeze(1);
    predicted.select(1, s).copy_((perturbation.to(torch::kFloat64).flatten(1) * phi).sum(1));
    changes.select(1, s).copy_((original - scores).to(torch::kFloat64));
  }
  const auto cross = (predicted * changes).mean(1), energy = (predicted * predicted).mean(1);
  out.infidelity = (changes * changes).mean(1) - torch::where(energy > 0, cross * cross / energy.clamp_min(1e-300),
                                                               torch::zeros_like(energy));
  out.completeness_error = completeness_error(network, images, targets, attributions);
  out.irof = irof(network, images, targets, maps, o);
  return out;
}

nlohmann::json measures_to_json(const std::vector<MapMeasures>& measures, const MapMeasureOptions& o) {
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& m : measures) {
    nlohmann::json entry = {{"method", m.method}, {"samples", m.sparseness.numel()}};
    for (const auto& metric : protocol_metrics("map measures")) {
      const auto [mean, error] = mean_and_error(m.values(metric.name));
      entry[metric.name] = {{"mean", mean}, {"standard_error", error}, {"better", metric.better}};
    }
    methods.push_back(entry);
  }
  return {{"options",
           {{"reduce", o.reduce}, {"sensitivity_samples", o.sensitivity_samples},
            {"sensitivity_radius", o.sensitivity_radius}, {"faithfulness_runs", o.faithfulness_runs},
            {"faithfulness_subset", o.faithfulness_subset}, {"infidelity_samples", o.infidelity_samples},
            {"infidelity_noise", o.infidelity_noise}, {"lipschitz_samples", o.lipschitz_samples},
            {"lipschitz_noise", o.lipschitz_noise}, {"invariance_shift", o.invariance_shift},
            {"irof_segments", o.irof_segments}, {"seed", o.seed}}},
          {"methods", methods}};
}

std::string measures_table(const std::vector<MapMeasures>& measures) {
  std::ostringstream out;
  out << "| method |";
  for (const auto& metric : protocol_metrics("map measures")) out << ' ' << metric.name << ' ' << metric.arrow() << " |";
  out << "\n|---|";
  for (size_t i = 0; i < protocol_metrics("map measures").size(); ++i) out << "---|";
  out << '\n';
  char cell[64];
  for (const auto& m : measures) {
    out << "| " << m.method << " |";
    for (const auto& metric : protocol_metrics("map measures")) {
      const auto [mean, error] = mean_and_error(m.values(metric.name));
      std::snprintf(cell, sizeof cell, " %.3f ± %.3f |", mean, error);
      out << cell;
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace prism
