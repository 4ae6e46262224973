// FLINT's interpreter (Parekh, Mozharovskyi, d'Alché-Buc, "A Framework to Learn with Interpretation",
// NeurIPS 2021; seed 001), Sec. 3: the attribute dictionary Φ(x) = Ψ(f_I(x)) ∈ R^J_{≥0} read from the
// predictor f's hidden layers I, the interpreter g(x) = h(Φ(x)) with h linear, and the decoder d: R^J → X
// used for input fidelity.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "prism/model/network.h"

namespace prism {

// Everything that fixes the interpreter's shapes; stored in the FLINT folder with its weights.
struct FlintArchitecture {
  std::vector<std::string> layers;               // f's hidden layers I
  std::vector<std::vector<int64_t>> layer_shapes;  // per sample: [C, H, W] maps or [D] vectors
  std::vector<int64_t> input_shape;              // f's input [C, H, W]
  int64_t num_classes = 0;
  int64_t attributes = 25;    // J (25 for MNIST-like data in the paper)
  int64_t psi_channels = 64;  // Ψ's convolution width
  int64_t psi_grid = 8;       // maps are average-pooled to at most this size before Ψ's convolution
  double head_dropout = 0.1;  // "a little dropout" before h

  nlohmann::json to_json() const;
  static FlintArchitecture from_json(const nlohmann::json& record);
};

// The architecture for `network` read at `layers`: each layer must exist and give [B, C, H, W] or [B, D]
// activations (an error names the shapes found otherwise); J ≥ 2.
FlintArchitecture describe_flint_layers(Network& network, const std::vector<std::string>& layers,
                                        int64_t attributes);

// The default I: the last ReLU layer whose output is a [C, H, W] map (the last one with any output if none).
std::vector<std::string> default_flint_layers(Network& network);

// f's logits and the activations of `layers`, from one forward pass (attached to the graph).
std::pair<torch::Tensor, std::vector<torch::Tensor>> forward_with_layers(Network& network, const torch::Tensor& images,
                                                                         const std::vector<std::string>& layers);

class FlintInterpreterImpl : public torch::nn::Module {
 public:
  explicit FlintInterpreterImpl(FlintArchitecture architecture);

  // Φ = Ψ(f_I(x)) [B, J] ≥ 0: maps pooled to a common grid and concatenated → conv 3×3 → ReLU → max-pool 2
  // → flatten, concatenated with the vector layers → linear → ReLU.
  torch::Tensor attributes(const std::vector<torch::Tensor>& hidden);
  // g's logits h(Φ) [B, classes].
  torch::Tensor classify(const torch::Tensor& phi);
  // d(Φ) [B, C, H, W] in [0, 1]: linear to 32 maps of ⌈H/4⌉×⌈W/4⌉ → two transposed convolutions (×2 each, 16
  // then C channels) → sigmoid. For table rows, d(Φ) [B, F]: linear to kTableDecoderWidth → ReLU → linear to the
  // standardised features.
  torch::Tensor decode(const torch::Tensor& phi);
  // What decode reconstructs of `inputs`: images as they are, table rows standardised (so that every feature
  // weighs alike in the input-fidelity loss, whatever its unit).
  torch::Tensor decoder_target(const torch::Tensor& inputs, const Normalization& normalization) const;
  // h's weights W [classes, J].
  torch::Tensor head_weight() const { return head_->weight; }
  const FlintArchitecture& architecture() const { return architecture_; }

  // Weights as .npy files in `dir` (one per parameter, written atomically); loading checks every shape.
  void save(const std::filesystem::path& dir);
  void load(const std::filesystem::path& dir);

 private:
  FlintArchitecture architecture_;
  int64_t grid_h_ = 0, grid_w_ = 0, decoder_h_ = 0, decoder_w_ = 0;
  torch::nn::Conv2d psi_conv_{nullptr};
  torch::nn::Linear psi_linear_{nullptr};
  torch::nn::Dropout head_dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Linear decoder_linear_{nullptr};
  torch::nn::ConvTranspose2d decoder_up1_{nullptr}, decoder_up2_{nullptr};
  torch::nn::Linear decoder_out_{nullptr};  // table rows only
  static constexpr int64_t kTableDecoderWidth = 64;
};
TORCH_MODULE(FlintInterpreter);

// f's logits, g's logits, Φ and the attributes' local relevance for f's prediction (flint_relevance.h) for a set
// of images, in evaluation mode, without gradients, in batches.
struct FlintOutputs {
  torch::Tensor predictor_logits, interpreter_logits, attributes, relevance;
};
FlintOutputs run_flint(Network& network, FlintInterpreter& interpreter, const torch::Tensor& images,
                       int64_t batch_size = 256);

}  // namespace prism
