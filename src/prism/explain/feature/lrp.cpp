#include "prism/core/tensor_values.h"
#include "prism/explain/feature/lrp.h"

#include "prism/core/error.h"
#include "prism/core/json_options.h"

namespace prism {
namespace {

// A weighted layer as LRP sees it: a conv or linear map, with a following BatchNorm folded in.
struct RuleLayer {
  std::string output;  // the layer whose output the rule rewrites (the BatchNorm, if merged)
  std::string input;   // the layer whose output it reads ("" for the network input)
  LayerParameters map;
  bool first = false;
};

// w' = w γ / σ, b' = (b − μ) γ / σ + β for conv → BatchNorm in evaluation mode.
LayerParameters merge_batchnorm(LayerParameters conv, const LayerParameters& bn) {
  const auto scale = bn.weight.defined() ? bn.weight / torch::sqrt(bn.running_var + bn.eps)
                                         : 1 / torch::sqrt(bn.running_var + bn.eps);
  const auto bias = conv.bias.defined() ? conv.bias : torch::zeros_like(bn.running_mean);
  std::vector<int64_t> shape(conv.weight.dim(), 1);
  shape[0] = -1;
  conv.weight = conv.weight * scale.view(shape);
  conv.bias = (bias - bn.running_mean) * scale + (bn.bias.defined() ? bn.bias : torch::zeros_like(scale));
  return conv;
}

// Whether `name` is the network input seen through reshaping only (flatten, view, dropout).
bool reshaped_input(const Network& network, std::string name) {
  while (!name.empty()) {
    const auto& layer = network.layer(name);
    if (layer.kind != "flatten" && layer.kind != "reshape" && layer.kind != "dropout") return false;
    name = layer.input();
    if (name == "?") return false;
  }
  return true;
}

std::vector<RuleLayer> rule_layers(Network& network) {
  const auto& layers = network.layers();
  std::map<std::string, std::vector<const LayerInfo*>> readers;
  for (const auto& layer : layers)
    for (const auto& input : layer.inputs) readers[input].push_back(&layer);
  std::vector<RuleLayer> rules;
  for (const auto& layer : layers) {
    if (layer.kind != "conv" && layer.kind != "linear") continue;
    auto params = network.layer_parameters(layer.name);
    require(params.has_value() && layer.input() != "?",
            "LRP cannot read the weights and the input of layer '" + layer.name +
                "' (a conv with padding='same', a transposed conv, or weights computed in forward)");
    RuleLayer rule{layer.name, layer.input(), *params};
    // The canonizer: a BatchNorm that is the only reader of a conv or linear layer is merged into it.
    const auto& next = readers[layer.name];
    if (next.size() == 1 && next[0]->kind == "batchnorm" && next[0]->inputs.size() == 1) {
      const auto bn = network.layer_parameters(next[0]->name);
      require(bn.has_value(), "LRP cannot read the statistics of BatchNorm '" + next[0]->name + "'");
      rule.map = merge_batchnorm(rule.map, *bn);
      rule.output = next[0]->name;
    }
    rule.first = reshaped_input(network, rule.input);
    rules.push_back(rule);
  }
  require(!rules.empty(), "LRP found no conv or linear layer in this model");
  return rules;
}

torch::Tensor apply(const LayerParameters& p, const torch::Tensor& a, const torch::Tensor& weight, bool with_bias) {
  const auto bias = with_bias && p.bias.defined() ? p.bias : torch::Tensor();
  if (p.kind == "linear") return torch::linear(a, weight, bias);
  if (weight.dim() == 3) return torch::conv1d(a, weight, bias, p.stride, p.padding, p.dilation, p.groups);
  return torch::conv2d(a, weight, bias, p.stride, p.padding, p.dilation, p.groups);
}

// z + ε·sign(z), sign(0) = +1, and never exactly 0: where y = 0 the ratio y / z is then 0, not NaN.
torch::Tensor stabilise(const torch::Tensor& z, double epsilon) {
  const auto sign = torch::where(z >= 0, torch::ones_like(z), -torch::ones_like(z));
  const auto stabilised = z + epsilon * sign;
  return torch::where(stabilised == 0, torch::full_like(z, 1e-12), stabilised);
}

// z · (y / z).detach(): the value y, the gradient of the rule.
torch::Tensor relevance_path(const torch::Tensor& y, const torch::Tensor& z, double epsilon) {
  const auto stable = stabilise(z, epsilon);
  return stable * (y / stable).detach();
}

}  // namespace

Lrp::Lrp(LrpOptions options) : options_(std::move(options)) {
  static const std::vector<std::string> composites = {"epsilon", "epsilon-plus", "epsilon-plus-box",
                                                      "epsilon-gamma-box", "epsilon-alpha-beta"};
  require(std::find(composites.begin(), composites.end(), options_.composite) != composites.end(),
          "unknown LRP composite '" + options_.composite +
              "'; use epsilon, epsilon-plus, epsilon-plus-box, epsilon-gamma-box or epsilon-alpha-beta");
  require(options_.epsilon >= 0, "lrp: epsilon must not be negative");
  require(options_.gamma >= 0, "lrp: gamma must not be negative");
  require(options_.alpha >= 1, "lrp: alpha must be at least 1 (beta = alpha - 1)");
}

nlohmann::json Lrp::options() const { return options_json(options_); }

Attribution Lrp::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  return propagate(network, inputs, "", targets);
}

