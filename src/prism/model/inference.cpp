#include "prism/model/inference.h"

#include <c10/util/accumulate.h>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <algorithm>

#include "prism/core/allocator.h"
#include "prism/core/error.h"
#include "prism/core/threads.h"
#include "prism/model/precision.h"

namespace prism {

struct InferencePass::Compiled {
  std::unique_ptr<torch::jit::GraphFunction> function;
  // The traced batch: batches run in chunks of it (chunk_size), a smaller last chunk padded (a trace may fix it).
  int64_t batch_size;
  Precision precision;
};

namespace {

// The tracer bakes tensors it did not see created into the graph as constants, and only tensors that do not
// require grad: the weights, for as long as the trace runs.
class WeightsAsConstants {
 public:
  explicit WeightsAsConstants(std::vector<torch::Tensor> parameters) : parameters_(std::move(parameters)) {
    for (auto& p : parameters_) {
      required_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~WeightsAsConstants() {
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].requires_grad_(required_[i]);
  }

 private:
  std::vector<torch::Tensor> parameters_;
  std::vector<bool> required_;
};

// The trace records a TorchScript model's prism::tap ops (identities without taps): out, so that the passes
// below see conv -> batch norm -> ReLU chains.
void remove_taps(torch::jit::Graph& graph) {
  static const auto tap = c10::Symbol::fromQualString("prism::tap");
  for (auto it = graph.nodes().begin(); it != graph.nodes().end();) {
    torch::jit::Node* node = *it++;
    if (node->kind() != tap) continue;
    node->output()->replaceAllUsesWith(node->input(0));
    node->destroy();
  }
}

// What torch.jit.freeze (optimize_numerics) does to a traced graph.
void freeze(std::shared_ptr<torch::jit::Graph>& graph) {
  remove_taps(*graph);
  torch::jit::EliminateDeadCode(graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::OptimizeFrozenGraph(graph, /*optimize_numerics=*/true);  // dropout out, batch norms into convs
}

// What torch.jit.optimize_for_inference adds on the CPU: fused conv + add + ReLU, convolutions and linear layers
// on oneDNN's float32 kernels with their weights reordered once.
void optimize_for_cpu(std::shared_ptr<torch::jit::Graph>& graph) {
  torch::jit::FuseFrozenConvAddRelu(graph);
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  torch::jit::FrozenLinearTranspose(graph);
  torch::jit::EliminateDeadCode(graph);
}

bool is_image_batch(const torch::Tensor& tensor) { return tensor.dim() == 4; }

// A frozen graph in bfloat16: every float32 constant (weights, folded biases, normalisation) converted, 4-d ones
// channels-last, the layout oneDNN's bf16 convolutions run fastest in (the input is converted by run_compiled).
// The ops stay ATen's: they dispatch bf16 convolutions and products to oneDNN themselves, while the frozen-graph
// conversion to oneDNN tensors takes float32 ops only.
void to_bfloat16(torch::jit::Graph& graph) {
  for (auto* node : graph.nodes()) {
    if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
    const auto value = node->t(c10::attr::value);
    if (value.scalar_type() != torch::kFloat32) continue;
    auto converted = value.to(torch::kBFloat16);
    if (is_image_batch(converted)) converted = converted.contiguous(torch::MemoryFormat::ChannelsLast);
    node->t_(c10::attr::value, converted);
    node->output()->inferTypeFrom(converted);
  }
}

// What a pass hands its caller: float32 on the CPU, dense and contiguous.
torch::Tensor on_host(torch::Tensor tensor) {
  if (tensor.is_mkldnn()) tensor = tensor.to_dense();
  return tensor.to(torch::kCPU, torch::kFloat32).contiguous();
}

torch::Tensor pad_batch(const torch::Tensor& batch, int64_t size) {
  if (batch.size(0) == size) return batch;
  auto shape = batch.sizes().vec();
  shape[0] = size - batch.size(0);
  return torch::cat({batch, torch::zeros(shape, batch.options())});
}

// The images per chunk of a batch of `most` for `graph`, traced on `traced` images: its largest tensor (from the
// trace's sizes) held under kInferenceChunkBytes.
int64_t graph_chunk_size(const torch::jit::Graph& graph, int64_t traced, int64_t most) {
  int64_t largest = 0;
  for (const auto* node : graph.nodes()) {
    if (node->kind() == c10::prim::Constant) continue;  // the weights: not per image
    for (const auto* value : node->outputs()) {
      const auto type = value->type()->cast<c10::TensorType>();
      if (!type || !type->scalarType()) continue;
      if (const auto numel = type->sizes().concrete_sizes(); numel)
        largest = std::max<int64_t>(largest, c10::multiply_integers(*numel) * c10::elementSize(*type->scalarType()));
    }
  }
  return chunk_size(most, largest / traced, kInferenceChunkBytes);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Empty where the compiled outputs agree with the eager ones, else what differs. Float tolerance: oneDNN's kernels
// and a folded batch norm sum in another order; bf16's is kBf16Tolerance of each output's norm (precision.h).
std::string disagreement(const std::vector<torch::Tensor>& compiled, const std::vector<torch::Tensor>& eager,
                         Precision precision) {
  for (size_t i = 0; i < compiled.size(); ++i) {
    if (compiled[i].sizes() != eager[i].sizes()) return "gives outputs of another shape than";
    if (precision == Precision::kBFloat16) {
      if (!within_bf16_error(compiled[i], eager[i]))
        return "differs by " + std::to_string(int(relative_error(compiled[i], eager[i]) * 100)) +
               " % of the output's norm (bf16 allows " + std::to_string(int(kBf16Tolerance * 100)) + " %) from";
    } else if (!torch::allclose(compiled[i], eager[i], 1e-3, 1e-4 * (1 + eager[i].abs().max().item<double>()))) {
      return "differs from";
    }
  }
  return "";
}

}  // namespace

InferencePass::InferencePass(Network& network, std::vector<std::string> layers, InferenceOptions options)
    : network_(network), layers_(std::move(layers)), options_(options) {
  require(options_.batch_size >= 1, "the inference batch size must be at least 1");
  for (const auto& name : layers_) network_.layer(name);  // throws, listing the layers, if there is none
  network_.set_training(false);
}

InferencePass::~InferencePass() = default;

std::vector<torch::Tensor> InferencePass::eager(const torch::Tensor& batch) {
  torch::NoGradGuard no_grad;
  const auto input = normalize(batch, network_.normalization());  // checked by for_each_batch, on the device
  std::vector<torch::Tensor> outputs;
  if (layers_.empty()) {
    outputs.push_back(network_.run(input, {}, ""));
  } else {
    std::vector<torch::Tensor> captured(layers_.size());
    TapSet taps;
    for (size_t l = 0; l < layers_.size(); ++l) taps.capture(layers_[l], &captured[l]);
    network_.run(input, taps, layers_.size() == 1 ? layers_[0] : "");
    for (size_t l = 0; l < layers_.size(); ++l)
      require(captured[l].defined(), "layer '" + layers_[l] + "' was not reached in the forward pass (inside a branch?)");
    outputs = std::move(captured);
  }
  return outputs;
}

std::vector<torch::Tensor> InferencePass::compile(const torch::Tensor& first_batch) {
  tried_ = true;
  const char* stage = "tracing";
  try {
    auto batch = pad_batch(first_batch, options_.batch_size);
    std::vector<torch::Tensor> reference;  // the eager outputs the trace ran, checked against the compiled graph's
    std::vector<std::pair<std::shared_ptr<torch::jit::Graph>, Precision>> candidates;  // tried in order
    {
      torch::NoGradGuard no_grad;
      // The graph's constants are the weights themselves until the passes have copied them (folded, reordered).
      WeightsAsConstants constants(network_.parameters());
      const auto traced = [&](torch::jit::Stack inputs) -> torch::jit::Stack {
        reference = eager(inputs.at(0).toTensor());
        return {c10::ivalue::Tuple::create(std::vector<c10::IValue>(reference.begin(), reference.end()))};
      };
      const auto trace = [&] {
        return torch::jit::tracer::trace({batch}, traced, [](const torch::autograd::Variable&) { return ""; },
                                         /*strict=*/false).first->graph;
      };
      // A trace of a few images gives the activations' sizes per image, so the chunk size; the graph is traced
      // again at that size (a trace may fix it).
      const auto whole = batch;
      batch = whole.narrow(0, 0, std::min<int64_t>(whole.size(0), 8));
      const int64_t chunk = graph_chunk_size(*trace(), batch.size(0), whole.size(0));
      batch = whole.narrow(0, 0, chunk);
      auto graph = trace();
      stage = "optimising";
      freeze(graph);
      if (options_.precision == Precision::kBFloat16) {
        auto low = graph->copy();
        to_bfloat16(*low);
        candidates.emplace_back(std::move(low), Precision::kBFloat16);
      }
      if (network_.device().is_cpu()) optimize_for_cpu(graph);
      candidates.emplace_back(std::move(graph), Precision::kFloat32);
    }
    for (auto& output : reference) output = on_host(output);
    stage = "checking";
    std::vector<torch::Tensor> fast;
    for (auto& [graph, precision] : candidates) {
      auto compiled = std::make_unique<Compiled>();
      compiled->function = std::make_unique<torch::jit::GraphFunction>("prism_inference", graph, nullptr,
                                                                       torch::jit::ExecutorExecutionMode::SIMPLE);
      compiled->batch_size = batch.size(0);
      compiled->precision = precision;
      compiled_ = std::move(compiled);
      std::string problem;
      try {
        fast = run_compiled(batch);
        problem = disagreement(fast, reference, precision);
      } catch (const std::exception& error) {
        if (precision == Precision::kFloat32) throw;
        problem = "fails (" + first_line(error.what()) + ") unlike";  // an op that takes no bf16, say
      }
      if (problem.empty()) break;
      compiled_.reset();
      if (precision == Precision::kBFloat16)
        TORCH_WARN("the bf16 inference graph of this model ", problem, " its float32 pass; running in float32");
      else
        TORCH_WARN("the compiled inference graph of this model ", problem,
                   " its eager forward pass; running it eagerly (slower, same results)");
    }
    // The first batch's results come from the graph that runs every later batch, so that a pass over any run of
    // whole batches gives each batch the same numbers (MPI ranks each pass over their share). Where no graph
    // passed its check, none: the caller runs the batch eagerly.
    return compiled_ ? run_compiled(first_batch) : std::vector<torch::Tensor>{};
  } catch (const std::exception& error) {
    compiled_.reset();
    TORCH_WARN("could not compile this model for inference (", stage, ": ", first_line(error.what()),
               "); running it eagerly (slower, same results)");
    return {};
  }
}

std::vector<torch::Tensor> InferencePass::run_compiled(const torch::Tensor& batch) {
  torch::NoGradGuard no_grad;
  // The float32 graph's linear layers run on OpenBLAS, its convolutions on oneDNN's OpenMP threads: with both pools
  // on the cores they spin against each other (a float32 pass ran at half speed, and at a third where it followed
  // other passes: bench_precision). One BLAS thread between the convolutions' parallel regions avoids it.
  SingleThreadedBlas blas;
  const int64_t chunk = compiled_->batch_size;
  std::vector<std::vector<torch::Tensor>> parts;  // per output, per chunk
  for (int64_t start = 0; start < batch.size(0); start += chunk) {
    const int64_t count = std::min(chunk, batch.size(0) - start);
    auto input = pad_batch(batch.narrow(0, start, count), chunk);
    if (compiled_->precision == Precision::kBFloat16) {
      input = input.to(torch::kBFloat16);
      if (is_image_batch(input)) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
    }
    torch::jit::Stack stack{input};
    compiled_->function->run(stack);
    const auto& elements = stack.at(0).toTupleRef().elements();
    parts.resize(elements.size());
    for (size_t i = 0; i < elements.size(); ++i) parts[i].push_back(on_host(elements[i].toTensor()).narrow(0, 0, count));
  }
  std::vector<torch::Tensor> outputs;
  for (auto& part : parts) outputs.push_back(part.size() == 1 ? part[0] : torch::cat(part));
  return outputs;
}

void InferencePass::for_each_batch(const torch::Tensor& images, const BatchFn& each) {
  const int64_t n = images.size(0);
  const int64_t size = options_.batch_size;
  for (int64_t start = 0; start < n; start += size) {
    const auto batch = images.narrow(0, start, std::min(size, n - start)).to(network_.device());
    network_.check_input(batch);
    std::vector<torch::Tensor> outputs;
    if (!tried_ && std::max(n, options_.pass_images) >= options_.compile_from) outputs = compile(batch);
    if (outputs.empty() && compiled_) {
      outputs = run_compiled(batch);
    } else if (outputs.empty()) {
      for (auto& output : eager(batch)) outputs.push_back(on_host(output));
    }
    if (layers_.empty()) check_finite_logits(outputs[0]);
    each(start, outputs);
  }
}

Precision InferencePass::precision() const {
  return compiled_ ? compiled_->precision : Precision::kFloat32;
}

std::vector<torch::Tensor> InferencePass::run(const torch::Tensor& images) {
  std::vector<std::vector<torch::Tensor>> parts(std::max<size_t>(layers_.size(), 1));
  for_each_batch(images, [&](int64_t, const std::vector<torch::Tensor>& outputs) {
    for (size_t i = 0; i < outputs.size(); ++i) parts[i].push_back(outputs[i]);
  });
  std::vector<torch::Tensor> out;
  for (auto& part : parts) out.push_back(part.empty() ? torch::empty({0}) : torch::cat(part));
  return out;
}

std::vector<torch::Tensor> infer(Network& network, const torch::Tensor& images, std::vector<std::string> layers,
                                 InferenceOptions options) {
  return InferencePass(network, std::move(layers), options).run(images);
}

}  // namespace prism
