// The model-agnostic perturbation methods over superpixels (superpixels.h): only forward passes (one pass over every
// input's copies, compiled where it is large: model/inference.h), the segments of each image switched between the
// image and a constant `fill` (the baseline). Each map holds a segment's value spread evenly over its pixels
// (coalitions.h), so a map sums over a segment to that segment's value. On table rows [B, F] each
// feature is a segment, and a removed feature takes its training mean where the model records its normalisation (as
// shap's KernelExplainer with the mean as background), `fill` where it does not.
//   feature-ablation  value_m = f(x) − f(x with segment m at the baseline) (Captum's FeatureAblation with a
//                     feature mask).
//   kernel-shap       Shapley values of the segments (Lundberg and Lee 2017, Thm. 2): the linear model g(z) =
//                     φ₀ + Σ φ_m z_m fitted to f on coalitions z weighted by the Shapley kernel
//                     π(z) = (M − 1) / (C(M, |z|) |z| (M − |z|)), under the constraints g(0) = f(baseline) and
//                     Σ φ = f(x) − f(baseline), which hold exactly. Up to `samples` coalitions: every one when
//                     there are no more, else sizes drawn ∝ (M − 1) / (|z| (M − |z|)), each paired with its
//                     complement (as the shap library samples them).
//   lime              LIME (Ribeiro et al. 2016, Eq. 2, as its image explainer): coalitions kept with probability
//                     ½ (the first keeps all), weighted by sqrt(exp(−d² / w²)) with d the cosine distance to the
//                     all-kept coalition, and a ridge regression with intercept on them.
// KernelSHAP and LIME report the weighted R² of their fit per sample ("r_squared").
#pragma once
#include <optional>

#include "prism/explain/feature/attributor.h"
#include "prism/explain/feature/superpixels.h"
#include "prism/model/inference.h"

namespace prism {

struct FeatureAblationOptions {
  SegmentationOptions superpixels;
  double fill = 0.0;  // the value a removed segment takes (images are in [0, 1])
  int64_t internal_batch_size = 256;

  template <typename Visit>
  void visit(Visit&& option) {
    superpixels.visit(option);
    option("fill", fill, "value of a removed segment's pixels");
    option("internal_batch_size", internal_batch_size, "perturbed inputs per forward pass (bounds memory)");
  }
};

struct KernelShapOptions {
  SegmentationOptions superpixels;
  int64_t samples = 1000;  // coalitions evaluated per input, beyond the empty and the full one
  double fill = 0.0;
  uint64_t seed = 0;
  int64_t internal_batch_size = 256;

  template <typename Visit>
  void visit(Visit&& option) {
    superpixels.visit(option);
    option("samples", samples, "coalitions per input (all of them when there are no more)");
    option("fill", fill, "value of a removed segment's pixels");
    option("seed", seed, "coalition sampling seed");
    option("internal_batch_size", internal_batch_size, "perturbed inputs per forward pass (bounds memory)");
  }
};

struct LimeOptions {
  SegmentationOptions superpixels;
  int64_t samples = 1000;      // perturbed inputs per input (lime's num_samples)
  double kernel_width = 0.25;  // w of the exponential kernel (lime's image explainer)
  double ridge = 1.0;          // the ridge penalty (scikit-learn's Ridge default, as lime uses)
  double fill = 0.0;
  uint64_t seed = 0;
  int64_t internal_batch_size = 256;

  template <typename Visit>
  void visit(Visit&& option) {
    superpixels.visit(option);
    option("samples", samples, "perturbed inputs per input");
    option("kernel_width", kernel_width, "width of the exponential kernel on the cosine distance");
    option("ridge", ridge, "ridge penalty of the linear fit");
    option("fill", fill, "value of a removed segment's pixels");
    option("seed", seed, "sampling seed");
    option("internal_batch_size", internal_batch_size, "perturbed inputs per forward pass (bounds memory)");
  }
};

// A superpixel method: segments each image, then `segment_values` per image.
class SuperpixelAttributor : public FeatureAttributor {
 public:
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  Attribution explain(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;

 protected:
  struct SegmentValues {
    torch::Tensor values;  // [M]
    std::optional<double> r_squared;  // of the method's fit, where it fits one
  };
  // One image [C, H, W] (or table row [F]), its segment labels [H, W] ([F]; M segments), target and the value a
  // removed segment takes (broadcast to the image).
  // The copies score through `pass`, one forward-only pass over every input's copies (compiled where it is large).
  virtual SegmentValues segment_values(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                                       int64_t segments, int64_t target, const torch::Tensor& baseline) = 0;
  // About how many copies of an input with M segments the method scores (whether the pass is worth compiling).
  virtual int64_t scored_copies(int64_t segments) const = 0;
  virtual int64_t internal_batch_size() const = 0;
  virtual const SegmentationOptions& segmentation() const = 0;
  virtual double fill() const = 0;
};

class FeatureAblation : public SuperpixelAttributor {
 public:
  explicit FeatureAblation(FeatureAblationOptions options = {});
  std::string name() const override { return "feature-ablation"; }
  nlohmann::json options() const override;

 private:
  SegmentValues segment_values(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                               int64_t segments, int64_t target, const torch::Tensor& baseline) override;
  int64_t internal_batch_size() const override { return options_.internal_batch_size; }
  int64_t scored_copies(int64_t segments) const override { return segments + 1; }
  const SegmentationOptions& segmentation() const override { return options_.superpixels; }
  double fill() const override { return options_.fill; }
  FeatureAblationOptions options_;
};

class KernelShap : public SuperpixelAttributor {
 public:
  explicit KernelShap(KernelShapOptions options = {});
  std::string name() const override { return "kernel-shap"; }
  nlohmann::json options() const override;

 private:
  SegmentValues segment_values(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                               int64_t segments, int64_t target, const torch::Tensor& baseline) override;
  int64_t internal_batch_size() const override { return options_.internal_batch_size; }
  int64_t scored_copies(int64_t) const override { return options_.samples + 2; }
  const SegmentationOptions& segmentation() const override { return options_.superpixels; }
  double fill() const override { return options_.fill; }
  KernelShapOptions options_;
};

class Lime : public SuperpixelAttributor {
 public:
  explicit Lime(LimeOptions options = {});
  std::string name() const override { return "lime"; }
  nlohmann::json options() const override;

 private:
  SegmentValues segment_values(InferencePass& pass, const torch::Tensor& image, const torch::Tensor& labels,
                               int64_t segments, int64_t target, const torch::Tensor& baseline) override;
  int64_t internal_batch_size() const override { return options_.internal_batch_size; }
  int64_t scored_copies(int64_t) const override { return options_.samples; }
  const SegmentationOptions& segmentation() const override { return options_.superpixels; }
  double fill() const override { return options_.fill; }
  LimeOptions options_;
};

}  // namespace prism
