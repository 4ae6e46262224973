#include "prism/explain/data/representer.h"

#include <chrono>

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

RepresenterPoints::RepresenterPoints(RepresenterOptions options) : options_(options) {
  require(options_.lambda > 0, "representer: lambda must be positive");
  require(options_.max_iterations >= 1, "representer: max_iterations must be at least 1");
}

void RepresenterPoints::fit(Network& network, const Dataset& train) {
  const auto start = std::chrono::steady_clock::now();
  const auto layer = last_linear_layer(network);
  const auto phi = penultimate_features(network, layer, train.images, "features of " + train.name).to(torch::kFloat64);
  const double n = static_cast<double>(phi.size(0));
  auto w = layer.weight.to(torch::kFloat64).clone().requires_grad_(true);
  torch::optim::LBFGS optimizer({w}, torch::optim::LBFGSOptions(1.0)
                                         .max_iter(options_.max_iterations)
                                         .tolerance_grad(1e-10)
                                         .tolerance_change(1e-14)
                                         .history_size(20)
                                         .line_search_fn("strong_wolfe"));
  auto objective = [&] {
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(phi.matmul(w.t()), train.labels) +
                options_.lambda * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  optimizer.step(objective);
  torch::NoGradGuard no_grad;
  weight_ = w.detach();
  // α_i = −1/(2λN) ∂L_i/∂z_i (Eq. 2); W = Σ_i α_i φ_iᵀ holds at the stationary point.
  alpha_ = logit_gradients(phi.matmul(weight_.t()), train.labels) * (-1.0 / (2 * options_.lambda * n));
  const double stationarity =
      ((alpha_.t().matmul(phi) - weight_).norm() / weight_.norm().clamp_min(1e-300)).item<double>();
  features_ = phi.to(torch::kFloat32);
  alpha_ = alpha_.to(torch::kFloat32);
  weight_ = weight_.to(torch::kFloat32);
  labels_ = train.labels.clone();
  report_ = {{"relative_stationarity_error", stationarity},
             {"fit_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
}

torch::Tensor RepresenterPoints::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(alpha_.defined(), "representer points are not fitted");
  const auto phi = penultimate_features(network, last_linear_layer(network), inputs);
  return phi.matmul(features_.t()) * alpha_.index_select(1, targets).t();
}

torch::Tensor RepresenterPoints::self_influence() const {
  return alpha_.gather(1, labels_.unsqueeze(1)).squeeze(1) * features_.pow(2).sum(1);
}

std::map<std::string, torch::Tensor> RepresenterPoints::state() const {
  return {{"features", features_}, {"alpha", alpha_}, {"labels", labels_}, {"weight", weight_}};
}

void RepresenterPoints::set_state(const std::map<std::string, torch::Tensor>& s) {
  features_ = s.at("features"), alpha_ = s.at("alpha"), labels_ = s.at("labels"), weight_ = s.at("weight");
  require(features_.dim() == 2 && alpha_.dim() == 2 && alpha_.size(0) == features_.size(0) &&
              labels_.size(0) == features_.size(0) && weight_.size(0) == alpha_.size(1),
          "the representer fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
