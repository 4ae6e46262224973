#include "prism/model/torchscript.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/library.h>
#include <torch/script.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "prism/core/error.h"
#include "prism/model/torchscript_archive.h"

namespace prism {
namespace {

// The taps of the forward pass running on this thread, read by the prism::tap operator.
struct TapContext {
  const TapSet* taps;
  const std::vector<std::string>* names;
};
thread_local const TapContext* current_taps = nullptr;

torch::Tensor tap_kernel(const torch::Tensor& x, int64_t id) {
  if (current_taps == nullptr) return x;
  TORCH_CHECK(id >= 0 && id < static_cast<int64_t>(current_taps->names->size()), "prism::tap: bad id");
  return current_taps->taps->apply((*current_taps->names)[id], x);
}

}  // namespace
}  // namespace prism

// CompositeImplicitAutograd: autograd sees the operations a tap performs, so gradients flow through
// replaced activations (pruning masks, LRP rules).
TORCH_LIBRARY(prism, m) { m.def("tap(Tensor x, int id) -> Tensor"); }
TORCH_LIBRARY_IMPL(prism, CompositeImplicitAutograd, m) { m.impl("tap", &prism::tap_kernel); }

namespace prism {
namespace {
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::string type_name(const torch::jit::Module& module) {
  const auto name = module.type()->name();
  return name ? name->qualifiedName() : "";
}

bool is_sequential(const torch::jit::Module& module) {  // "...container.___torch_mangle_4.Sequential" too
  const std::string name = type_name(module);
  const std::string suffix = ".Sequential";
  return name.find("torch.nn.modules.container.") != std::string::npos && name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string kind_of(const std::string& type) {
  const std::string last = type.substr(type.rfind('.') + 1);
  static const std::map<std::string, std::string> kinds = {
      {"ReLU", "relu"},          {"Conv2d", "conv"},           {"Linear", "linear"},
      {"BatchNorm2d", "batchnorm"}, {"BatchNorm1d", "batchnorm"}, {"MaxPool2d", "pool"},
      {"AvgPool2d", "pool"},     {"AdaptiveAvgPool2d", "pool"}, {"Flatten", "flatten"},
      {"Dropout", "dropout"}};
  const auto found = kinds.find(last);
  return found == kinds.end() ? "module" : found->second;
}

// Runs `forward` of an nn.Sequential leaf by leaf.
class SequentialScriptNetwork : public Network {
 public:
  explicit SequentialScriptNetwork(torch::jit::Module module) : module_(std::move(module)) {
    architecture_ = "torchscript-sequential";
    collect(module_, "");
    std::string previous;
    for (const auto& [name, leaf] : leaves_) {
      layers_.push_back({name, kind_of(type_name(leaf)), true, previous});
      previous = name;
    }
  }
  std::optional<LayerParameters> layer_parameters(const std::string& layer) override {
    const auto found = std::find_if(leaves_.begin(), leaves_.end(), [&](const auto& l) { return l.first == layer; });
    if (found == leaves_.end()) return std::nullopt;
    const auto& m = found->second;
    const std::string kind = kind_of(type_name(m));
    auto tensor = [&](const char* name) { return m.hasattr(name) && m.attr(name).isTensor() ? m.attr(name).toTensor() : torch::Tensor(); };
    // (2, 2), [2, 2] or 2 → {2, 2}; empty for anything else (padding='same').
    auto pair = [&](const char* name) -> std::vector<int64_t> {
      const auto value = m.attr(name);
      std::vector<int64_t> list;
      if (value.isInt()) list = {value.toInt()};
      if (value.isIntList()) list = value.toIntVector();
      if (value.isTuple())
        for (const auto& element : value.toTupleRef().elements()) {
          if (!element.isInt()) return {};
          list.push_back(element.toInt());
        }
      return list.size() == 1 ? std::vector<int64_t>{list[0], list[0]} : list;
    };
    LayerParameters p;
    p.kind = kind;
    p.weight = tensor("weight");
    p.bias = tensor("bias");
    if (kind == "conv") {
      p.stride = pair("stride");
      p.padding = pair("padding");
      p.dilation = pair("dilation");
      if (p.stride.size() != 2 || p.padding.size() != 2 || p.dilation.size() != 2) return std::nullopt;
      p.groups = m.attr("groups").toInt();
    } else if (kind == "batchnorm") {
      p.running_mean = tensor("running_mean");
      p.running_var = tensor("running_var");
      p.eps = m.attr("eps").toDouble();
      if (!p.running_mean.defined()) return std::nullopt;
    } else if (kind != "linear") {
      return std::nullopt;
    }
    return p;
  }
  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& p : module_.parameters()) out.push_back(p);
    return out;
  }
  void set_training(bool training) override { module_.train(training); }
  void to(torch::Device device) override {
    module_.to(device);
    device_ = device;
  }

