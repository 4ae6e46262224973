#include "prism/explain/data/parameter_gradients.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <map>
#include <optional>

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/core/ranks.h"

namespace prism {

std::vector<torch::Tensor> layer_parameter_tensors(Network& network, const std::vector<std::string>& layers) {
  std::vector<torch::Tensor> out;
  for (const auto& name : layers) {
    network.layer(name);  // an unknown layer fails with the list
    const auto p = network.layer_parameters(name);
    require(p.has_value(), "layer '" + name + "' has no parameters prism can read; choose conv, linear or batchnorm layers");
    // Differentiated explicitly, whatever the model file says (exported models often freeze every parameter).
    out.push_back(p->weight.requires_grad_(true));
    if (p->bias.defined()) out.push_back(p->bias.requires_grad_(true));
  }
  return out;
}

std::vector<torch::Tensor> gradient_parameters(Network& network, const std::vector<std::string>& layers) {
  if (!layers.empty()) return layer_parameter_tensors(network, layers);
  std::vector<torch::Tensor> parameters;
  for (auto& p : network.parameters()) parameters.push_back(p.requires_grad_(true));
  return parameters;
}

CountSketch::CountSketch(int64_t coordinates, int64_t k, uint64_t seed) : k_(k) {
  require(k >= 1, "a count sketch needs at least one bucket");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  bucket_ = at::randint(k, {coordinates}, generator, torch::kInt64);
  sign_ = at::randint(2, {coordinates}, generator, torch::kFloat32) * 2 - 1;
}

torch::Tensor CountSketch::apply(const torch::Tensor& rows) const {
  require(rows.dim() == 2 && rows.size(1) == bucket_.size(0), "the count sketch was made for " +
                                                                  std::to_string(bucket_.size(0)) + " coordinates");
  return torch::zeros({rows.size(0), k_}, rows.options()).index_add_(1, bucket_, rows * sign_.to(rows.dtype()));
}

SketchedGradients projected_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                      const torch::Tensor& images, const torch::Tensor& labels,
                                      const std::function<torch::Tensor(const torch::Tensor&)>& project,
                                      const std::string& progress_label) {
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  // Chunks of at most 2^26 gradient values (256 MiB), so large networks fit in memory. Over MPI ranks each computes
  // a share of whole chunks and every rank receives all the rows.
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 26) / std::max<int64_t>(size, 1), 1, 256);
  const auto mine = ranks::share(images.size(0), chunk);
  std::vector<torch::Tensor> rows, norms;
  Progress progress(progress_label, images.size(0));
  for (int64_t s = mine.begin; s < mine.end; s += chunk) {
    const int64_t c = std::min(chunk, mine.end - s);
    const auto g = per_example_gradients(network, parameters, images.narrow(0, s, c), labels.narrow(0, s, c));
    norms.push_back(g.pow(2).sum(1).to(torch::kCPU, torch::kFloat32));
    rows.push_back(project(g).to(torch::kFloat32));
    progress.advance(c * ranks::count());
  }
  progress.finish();
  SketchedGradients out;
  out.gradients = ranks::all_gather_rows(rows.empty() ? project(torch::zeros({0, size})).to(torch::kFloat32)
                                                      : torch::cat(rows));
  out.squared_norms = ranks::all_gather_rows(norms.empty() ? torch::empty({0}) : torch::cat(norms));
  return out;
}

SketchedGradients sketched_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, int64_t projection_dim,
                                     uint64_t seed, const std::string& progress_label) {
  require(projection_dim >= 0, "projection_dim must be 0 (the exact gradients) or positive");
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  if (projection_dim == 0)
    return projected_gradients(network, parameters, images, labels, [](const torch::Tensor& g) { return g; },
                               progress_label);
  const CountSketch sketch(size, projection_dim, seed);
  return projected_gradients(network, parameters, images, labels,
                             [&sketch](const torch::Tensor& g) { return sketch.apply(g); }, progress_label);
}

