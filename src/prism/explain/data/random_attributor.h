// A random data attributor: the control every evaluation compares against. Standard normal attributions and
// self-influences, drawn from a stream fixed by the seed and by the fitted model's weights: the same call on
// the same model gives the same numbers, and another model (a retrained or randomised one) gets independent
// ones, as a control must for the model-randomisation and LDS metrics.
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

struct RandomAttributorOptions {
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("seed", seed, "seed of the random scores");
  }
};

class RandomAttributor : public DataAttributor {
 public:
  explicit RandomAttributor(RandomAttributorOptions options = {}) : seed_(options.seed) {}
  std::string name() const override { return "random"; }
  nlohmann::json options() const override { return options_json(RandomAttributorOptions{seed_}); }
  void fit(Network& network, const Dataset& train) override;
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override;
  void set_state(const std::map<std::string, torch::Tensor>& state) override;
  int64_t train_size() const override { return train_size_; }

 private:
  uint64_t seed_, stream_ = 0;
  int64_t train_size_ = 0;
};

}  // namespace prism
