#include "prism/model/torchscript.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <torch/library.h>
#include <torch/script.h>

#include <algorithm>
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
using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kTap = c10::Symbol::fromQualString("prism::tap");

// The layer kind of an aten op; other ops keep their own name ("transpose", "chunk").
std::string op_kind(const Node* node) {
  static const std::map<std::string, std::string> kinds = {
      {"conv2d", "conv"},        {"conv1d", "conv"},           {"_convolution", "conv"},
      {"linear", "linear"},      {"batch_norm", "batchnorm"},  {"hardtanh", "hardtanh"},
      {"max_pool1d", "pool"},    {"avg_pool1d", "pool"},       {"adaptive_avg_pool1d", "pool"},
      {"adaptive_max_pool1d", "pool"}, {"max_pool1d_with_indices", "pool"}, {"max_pool2d", "pool"},
      {"avg_pool2d", "pool"},    {"adaptive_avg_pool2d", "pool"}, {"adaptive_max_pool2d", "pool"},
      {"max_pool2d_with_indices", "pool"}, {"view", "reshape"}, {"reshape", "reshape"},
      {"dropout", "dropout"},    {"feature_dropout", "dropout"}, {"alpha_dropout", "dropout"},
      {"feature_alpha_dropout", "dropout"}};
  if (node->kind() == c10::prim::If) return "branch";
  if (node->kind() == c10::prim::ListUnpack || node->kind() == c10::prim::TupleUnpack) {
    const Node* producer = node->input(0)->node();  // chunk, split, unbind
    return producer->kind().is_aten() ? producer->kind().toUnqualString() : "unpack";
  }
  const std::string op = node->kind().toUnqualString();
  const auto found = kinds.find(op);
  if (found == kinds.end()) return op;
  if (found->second == "hardtanh") {  // F.relu6 scripts to hardtanh(x, 0, 6)
    const auto low = torch::jit::toIValue(node->input(1)), high = torch::jit::toIValue(node->input(2));
    if (low && high && low->isDouble() && high->isDouble() && low->toDouble() == 0 && high->toDouble() == 6)
      return "relu6";
  }
  return found->second;
}

bool carries_tensors(const c10::TypePtr& type) {
  if (type->cast<c10::TensorType>()) return true;
  if (const auto list = type->cast<c10::ListType>()) return carries_tensors(list->getElementType());
  if (const auto optional = type->cast<c10::OptionalType>()) return carries_tensors(optional->getElementType());
  if (const auto tuple = type->cast<c10::TupleType>())
    return std::any_of(tuple->elements().begin(), tuple->elements().end(), carries_tensors);
  return false;
}

// Whether `value` is defined inside one of `node`'s blocks.
bool defined_inside(const Value* value, const Node* node) {
  for (const Node* n = value->node(); n != nullptr; n = n->owningBlock()->owningNode())
    if (n == node) return true;
  return false;
}

// The values from outside `node` that it reads: its inputs and what its blocks read from outer scopes.
void outer_reads(const Node* node, const Node* root, std::vector<const Value*>& out) {
  for (const Value* v : node->inputs())
    if (node == root || !defined_inside(v, root)) out.push_back(v);
  for (const Block* block : node->blocks()) {
    for (const Node* inner : block->nodes()) outer_reads(inner, root, out);
    for (const Value* v : block->outputs())
      if (!defined_inside(v, root)) out.push_back(v);
  }
}
std::vector<const Value*> outer_reads(const Node* node) {
  std::vector<const Value*> out;
  outer_reads(node, node, out);
  return out;
}

// Values computable without the network input: the module object, constants, attributes and what
// follows from them alone (BatchNorm's choice of running statistics, say).
std::set<const Value*> free_values(const Graph& graph) {
  std::set<const Value*> free = {graph.inputs()[0]};
  for (const Node* node : graph.nodes()) {
    if (node->kind() == kTap) continue;
    const auto reads = outer_reads(node);
    if (std::all_of(reads.begin(), reads.end(), [&](const Value* v) { return free.count(v) > 0; }))
      for (const Value* out : node->outputs()) free.insert(out);
  }
  return free;
}