namespace {

// Where a parameter lives: the layer whose weight or bias it is.
struct ParameterSite {
  std::string layer;
  bool weight = true;
};

// Each parameter's layer, where every one is the weight or bias of a linear, 2-D conv (groups 1) or batchnorm layer
// that reads one layer's output; nullopt otherwise.
std::optional<std::vector<ParameterSite>> parameter_sites(Network& network, const std::vector<torch::Tensor>& parameters) {
  std::vector<ParameterSite> sites;
  for (const auto& p : parameters) {
    std::optional<ParameterSite> found;
    for (const auto& layer : network.layers()) {
      if (layer.kind != "linear" && layer.kind != "conv" && layer.kind != "batchnorm") continue;
      const auto lp = network.layer_parameters(layer.name);
      if (!lp || layer.inputs.size() != 1) continue;
      if (lp->kind == "conv" && (lp->weight.dim() != 4 || lp->groups != 1)) continue;
      if (lp->weight.defined() && lp->weight.is_same(p)) found = ParameterSite{layer.name, true};
      if (lp->bias.defined() && lp->bias.is_same(p)) found = ParameterSite{layer.name, false};
      if (found) break;
    }
    if (!found) return std::nullopt;
    sites.push_back(*found);
  }
  return sites;
}

// One batched backward pass (Goodfellow 2015, "Efficient per-example gradient computations"): each layer's
// per-sample weight gradient from its input a and its output's gradient δ — linear δᵀa, conv δ·unfold(a)ᵀ,
// batchnorm Σ δ·x̂ (and Σ δ for every bias). Nullopt where a layer ran more than once.
std::optional<torch::Tensor> batched_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                               const std::vector<ParameterSite>& sites, const torch::Tensor& images,
                                               const torch::Tensor& labels) {
  std::vector<std::string> layers;
  for (const auto& site : sites)
    if (std::find(layers.begin(), layers.end(), site.layer) == layers.end()) layers.push_back(site.layer);
  std::map<std::string, torch::Tensor> inputs, outputs;
  std::map<std::string, int> calls;
  TapSet taps;
  for (const auto& name : layers) {
    const auto source = network.layer(name).inputs[0];
    if (!source.empty()) taps.on(source, [&inputs, name](const torch::Tensor& a) { return inputs[name] = a; });
    taps.on(name, [&outputs, &calls, name](const torch::Tensor& out) {
      ++calls[name];
      return outputs[name] = out;
    });
  }
  const auto loss = torch::nn::functional::cross_entropy(network.forward(images, taps), labels,
                                                         torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  for (const auto& name : layers) {
    if (calls[name] != 1) return std::nullopt;
    if (network.layer(name).inputs[0].empty()) inputs[name] = normalize(images, network.normalization());
  }
  std::vector<torch::Tensor> outs;
  for (const auto& name : layers) outs.push_back(outputs.at(name));
  const auto deltas = torch::autograd::grad({loss}, outs);
  const int64_t B = images.size(0);
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  // Each parameter's per-sample gradients are written straight into their columns of the result: at a million
  // parameters the pass is bound by memory traffic, not arithmetic.
  auto out = torch::empty({B, size}, torch::kFloat32);
  int64_t offset = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& name = sites[i].layer;
    const auto delta = deltas[std::find(layers.begin(), layers.end(), name) - layers.begin()].to(torch::kFloat32);
    const auto a = inputs.at(name).detach().to(torch::kFloat32);
    const auto lp = *network.layer_parameters(name);
    const auto columns = out.narrow(1, offset, parameters[i].numel());
    offset += parameters[i].numel();
    if (!sites[i].weight) {
      columns.copy_(lp.kind == "linear" ? delta.reshape({B, -1, delta.size(-1)}).sum(1)
                                        : delta.reshape({B, delta.size(1), -1}).sum(2));
    } else if (lp.kind == "linear") {
      // An outer product per sample where the layer sees one vector (a broadcast product: GEMM kernels are slow at
      // an inner size of 1), a sum of them over the extra positions otherwise.
      auto target = columns.view({B, delta.size(-1), a.size(-1)});
      if (delta.dim() == 2)
        torch::mul_out(target, delta.unsqueeze(2), a.unsqueeze(1));
      else
        target.copy_(torch::bmm(delta.reshape({B, -1, delta.size(-1)}).transpose(1, 2), a.reshape({B, -1, a.size(-1)})));
    } else if (lp.kind == "conv") {
      const auto& w = lp.weight;
      const auto patches = torch::nn::functional::unfold(
          a, torch::nn::functional::UnfoldFuncOptions({w.size(2), w.size(3)})
                 .dilation(lp.dilation).padding(lp.padding).stride(lp.stride));  // [B, C_in·kh·kw, L]
      columns.copy_(torch::bmm(delta.flatten(2), patches.transpose(1, 2)).reshape({B, -1}));
    } else {  // batchnorm in evaluation mode: y = γ x̂ + β
      auto shape = std::vector<int64_t>(a.dim(), 1);
      shape[1] = -1;
      const auto normalised = (a - lp.running_mean.view(shape)) / (lp.running_var.view(shape) + lp.eps).sqrt();
      columns.copy_((delta * normalised).reshape({B, delta.size(1), -1}).sum(2));
    }
  }
  return out;
}

}  // namespace

