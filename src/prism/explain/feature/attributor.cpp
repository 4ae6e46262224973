#include "prism/core/text.h"
#include "prism/explain/feature/attributor.h"

#include <optional>

#include "prism/core/error.h"
#include "prism/core/method_registry.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"
#include "prism/explain/feature/deeplift.h"
#include "prism/explain/feature/grad_cam.h"
#include "prism/explain/feature/gradient_shap.h"
#include "prism/explain/feature/gradient_x_input.h"
#include "prism/explain/feature/guided_backprop.h"
#include "prism/explain/feature/integrated_gradients.h"
#include "prism/explain/feature/lrp.h"
#include "prism/explain/feature/occlusion.h"
#include "prism/explain/feature/pruned_gradient.h"
#include "prism/explain/feature/random_map.h"
#include "prism/explain/feature/rise.h"
#include "prism/explain/feature/saliency.h"
#include "prism/explain/feature/smoothgrad.h"
#include "prism/explain/feature/superpixel_methods.h"

namespace prism {
namespace {

template <typename Method, typename Options = NoOptions>
MethodEntry<FeatureAttributor> method(const std::string& name, const std::string& summary) {
  return entry<FeatureAttributor, Method, Options>(name, summary);
}

// Every method, the random control last.
const std::vector<MethodEntry<FeatureAttributor>>& registry() {
  static const std::vector<MethodEntry<FeatureAttributor>> methods = {
      method<PrunedGradient, PrunedGradientOptions>(
          "pruned-gradient",
          "input-specific pruning (Khakzar et al. 2021): the gradient of the network with the neurons that contribute "
          "least to this prediction pruned"),
      method<Saliency, SaliencyOptions>("saliency", "the gradient of the target logit (Simonyan et al. 2014)"),
      method<GradientXInput>("gradient-x-input", "the gradient times the input (Shrikumar et al. 2016)"),
      method<IntegratedGradients, IntegratedGradientsOptions>(
          "integrated-gradients",
          "the gradient integrated along the straight path from a baseline (Sundararajan et al. 2017); the map sums "
          "to f(x) - f(baseline)"),
      method<SmoothGrad, SmoothGradOptions>("smoothgrad",
                                            "the gradient averaged over noisy copies of the input (Smilkov et al. 2017)"),
      method<DeepLift, DeepLiftOptions>(
          "deeplift",
          "DeepLIFT, Rescale rule (Shrikumar et al. 2017): the difference from a baseline times the multipliers "
          "Delta y / Delta x of the activations; the map sums to f(x) - f(baseline)"),
      method<DeepLiftShap, DeepLiftShapOptions>(
          "deeplift-shap", "DeepLIFT averaged over a set of baselines (Lundberg and Lee 2017)"),
      method<GradientShap, GradientShapOptions>(
          "gradient-shap",
          "expected gradients: the gradient at random points between the input and baselines drawn from a set, "
          "times their difference (Lundberg and Lee 2017, as Captum's GradientShap)"),
      method<GuidedBackprop>("guided-backprop",
                             "the gradient with only positive gradients passed back through the activations "
                             "(Springenberg et al. 2015)"),
      method<GradCam, GradCamOptions>(
          "grad-cam", "a layer's feature maps weighted by their pooled gradients, upsampled (Selvaraju et al. 2017)"),
      method<GradCamPlusPlus, GradCamOptions>(
          "grad-cam++", "Grad-CAM with each position's gradient weighted by higher-order terms (Chattopadhay et al. 2018)"),
      method<HiResCam, GradCamOptions>(
          "hires-cam", "a layer's feature maps times their gradients element-wise, summed over channels (Draelos and "
                       "Carin 2020)"),
      method<LayerCam, GradCamOptions>(
          "layer-cam", "a layer's feature maps times their positive gradients, summed over channels (Jiang et al. 2021)"),
      method<ScoreCam, ScoreCamOptions>(
          "score-cam", "a layer's feature maps weighted by the target's scores on the input masked by each of them, no "
                       "gradient (Wang et al. 2020)"),
      method<Lrp, LrpOptions>("lrp",
                              "layer-wise relevance propagation (Bach et al. 2015) with zennit's composites; the map "
                              "sums to the target logit"),
      method<Occlusion, OcclusionOptions>(
          "occlusion", "the drop of the target logit when a patch of the input is covered (Zeiler and Fergus 2014)"),
      method<FeatureAblation, FeatureAblationOptions>(
          "feature-ablation", "the drop of the target logit when one superpixel (SLIC, or a grid) is set to the "
                              "baseline (Captum's FeatureAblation)"),
      method<KernelShap, KernelShapOptions>(
          "kernel-shap", "Shapley values of superpixels from a linear fit on coalitions weighted by the Shapley kernel "
                         "(Lundberg and Lee 2017); the map sums to f(x) - f(baseline)"),
      method<Lime, LimeOptions>("lime", "a ridge regression of the target logit on random superpixel coalitions, "
                                        "weighted by their closeness to the input (Ribeiro et al. 2016)"),
      method<Rise, RiseOptions>("rise", "the target's probability on the input under random smooth masks, averaged "
                                        "as each mask's weight (Petsiuk et al. 2018)"),
      method<RandomMap, RandomMapOptions>("random", "the control: independent uniform values, a random ranking"),
  };
  return methods;
}

}  // namespace

std::vector<std::string> feature_methods() {
  std::vector<std::string> names;
  for (const auto& m : registry())
    if (m.doc.name != "random") names.push_back(m.doc.name);
  return names;
}

std::vector<std::string> default_feature_methods(const Network& network, bool table_rows) {
  const auto& layers = network.layers();
  const bool convolutional =
      std::any_of(layers.begin(), layers.end(), [](const LayerInfo& layer) { return layer.kind == "conv"; });
  std::vector<std::string> methods = {"pruned-gradient", "saliency", "gradient-x-input", "integrated-gradients",
                                      "smoothgrad"};
  if (convolutional && !table_rows) methods.push_back("grad-cam");
  methods.push_back("lrp");
  return methods;
}

std::vector<MethodDoc> feature_method_docs() { return registry_docs(registry()); }

std::unique_ptr<FeatureAttributor> make_feature_attributor(const std::string& name, const nlohmann::json& options) {
  if (auto made = make_registered(registry(), name, options)) return made;
  throw Error("unknown attribution method '" + name + "'; methods are: " + join(feature_methods()) +
              " (and random, the control)");
}

void check_attribution_inputs(const Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  auto expected = network.input_shape();
  expected.insert(expected.begin(), inputs.dim() > 0 ? inputs.size(0) : 1);
  if (inputs.sizes() != at::IntArrayRef(expected))
    throw Error("the model takes inputs [B, " + shape_string(network.input_shape()).substr(1) + " but got " +
                shape_string(inputs.sizes()));
  if (targets.dim() != 1 || targets.size(0) != inputs.size(0))
    throw Error("give one target per input (" + std::to_string(inputs.size(0)) + " inputs, " +
                std::to_string(targets.numel()) + " targets)");
  const auto finite = torch::isfinite(inputs).flatten(1).all(1);
  if (!finite.all().item<bool>())
    throw Error("input sample " + std::to_string(finite.logical_not().nonzero()[0][0].item<int64_t>()) +
                " contains NaN or infinite values");
  const auto bad = (targets < 0).logical_or(targets >= network.num_classes());
  if (bad.any().item<bool>()) {
    const int64_t first = bad.nonzero()[0][0].item<int64_t>();
    throw Error("target " + std::to_string(targets[first].item<int64_t>()) + " of sample " + std::to_string(first) +
                " is outside the model's classes 0.." + std::to_string(network.num_classes() - 1));
  }
}

namespace {

// Runs `call` on `batch_size` inputs at a time, with progress under `label`.
template <typename Call>
void in_batches(const torch::Tensor& inputs, const torch::Tensor& targets, int64_t batch_size, const std::string& label,
                Call&& call) {
  require(batch_size >= 1, "the batch size must be at least 1");
  std::optional<Progress> progress;
  if (!label.empty()) progress.emplace(label, inputs.size(0));
  for (int64_t begin = 0; begin < inputs.size(0); begin += batch_size) {
    const int64_t count = std::min(batch_size, inputs.size(0) - begin);
    call(inputs.narrow(0, begin, count), targets.narrow(0, begin, count));
    if (progress) progress->advance(count);
  }
  if (progress) progress->finish();
}

}  // namespace

torch::Tensor attribute_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label) {
  std::vector<torch::Tensor> parts;
  in_batches(inputs, targets, batch_size, label, [&](const torch::Tensor& x, const torch::Tensor& t) {
    parts.push_back(attributor.attribute(network, x, t).detach());
  });
  return torch::cat(parts);
}

