// A random data attributor: the control every evaluation compares against. Seeded, so the same call gives
// the same numbers; standard normal attributions and self-influences.
#pragma once
#include "prism/explain/data/attributor.h"

namespace prism {

class RandomAttributor : public DataAttributor {
 public:
  explicit RandomAttributor(uint64_t seed = 0) : seed_(seed) {}
  std::string name() const override { return "random"; }
  nlohmann::json options() const override { return {{"seed", seed_}}; }
  void fit(Network&, const Dataset& train) override { train_size_ = train.size(); }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  torch::Tensor self_influence() const override;
  std::map<std::string, torch::Tensor> state() const override {
    return {{"train_size", torch::tensor({train_size_}, torch::kInt64)}};
  }
  void set_state(const std::map<std::string, torch::Tensor>& state) override {
    train_size_ = state.at("train_size")[0].item<int64_t>();
  }
  int64_t train_size() const override { return train_size_; }

 private:
  uint64_t seed_;
  int64_t train_size_ = 0;
};

}  // namespace prism
