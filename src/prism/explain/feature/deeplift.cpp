#include "prism/explain/feature/deeplift.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/explain/feature/integrated_gradients.h"
#include "prism/io/npy.h"

namespace prism {

torch::Tensor make_baseline_set(const torch::Tensor& inputs, const std::string& kind, int64_t count, uint64_t seed) {
  if (kind == "uniform") {
    require(count >= 1, "give at least one baseline (count)");
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<int64_t> shape = {count};
    for (int64_t d = 1; d < inputs.dim(); ++d) shape.push_back(inputs.size(d));
    return torch::rand(shape, generator, torch::kFloat32).to(inputs.device());
  }
  auto loaded = read_npy(kind).to(inputs.options());
  if (loaded.dim() == inputs.dim() - 1) loaded = loaded.unsqueeze(0);
  require(loaded.dim() == inputs.dim() && loaded.size(0) >= 1 && loaded.sizes().slice(1) == inputs.sizes().slice(1),
          "the baselines " + kind + " have shape " + shape_string(loaded.sizes()) + "; give [K, C, H, W] images shaped " +
              shape_string(inputs.sizes().slice(1)));
  return loaded.contiguous();
}

DeepLiftResult deeplift_rescale(Network& network, const torch::Tensor& inputs, const torch::Tensor& baseline,
                                const torch::Tensor& targets) {
  network.set_training(false);
  // Each activation whose single input is a layer (one reading the network's input keeps its gradient).
  std::vector<std::pair<std::string, std::string>> rescaled;  // (activation, the layer it reads)
  for (const auto& layer : activation_layers(network))
    if (const auto input = network.layer(layer).input(); !input.empty() && input != "?") rescaled.push_back({layer, input});
  const auto target_index = targets.view({-1, 1});

  // The activations' inputs x' and outputs g(x') at the baseline.
  std::map<std::string, torch::Tensor> reference_in, reference_out;
  DeepLiftResult result;
  {
    torch::NoGradGuard no_grad;
    TapSet reference;
    for (const auto& [activation, input] : rescaled) {
      reference.capture(input, &reference_in[activation]);
      reference.capture(activation, &reference_out[activation]);
    }
    result.baseline_scores = network.forward(baseline, reference).gather(1, target_index).squeeze(1);
  }

  // At x: each activation's output keeps its value, and its backward pass multiplies by Δy/Δx where Δx is not ~0.
  std::map<std::string, torch::Tensor> flowing_in;
  TapSet taps;
  for (const auto& [activation, input] : rescaled)
    taps.on(activation, [&, name = activation](const torch::Tensor& output) {
      const auto& x = flowing_in.at(name);
      const auto delta_in = x.detach() - reference_in.at(name);
      const auto changed = delta_in.abs() > 1e-7;
      const auto multiplier =
          (output.detach() - reference_out.at(name)) / torch::where(changed, delta_in, torch::ones_like(delta_in));
      return torch::where(changed, output.detach() + multiplier * (x - x.detach()), output);
    });
  // Registered after the activations' own taps, so that an activation reading another sees the rescaled one.
  for (const auto& [activation, input] : rescaled) taps.capture(input, &flowing_in[activation]);
  const auto x = inputs.detach().requires_grad_(true);
  const auto scores = network.forward(x, taps).gather(1, target_index).squeeze(1);
  const auto multipliers = torch::autograd::grad({scores.sum()}, {x})[0];
  result.scores = scores.detach();
  result.maps = (inputs - baseline) * multipliers;
  return result;
}

Attribution DeepLift::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto baseline = make_baseline(network, inputs, options_.baseline, options_.blur_sigma);
  const auto result = deeplift_rescale(network, inputs, baseline, targets);
  const auto delta = result.scores - result.baseline_scores;
  return {result.maps, {{"completeness_error", (result.maps.flatten(1).sum(1) - delta).abs()}}, {}};
}

Attribution DeepLiftShap::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto baselines = make_baseline_set(inputs, options_.baselines, options_.count, options_.seed);
  auto maps = torch::zeros_like(inputs);
  auto baseline_scores = torch::zeros({inputs.size(0)}, inputs.options());
  torch::Tensor scores;
  for (int64_t k = 0; k < baselines.size(0); ++k) {
    const auto result = deeplift_rescale(network, inputs, baselines[k].unsqueeze(0).expand_as(inputs), targets);
    maps += result.maps;
    baseline_scores += result.baseline_scores;
    scores = result.scores;
  }
  const double count = static_cast<double>(baselines.size(0));
  maps /= count;
  const auto delta = scores - baseline_scores / count;
  return {maps, {{"completeness_error", (maps.flatten(1).sum(1) - delta).abs()}}, {}};
}

}  // namespace prism
