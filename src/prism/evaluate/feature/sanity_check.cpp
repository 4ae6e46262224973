#include "prism/core/tensor_values.h"
#include "prism/evaluate/feature/sanity_check.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>

#include "prism/core/error.h"
#include "prism/evaluate/metrics.h"
#include "prism/core/progress.h"
#include "prism/explain/data/parameter_gradients.h"
#include "prism/explain/feature/collapse.h"

namespace prism {
namespace {

// The maps, collapsed; under smooth MPRT each the mean over the same noisy copies at every step.
torch::Tensor collapsed_maps(FeatureAttributor& method, Network& network, const torch::Tensor& images,
                             const torch::Tensor& targets, const SanityOptions& o) {
  if (o.smooth_samples == 0)
    return collapse_channels(attribute_in_batches(method, network, images, targets, o.batch_size), o.reduce)
        .to(torch::kFloat32);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);
  const auto range = along_batch(images.flatten(1).amax(1) - images.flatten(1).amin(1), images.dim());
  auto sum = torch::zeros_like(images);
  for (int64_t s = 0; s < o.smooth_samples; ++s) {
    const auto noise = torch::randn(images.sizes(), generator, torch::kFloat32).to(images.device());
    sum += attribute_in_batches(method, network, images + o.smooth_noise * range * noise, targets, o.batch_size);
  }
  return collapse_channels(sum / o.smooth_samples, o.reduce).to(torch::kFloat32);
}

// Adds one step: every method's maps now, and their similarity to step 0's.
void add_step(SanityResult& result, const std::string& step, Network& network,
              const std::vector<FeatureAttributor*>& methods, const torch::Tensor& images, const torch::Tensor& targets,
              std::vector<std::vector<torch::Tensor>>& maps) {
  result.steps.push_back(step);
  for (size_t m = 0; m < methods.size(); ++m) {
    auto now = collapsed_maps(*methods[m], network, images, targets, result.options);
    std::vector<MapSimilarity> row;
    for (int64_t i = 0; i < now.size(0); ++i)
      row.push_back(maps[m].empty() ? compare_maps(now[i], now[i]) : compare_maps(maps[m][0][i], now[i]));
    result.similarity[m].push_back(std::move(row));
    maps[m].push_back(std::move(now));
  }
}

}  // namespace

std::vector<std::string> randomizable_layers(Network& network) {
  std::vector<std::string> out;
  for (const auto& layer : network.layers())
    if ((layer.kind == "conv" || layer.kind == "linear" || layer.kind == "batchnorm") &&
        network.layer_parameters(layer.name).has_value())
      out.insert(out.begin(), layer.name);
  return out;
}

SanityResult model_randomization(Network& network, const std::vector<FeatureAttributor*>& methods,
                                 const torch::Tensor& images, const torch::Tensor& targets,
                                 const SanityOptions& options, std::vector<std::string> layers) {
  require(options.mode == "cascading" || options.mode == "independent",
          "unknown randomisation '" + options.mode + "'; choose cascading or independent");
  require(options.init_std > 0, "the standard deviation of the random weights must be positive");
  require(options.smooth_samples >= 0 && options.smooth_noise >= 0,
          "smooth MPRT needs a non-negative number of noisy copies and noise level");
  require(!methods.empty(), "give at least one method");
  if (layers.empty()) layers = randomizable_layers(network);
  require(!layers.empty(), "the model has no conv, linear or batchnorm layer whose weights prism can reach");
  const auto parameters = layer_parameter_tensors(network, layers);
  std::vector<torch::Tensor> saved;
  for (const auto& p : parameters) saved.push_back(p.detach().clone());

  SanityResult result;
  result.options = options;
  for (auto* m : methods) result.methods.push_back(m->name());
  result.similarity.resize(methods.size());
  std::vector<std::vector<torch::Tensor>> maps(methods.size());
  const auto restore = [&] {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(saved[i]);
  };
  try {
    Progress progress("randomisation", static_cast<int64_t>(layers.size()) + 1, "step");
    add_step(result, "original", network, methods, images, targets, maps);
    progress.advance(1);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    for (const auto& layer : layers) {
      if (options.mode == "independent") restore();
      {
        torch::NoGradGuard no_grad;
        for (auto& p : layer_parameter_tensors(network, {layer}))
          p.copy_(torch::randn(p.sizes(), generator, torch::kFloat32).mul_(options.init_std));
      }
      add_step(result, layer, network, methods, images, targets, maps);
      progress.advance(1);
    }
    progress.finish();
  } catch (...) {
    restore();
    throw;
  }
  restore();
  for (auto& per_method : maps) result.maps.push_back(torch::stack(per_method));
  return result;
}

