// Network: a named, op-level view of a classifier. Every op of the model (conv, linear, batch norm,
// activation, pooling, reshape, addition, concatenation, ...) is a layer with a kind and the layers it
// reads, so the network is a DAG. It runs the model on images in [0, 1] (the model's own normalisation is
// applied inside), returns the activation at any named layer, runs the rest of the model from a layer
// that cuts the graph, and accepts taps that read or replace activations in flight.
// Built-in (zoo) models and TorchScript models sit behind this one interface.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "prism/data/dataset.h"

namespace prism {

struct LayerInfo {
  std::string name;  // stable, user-visible: "conv1", "layer1.0.relu2", "layer1.0.relu:1"
  // "conv", "linear", "batchnorm", an activation ("relu", "relu6", "silu", "gelu", ...), "pool", "mean",
  // "flatten", "reshape", "add", "mul", "cat", "dropout", or the op's own name ("transpose", "chunk", ...)
  std::string kind;
  bool cut = false;  // the rest of the model can be run from this layer's output
  // The layers whose outputs this layer's op reads, in argument order ("" for the network's normalised input).
  std::vector<std::string> inputs;
  // The one layer this layer reads, or "?" where it reads several or none.
  std::string input() const { return inputs.size() == 1 ? inputs[0] : "?"; }
};

// Element-wise activations (ReLU and its relatives, SiLU, GELU, sigmoid, ...), by layer kind.
bool is_activation(const std::string& kind);

// What rule-based methods (LRP) need of a weighted layer, in evaluation mode.
struct LayerParameters {
  std::string kind;  // "conv", "linear" or "batchnorm"
  torch::Tensor weight, bias;
  std::vector<int64_t> stride = {1, 1}, padding = {0, 0}, dilation = {1, 1};
  int64_t groups = 1;
  torch::Tensor running_mean, running_var;  // batchnorm
  double eps = 1e-5;                        // batchnorm
};

// Functions called with a layer's output; each returns what flows on (the input itself to only read).
class TapSet {
 public:
  using Fn = std::function<torch::Tensor(const torch::Tensor&)>;
  TapSet& on(const std::string& layer, Fn fn);
  // Stores the activation (as computed, still attached to the autograd graph) in `*into`.
  TapSet& capture(const std::string& layer, torch::Tensor* into);
  TapSet& replace(const std::string& layer, torch::Tensor value);

  bool empty() const { return taps_.empty(); }
  bool has(const std::string& layer) const { return taps_.count(layer) > 0; }
  std::vector<std::string> layers() const;
  torch::Tensor apply(const std::string& layer, torch::Tensor activation) const;

 private:
  std::map<std::string, std::vector<Fn>> taps_;
};

class Network {
 public:
  virtual ~Network() = default;

  // Logits [B, classes] for a batch of samples [B, ...] of the input shape (images [B, C, H, W] in [0, 1]).
  torch::Tensor forward(const torch::Tensor& images, const TapSet& taps = {});
  // Logits from the output of `layer` (which must be a cut).
  torch::Tensor forward_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps = {});
  // The output of `layer` for `images` (stops early where the model allows).
  torch::Tensor activation(const torch::Tensor& images, const std::string& layer);
  // The bytes of the largest activation one sample of `images`' shape makes: a forward pass of one sample, once
  // per shape (what sizes the chunks of a batch's passes), in evaluation mode.
  int64_t largest_activation_bytes(const torch::Tensor& images);

  const std::vector<LayerInfo>& layers() const { return layers_; }
  // The layer called `name`; an error listing the valid names if there is none.
  const LayerInfo& layer(const std::string& name) const;
  std::vector<std::string> layer_names() const;

  // {C, H, W} for images, {C, T} for sequences, {F} for tables; empty when unknown.
  const std::vector<int64_t>& input_shape() const { return input_shape_; }
  int64_t num_classes() const { return num_classes_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const Normalization& normalization() const { return normalization_; }
  const std::string& architecture() const { return architecture_; }

  virtual std::vector<torch::Tensor> parameters() = 0;
  // The parameters of a conv, linear or batchnorm layer; nullopt where the model does not expose them.
  virtual std::optional<LayerParameters> layer_parameters(const std::string& layer) { return std::nullopt; }
  virtual void set_training(bool training) = 0;
  virtual void to(torch::Device device) = 0;
  torch::Device device() { return device_; }

 protected:
  // Runs the model on normalised input, calling taps; may stop after `stop_after` (return value
  // then unspecified) when it is not empty.
  virtual torch::Tensor run(const torch::Tensor& input, const TapSet& taps, const std::string& stop_after) = 0;
  virtual torch::Tensor run_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps) = 0;

  void check_input(const torch::Tensor& images) const;
  void check_taps(const TapSet& taps) const;

  std::string architecture_;
  std::vector<LayerInfo> layers_;
  std::vector<int64_t> input_shape_;
  int64_t num_classes_ = 0;
  std::vector<std::string> class_names_;
  Normalization normalization_;
  torch::Device device_ = torch::kCPU;
  std::map<std::vector<int64_t>, int64_t> largest_activation_bytes_;  // by sample shape

  friend class InferencePass;  // traces run() for its compiled copy
  friend void set_metadata(Network&, const std::vector<int64_t>&, int64_t, std::vector<std::string>,
                           Normalization);
};

// The names of the network's element-wise activation layers (is_activation), in forward order.
std::vector<std::string> activation_layers(const Network& network);

// The last linear layer (the one that computes the logits in a classifier), and the penultimate features, the
// default of every option that names a layer: the layer that feeds the last linear layer (or, in a model with
// a convolutional classifier and no linear layer, its last conv). Errors name the problem.
const LayerInfo& last_linear_layer_info(const Network& network);
std::string penultimate_layer(const Network& network);

// The logits unchanged; an error naming the first image whose logits are NaN or infinite.
torch::Tensor check_finite_logits(torch::Tensor logits);

// (samples - mean) / std along dimension 1 (channels, or a table's features); unchanged when `norm` is empty.
torch::Tensor normalize(const torch::Tensor& images, const Normalization& norm);

// Sets what a model file or the user says about a network's input and classes.
void set_metadata(Network& network, const std::vector<int64_t>& input_shape, int64_t num_classes,
                  std::vector<std::string> class_names, Normalization normalization);

}  // namespace prism
