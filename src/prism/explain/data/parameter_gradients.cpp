#include "prism/explain/data/parameter_gradients.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <optional>

#include "prism/core/error.h"
#include "prism/core/progress.h"

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

SketchedGradients sketched_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
                                     const torch::Tensor& images, const torch::Tensor& labels, int64_t projection_dim,
                                     uint64_t seed, const std::string& progress_label) {
  require(projection_dim >= 0, "projection_dim must be 0 (the exact gradients) or positive");
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  std::optional<CountSketch> sketch;
  if (projection_dim > 0) sketch.emplace(size, projection_dim, seed);
  SketchedGradients out{torch::empty({images.size(0), sketch ? projection_dim : size}, torch::kFloat32),
                        torch::empty({images.size(0)}, torch::kFloat32)};
  // Chunks of at most 2^26 gradient values (256 MiB), so large networks fit in memory.
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 26) / std::max<int64_t>(size, 1), 1, 256);
  Progress progress(progress_label, images.size(0));
  for (int64_t s = 0; s < images.size(0); s += chunk) {
    const int64_t c = std::min(chunk, images.size(0) - s);
    const auto g = per_example_gradients(network, parameters, images.narrow(0, s, c), labels.narrow(0, s, c));
    out.squared_norms.narrow(0, s, c).copy_(g.pow(2).sum(1));
    out.gradients.narrow(0, s, c).copy_(sketch ? sketch->apply(g) : g);
    progress.advance(c);
  }
  progress.finish();
  return out;
}

torch::Tensor per_example_gradients(Network& network, const std::vector<torch::Tensor>& parameters,
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
