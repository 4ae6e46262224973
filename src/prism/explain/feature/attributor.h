// The feature-attribution interface (Captum's `attribute(inputs, target)`): every method maps a batch of
// images [B, C, H, W] in [0, 1] and target classes [B] to attributions of the same shape as the images.
// Methods are interchangeable in the evaluation loops; each has an options struct with the paper's defaults.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prism/core/json_options.h"
#include "prism/model/network.h"

namespace prism {

// One call's result: the maps and what the method measured on the way, per sample.
struct Attribution {
  torch::Tensor maps;  // [B, C, H, W]
  // [B] each, by name: completeness_error (integrated gradients, |Σ map − (f(x) − f(x'))|), conservation_error
  // (LRP, |Σ map − f(x)|), pruned_share (pruned gradient).
  std::map<std::string, torch::Tensor> per_sample;
  // Pruned gradient: the mask of each activation layer (1 keeps, 0 prunes), shaped as its activations [B, ...].
  std::map<std::string, torch::Tensor> masks;
};

class FeatureAttributor {
 public:
  virtual ~FeatureAttributor() = default;
  virtual std::string name() const = 0;
  // Attributions [B, C, H, W] of the scores f_targets (logits) at `inputs`.
  virtual torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) = 0;
  // The same with the method's diagnostics; the methods that measure something override it.
  virtual Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
    return {attribute(network, inputs, targets), {}, {}};
  }
  // Every option value, for summaries.
  virtual nlohmann::json options() const = 0;
  // How the evaluations that remove pixels in rank order (pixel perturbation, ROAR) read this method's collapsed
  // maps, as its paper does: "signed" (largest value first) for contributions to the score (×input, integrated
  // gradients, DeepLIFT, the SHAP methods, LRP, occlusion, the CAMs), "magnitude" (largest |value| first) for
  // gradients, whose sign only says which way a pixel moves the score (saliency, SmoothGrad, guided backprop, the
  // pruned gradient; Quantus ranks them so too).
  virtual std::string ranking() const { return "signed"; }
  // True where a batch's maps depend on the batches attributed before it (the random control continues one
  // stream), so that the batches cannot be split over ranks.
  virtual bool continues_over_batches() const { return false; }
};

// The names the command line takes.
std::vector<std::string> feature_methods();

// The methods evaluated and shown when none are named: the pruned gradient and the gradient family, Grad-CAM where
// the model has a convolution and the samples are not table rows, and LRP.
std::vector<std::string> default_feature_methods(const Network& network, bool table_rows);
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
// (none when empty). explain_in_batches keeps the diagnostics too, concatenated over the batches.
torch::Tensor attribute_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label = "");
Attribution explain_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                               const torch::Tensor& targets, int64_t batch_size, const std::string& label = "");
// attribute_in_batches split over the ranks of a command that splits (core/ranks.h): each rank attributes its share
// of whole batches and every rank receives all the maps, batch for batch those of one process. A method that
// continues over batches runs whole on every rank.
torch::Tensor attribute_over_ranks(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label = "");

}  // namespace prism
