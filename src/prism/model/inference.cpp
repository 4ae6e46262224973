#include "prism/model/inference.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include "prism/core/error.h"

namespace prism {

struct InferencePass::Compiled {
  std::unique_ptr<torch::jit::GraphFunction> function;
  int64_t batch_size;  // the traced batch: a smaller last batch is padded to it (a trace may fix batch sizes)
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

// What torch.jit.freeze (optimize_numerics) and torch.jit.optimize_for_inference do to a frozen graph.
void optimize_for_inference(std::shared_ptr<torch::jit::Graph>& graph, bool cpu) {
  remove_taps(*graph);
  torch::jit::EliminateDeadCode(graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::OptimizeFrozenGraph(graph, /*optimize_numerics=*/true);  // dropout out, batch norms into convs
  if (!cpu) return;
  torch::jit::FuseFrozenConvAddRelu(graph);
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  torch::jit::FrozenLinearTranspose(graph);
  torch::jit::EliminateDeadCode(graph);
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

// Float tolerance: oneDNN's kernels and a folded batch norm sum in another order.
bool agree(const torch::Tensor& compiled, const torch::Tensor& eager) {
  if (compiled.sizes() != eager.sizes()) return false;
  const double scale = eager.abs().max().item<double>();
  return torch::allclose(compiled, eager, 1e-3, 1e-4 * (1 + scale));
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
    const auto batch = pad_batch(first_batch, options_.batch_size);
    std::vector<torch::Tensor> reference;  // the eager outputs the trace ran: the first batch's results
    std::shared_ptr<torch::jit::Graph> graph;
    {
      torch::NoGradGuard no_grad;
      // The graph's constants are the weights themselves until the passes have copied them (folded, reordered).
      WeightsAsConstants constants(network_.parameters());
      const auto traced = [&](torch::jit::Stack inputs) -> torch::jit::Stack {
        reference = eager(inputs.at(0).toTensor());
        return {c10::ivalue::Tuple::create(std::vector<c10::IValue>(reference.begin(), reference.end()))};
      };
      graph = torch::jit::tracer::trace({batch}, traced, [](const torch::autograd::Variable&) { return ""; },
                                        /*strict=*/false).first->graph;
      stage = "optimising";
      optimize_for_inference(graph, network_.device().is_cpu());
    }
    for (auto& output : reference) output = on_host(output);
    stage = "checking";
    auto compiled = std::make_unique<Compiled>();
    compiled->function = std::make_unique<torch::jit::GraphFunction>("prism_inference", graph, nullptr,
                                                                     torch::jit::ExecutorExecutionMode::SIMPLE);
    compiled->batch_size = batch.size(0);
    compiled_ = std::move(compiled);
    auto fast = run_compiled(batch);
    for (size_t i = 0; i < fast.size(); ++i)
      if (!agree(fast[i], reference[i])) {
        compiled_.reset();
        TORCH_WARN("the compiled inference graph of this model differs from its eager forward pass; "
                   "running it eagerly (slower, same results)");
        break;
      }
    // The first batch's results come from the graph that runs every later batch, so that a pass over any run of
    // whole batches gives each batch the same numbers (MPI ranks each pass over their share).
    auto& first = compiled_ ? fast : reference;
    for (auto& output : first) output = output.narrow(0, 0, first_batch.size(0));
    return first;
  } catch (const std::exception& error) {
    compiled_.reset();
    std::string what = error.what();
    what = what.substr(0, what.find('\n'));
    TORCH_WARN("could not compile this model for inference (", stage, ": ", what,
               "); running it eagerly (slower, same results)");
    return {};
  }
}

std::vector<torch::Tensor> InferencePass::run_compiled(const torch::Tensor& batch) {
  torch::NoGradGuard no_grad;
  const int64_t count = batch.size(0);
  torch::jit::Stack stack{pad_batch(batch, compiled_->batch_size)};
  compiled_->function->run(stack);
  std::vector<torch::Tensor> outputs;
  for (const auto& value : stack.at(0).toTupleRef().elements())
    outputs.push_back(on_host(value.toTensor()).narrow(0, 0, count));
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
