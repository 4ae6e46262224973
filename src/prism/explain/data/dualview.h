// DualView (Yolcu, Wiegand, Samek, Lapuschkin, "DualView: Data Attribution from the Dual Perspective",
// arXiv 2402.12118; seed 002): a Crammer–Singer SVM surrogate fitted on the penultimate features φ; its dual
// variables attribute a prediction for class c to training samples, a_i = α_{i,c}·⟨φ(x), φ(x_i)⟩, with
// Σ_i a_i = w_c·φ(x). Samples of class c can only support, others only oppose; non-support vectors get 0.
#pragma once
#include "prism/explain/data/attributor.h"
#include "prism/explain/data/crammer_singer.h"
#include "prism/explain/data/last_layer.h"

namespace prism {

class DualView : public DataAttributor {
 public:
  explicit DualView(CrammerSingerOptions options = {});
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
  CrammerSingerOptions options_;
  int64_t train_size_ = 0;
  torch::Tensor support_indices_;   // [S] int64 training samples with a non-zero α row
  torch::Tensor support_alpha_;     // [S, K]
  torch::Tensor support_features_;  // [S, d(+1)]
  torch::Tensor support_labels_;    // [S]
  torch::Tensor weight_;
  nlohmann::json report_ = nlohmann::json::object();
};

}  // namespace prism
