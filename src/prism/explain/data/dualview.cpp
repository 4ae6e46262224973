#include "prism/explain/data/dualview.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "prism/core/error.h"
#include "prism/core/json_options.h"
#include "prism/core/text.h"

namespace prism {

std::vector<std::string> dualview_self_influence_forms() { return {"slack", "alpha-norm2", "alpha-norm", "alpha"}; }

DualView::DualView(DualViewOptions options) : options_(std::move(options)) {
  require(options_.solver.C > 0, "dualview: C must be positive (got " + std::to_string(options_.solver.C) + ")");
  const auto forms = dualview_self_influence_forms();
  require(std::find(forms.begin(), forms.end(), options_.self_influence) != forms.end(),
          "dualview: self_influence '" + options_.self_influence + "' is unknown; forms are: " + join(forms));
}

nlohmann::json DualView::options() const { return options_json(options_); }

torch::Tensor DualView::features(Network& network, const torch::Tensor& inputs) const {
  auto phi = penultimate_features(network, last_linear_layer(network), inputs);
  if (options_.solver.bias) phi = with_constant_feature(phi);
  return phi;
}

void DualView::fit(Network& network, const Dataset& train) {
  const auto start = std::chrono::steady_clock::now();
  const auto layer = last_linear_layer(network);
  const auto phi = penultimate_features(network, layer, train.images, "features of " + train.name);
  const auto solution = solve_crammer_singer(phi, train.labels, network.num_classes(), options_.solver);
  train_size_ = train.size();
  support_indices_ = solution.alpha.ne(0).any(1).nonzero().squeeze(1);
  support_alpha_ = solution.alpha.index_select(0, support_indices_).to(torch::kFloat32);
  const auto augmented = options_.solver.bias ? with_constant_feature(phi) : phi;
  support_features_ = augmented.index_select(0, support_indices_).contiguous();
  support_labels_ = train.labels.index_select(0, support_indices_);
  weight_ = solution.weight.to(torch::kFloat32);
  report_ = {{"iterations", solution.iterations},
             {"converged", solution.converged},
             {"max_kkt_violation", solution.max_violation},
             {"primal", solution.primal},
             {"dual", solution.dual},
             {"duality_gap", solution.duality_gap},
             {"relative_duality_gap", solution.duality_gap / std::max(1e-300, std::abs(solution.primal))},
             {"support_vectors", support_indices_.size(0)},
             {"support_vector_share", double(support_indices_.size(0)) / std::max<int64_t>(1, train_size_)},
             {"fit_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
}

torch::Tensor DualView::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(train_size_ > 0, "DualView is not fitted");
  const auto phi = features(network, inputs);
  // a_i = α_{i,c} ⟨φ(x), φ_i⟩ on the support vectors, zero elsewhere.
  const auto products = phi.matmul(support_features_.t());                  // [B, S]
  const auto alpha = support_alpha_.index_select(1, targets).t();           // [B, S]
  auto dense = torch::zeros({inputs.size(0), train_size_}, torch::kFloat32);
  dense.index_copy_(1, support_indices_, products * alpha);
  return dense;
}

torch::Tensor DualView::self_influence() const {
  // Non-support vectors score 0 in every form: α_i = 0, and their slack is 0 (ξ_i > 0 puts α_i at the bound).
  auto out = torch::zeros({train_size_}, torch::kFloat32);
  const auto own = support_alpha_.gather(1, support_labels_.unsqueeze(1)).squeeze(1);
  const auto& form = options_.self_influence;
  torch::Tensor score;
  if (form == "alpha-norm2") {
    score = own * support_features_.pow(2).sum(1);
  } else if (form == "alpha-norm") {
    score = own * support_features_.norm(2, 1);
  } else if (form == "alpha") {
    score = own;
  } else {  // slack
    const auto scores = support_features_.matmul(weight_.t());  // [S, K]
    const auto correct = scores.gather(1, support_labels_.unsqueeze(1)).squeeze(1);
    const auto rival = scores.scatter(1, support_labels_.unsqueeze(1), -std::numeric_limits<float>::infinity()).amax(1);
    score = (1 + rival - correct).clamp_min(0);
  }
  out.index_copy_(0, support_indices_, score.to(torch::kFloat32));
  return out;
}

std::map<std::string, torch::Tensor> DualView::state() const {
  return {{"support_indices", support_indices_}, {"support_alpha", support_alpha_},
          {"support_features", support_features_}, {"support_labels", support_labels_},
          {"weight", weight_}, {"train_size", torch::tensor({train_size_}, torch::kInt64)}};
}

void DualView::set_state(const std::map<std::string, torch::Tensor>& s) {
  train_size_ = s.at("train_size")[0].item<int64_t>();
  support_indices_ = s.at("support_indices");
  support_alpha_ = s.at("support_alpha");
  support_features_ = s.at("support_features");
  support_labels_ = s.at("support_labels");
  weight_ = s.at("weight");
  const int64_t S = support_indices_.size(0);
  require(support_indices_.dim() == 1 && support_alpha_.dim() == 2 && support_alpha_.size(0) == S &&
              support_features_.dim() == 2 && support_features_.size(0) == S && support_labels_.size(0) == S &&
              weight_.size(0) == support_alpha_.size(1) && weight_.size(1) == support_features_.size(1) &&
              (S == 0 || (support_indices_.min().item<int64_t>() >= 0 && support_indices_.max().item<int64_t>() < train_size_)),
          "the DualView fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
