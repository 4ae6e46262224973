#include "prism/explain/concept/attribute_visualisation.h"

#include "prism/core/error.h"
#include "prism/explain/concept/flint_relevance.h"

namespace prism {

torch::Tensor top_activating(const torch::Tensor& attributes, int64_t k) {
  require(k >= 1 && k <= attributes.size(0), "cannot show the top " + std::to_string(k) + " of " +
                                                 std::to_string(attributes.size(0)) + " samples");
  return std::get<1>(attributes.topk(k, 0)).t().contiguous();
}

torch::Tensor total_variation(const torch::Tensor& images) {
  const auto dx = (images.narrow(3, 1, images.size(3) - 1) - images.narrow(3, 0, images.size(3) - 1)).abs();
  const auto dy = (images.narrow(2, 1, images.size(2) - 1) - images.narrow(2, 0, images.size(2) - 1)).abs();
  return dx.flatten(1).mean(1) + dy.flatten(1).mean(1);
}

torch::Tensor maximise_attributes(Network& network, FlintInterpreter& interpreter, const torch::Tensor& starts,
                                  const torch::Tensor& attributes, const ActivationMaximisationOptions& o) {
  require(o.steps >= 0 && o.learning_rate > 0 && o.tv_weight >= 0 && o.range_weight >= 0 && o.start_scale >= 0,
          "activation maximisation needs steps >= 0, a positive step size and non-negative penalties");
  require(starts.dim() == 4 && attributes.dim() == 1 && attributes.size(0) == starts.size(0),
          "activation maximisation needs start images [B, C, H, W] and one attribute index per image");
  network.set_training(false);
  interpreter->eval();
  auto x = (starts * o.start_scale).to(network.device()).detach().requires_grad_(true);
  torch::optim::Adam optimiser({x}, torch::optim::AdamOptions(o.learning_rate));
  const auto chosen = attributes.to(network.device(), torch::kInt64).unsqueeze(1);
  for (int64_t step = 0; step < o.steps; ++step) {
    const auto [logits, hidden] = forward_with_layers(network, x, interpreter->architecture().layers);
    const auto phi = interpreter->attributes(hidden).gather(1, chosen).squeeze(1);
    const auto outside = (torch::relu(x - 1).square() + torch::relu(-x).square()).flatten(1).mean(1);
    const auto objective = (phi - o.tv_weight * total_variation(x) - o.range_weight * outside).sum();
    // Gradients for the image only: f's and the interpreter's parameters must not collect any.
    const auto gradient = torch::autograd::grad({-objective}, {x})[0];
    optimiser.zero_grad();
    x.mutable_grad() = gradient;
    optimiser.step();
  }
  return x.detach().clamp(0, 1).cpu();
}

AttributeSummary summarise_attributes(Network& network, FlintInterpreter& interpreter, const torch::Tensor& samples,
                                      int64_t top, const ActivationMaximisationOptions& options) {
  AttributeSummary s;
  s.outputs = run_flint(network, interpreter, samples);
  const auto predicted = s.outputs.predictor_logits.argmax(1);
  s.class_relevance = global_relevance(s.outputs.relevance, predicted, interpreter->architecture().num_classes);
  s.top_samples = top_activating(s.outputs.attributes, std::min(top, samples.size(0)));
  const int64_t attributes = s.outputs.attributes.size(1);
  if (samples.dim() == 2) {
    const auto standardised = normalize(samples, network.normalization());
    s.profiles = standardised.index_select(0, s.top_samples.flatten())
                     .view({attributes, s.top_samples.size(1), samples.size(1)})
                     .mean(1);
    // An attribute that is never active has no top samples to speak of.
    s.profiles.masked_fill_((s.outputs.attributes.amax(0) <= 0).unsqueeze(1), 0);
    return s;
  }
  if (samples.dim() == 3) return s;  // sequences: their top samples show an attribute (no maximisation)
  s.maximised = maximise_attributes(network, interpreter, samples.index_select(0, s.top_samples.select(1, 0)),
                                    torch::arange(attributes), options);
  return s;
}

}  // namespace prism
