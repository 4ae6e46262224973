#include "prism/explain/data/trak.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

Trak::Trak(TrakOptions options) : options_(std::move(options)), checkpoints_(options_.checkpoints, "trak") {
  require(options_.projection_dim >= 1, "trak: projection_dim must be at least 1");
  require(options_.lambda >= 0, "trak: lambda must not be negative");
}

nlohmann::json Trak::options() const { return options_json(options_); }

std::pair<torch::Tensor, torch::Tensor> Trak::projected_gradients(Network& net, const torch::Tensor& images,
                                                                  const torch::Tensor& labels, const std::string& label) {
  const auto layer = last_linear_layer(net);
  auto phi = penultimate_features(net, layer, images, label).to(torch::kFloat64);
  const auto p = torch::softmax(last_layer_logits(layer, phi.to(torch::kFloat32)).to(torch::kFloat64), 1);
  if (layer.bias.defined()) phi = with_constant_feature(phi);
  const int64_t K = p.size(1), d = phi.size(1), k = options_.projection_dim;
  const auto own = p.gather(1, labels.unsqueeze(1));  // p_y
  // ∂f/∂z of the margin f = log p_y − log(1 − p_y): (e_y − p) / (1 − p_y).
  const auto u = (torch::one_hot(labels, K).to(torch::kFloat64) - p) / (1 - own).clamp_min(1e-12);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  const auto projection = at::normal(0.0, 1.0 / std::sqrt(double(k)), {K, d, k}, generator, torch::kFloat64);
  // vec(u ⊗ φ̃)ᵀ P = Σ_c u_c (φ̃ᵀ P_c), without forming the outer products.
  auto out = torch::zeros({phi.size(0), k}, torch::kFloat64);
  for (int64_t c = 0; c < K; ++c) out += u.select(1, c).unsqueeze(1) * phi.matmul(projection[c]);
  return {out, (1 - own).squeeze(1)};
}

void Trak::fit(Network& network, const Dataset& train) {
  projected_.clear(), kernel_inverse_.clear(), residual_.clear();
  const size_t count = checkpoints_.count();
  for (size_t t = 0; t < count; ++t) {
    auto [phi, residual] = projected_gradients(checkpoints_.at(t, network), train.images, train.labels,
                                               "gradients of " + train.name + " at checkpoint " + std::to_string(t + 1));
    auto kernel = phi.t().matmul(phi);
    const double ridge = options_.lambda * kernel.diagonal().mean().item<double>();
    kernel += ridge * torch::eye(kernel.size(0), torch::kFloat64);
    kernel_inverse_.push_back(torch::linalg::inv(kernel).to(torch::kFloat32));
    projected_.push_back(phi.to(torch::kFloat32));
    residual_.push_back(residual.to(torch::kFloat32));
  }
}

torch::Tensor Trak::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(!projected_.empty(), "TRAK is not fitted");
  auto total = torch::zeros({inputs.size(0), train_size()}, torch::kFloat32);
  for (size_t t = 0; t < projected_.size(); ++t) {
    const auto g = projected_gradients(checkpoints_.at(t, network), inputs, targets, "").first.to(torch::kFloat32);
    total += g.matmul(kernel_inverse_[t]).matmul(projected_[t].t()) * residual_[t].unsqueeze(0);
  }
  return total / static_cast<double>(projected_.size());
}

torch::Tensor Trak::self_influence() const {
  auto total = torch::zeros({train_size()}, torch::kFloat32);
  for (size_t t = 0; t < projected_.size(); ++t)
    total += (projected_[t].matmul(kernel_inverse_[t]) * projected_[t]).sum(1) * residual_[t];
  return total / static_cast<double>(std::max<size_t>(1, projected_.size()));
}

std::map<std::string, torch::Tensor> Trak::state() const {
  std::map<std::string, torch::Tensor> s;
  for (size_t t = 0; t < projected_.size(); ++t) {
    s["projected_" + std::to_string(t)] = projected_[t];
    s["kernel_inverse_" + std::to_string(t)] = kernel_inverse_[t];
    s["residual_" + std::to_string(t)] = residual_[t];
  }
  return s;
}

void Trak::set_state(const std::map<std::string, torch::Tensor>& s) {
  projected_.clear(), kernel_inverse_.clear(), residual_.clear();
  const size_t count = checkpoints_.count();
  for (size_t t = 0; t < count; ++t) {
    projected_.push_back(s.at("projected_" + std::to_string(t)));
    kernel_inverse_.push_back(s.at("kernel_inverse_" + std::to_string(t)));
    residual_.push_back(s.at("residual_" + std::to_string(t)));
    const int64_t k = options_.projection_dim;
    require(projected_[t].dim() == 2 && projected_[t].size(1) == k && kernel_inverse_[t].size(0) == k &&
                residual_[t].size(0) == projected_[t].size(0) && projected_[t].size(0) == projected_[0].size(0),
            "the TRAK fit's arrays do not fit together; re-run the fit");
  }
}

}  // namespace prism