// Replaces each GetAttr of a module's bool, int, float, string or None attribute (other than `training`,
// and unless forward assigns it) by a constant, so that constant propagation removes the branches it
// selects: Conv2d's padding mode, DenseNet's memory_efficient switch, F.relu's inplace flag.
void freeze_configuration(std::shared_ptr<Graph>& shared, const torch::jit::Module& module) {
  Graph& graph = *shared;
  std::set<std::string> assigned;
  std::function<void(Block*)> find_assigned = [&](Block* block) {
    for (Node* node : block->nodes()) {
      if (node->kind() == c10::prim::SetAttr) assigned.insert(node->s(c10::attr::name));
      for (Block* inner : node->blocks()) find_assigned(inner);
    }
  };
  find_assigned(graph.block());
  std::map<const Value*, c10::IValue> objects = {{graph.inputs()[0], module._ivalue()}};
  std::function<void(Block*)> visit = [&](Block* block) {
    for (Node* node : block->nodes()) {
      for (Block* inner : node->blocks()) visit(inner);
      if (node->kind() != c10::prim::GetAttr) continue;
      const auto owner = objects.find(node->input(0));
      if (owner == objects.end()) continue;
      const std::string name = node->s(c10::attr::name);
      const auto value = owner->second.toObject()->getAttr(name);
      if (value.isObject()) {
        objects[node->output()] = value;
      } else if (name != "training" && !assigned.count(name) &&
                 (value.isBool() || value.isInt() || value.isDouble() || value.isString() || value.isNone())) {
        torch::jit::WithInsertPoint guard(node);
        node->output()->replaceAllUsesWith(graph.insertConstant(value));
      }
    }
  };
  visit(graph.block());
  torch::jit::ConstantPropagation(shared);
  torch::jit::EliminateDeadCode(shared);
}

// In-place ops on activations (relu_, add_, hardtanh_) become their functional forms, so that a tap's
// captured tensor is never overwritten later in the pass.
void functionalise(Graph& graph, const std::set<const Value*>& free) {
  std::vector<Node*> nodes(graph.nodes().begin(), graph.nodes().end());
  for (Node* node : nodes) {
    const std::string op = node->kind().is_aten() ? node->kind().toUnqualString() : "";
    if (op.size() < 2 || op.back() != '_' || op[op.size() - 2] == '_' || node->outputs().size() != 1 ||
        node->inputs().empty() || free.count(node->input(0)))
      continue;
    const auto functional = c10::Symbol::aten(op.substr(0, op.size() - 1));
    if (torch::jit::getAllOperatorsFor(functional).empty()) continue;
    torch::jit::WithInsertPoint guard(node);
    Node* replacement = graph.insertNode(graph.create(functional, node->inputs(), 1));
    replacement->output()->setType(node->output()->type());
    if (node->callstack()) replacement->setCallStack(*node->callstack());
    replacement->setSourceRange(node->sourceRange());
    node->output()->replaceAllUsesWith(replacement->output());
    node->input(0)->replaceAllUsesAfterNodeWith(node, replacement->output());
    node->destroy();
  }
}

