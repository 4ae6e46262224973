// The random-ranking control of every feature-attribution evaluation (Hooker et al. 2019, §4): a map of
// independent uniform values, so any ranking it induces is random. Seeded; successive calls continue one
// stream, so a run over the same batches in the same order is reproducible.
#pragma once
#include <ATen/CPUGeneratorImpl.h>

#include "prism/explain/feature/attributor.h"

namespace prism {

struct RandomMapOptions {
  uint64_t seed = 0;

  template <typename Visit>
  void visit(Visit&& option) {
    option("seed", seed, "seed of the random maps");
  }
};

class RandomMap : public FeatureAttributor {
 public:
  explicit RandomMap(RandomMapOptions options = {});
  std::string name() const override { return "random"; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }
  bool continues_over_batches() const override { return true; }

 private:
  RandomMapOptions options_;
  at::Generator generator_;
};

}  // namespace prism
