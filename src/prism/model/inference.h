// Forward-only passes at the speed of a frozen, fused graph (issue 17). Embeddings, penultimate features,
// predictions and perturbation curves need no autograd: they run the network's forward, up to the layers they
// read, through a copy of it compiled for inference — traced once (weights become constants), batch norms
// folded into the convolutions before them, conv + add + ReLU fused, convolutions and linear layers on
// oneDNN's kernels with weights reordered once (what torch.jit.freeze + optimize_for_inference do). The copy is
// checked against the eager pass on its first batch and the eager pass is used instead, with a warning, where
// they differ or the model cannot be traced.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prism/model/network.h"
#include "prism/model/precision.h"

namespace prism {

struct InferenceOptions {
  int64_t batch_size = 256;
  // Compile only for passes over at least this many images: tracing runs the first batch eagerly, and the
  // check one more batch through the compiled graph.
  int64_t compile_from = 1024;
  // Where each call of the pass is one part of a larger pass (many calls, or an MPI rank's share), the images of
  // the whole, which then decides whether to compile (0: the images of the call).
  int64_t pass_images = 0;
  // bf16: the compiled graph runs in bfloat16 (weights, activations; channels-last convolutions), checked on its
  // first batch against the float32 eager pass to bf16's tolerance, else float32 with a warning. Passes too small
  // to compile run eagerly in float32.
  Precision precision = current_precision();
};

// One forward-only pass of `network` over many images, reading `layers` (the logits when empty). The weights
// are read when the pass compiles: build a new one after changing them. The network is put in evaluation mode.
class InferencePass {
 public:
  InferencePass(Network& network, std::vector<std::string> layers = {}, InferenceOptions options = {});
  ~InferencePass();
  InferencePass(const InferencePass&) = delete;
  InferencePass& operator=(const InferencePass&) = delete;

  // Calls `each` with the first image's index and the activations at each layer (or the logits) of every
  // batch of images [N, C, H, W] in [0, 1], in order; activations on the CPU, float32.
  using BatchFn = std::function<void(int64_t start, const std::vector<torch::Tensor>& outputs)>;
  void for_each_batch(const torch::Tensor& images, const BatchFn& each);
  // All batches' activations, concatenated.
  std::vector<torch::Tensor> run(const torch::Tensor& images);
  // Whether the compiled graph runs (false: the eager pass, for small inputs or where compiling failed).
  bool compiled() const { return compiled_ != nullptr; }
  // The precision the pass runs in (float32 until a bf16 graph compiled and passed its check).
  Precision precision() const;

 private:
  struct Compiled;
  std::vector<torch::Tensor> eager(const torch::Tensor& batch);
  std::vector<torch::Tensor> run_compiled(const torch::Tensor& batch);  // batch on the network's device
  // Traces the eager pass of the first batch and returns its outputs (none where tracing failed).
  std::vector<torch::Tensor> compile(const torch::Tensor& first_batch);

  Network& network_;
  std::vector<std::string> layers_;
  InferenceOptions options_;
  bool tried_ = false;
  std::unique_ptr<Compiled> compiled_;
};

// The activations at `layers` (logits when empty) of many images, through an InferencePass.
std::vector<torch::Tensor> infer(Network& network, const torch::Tensor& images, std::vector<std::string> layers = {},
                                 InferenceOptions options = {});

}  // namespace prism
