#include "prism/explain/data/parameter_gradients.h"

#include "prism/core/error.h"

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
