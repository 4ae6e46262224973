// The class activation maps: at a layer with feature maps A^k [K, h, w] and their gradients G^k = ∂f_c/∂A^k, a
// map of the layer's size, bilinearly upsampled to the input size and repeated over the input channels.
//   grad-cam    ReLU(Σ_k α_k A^k), α_k = mean_ij G^k_ij (Selvaraju et al. 2017, Eqs. 1–2)
//   grad-cam++  ReLU(Σ_k w_k A^k), w_k = Σ_ij a^k_ij ReLU(G^k_ij), a^k_ij = (G^k_ij)² / (2 (G^k_ij)² + Σ_ab A^k_ab (G^k_ij)³)
//               (Chattopadhay et al. 2018, Eqs. 19–20, the higher derivatives of an exponential score written as
//               powers of G, as their code and pytorch-grad-cam do; a^k_ij = 0 where G^k_ij = 0)
//   hires-cam   ReLU(Σ_k G^k ⊙ A^k): the gradient element-wise, not pooled (Draelos and Carin 2020)
//   layer-cam   ReLU(Σ_k ReLU(G^k) ⊙ A^k) (Jiang et al. 2021, Eqs. 5–6)
//   score-cam   ReLU(Σ_k w_k A^k), w = softmax_k f_c(x ⊙ H^k), H^k the upsampled A^k scaled to [0, 1]: one forward
//               pass per channel, no gradient (Wang et al. 2020, Eqs. 6–8; softmax over channels as pytorch-grad-cam)
#pragma once
#include "prism/explain/feature/attributor.h"

namespace prism {

struct GradCamOptions {
  std::string layer;  // empty: the last conv/ReLU/module output that is a feature map larger than 1×1
  bool relu = true;   // Eq. 2's ReLU; off gives the signed map

  template <typename Visit>
  void visit(Visit&& option) {
    option("layer", layer, "layer whose feature maps are weighted (empty: the last feature map larger than 1x1)");
    option("relu", relu, "the ReLU of Eq. 2 (false: the signed map)");
  }
};

struct ScoreCamOptions : GradCamOptions {
  int64_t internal_batch_size = 64;  // masked inputs per forward pass

  template <typename Visit>
  void visit(Visit&& option) {
    GradCamOptions::visit(option);
    option("internal_batch_size", internal_batch_size, "masked inputs per forward pass");
  }
};

class GradCam : public FeatureAttributor {
 public:
  explicit GradCam(GradCamOptions options = {}) : GradCam(std::move(options), "grad-cam") {}
  std::string name() const override { return variant_; }
  torch::Tensor attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) override;
  nlohmann::json options() const override { return options_json(options_); }

  // The default layer for `network` (needs one forward pass to see output shapes).
  static std::string default_layer(Network& network);

 protected:
  GradCam(GradCamOptions options, std::string variant, int64_t internal_batch_size = 0)
      : options_(std::move(options)), variant_(std::move(variant)), internal_batch_size_(internal_batch_size) {}

  int64_t internal_batch_size() const { return internal_batch_size_; }

 private:
  // The channel-weighted map [B, 1, h, w] before the ReLU, from the feature maps and (but for score-cam) their
  // gradients.
  torch::Tensor layer_map(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets,
                          const torch::Tensor& maps, const torch::Tensor& gradient) const;

  GradCamOptions options_;
  std::string variant_;
  int64_t internal_batch_size_;  // score-cam's masked inputs per forward pass
};

class GradCamPlusPlus : public GradCam {
 public:
  explicit GradCamPlusPlus(GradCamOptions options = {}) : GradCam(std::move(options), "grad-cam++") {}
};
class HiResCam : public GradCam {
 public:
  explicit HiResCam(GradCamOptions options = {}) : GradCam(std::move(options), "hires-cam") {}
};
class LayerCam : public GradCam {
 public:
  explicit LayerCam(GradCamOptions options = {}) : GradCam(std::move(options), "layer-cam") {}
};
class ScoreCam : public GradCam {
 public:
  explicit ScoreCam(ScoreCamOptions options = {}) : GradCam(options, "score-cam", options.internal_batch_size) {}
  nlohmann::json options() const override {
    auto json = GradCam::options();
    json["internal_batch_size"] = internal_batch_size();
    return json;
  }
};

}  // namespace prism