torch::Tensor Lrp::attribute_from_layer(Network& network, const torch::Tensor& inputs, const std::string& layer,
                                        const torch::Tensor& relevance) {
  network.layer(layer);  // an unknown layer fails with the list
  require(relevance.size(0) == inputs.size(0), "give one relevance row per input");
  return propagate(network, inputs, layer, relevance).maps;
}

Attribution Lrp::propagate(Network& network, const torch::Tensor& inputs, const std::string& start_layer,
                           const torch::Tensor& start) {
  network.set_training(false);
  const auto rules = rule_layers(network);
  const auto& composite = options_.composite;
  const bool box = composite == "epsilon-plus-box" || composite == "epsilon-gamma-box";
  const double eps = options_.epsilon;

  // The normalised input and its bounds, as leaves so the z^B rule's terms reach them.
  const auto x = inputs.detach().requires_grad_(true);
  const auto normalised = normalize(x, network.normalization());
  const auto low = normalize(torch::zeros_like(inputs), network.normalization()).detach().requires_grad_(true);
  const auto high = normalize(torch::ones_like(inputs), network.normalization()).detach().requires_grad_(true);

  std::map<std::string, torch::Tensor> captured;
  TapSet taps;
  for (const auto& rule : rules) {
    taps.on(rule.output, [&, rule](const torch::Tensor& y) -> torch::Tensor {
      const auto& p = rule.map;
      torch::Tensor a = rule.input.empty() ? normalised : captured.at(rule.input);
      if (rule.first && box) {  // z^B: z = w·a − w⁺·l − w⁻·h
        const auto l = low.reshape(a.sizes()), h = high.reshape(a.sizes());
        const auto z = apply(p, a, p.weight, true) - apply(p, l, p.weight.clamp_min(0), false) -
                       apply(p, h, p.weight.clamp_max(0), false);
        return relevance_path(y, z, eps);
      }
      if (p.kind == "linear" || composite == "epsilon") return relevance_path(y, apply(p, a, p.weight, true), eps);
      if (composite == "epsilon-gamma-box")
        return relevance_path(y, apply(p, a, p.weight + options_.gamma * p.weight.clamp_min(0), true), eps);
      if (composite == "epsilon-alpha-beta") {
        const double alpha = options_.alpha, beta = alpha - 1;
        const auto positive = apply(p, a.clamp_min(0), p.weight.clamp_min(0), false) +
                              apply(p, a.clamp_max(0), p.weight.clamp_max(0), false);
        const auto negative = apply(p, a.clamp_min(0), p.weight.clamp_max(0), false) +
                              apply(p, a.clamp_max(0), p.weight.clamp_min(0), false);
        auto out = alpha * relevance_path(y, positive, eps);  // value α y − β y = y
        return beta > 0 ? out - beta * relevance_path(y, negative, eps) : out;
      }
      // z⁺: the positive contributions, w⁺a⁺ + w⁻a⁻ (a ≥ 0 after a ReLU; SiLU and GELU outputs may be negative)
      return relevance_path(y, apply(p, a.clamp_min(0), p.weight.clamp_min(0), false) +
                                   apply(p, a.clamp_max(0), p.weight.clamp_max(0), false), eps);
    });
  }
  // Activations other than ReLU pass relevance on unchanged (R_in = R_out): y = x · (y / x).detach().
  // A product of two activations (a squeeze-excitation gate) sends all of it to the larger operand: the
  // smaller one, the gate, counts as a constant.
  std::vector<std::string> reads;
  for (const auto& rule : rules) reads.push_back(rule.input);
  for (const auto& layer : network.layers()) {
    const std::string name = layer.name;
    if (is_activation(layer.kind) && layer.kind != "relu" && layer.input() != "?") {
      const std::string input = layer.input();
      reads.push_back(input);
      taps.on(name, [&, input](const torch::Tensor& y) -> torch::Tensor {
        const auto x = input.empty() ? normalised : captured.at(input);
        return relevance_path(y, x, 0);
      });
    } else if (layer.kind == "mul" && layer.inputs.size() == 2) {
      const auto operands = layer.inputs;
      reads.insert(reads.end(), operands.begin(), operands.end());
      taps.on(name, [&, operands](const torch::Tensor& y) -> torch::Tensor {
        auto a = operands[0].empty() ? normalised : captured.at(operands[0]);
        auto b = operands[1].empty() ? normalised : captured.at(operands[1]);
        if (a.numel() < b.numel()) std::swap(a, b);
        return (a * b.detach()).expand_as(y);
      });
    }
  }
  // Captures after the rules, so a rewritten output is what the next layer's rule reads.
  for (const auto& read : reads)
    if (!read.empty() && !captured.count(read)) {
      captured[read] = torch::Tensor();
      taps.capture(read, &captured[read]);
    }
  // The relevance to distribute: the target logit, or `start` placed on a layer's output. There the
  // seed s = Σ a · (R / a) has, through the rewritten graph, the relevance R at that layer.
  torch::Tensor at_layer;
  if (!start_layer.empty()) taps.capture(start_layer, &at_layer);
  const auto logits = network.forward(x, taps);
  torch::Tensor seed, scores;
  if (start_layer.empty()) {
    scores = logits.gather(1, start.view({-1, 1})).squeeze(1);
    seed = scores.sum();
  } else {
    require(at_layer.defined() && at_layer.numel() == start.numel(),
            "the relevance for layer '" + start_layer + "' must have its " +
                (at_layer.defined() ? std::to_string(at_layer.numel() / std::max<int64_t>(1, at_layer.size(0))) : "?") +
                " values per input");
    const auto a = at_layer.detach();
    const auto r = start.to(a.options()).reshape(a.sizes());
    const auto ratio = torch::where(a.abs() > 1e-12, r / torch::where(a.abs() > 1e-12, a, torch::ones_like(a)),
                                    torch::zeros_like(a));
    seed = (at_layer * ratio).sum();
    scores = (r * (a.abs() > 1e-12)).flatten(1).sum(1);
  }
  const auto gradients = torch::autograd::grad({seed}, {x, low, high}, {}, false, false, true);
  // R = a ⊙ ∂/∂a at the normalised input (∂/∂x_n = ∂/∂x · σ), plus the bounds' terms of z^B.
  const auto& norm = network.normalization();
  torch::Tensor std = norm.empty() ? torch::ones({1}, inputs.options())
                                   : along_channels(torch::tensor(norm.std, inputs.options()), inputs.dim());
  auto relevance = normalised.detach() * gradients[0] * std;
  if (gradients[1].defined()) relevance = relevance + low * gradients[1];
  if (gradients[2].defined()) relevance = relevance + high * gradients[2];
  relevance = relevance.detach();
  return {relevance, {{"conservation_error", (relevance.flatten(1).sum(1) - scores.detach()).abs()}}, {}};
}

}  // namespace prism