 protected:
  torch::Tensor run(const torch::Tensor& input, const TapSet& taps, const std::string& stop_after) override {
    return run_leaves(0, input, taps, stop_after);
  }
  torch::Tensor run_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps) override {
    size_t start = 0;
    while (leaves_[start].first != layer) ++start;
    return run_leaves(start + 1, activation, taps, "");
  }

 private:
  void collect(const torch::jit::Module& module, const std::string& prefix) {
    for (const auto& child : module.named_children()) {
      const std::string name = prefix + child.name;
      if (is_sequential(child.value))
        collect(child.value, name + ".");
      else
        leaves_.emplace_back(name, child.value);
    }
  }
  torch::Tensor run_leaves(size_t start, torch::Tensor x, const TapSet& taps, const std::string& stop_after) {
    for (size_t i = start; i < leaves_.size(); ++i) {
      x = taps.apply(leaves_[i].first, leaves_[i].second.forward({x}).toTensor());
      if (leaves_[i].first == stop_after) break;
    }
    return x;
  }
  torch::jit::Module module_;
  std::vector<std::pair<std::string, torch::jit::Module>> leaves_;
};

// Any scripted model: runs a rewritten copy of its forward graph with prism::tap nodes.
class GraphScriptNetwork : public Network {
 public:
  explicit GraphScriptNetwork(torch::jit::Module module) : module_(std::move(module)) {
    architecture_ = "torchscript";
    graph_ = module_.get_method("forward").graph()->copy();
    require(graph_->inputs().size() == 2,
            "the TorchScript model's forward takes " + std::to_string(graph_->inputs().size() - 1) +
                " inputs; prism needs a forward(x) of one image batch");
    insert_taps();
    forward_ = make_function(graph_);
    for (auto& info : layers_) info.cut = make_rest(info.name) != nullptr;
  }
  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& p : module_.parameters()) out.push_back(p);
    return out;
  }
  void set_training(bool training) override { module_.train(training); }
  void to(torch::Device device) override {
    module_.to(device);
    device_ = device;
  }

 protected:
  torch::Tensor run(const torch::Tensor& input, const TapSet& taps, const std::string&) override {
    torch::jit::Stack stack{module_._ivalue(), input};
    run_with_taps(*forward_, stack, taps);
    return stack.at(0).toTensor();
  }
  torch::Tensor run_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps) override {
    auto& rest = rests_.at(layer);
    torch::jit::Stack stack{module_._ivalue(), torch::Tensor(), activation};
    run_with_taps(*rest, stack, taps);
    return stack.at(0).toTensor();
  }

 private:
  static std::unique_ptr<torch::jit::GraphFunction> make_function(std::shared_ptr<Graph> graph) {
    return std::make_unique<torch::jit::GraphFunction>("prism_tapped_forward", std::move(graph), nullptr,
                                                       torch::jit::ExecutorExecutionMode::SIMPLE);
  }
  void run_with_taps(torch::jit::GraphFunction& fn, torch::jit::Stack& stack, const TapSet& taps) {
    const TapContext context{&taps, &tap_names_};
    const TapContext* previous = current_taps;
    current_taps = &context;
    try {
      fn.run(stack);
    } catch (...) {
      current_taps = previous;
      throw;
    }
    current_taps = previous;
  }

  // Adds prism::tap(value, id) after `node` and routes later uses of `value` through it.
  Node* add_tap(Node* node, Value* value, int64_t id) {
    torch::jit::WithInsertPoint guard(node->next());
    Value* id_value = graph_->insertConstant(id);
    Node* tap = graph_->insertNode(graph_->create(c10::Symbol::fromQualString("prism::tap"), {value, id_value}, 1));
    tap->output()->setType(value->type());
    value->replaceAllUsesAfterNodeWith(tap, tap->output());
    return tap;
  }

  void insert_taps() {
    static const auto tap_symbol = c10::Symbol::fromQualString("prism::tap");
    inline_own_methods();
    // 1. Outputs of direct submodule calls (ReLU modules are covered by step 2), before inlining.
    std::vector<std::pair<Node*, std::string>> found;
    for (Node* node : graph_->nodes()) {
      if (node->kind() != c10::prim::CallMethod || node->outputs().size() != 1) continue;
      Node* owner = node->input(0)->node();
      if (owner->kind() != c10::prim::GetAttr || owner->input(0) != graph_->inputs()[0]) continue;
      if (!node->output()->type()->cast<c10::TensorType>()) continue;
      const std::string child = owner->s(c10::attr::name);
      if (kind_of(type_name(module_.attr(child).toModule())) == "relu") continue;
      found.emplace_back(node, child);
    }
    std::map<Node*, std::string> pending;  // tap node -> module path
    for (const auto& [node, path] : found) pending[add_tap(node, node->output(), -1)] = path;
    std::map<std::string, std::string> kinds;
    for (const auto& [node, path] : found) kinds[path] = kind_of(type_name(module_.attr(path).toModule()));
    torch::jit::Inline(*graph_);
    // 2. Every ReLU call, named by the module path of its callstack; then ids in graph order.
    std::vector<Node*> nodes(graph_->nodes().begin(), graph_->nodes().end());  // taps are added below
    std::vector<std::pair<Node*, std::string>> points;
    for (Node* node : nodes) {
      if (node->kind() == tap_symbol) {
        points.emplace_back(node, pending.at(node));
      } else if (Node* relu = relu_call(node)) {
        points.emplace_back(add_tap(node, node->output(), -1), relu_path(relu));
      }
    }
    std::map<std::string, int> calls;
    for (const auto& point : points) ++calls[point.second];
    std::map<std::string, int> seen;
    for (auto& [tap, path] : points) {
      const std::string name = calls[path] > 1 ? path + ":" + std::to_string(seen[path]++) : path;
      const int64_t id = static_cast<int64_t>(tap_names_.size());
      torch::jit::WithInsertPoint guard(tap);
      tap->replaceInput(1, graph_->insertConstant(id));
      tap_names_.push_back(name);
      tap_nodes_[name] = tap;
      layers_.push_back({name, kinds.count(path) ? kinds[path] : "relu", false});
    }
    torch::jit::EliminateDeadCode(graph_);  // the placeholder -1 constants
  }

  // Inlines calls of the model's own methods (torchvision's forward calls self._forward_impl), so
  // that its submodule calls appear in the top-level graph.
  void inline_own_methods() {
    for (bool changed = true; changed;) {
      changed = false;
      for (Node* node : graph_->nodes()) {
        if (node->kind() != c10::prim::CallMethod || node->input(0) != graph_->inputs()[0]) continue;
        auto& callee = module_.get_method(node->s(c10::attr::name)).function();
        torch::jit::inlineCallTo(node, &torch::jit::toGraphFunction(callee), /*inline_optimized_graph=*/false);
        changed = true;
        break;
      }
    }
  }

  static bool is_relu(const Node* node) {
    return node->kind() == c10::aten::relu || node->kind() == c10::aten::relu_;
  }
  // The ReLU `node` computes: itself, or — for F.relu, whose `inplace` switch scripts to an `if` —
  // the ReLU inside an `if` each branch of which is a single ReLU.
  static Node* relu_call(Node* node) {
    if (is_relu(node)) return node;
    if (node->kind() != c10::prim::If || node->outputs().size() != 1) return nullptr;
    Node* relu = nullptr;
    for (auto* block : node->blocks()) {
      auto nodes = block->nodes();
      if (nodes.begin() == nodes.end() || std::next(nodes.begin()) != nodes.end() || !is_relu(*nodes.begin()))
        return nullptr;
      relu = *nodes.begin();
    }
    return relu;
  }

  std::string relu_path(Node* node) {
    std::string path;
    bool relu_module = false;
    if (auto stack = node->callstack()) {
      for (const auto& entry : (*stack)->vec()) {
        const auto& instance = std::get<2>(entry);
        if (!instance || instance->instance_name() == "SELF") continue;
        path += (path.empty() ? "" : ".") + instance->instance_name();
        const auto type = instance->class_type();
        relu_module = type && type->name() && kind_of(type->name()->qualifiedName()) == "relu";
      }
    }
    return relu_module ? path : (path.empty() ? "relu" : path + ".relu");
  }

  // Values computable without the input: the module itself, constants, attributes.
  static std::set<const Value*> free_values(const Graph& graph) {
    std::set<const Value*> free = {graph.inputs()[0]};
    for (const Node* node : graph.nodes()) {
      const bool pure = node->kind() == c10::prim::Constant || node->kind() == c10::prim::GetAttr;
      if (pure && std::all_of(node->inputs().begin(), node->inputs().end(), [&](const Value* v) { return free.count(v); }))
        for (const Value* out : node->outputs()) free.insert(out);
    }
    return free;
  }
  // Whether any node in `nodes` (and their blocks) reads a value in `before` other than `cut`.
  template <typename Nodes>
  static bool reads_any(const Nodes& nodes, const std::set<const Value*>& before, const Value* cut) {
    for (const Node* node : nodes) {
      for (const Value* v : node->inputs())
        if (v != cut && before.count(v)) return true;
      for (const auto* block : node->blocks()) {
        if (reads_any(block->nodes(), before, cut)) return true;
        for (const Value* v : block->outputs())
          if (v != cut && before.count(v)) return true;
      }
    }
    return false;
  }

  // The graph from `layer`'s tap to the logits, or null if a later node also reads an earlier value
  // (a skip connection bypasses the tap).
  torch::jit::GraphFunction* make_rest(const std::string& layer) {
    auto graph = graph_->copy();
    // Copies keep node order, so the tap is found by its position.
    std::vector<Node*> nodes(graph->nodes().begin(), graph->nodes().end());
    size_t position = 0;
    for (Node* node : graph_->nodes()) {
      if (node == tap_nodes_.at(layer)) break;
      ++position;
    }
    Node* tap = nodes.at(position);
    const auto free = free_values(*graph);
    std::set<const Value*> before = {graph->inputs()[1]};
    for (size_t i = 0; i < position; ++i)
      for (const Value* v : nodes[i]->outputs())
        if (!free.count(v)) before.insert(v);
    for (const Value* v : tap->inputs()) before.insert(v);
    std::vector<Node*> after(nodes.begin() + position + 1, nodes.end());
    if (reads_any(after, before, tap->output())) return nullptr;
    for (const Value* v : graph->outputs())
      if (before.count(v)) return nullptr;
    Value* activation = graph->addInput("activation");
    activation->setType(c10::TensorType::get());
    tap->output()->replaceAllUsesWith(activation);
    for (size_t i = position + 1; i-- > 0;)  // the prefix, last node first
      if (nodes[i]->outputs().empty() || !free.count(nodes[i]->output(0)))
        nodes[i]->destroy();
    torch::jit::EliminateDeadCode(graph);
    rests_[layer] = make_function(graph);
    return rests_[layer].get();
  }

  torch::jit::Module module_;
  std::shared_ptr<Graph> graph_;
  std::unique_ptr<torch::jit::GraphFunction> forward_;
  std::vector<std::string> tap_names_;
  std::map<std::string, Node*> tap_nodes_;
  std::map<std::string, std::unique_ptr<torch::jit::GraphFunction>> rests_;
};

}  // namespace