torch::Tensor attribute_over_ranks(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                                   const torch::Tensor& targets, int64_t batch_size, const std::string& label) {
  if (ranks::count() == 1 || attributor.continues_over_batches())
    return attribute_in_batches(attributor, network, inputs, targets, batch_size, label);
  const auto mine = ranks::share(inputs.size(0), batch_size);
  // A rank without a share still sends rows of the maps' shape: none of one sample's.
  const auto part = mine.size() > 0 ? attribute_in_batches(attributor, network, inputs.narrow(0, mine.begin, mine.size()),
                                                           targets.narrow(0, mine.begin, mine.size()), batch_size, label)
                                    : attributor.attribute(network, inputs.narrow(0, 0, 1), targets.narrow(0, 0, 1))
                                          .detach()
                                          .narrow(0, 0, 0);
  return ranks::all_gather_rows(part);
}

Attribution explain_in_batches(FeatureAttributor& attributor, Network& network, const torch::Tensor& inputs,
                               const torch::Tensor& targets, int64_t batch_size, const std::string& label) {
  std::vector<Attribution> parts;
  in_batches(inputs, targets, batch_size, label, [&](const torch::Tensor& x, const torch::Tensor& t) {
    parts.push_back(attributor.explain(network, x, t));
  });
  const auto joined = [&](auto member) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& [name, first] : parts.front().*member) {
      std::vector<torch::Tensor> pieces;
      for (const auto& part : parts) pieces.push_back((part.*member).at(name).detach());
      out[name] = torch::cat(pieces);
    }
    return out;
  };
  std::vector<torch::Tensor> maps;
  for (const auto& part : parts) maps.push_back(part.maps.detach());
  return {torch::cat(maps), joined(&Attribution::per_sample), joined(&Attribution::masks)};
}

}  // namespace prism