// Any scripted classifier as an op-level network: a rewritten copy of its forward graph, inlined, with a
// prism::tap after every op that computes a tensor from the input. Names are module paths ("layer1.0.conv1");
// an op in a module with submodules is named after that module and its kind ("layer1.0.add"), one at the
// top level by its kind ("flatten"); ":k" numbers the calls of a name used more than once ("layer1.0.relu:1").
class ScriptNetwork : public Network {
 public:
  explicit ScriptNetwork(torch::jit::Module module) : module_(std::move(module)) {
    architecture_ = "torchscript";
    graph_ = module_.get_method("forward").graph()->copy();
    require(graph_->inputs().size() == 2,
            "the TorchScript model's forward takes " + std::to_string(graph_->inputs().size() - 1) +
                " inputs; prism needs a forward(x) of one image batch");
    const auto output = graph_->outputs()[0]->type();
    require(output->cast<c10::TensorType>() != nullptr,
            "the TorchScript model's forward returns " + output->annotation_str() +
                ", not one tensor of class scores [B, classes]; export a wrapper whose forward returns the logits");
    inline_own_methods();
    torch::jit::Inline(*graph_);
    freeze_configuration(graph_, module_);
    functionalise(*graph_, free_values(*graph_));
    insert_taps();
    forward_ = make_function(graph_);
  }
  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& p : module_.parameters()) out.push_back(p);
    return out;
  }
  std::optional<LayerParameters> layer_parameters(const std::string& layer) override;
  void set_training(bool training) override { module_.train(training); }
  void to(torch::Device device) override {
    module_.to(device);
    device_ = device;
  }

 protected:
  torch::Tensor run(const torch::Tensor& input, const TapSet& taps, const std::string& stop_after) override {
    auto& fn = stop_after.empty() ? *forward_ : prefix(stop_after);
    torch::jit::Stack stack{module_._ivalue(), input};
    run_with_taps(fn, stack, taps);
    return stack.at(0).toTensor();
  }
  torch::Tensor run_from(const std::string& layer, const torch::Tensor& activation, const TapSet& taps) override {
    auto& fn = rest(layer);
    torch::jit::Stack stack{module_._ivalue(), torch::Tensor(), activation};
    run_with_taps(fn, stack, taps);
    return stack.at(0).toTensor();
  }

 private:
  struct Point {
    Node* op;       // the op in graph_
    size_t output;  // which of its outputs
    std::string path, kind;
  };

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

  // The module path of the innermost module whose code holds `node` ("" for the model's own forward).
  static std::string module_path(const Node* node) {
    std::string path;
    if (auto stack = node->callstack())
      for (const auto& entry : (*stack)->vec()) {
        const auto& instance = std::get<2>(entry);
        if (!instance || instance->instance_name() == "SELF") continue;
        path += (path.empty() ? "" : ".") + instance->instance_name();
      }
    return path;
  }
  std::optional<torch::jit::Module> module_at(const std::string& path) const {
    torch::jit::Module m = module_;
    size_t start = 0;
    while (start < path.size()) {
      const size_t dot = std::min(path.find('.', start), path.size());
      const std::string name = path.substr(start, dot - start);
      if (!m.hasattr(name) || !m.attr(name).isModule()) return std::nullopt;
      m = m.attr(name).toModule();
      start = dot + 1;
    }
    return m;
  }

  // prism::tap(value, id) after `after`, with later uses of `value` routed through it.
  Node* add_tap(Node* after, Value* value, int64_t id) {
    torch::jit::WithInsertPoint guard(after->next());
    Value* id_value = graph_->insertConstant(id);
    Node* tap = graph_->insertNode(graph_->create(kTap, {value, id_value}, 1));
    tap->output()->setType(value->type());
    value->replaceAllUsesAfterNodeWith(tap, tap->output());
    return tap;
  }

  void insert_taps() {
    const auto free = free_values(*graph_);
    std::vector<Point> points;
    for (Node* node : graph_->nodes()) {
      const auto reads = outer_reads(node);
      const bool from_input = std::any_of(reads.begin(), reads.end(), [&](const Value* v) {
        return !free.count(v) && carries_tensors(v->type());
      });
      if (!from_input) continue;
      for (size_t i = 0; i < node->outputs().size(); ++i)
        if (node->output(i)->type()->cast<c10::TensorType>())
          points.push_back({node, i, module_path(node), op_kind(node)});
    }
    // Names: a leaf module's path; otherwise the enclosing module's path and the kind.
    std::vector<std::string> bases;
    std::map<std::string, int> calls;
    for (const auto& point : points) {
      const auto module = module_at(point.path);
      const bool leaf = !point.path.empty() && module && module->named_children().size() == 0;
      bases.push_back(leaf ? point.path : point.path.empty() ? point.kind : point.path + "." + point.kind);
      ++calls[bases.back()];
    }
    std::map<std::string, int> seen;
    std::map<const Value*, std::string> produced_by;  // tap output -> layer name
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& point = points[i];
      const std::string name = calls[bases[i]] > 1 ? bases[i] + ":" + std::to_string(seen[bases[i]]++) : bases[i];
      const int64_t id = static_cast<int64_t>(tap_names_.size());
      Node* after = point.output == 0 || i == 0 ? point.op : tap_nodes_.at(tap_names_.back());
      Node* tap = add_tap(after, point.op->output(point.output), id);
      tap_names_.push_back(name);
      tap_nodes_[name] = tap;
      op_nodes_[name] = point.op;
      module_paths_[name] = point.path;
      produced_by[tap->output()] = name;
      layers_.push_back({name, point.kind, false, {}});
    }
    // What each layer reads: the layers behind its op's inputs, through ops that are not layers.
    std::function<void(const Value*, std::vector<std::string>&)> sources = [&](const Value* v,
                                                                               std::vector<std::string>& out) {
      if (!carries_tensors(v->type()) || free.count(v)) return;
      if (v == graph_->inputs()[1]) {
        out.push_back("");
      } else if (const auto found = produced_by.find(v); found != produced_by.end()) {
        out.push_back(found->second);
      } else {
        for (const Value* read : outer_reads(v->node())) sources(read, out);
      }
    };
    for (auto& info : layers_) {
      std::vector<std::string> inputs;
      for (const Value* read : outer_reads(op_nodes_.at(info.name))) sources(read, inputs);
      for (const auto& name : inputs)
        if (std::find(info.inputs.begin(), info.inputs.end(), name) == info.inputs.end()) info.inputs.push_back(name);
    }
    mark_cuts();
  }

  // A tap cuts the graph when no value computed from the input before it is read after it: then the
  // rest of the model is a function of the tap's value alone.
  void mark_cuts() {
    const auto free = free_values(*graph_);
    std::vector<Node*> nodes(graph_->nodes().begin(), graph_->nodes().end());
    std::map<const Value*, size_t> last_use;
    for (size_t p = 0; p < nodes.size(); ++p)
      for (const Value* v : outer_reads(nodes[p])) last_use[v] = std::max(last_use[v], p);
    for (const Value* v : graph_->outputs()) last_use[v] = nodes.size();
    std::map<const Node*, LayerInfo*> layer_of;
    for (auto& info : layers_) layer_of[tap_nodes_.at(info.name)] = &info;
    size_t reach = last_use[graph_->inputs()[1]];
    for (size_t p = 0; p < nodes.size(); ++p) {
      if (nodes[p]->kind() == kTap) layer_of.at(nodes[p])->cut = reach <= p;
      for (const Value* v : nodes[p]->outputs())
        if (!free.count(v)) reach = std::max(reach, last_use[v]);
    }
  }

  // The position of `layer`'s tap among graph_'s nodes (copies keep node order).
  size_t tap_position(const std::string& layer) const {
    size_t position = 0;
    for (const Node* node : graph_->nodes()) {
      if (node == tap_nodes_.at(layer)) return position;
      ++position;
    }
    throw Error("internal: the tap of layer '" + layer + "' is not in the graph");
  }

  // The graph up to `layer`'s tap, returning its value: activations without running the rest.
  torch::jit::GraphFunction& prefix(const std::string& layer) {
    auto& fn = prefixes_[layer];
    if (fn) return *fn;
    auto graph = graph_->copy();
    std::vector<Node*> nodes(graph->nodes().begin(), graph->nodes().end());
    const size_t position = tap_position(layer);
    graph->eraseOutput(0);
    graph->registerOutput(nodes[position]->output());
    for (size_t i = nodes.size(); i-- > position + 1;) nodes[i]->destroy();
    torch::jit::EliminateDeadCode(graph);
    fn = make_function(graph);
    return *fn;
  }

  // The graph from `layer`'s tap to the logits, the tap's value its input (the layer is a cut).
  torch::jit::GraphFunction& rest(const std::string& layer) {
    auto& fn = rests_[layer];
    if (fn) return *fn;
    auto graph = graph_->copy();
    std::vector<Node*> nodes(graph->nodes().begin(), graph->nodes().end());
    const size_t position = tap_position(layer);
    const auto free = free_values(*graph);
    Value* activation = graph->addInput("activation");
    activation->setType(c10::TensorType::get());
    nodes[position]->output()->replaceAllUsesWith(activation);
    for (size_t i = position + 1; i-- > 0;)  // the prefix, last node first
      if (nodes[i]->outputs().empty() || !free.count(nodes[i]->output(0))) nodes[i]->destroy();
    torch::jit::EliminateDeadCode(graph);
    fn = make_function(graph);
    return *fn;
  }

  // A value the graph fixes without the input: a constant, a module attribute, a list of them.
  std::optional<c10::IValue> static_value(const Value* v) const {
    if (v == graph_->inputs()[0]) return module_._ivalue();
    if (auto constant = torch::jit::toIValue(v)) return constant;
    const Node* node = v->node();
    if (node->kind() == c10::prim::GetAttr) {
      const auto owner = static_value(node->input(0));
      if (!owner || !owner->isObject()) return std::nullopt;
      return owner->toObject()->getAttr(node->s(c10::attr::name));
    }
    if (node->kind() == c10::prim::ListConstruct) {
      std::vector<int64_t> ints;
      for (const Value* element : node->inputs()) {
        const auto value = static_value(element);
        if (!value || !value->isInt()) return std::nullopt;
        ints.push_back(value->toInt());
      }
      return c10::IValue(ints);
    }
    return std::nullopt;
  }

  torch::jit::Module module_;
  std::shared_ptr<Graph> graph_;
  std::unique_ptr<torch::jit::GraphFunction> forward_;
  std::vector<std::string> tap_names_;
  std::map<std::string, Node*> tap_nodes_, op_nodes_;
  std::map<std::string, std::string> module_paths_;
  std::map<std::string, std::unique_ptr<torch::jit::GraphFunction>> prefixes_, rests_;
};

