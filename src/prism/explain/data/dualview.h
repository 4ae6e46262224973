// DualView (Yolcu, Wiegand, Samek, Lapuschkin, "DualView: Data Attribution from the Dual Perspective",
// arXiv 2402.12118; seed 002): a Crammer–Singer SVM surrogate fitted on the penultimate features φ; its dual
// variables attribute a prediction for class c to training samples, a_i = α_{i,c}·⟨φ(x), φ(x_i)⟩, with
// Σ_i a_i = w_c·φ(x). Samples of class c can only support, others only oppose; non-support vectors get 0.
#pragma once
#include "prism/explain/data/attributor.h"
#include "prism/explain/data/crammer_singer.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

// How a training sample's self-influence is scored (mislabel detection ranks by it). With α_i = α_{i,y_i} and
// the Crammer–Singer slack ξ_i = max(0, 1 + max_{c≠y_i} w_c·φ_i − w_{y_i}·φ_i):
//   "slack"        ξ_i, the surrogate's own hinge loss on sample i (the default): by the KKT conditions ξ_i > 0
//                  only where α_i sits at the bound C, and ξ_i orders the samples there, where the α forms tie
//   "alpha-norm2"  α_i ‖φ_i‖², the attribution of sample i to its own prediction (the paper's form)
//   "alpha-norm"   α_i ‖φ_i‖ (a form of the authors' code)
//   "alpha"        α_i alone (the paper's coefficient-only form)
// docs/data-evaluation.md measures each on mislabel detection: slack 0.91-0.94, the α forms 0.26 or less at C = 1e-3.
std::vector<std::string> dualview_self_influence_forms();

struct DualViewOptions {
  CrammerSingerOptions solver;
  std::string self_influence = "slack";

  template <typename Visit>
  void visit(Visit&& option) {
    solver.visit(option);
    option("self_influence", self_influence, "how self-influence is scored: slack (the surrogate's hinge loss), alpha-norm2 (the paper's), alpha-norm, alpha");
  }
};

class DualView : public DataAttributor {
 public:
  explicit DualView(DualViewOptions options = {});
  explicit DualView(CrammerSingerOptions solver) : DualView(DualViewOptions{solver}) {}
  std::string name() const override { return "dualview"; }
  nlohmann::json options() const override;
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  nlohmann::json fit_report() const override { return report_; }
  int64_t train_size() const override { return train_size_; }

  const torch::Tensor& weight() const { return weight_; }  // the surrogate's w [K, d(+1)]
  // φ(x), with the constant bias feature appended when the fit used one.
  torch::Tensor features(Network& network, const torch::Tensor& inputs) const;

 private:
  DualViewOptions options_;
  int64_t train_size_ = 0;
  torch::Tensor support_indices_;   // [S] int64 training samples with a non-zero α row
  torch::Tensor support_alpha_;     // [S, K]
  torch::Tensor support_features_;  // [S, d(+1)]
  torch::Tensor support_labels_;    // [S]
  torch::Tensor weight_;
  nlohmann::json report_ = nlohmann::json::object();
};

}  // namespace prism
