#include "prism/core/tensor_values.h"
#include "prism/explain/feature/integrated_gradients.h"

#include <cmath>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/feature/gradient.h"
#include "prism/io/npy.h"

namespace prism {
namespace {

// Gauss–Legendre nodes and weights on [-1, 1] by Newton's method on P_n (Press et al., Numerical
// Recipes §4.6); written here because no Debian C++ library offers them for a run-time n.
std::pair<std::vector<double>, std::vector<double>> gauss_legendre(int64_t n) {
  std::vector<double> nodes(n), weights(n);
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(M_PI * (i + 0.75) / (n + 0.5)), derivative = 0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p0 = 1, p1 = 0;
      for (int64_t j = 1; j <= n; ++j) {
        const double p2 = p1;
        p1 = p0;
        p0 = ((2.0 * j - 1) * x * p1 - (j - 1.0) * p2) / j;
      }
      derivative = n * (x * p0 - p1) / (x * x - 1);
      const double step = p0 / derivative;
      x -= step;
      if (std::abs(step) < 1e-15) break;
    }
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = weights[n - 1 - i] = 2 / ((1 - x * x) * derivative * derivative);
  }
  return {nodes, weights};
}

}  // namespace

std::pair<std::vector<double>, std::vector<double>> integration_rule(const std::string& rule, int64_t steps) {
  require(steps >= 1 && steps <= 100000, "steps must lie in [1, 100000] (got " + std::to_string(steps) + ")");
  std::vector<double> alphas(steps), weights(steps, 1.0 / steps);
  if (rule == "gausslegendre") {
    auto [nodes, w] = gauss_legendre(steps);
    for (int64_t k = 0; k < steps; ++k) {
      alphas[k] = 0.5 * (nodes[k] + 1);
      weights[k] = 0.5 * w[k];
    }
  } else if (rule == "riemann-left" || rule == "riemann-right" || rule == "riemann-middle") {
    const double shift = rule == "riemann-left" ? 0 : rule == "riemann-right" ? 1 : 0.5;
    for (int64_t k = 0; k < steps; ++k) alphas[k] = (k + shift) / steps;
  } else if (rule == "riemann-trapezoid") {
    require(steps >= 2, "the trapezoid rule needs at least 2 steps");
    for (int64_t k = 0; k < steps; ++k) {
      alphas[k] = double(k) / (steps - 1);
      weights[k] = (k == 0 || k == steps - 1 ? 0.5 : 1.0) / (steps - 1);
    }
  } else {
    throw Error("unknown integration rule '" + rule +
                "'; use gausslegendre, riemann-left, riemann-right, riemann-middle or riemann-trapezoid");
  }
  return {alphas, weights};
}

torch::Tensor make_baseline(const Network& network, const torch::Tensor& inputs, const std::string& kind,
                            double blur_sigma) {
  if (kind == "zeros") return torch::zeros_like(inputs);
  if (kind == "mean") {
    const auto& mean = network.normalization().mean;
    require(!mean.empty(), "the model records no data mean (a scripted model does not); use the baseline zeros, blur or a .npy "
                            "file");
    return along_channels(torch::tensor(mean, inputs.options()), inputs.dim()).expand_as(inputs).clone();
  }
  if (kind == "blur") {
    require(inputs.dim() >= 3, "the blurred baseline blurs images and sequences, and table rows have no neighbours; "
                               "use the baseline zeros, mean or a .npy file");
    require(blur_sigma > 0, "the blur sigma must be positive");
    const int64_t radius = static_cast<int64_t>(std::ceil(2 * blur_sigma));
    auto offsets = torch::arange(-radius, radius + 1, inputs.options());
    auto kernel = torch::exp(-(offsets * offsets) / (2 * blur_sigma * blur_sigma));
    kernel = kernel / kernel.sum();
    const int64_t channels = inputs.size(1);
    namespace F = torch::nn::functional;
    if (inputs.dim() == 3)  // a sequence: along its steps
      return F::conv1d(torch::replication_pad1d(inputs, {radius, radius}), kernel.view({1, 1, -1}).repeat({channels, 1, 1}),
                       F::Conv1dFuncOptions().groups(channels));
    const auto padded = torch::replication_pad2d(inputs, {radius, radius, radius, radius});
    const auto depthwise = F::Conv2dFuncOptions().groups(channels);
    const auto rows = F::conv2d(padded, kernel.view({1, 1, 1, -1}).repeat({channels, 1, 1, 1}), depthwise);
    return F::conv2d(rows, kernel.view({1, 1, -1, 1}).repeat({channels, 1, 1, 1}), depthwise);
  }
  auto loaded = read_npy(kind).to(inputs.options());
  if (loaded.dim() == inputs.dim() - 1) loaded = loaded.unsqueeze(0).expand_as(inputs);
  require(loaded.sizes() == inputs.sizes(),
          "the baseline " + kind + " has shape " + shape_string(loaded.sizes()) + "; give " +
              shape_string(inputs.sizes().slice(1)) + " or " + shape_string(inputs.sizes()));
  return loaded.contiguous();
}

torch::Tensor path_averaged_gradient(Network& network, const torch::Tensor& inputs, const torch::Tensor& baseline,
                                     const torch::Tensor& targets, const std::vector<double>& alphas,
                                     const std::vector<double>& weights, int64_t internal_batch_size) {
  require(internal_batch_size >= 1, "the internal batch size must be at least 1");
  const int64_t batch = inputs.size(0), steps = static_cast<int64_t>(alphas.size());
  const auto difference = inputs - baseline;
  auto total = torch::zeros_like(inputs);
  // Path points of all samples in one sequence (sample-major), cut into chunks of the internal batch.
  const int64_t points = batch * steps;
  for (int64_t start = 0; start < points; start += internal_batch_size) {
    const int64_t count = std::min(internal_batch_size, points - start);
    const auto index = torch::arange(start, start + count, torch::kInt64);
    const auto sample = index.div(steps, "floor"), step = index.remainder(steps);
    const auto alpha_values = along_batch(torch::tensor(alphas, inputs.options()).index_select(0, step), inputs.dim());
    const auto weight_values = along_batch(torch::tensor(weights, inputs.options()).index_select(0, step), inputs.dim());
    const auto scaled = baseline.index_select(0, sample) + alpha_values * difference.index_select(0, sample);
    const auto gradient = target_gradient(network, scaled, targets.index_select(0, sample)).gradient;
    total.index_add_(0, sample, weight_values * gradient);
  }
  return total;
}

IntegratedGradients::IntegratedGradients(IntegratedGradientsOptions options) : options_(std::move(options)) {
  integration_rule(options_.integration, options_.steps);  // validates
  require(options_.internal_batch_size >= 1, "integrated-gradients: internal_batch_size must be at least 1");
}

nlohmann::json IntegratedGradients::options() const { return options_json(options_); }

Attribution IntegratedGradients::explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  check_attribution_inputs(network, inputs, targets);
  const auto baseline = make_baseline(network, inputs, options_.baseline, options_.blur_sigma);
  const auto [alphas, weights] = integration_rule(options_.integration, options_.steps);
  const auto attribution =
      (inputs - baseline) *
      path_averaged_gradient(network, inputs, baseline, targets, alphas, weights, options_.internal_batch_size);
  const auto expected = target_scores(network, inputs, targets) - target_scores(network, baseline, targets);
  return {attribution, {{"completeness_error", (attribution.flatten(1).sum(1) - expected).abs()}}, {}};
}

}  // namespace prism