std::unique_ptr<Network> load_torchscript(const std::filesystem::path& path, const std::vector<int64_t>& input_shape) {
  require(std::filesystem::exists(path), "model file not found: " + path.string());
  torch::jit::Module module =
      load_checked_archive(path, "; give a model saved with torch.jit.save(torch.jit.script(model), path)");
  module.eval();
  std::unique_ptr<Network> network;
  try {
    if (is_sequential(module))
      network = std::make_unique<SequentialScriptNetwork>(module);
    else
      network = std::make_unique<GraphScriptNetwork>(module);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("cannot map the layers of the TorchScript model " + path.string() + " (" + first_line(e) +
                "); give a scripted module whose forward(x) takes one image batch");
  }
  torch::NoGradGuard no_grad;
  set_metadata(*network, input_shape, 2, {}, {});
  torch::Tensor logits;
  try {
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    logits = network->forward(torch::zeros(shape));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("the TorchScript model " + path.string() + " fails on images of shape " +
                shape_string(input_shape) + " (" + first_line(e) + "); give data of the size it was made for");
  }
  require(logits.dim() == 2 && logits.size(1) >= 2,
          "the TorchScript model " + path.string() + " returns " + shape_string(logits.sizes()) +
              ", not class scores [B, classes]");
  set_metadata(*network, input_shape, logits.size(1), {}, {});
  return network;
}

}  // namespace prism