std::optional<LayerParameters> ScriptNetwork::layer_parameters(const std::string& layer) {
  const auto found = op_nodes_.find(layer);
  if (found == op_nodes_.end()) return std::nullopt;
  const Node* node = found->second;
  const std::string op = node->kind().toUnqualString();
  auto tensor = [&](size_t index) -> std::optional<torch::Tensor> {
    const auto value = static_value(node->input(index));
    if (!value) return std::nullopt;
    if (value->isNone()) return torch::Tensor();
    if (!value->isTensor()) return std::nullopt;
    return value->toTensor();
  };
  // One size per spatial dimension (`dims`: 2 for conv2d, 1 for conv1d): (2, 2), [2, 2] or 2 → {2, 2}; nullopt for
  // anything else (padding='same').
  auto sizes = [&](size_t index, size_t dims) -> std::optional<std::vector<int64_t>> {
    const auto value = static_value(node->input(index));
    if (!value) return std::nullopt;
    std::vector<int64_t> list;
    if (value->isInt()) list = {value->toInt()};
    if (value->isIntList()) list = value->toIntVector();
    if (list.size() == 1) list.resize(dims, list[0]);
    if (list.size() != dims) return std::nullopt;
    return list;
  };
  LayerParameters p;
  p.kind = op_kind(node);
  if (p.kind == "conv") {
    const bool general = op == "_convolution";  // (input, weight, bias, stride, padding, dilation, transposed, ..., groups)
    const auto weight = tensor(1), bias = tensor(2);
    if (!weight || !weight->defined() || (weight->dim() != 4 && weight->dim() != 3)) return std::nullopt;
    const size_t dims = weight->dim() - 2;
    const auto stride = sizes(3, dims), padding = sizes(4, dims), dilation = sizes(5, dims);
    const auto groups = static_value(node->input(general ? 8 : 6));
    if (general) {
      const auto transposed = static_value(node->input(6));
      if (!transposed || !transposed->isBool() || transposed->toBool()) return std::nullopt;
    }
    if (!bias || !stride || !padding || !dilation || !groups || !groups->isInt())
      return std::nullopt;
    p.weight = *weight;
    p.bias = *bias;
    p.stride = *stride;
    p.padding = *padding;
    p.dilation = *dilation;
    p.groups = groups->toInt();
  } else if (p.kind == "linear") {
    const auto weight = tensor(1), bias = tensor(2);
    if (!weight || !weight->defined() || !bias) return std::nullopt;
    p.weight = *weight;
    p.bias = *bias;
  } else if (p.kind == "batchnorm") {
    // The running statistics are chosen by `training` inside the module: read them off the module.
    const auto module = module_at(module_paths_.at(layer));
    const auto eps = static_value(node->input(7));
    if (!module || !eps || !eps->isDouble()) return std::nullopt;
    auto attribute = [&](const char* name) {
      return module->hasattr(name) && module->attr(name).isTensor() ? module->attr(name).toTensor() : torch::Tensor();
    };
    p.weight = attribute("weight");
    p.bias = attribute("bias");
    p.running_mean = attribute("running_mean");
    p.running_var = attribute("running_var");
    p.eps = eps->toDouble();
    if (!p.running_mean.defined() || !p.running_var.defined()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return p;
}

// The TorchScript interpreter's errors open with "The following operation failed ..." and a traceback; the
// cause is the last line naming an error ("RuntimeError: mat1 and mat2 shapes cannot be multiplied ...").
std::string interpreter_error(const std::exception& e) {
  const std::string message = e.what();
  std::string cause = first_line(e);
  size_t start = 0;
  while (start < message.size()) {
    const size_t end = std::min(message.find('\n', start), message.size());
    const std::string line = message.substr(start, end - start);
    if (line.find("Error: ") != std::string::npos) cause = line.substr(line.find_first_not_of(' '));
    start = end + 1;
  }
  return cause;
}

}  // namespace

std::unique_ptr<Network> load_torchscript(const std::filesystem::path& path, const std::vector<int64_t>& input_shape) {
  require(std::filesystem::exists(path), "model file not found: " + path.string());
  return torch_script_network(
      load_checked_archive(path, "; give a model saved with torch.jit.save(torch.jit.script(model), path)"),
      input_shape, "the TorchScript model " + path.string());
}

std::unique_ptr<Network> torch_script_network(torch::jit::Module module, const std::vector<int64_t>& input_shape,
                                              const std::string& source) {
  module.eval();
  std::unique_ptr<Network> network;
  try {
    network = std::make_unique<ScriptNetwork>(module);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("cannot map the layers of " + source + " (" + first_line(e) +
                "); give a scripted module whose forward(x) takes one image batch");
  }
  set_metadata(*network, input_shape, 2, {}, {});
  if (input_shape.empty()) return network;  // layers and graph only: no forward pass without a shape
  torch::NoGradGuard no_grad;
  torch::Tensor logits;
  try {
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    logits = network->forward(torch::zeros(shape));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(source + " fails on " + sample_noun(input_shape.size()) + "s of shape " +
                shape_string(input_shape) + " (" + interpreter_error(e) + "); give data of the size it was made for");
  }
  require(!(logits.dim() == 2 && logits.size(1) == 1),
          source + " returns one logit per image; prism needs one score per class: for a binary classifier export a "
              "model whose forward returns torch.cat([-z, z], 1)");
  require(logits.dim() == 2 && logits.size(1) >= 2,
          source + " returns " + shape_string(logits.sizes()) +
              ", not class scores [B, classes]");
  set_metadata(*network, input_shape, logits.size(1), {}, {});
  return network;
}

}  // namespace prism