std::optional<torch::Tensor> batched_per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                                           const torch::Tensor& images, const torch::Tensor& labels) {
  network.set_training(false);
  const auto sites = parameter_sites(network, parameters);
  if (!sites) return std::nullopt;
  return batched_gradients(network, parameters, *sites, images, labels);
}

torch::Tensor per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                    const torch::Tensor& images, const torch::Tensor& labels) {
  network.set_training(false);
  if (images.size(0) == 0) return per_example_gradients_by_sample(network, parameters, images, labels);
  if (auto batched = batched_per_example_gradients(network, parameters, images, labels)) {
      // A check on the first sample against its own backward pass guards against what the layer table cannot
      // show (a padding mode, a weight used twice): where they differ, every sample gets its own pass.
      const auto first = per_example_gradients_by_sample(network, parameters, images.narrow(0, 0, 1), labels.narrow(0, 0, 1));
      if (torch::allclose((*batched)[0], first[0], 1e-3, 1e-5 * first.abs().max().item<double>() + 1e-12)) return *batched;
  }
  return per_example_gradients_by_sample(network, parameters, images, labels);
}

torch::Tensor per_example_gradients_by_sample(Network& network, const std::vector<torch::Tensor>& parameters,
                                              const torch::Tensor& images, const torch::Tensor& labels) {
  network.set_training(false);
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  auto out = torch::empty({images.size(0), size}, torch::kFloat32);
  for (int64_t b = 0; b < images.size(0); ++b) {
    const auto loss = torch::nn::functional::cross_entropy(network.forward(images.narrow(0, b, 1)), labels.narrow(0, b, 1));
    const auto grads = torch::autograd::grad({loss}, parameters);
    int64_t offset = 0;
    for (const auto& g : grads) {
      out[b].narrow(0, offset, g.numel()).copy_(g.flatten());
      offset += g.numel();
    }
  }
  return out;
}

torch::Tensor hessian_vector_product(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& v,
                                     double damping, int64_t batch_size) {
  network.set_training(false);
  auto total = torch::zeros_like(v);
  const double n = static_cast<double>(images.size(0));
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t count = std::min(batch_size, images.size(0) - start);
    // Sum of the batch's losses / N, so the batches add up to the mean loss's Hessian.
    const auto loss = torch::nn::functional::cross_entropy(
                          network.forward(images.narrow(0, start, count)), labels.narrow(0, start, count),
                          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) / n;
    const auto grads = torch::autograd::grad({loss}, parameters, {}, true, true);
    torch::Tensor dot = torch::zeros({}, v.options());
    int64_t offset = 0;
    for (const auto& g : grads) {
      dot = dot + (g.flatten() * v.narrow(0, offset, g.numel()).to(g.dtype())).sum();
      offset += g.numel();
    }
    const auto second = torch::autograd::grad({dot}, parameters);
    offset = 0;
    for (const auto& s : second) {
      total.narrow(0, offset, s.numel()) += s.flatten().to(total.dtype());
      offset += s.numel();
    }
  }
  return total + damping * v;
}

torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& apply, const torch::Tensor& b,
                                 int64_t max_iterations, double tolerance) {
  auto x = torch::zeros_like(b);
  auto r = b.clone(), p = b.clone();
  double rr = r.dot(r).item<double>();
  const double stop = tolerance * tolerance * rr;
  for (int64_t i = 0; i < max_iterations && rr > stop; ++i) {
    const auto Ap = apply(p);
    const double alpha = rr / p.dot(Ap).item<double>();
    x += alpha * p;
    r -= alpha * Ap;
    const double next = r.dot(r).item<double>();
    p = r + (next / rr) * p;
    rr = next;
  }
  return x;
}

}  // namespace prism
