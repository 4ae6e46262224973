// The feature-attribution interface (Captum's `attribute(inputs, target)`): every method maps a batch of
// images [B, C, H, W] in [0, 1] and target classes [B] to attributions of the same shape as the images.
// Methods are interchangeable in the evaluation loops; each has an options struct with the paper's defaults.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "prism/core/json_options.h"
#include "prism/model/network.h"

namespace prism {

class FeatureAttributor {
 public:
  virtual ~FeatureAttributor() = default;
  virtual std::string name() const = 0;
  // Attributions [B, C, H, W] of the scores f_targets (logits) at `inputs`.
  virtual torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) = 0;
  // Every option value, for summaries.
  virtual nlohmann::json options() const = 0;
  // For methods with an axiom (IG completeness, LRP conservation): its name and the per-sample error of
  // the last call, |Σ attribution − expected|; empty for the others.
  virtual std::string axiom() const { return ""; }
  virtual torch::Tensor axiom_error() const { return {}; }
};

// The names the command line takes.
std::vector<std::string> feature_methods();

// Every method of feature_methods() and the random control, last.
std::vector<MethodDoc> feature_method_docs();

// A method by name with options from JSON (keys as in `options()`; missing keys keep their defaults).
// Unknown names or option keys are errors that list the valid ones.
std::unique_ptr<FeatureAttributor> make_feature_attributor(const std::string& name,
                                                           const nlohmann::json& options = nlohmann::json::object());

// Checks a batch and its targets against the network: shapes, class range, finite values (naming the
// first bad sample).
void check_attribution_inputs(const Network& network, const torch::Tensor& inputs, const torch::Tensor& targets);

// `attributor` over a whole set of inputs, `batch_size` at a time, detached; progress on stderr under `label`
// (none when empty).
torch::Tensor attribute_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label = "");

}  // namespace prism
