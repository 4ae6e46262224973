#include "prism/explain/data/influence.h"

#include "prism/core/error.h"
#include "prism/explain/data/last_layer.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {
namespace {

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
  require(options_.cg_iterations >= 1 && options_.cg_tolerance > 0, "influence: the CG iterations and tolerance must be positive");
  require(options_.layers.empty() || options_.damping > 0,
          "influence: conjugate gradients need a positive damping so that H + λI is positive definite");
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
  if (!options_.layers.empty()) {
    layer_parameter_tensors(network, options_.layers);  // the layers exist and have parameters
    train_images_ = train.images.clone(), train_labels_ = train.labels.clone();
    return;
  }
  const auto layer = last_linear_layer(network);
  bias_ = layer.bias.defined();
  const auto phi = penultimate_features(network, layer, train.images, "features of " + train.name);
  const auto logits = last_layer_logits(layer, phi);
  features_ = (bias_ ? with_constant_feature(phi) : phi).to(torch::kFloat64);
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

torch::Tensor InfluenceFunctions::self_influence() const {
  require(options_.layers.empty(), "influence: self-influence over chosen layers needs one conjugate-gradient solve per "
                                   "training sample; fit on the last layer (layers empty) for it");
  return self_;
}

torch::Tensor InfluenceFunctions::attribute_layers(Network& network, const torch::Tensor& inputs,
                                                   const torch::Tensor& targets) {
  const auto parameters = layer_parameter_tensors(network, options_.layers);
  const auto test = per_example_gradients(network, parameters, inputs, targets).to(torch::kFloat64);
  auto hvp = [&](const torch::Tensor& v) {
    return hessian_vector_product(network, parameters, train_images_, train_labels_, v, options_.damping);
  };
  std::vector<torch::Tensor> solved;
  for (int64_t b = 0; b < inputs.size(0); ++b)
    solved.push_back(conjugate_gradient(hvp, test[b], options_.cg_iterations, options_.cg_tolerance));
  const auto inverse_applied = torch::stack(solved).to(torch::kFloat32);  // [B, P]
  auto out = torch::empty({inputs.size(0), train_size()}, torch::kFloat32);
  for (int64_t s = 0; s < train_size(); s += 256) {
    const int64_t c = std::min<int64_t>(256, train_size() - s);
    out.narrow(1, s, c).copy_(inverse_applied.matmul(
        per_example_gradients(network, parameters, train_images_.narrow(0, s, c), train_labels_.narrow(0, s, c)).t()));
  }
  return out;
}

torch::Tensor InfluenceFunctions::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  if (!options_.layers.empty()) {
    require(train_labels_.defined(), "influence functions are not fitted");
    return attribute_layers(network, inputs, targets);
  }
  require(features_.defined(), "influence functions are not fitted");
  const auto layer = last_linear_layer(network);
  const auto phi = penultimate_features(network, layer, inputs);
  const auto g = logit_gradients(last_layer_logits(layer, phi), targets);
  const auto x = (bias_ ? with_constant_feature(phi) : phi).to(torch::kFloat64);
  const int64_t B = x.size(0), K = g.size(1), d = x.size(1);
  const auto V = (g.unsqueeze(2) * x.unsqueeze(1)).view({B, K * d}).matmul(inverse_hessian_).view({B, K, d});
  return gradient_bilinear(V, gradients_.to(torch::kFloat64), features_.to(torch::kFloat64)).to(torch::kFloat32);
}

std::map<std::string, torch::Tensor> InfluenceFunctions::state() const {
  if (!options_.layers.empty()) return {{"train_images", train_images_}, {"train_labels", train_labels_}};
  return {{"features", features_}, {"gradients", gradients_}, {"inverse_hessian", inverse_hessian_.to(torch::kFloat32)},
          {"self_influence", self_}, {"bias", torch::tensor({bias_ ? 1 : 0}, torch::kInt64)}};
}

void InfluenceFunctions::set_state(const std::map<std::string, torch::Tensor>& s) {
  if (!options_.layers.empty()) {
    train_images_ = s.at("train_images"), train_labels_ = s.at("train_labels");
    require(train_images_.dim() >= 2 && train_labels_.size(0) == train_images_.size(0),
            "the influence fit's arrays do not fit together; re-run the fit");
    return;
  }
  features_ = s.at("features"), gradients_ = s.at("gradients"), self_ = s.at("self_influence");
  inverse_hessian_ = s.at("inverse_hessian").to(torch::kFloat64);
  bias_ = s.at("bias")[0].item<int64_t>() != 0;
  const int64_t P = gradients_.size(1) * features_.size(1);
  require(features_.dim() == 2 && gradients_.size(0) == features_.size(0) && self_.size(0) == features_.size(0) &&
              inverse_hessian_.dim() == 2 && inverse_hessian_.size(0) == P && inverse_hessian_.size(1) == P,
          "the influence fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
