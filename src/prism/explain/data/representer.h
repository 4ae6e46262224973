// Representer points (Yeh, Kim, Yen, Ravikumar, "Representer Point Selection for Explaining Deep Neural
// Networks", NeurIPS 2018): refit the last layer W (no bias) with an L2 penalty to a stationary point of
// (1/N) Σ_i L(W φ_i, y_i) + λ‖W‖², so that W = Σ_i α_i φ_iᵀ with α_{i,c} = −1/(2λN) ∂L(x_i, y_i)/∂(Wφ_i)_c
// (Eq. 2); the attribution of class c is a_i = α_{i,c}⟨φ_i, φ(x)⟩, summing to the refitted logit (Wφ(x))_c.
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

struct RepresenterOptions {
  double lambda = 1e-3;      // L2 penalty of the refit
  int64_t max_iterations = 500;  // L-BFGS iterations

  template <typename Visit>
  void visit(Visit&& option) {
    option("lambda", lambda, "L2 penalty of the last layer's refit");
    option("max_iterations", max_iterations, "L-BFGS iterations of the refit");
  }
};

class RepresenterPoints : public DataAttributor {
 public:
  explicit RepresenterPoints(RepresenterOptions options = {});
  std::string name() const override { return "representer"; }
  nlohmann::json options() const override { return options_json(options_); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  nlohmann::json fit_report() const override { return report_; }
  int64_t train_size() const override { return alpha_.defined() ? alpha_.size(0) : 0; }
  const torch::Tensor& refitted_weight() const { return weight_; }  // [K, d]

 private:
  RepresenterOptions options_;
  torch::Tensor features_, alpha_, labels_, weight_;
  nlohmann::json report_ = nlohmann::json::object();
};

}  // namespace prism