torch::Tensor permuted_labels(const torch::Tensor& labels, uint64_t seed) {
  return labels.index_select(0, torch::randperm(labels.size(0), at::make_generator<at::CPUGeneratorImpl>(seed)));
}

std::unique_ptr<Network> data_randomization(SanityResult& result, const Network& trained, const ZooOptions& architecture,
                                            const Dataset& train, const TrainOptions& training,
                                            const std::vector<FeatureAttributor*>& methods, const torch::Tensor& images,
                                            const torch::Tensor& targets) {
  Dataset permuted_train = train;
  permuted_train.labels = permuted_labels(train.labels, training.seed);
  ZooOptions fresh = architecture;
  fresh.seed = training.seed;
  auto permuted = make_zoo_network(fresh, trained);
  train_network(*permuted, permuted_train, nullptr, training);
  compare_networks(result, *permuted, "labels permuted", methods, images, targets);
  return permuted;
}

void compare_networks(SanityResult& result, Network& other, const std::string& step,
                      const std::vector<FeatureAttributor*>& methods, const torch::Tensor& images,
                      const torch::Tensor& targets) {
  require(methods.size() == result.methods.size(), "compare the same methods as the randomisation");
  std::vector<std::vector<torch::Tensor>> maps(methods.size());
  for (size_t m = 0; m < methods.size(); ++m) maps[m].push_back(result.maps[m][0]);
  add_step(result, step, other, methods, images, targets, maps);
  for (size_t m = 0; m < methods.size(); ++m) result.maps[m] = torch::cat({result.maps[m], maps[m][1].unsqueeze(0)});
}

std::vector<size_t> SanityResult::measures() const {
  const bool table_rows = !maps.empty() && maps[0].dim() == 3;
  std::vector<size_t> defined;
  for (size_t k = 0; k < similarity_measures().size(); ++k)
    if (!table_rows || similarity_measures()[k] != "hog_pearson") defined.push_back(k);
  return defined;
}

double SanityResult::mean(size_t method, size_t step, size_t measure) const {
  double sum = 0;
  for (const auto& s : similarity[method][step]) sum += as_vector(s)[measure];
  return sum / static_cast<double>(similarity[method][step].size());
}

nlohmann::json SanityResult::to_json() const {
  nlohmann::json methods_json = nlohmann::json::array();
  const auto measures = similarity_measures();
  for (size_t m = 0; m < methods.size(); ++m) {
    nlohmann::json entry = {{"method", methods[m]}};
    for (const size_t k : this->measures()) {
      std::vector<double> curve;
      for (size_t s = 0; s < steps.size(); ++s) curve.push_back(mean(m, s, k));
      entry[measures[k]] = curve;
    }
    methods_json.push_back(entry);
  }
  return {{"mode", options.mode}, {"init_std", options.init_std}, {"seed", options.seed}, {"reduce", options.reduce},
          {"smooth_samples", options.smooth_samples}, {"smooth_noise", options.smooth_noise},
          {"samples", similarity.empty() || similarity[0].empty() ? 0 : similarity[0][0].size()},
          {"steps", steps}, {"better", metric_directions("sanity")}, {"methods", methods_json}};
}

std::string SanityResult::to_csv() const {
  std::ostringstream out;
  out << "method,step,layer,measure,mean,standard_error\n";
  const auto measures = similarity_measures();
  for (size_t m = 0; m < methods.size(); ++m)
    for (size_t s = 0; s < steps.size(); ++s)
      for (const size_t k : this->measures()) {
        const double mu = mean(m, s, k);
        double squares = 0;
        for (const auto& x : similarity[m][s]) squares += std::pow(as_vector(x)[k] - mu, 2);
        const double n = static_cast<double>(similarity[m][s].size());
        const double error = n > 1 ? std::sqrt(squares / (n - 1) / n) : 0.0;
        out << methods[m] << ',' << s << ',' << steps[s] << ',' << measures[k] << ',' << mu << ',' << error << '\n';
      }
  return out.str();
}

std::string SanityResult::table(size_t measure) const {
  std::ostringstream out;
  out << "| method |";
  for (const auto& step : steps) out << ' ' << step << " |";
  out << "\n|---|";
  for (size_t s = 0; s < steps.size(); ++s) out << "---|";
  out << '\n';
  char cell[32];
  for (size_t m = 0; m < methods.size(); ++m) {
    out << "| " << methods[m] << " |";
    for (size_t s = 0; s < steps.size(); ++s) {
      std::snprintf(cell, sizeof cell, " %.3f |", mean(m, s, measure));
      out << cell;
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace prism
