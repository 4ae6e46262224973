#include "prism/explain/data/influence.h"

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"

namespace prism {
namespace {

torch::Tensor augment(const torch::Tensor& phi, bool bias) {
  return bias ? torch::cat({phi, torch::ones({phi.size(0), 1}, phi.options())}, 1) : phi;
}

// Σ_{k,j} V[b,k,j] g_i[k] φ̃_i[j] for every row b of V [B, K, d̃] and sample i, in blocks of rows.
torch::Tensor gradient_bilinear(const torch::Tensor& V, const torch::Tensor& gradients, const torch::Tensor& features) {
  const int64_t B = V.size(0), K = V.size(1), d = V.size(2), n = features.size(0);
  auto out = torch::empty({B, n}, torch::kFloat64);
  for (int64_t s = 0; s < B; s += 32) {
    const int64_t c = std::min<int64_t>(32, B - s);
    const auto projected = V.narrow(0, s, c).reshape({c * K, d}).matmul(features.t()).view({c, K, n});
    out.narrow(0, s, c).copy_((projected * gradients.t().unsqueeze(0)).sum(1));
  }
  return out;
}

}  // namespace

InfluenceFunctions::InfluenceFunctions(InfluenceOptions options) : options_(options) {
  require(options_.damping >= 0, "influence: damping must not be negative");
}

torch::Tensor InfluenceFunctions::last_layer_hessian(const torch::Tensor& features, const torch::Tensor& logits,
                                                     double damping) {
  const auto phi = features.to(torch::kFloat64);
  const auto p = torch::softmax(logits.to(torch::kFloat64), 1);
  const int64_t n = phi.size(0), K = p.size(1), d = phi.size(1);
  auto H = torch::zeros({K, d, K, d}, torch::kFloat64);
  // Block (k, l) = (1/N) Σ_i (p_ik [k = l] − p_ik p_il) φ̃_i φ̃_iᵀ.
  for (int64_t k = 0; k < K; ++k)
    for (int64_t l = k; l < K; ++l) {
      auto s = -(p.select(1, k) * p.select(1, l));
      if (k == l) s = s + p.select(1, k);
      const auto block = (phi * s.unsqueeze(1)).t().matmul(phi) / static_cast<double>(n);
      H.select(0, k).select(1, l).copy_(block);
      if (l != k) H.select(0, l).select(1, k).copy_(block.t());
    }
  return H.view({K * d, K * d}) + damping * torch::eye(K * d, torch::kFloat64);
}

void InfluenceFunctions::fit(Network& network, const Dataset& train) {
  const auto layer = last_linear_layer(network);
  bias_ = layer.bias.defined();
  const auto phi = penultimate_features(network, layer, train.images, "features of " + train.name);
  const auto logits = last_layer_logits(layer, phi);
  features_ = augment(phi, bias_).to(torch::kFloat64);
  gradients_ = logit_gradients(logits, train.labels);
  const auto hessian = last_layer_hessian(features_, logits, options_.damping);
  inverse_hessian_ = torch::cholesky_inverse(torch::linalg::cholesky(hessian));
  // Self-influence ∇L_iᵀ H⁻¹ ∇L_i, in blocks of samples.
  const int64_t n = features_.size(0), K = gradients_.size(1), d = features_.size(1);
  self_ = torch::empty({n}, torch::kFloat64);
  for (int64_t s = 0; s < n; s += 1024) {
    const int64_t c = std::min<int64_t>(1024, n - s);
    const auto g = (gradients_.narrow(0, s, c).unsqueeze(2) * features_.narrow(0, s, c).unsqueeze(1)).view({c, K * d});
    self_.narrow(0, s, c).copy_((g.matmul(inverse_hessian_) * g).sum(1));
  }
  features_ = features_.to(torch::kFloat32), gradients_ = gradients_.to(torch::kFloat32);
  self_ = self_.to(torch::kFloat32);
}

torch::Tensor InfluenceFunctions::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(features_.defined(), "influence functions are not fitted");
  const auto layer = last_linear_layer(network);
  const auto phi = penultimate_features(network, layer, inputs);
  const auto g = logit_gradients(last_layer_logits(layer, phi), targets);
  const auto x = augment(phi, bias_).to(torch::kFloat64);
  const int64_t B = x.size(0), K = g.size(1), d = x.size(1);
  const auto V = (g.unsqueeze(2) * x.unsqueeze(1)).view({B, K * d}).matmul(inverse_hessian_).view({B, K, d});
  return gradient_bilinear(V, gradients_.to(torch::kFloat64), features_.to(torch::kFloat64)).to(torch::kFloat32);
}

std::map<std::string, torch::Tensor> InfluenceFunctions::state() const {
  return {{"features", features_}, {"gradients", gradients_}, {"inverse_hessian", inverse_hessian_.to(torch::kFloat32)},
          {"self_influence", self_}, {"bias", torch::tensor({bias_ ? 1 : 0}, torch::kInt64)}};
}

void InfluenceFunctions::set_state(const std::map<std::string, torch::Tensor>& s) {
  features_ = s.at("features"), gradients_ = s.at("gradients"), self_ = s.at("self_influence");
  inverse_hessian_ = s.at("inverse_hessian").to(torch::kFloat64);
  bias_ = s.at("bias")[0].item<int64_t>() != 0;
  const int64_t P = gradients_.size(1) * features_.size(1);
  require(features_.dim() == 2 && gradients_.size(0) == features_.size(0) && self_.size(0) == features_.size(0) &&
              inverse_hessian_.dim() == 2 && inverse_hessian_.size(0) == P && inverse_hessian_.size(1) == P,
          "the influence fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
