#include "prism/explain/data/arnoldi_influence.h"

#include <ATen/CPUGeneratorImpl.h>

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/data/catalog.h"
#include "prism/explain/data/parameter_gradients.h"

namespace prism {

std::pair<torch::Tensor, torch::Tensor> arnoldi_eigenpairs(const std::function<torch::Tensor(const torch::Tensor&)>& apply,
                                                           int64_t size, int64_t n, int64_t k, uint64_t seed) {
  require(n >= 1 && k >= 1 && k <= n, "arnoldi: give 1 <= projection_dim <= arnoldi_dim");
  n = std::min(n, size);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto q = at::randn({size}, generator, torch::kDouble);
  std::vector<torch::Tensor> basis = {q / q.norm()};
  auto hessenberg = torch::zeros({n + 1, n}, torch::kDouble);
  Progress progress("Arnoldi iterations", n);
  int64_t steps = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto w = apply(basis[i].to(torch::kFloat32)).to(torch::kDouble);
    // Gram–Schmidt against the whole basis, twice (Alg. 1 with re-orthogonalisation, for a basis that stays
    // orthogonal in floating point).
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t j = 0; j <= i; ++j) {
        const auto h = basis[j].dot(w);
        hessenberg[j][i] += h;
        w -= h * basis[j];
      }
    const double norm = w.norm().item<double>();
    steps = i + 1;
    progress.advance(1);
    if (norm < 1e-10) break;  // the Krylov space is invariant: its eigenpairs are exact
    hessenberg[i + 1][i] = norm;
    basis.push_back(w / norm);
  }
  progress.finish();
  // H is symmetric, so the projected matrix is too up to rounding: take its symmetric part (Alg. 2).
  const auto square = hessenberg.narrow(0, 0, steps).narrow(1, 0, steps);
  const auto [values, vectors] = torch::linalg_eigh((square + square.t()) / 2);  // ascending
  const auto top = values.flip(0).narrow(0, 0, std::min(k, steps));
  const auto keep = (top > 0).sum().item<int64_t>();
  require(keep > 0, "arnoldi: the Hessian has no positive eigenvalue in the Krylov space; raise arnoldi_dim");
  const auto ritz = vectors.flip(1).narrow(1, 0, keep);                          // [steps, keep]
  const auto q_matrix = torch::stack(std::vector<torch::Tensor>(basis.begin(), basis.begin() + steps));  // [steps, P]
  return {top.narrow(0, 0, keep).to(torch::kFloat32), ritz.t().matmul(q_matrix).to(torch::kFloat32)};
}

ArnoldiInfluence::ArnoldiInfluence(ArnoldiOptions options) : options_(std::move(options)) {
  require(options_.arnoldi_dim >= 1, "arnoldi: arnoldi_dim must be at least 1");
  require(options_.projection_dim >= 1 && options_.projection_dim <= options_.arnoldi_dim,
          "arnoldi: projection_dim must lie in [1, arnoldi_dim]");
  require(options_.hessian_samples >= 0, "arnoldi: hessian_samples must be 0 (all) or positive");
}

torch::Tensor ArnoldiInfluence::project(Network& network, const torch::Tensor& images, const torch::Tensor& labels,
                                        const std::string& label) const {
  const auto scaled = eigenvectors_ / eigenvalues_.sqrt().unsqueeze(1);  // λ^{-1/2} U, [k, P]
  return projected_gradients(network, gradient_parameters(network, options_.layers), images, labels,
                             [&scaled](const torch::Tensor& g) { return g.matmul(scaled.t()); }, label)
      .gradients;
}

void ArnoldiInfluence::fit(Network& network, const Dataset& train) {
  network.set_training(false);
  const auto parameters = gradient_parameters(network, options_.layers);
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  const auto hessian_data = random_subset(train, options_.hessian_samples, options_.seed);
  std::tie(eigenvalues_, eigenvectors_) = arnoldi_eigenpairs(
      [&](const torch::Tensor& v) {
        return hessian_vector_product(network, parameters, hessian_data.images, hessian_data.labels, v, 0.0);
      },
      size, options_.arnoldi_dim, options_.projection_dim, options_.seed + 1);
  projections_ = project(network, train.images, train.labels, "projected gradients of " + train.name);
}

torch::Tensor ArnoldiInfluence::attribute(Network& network, const torch::Tensor& inputs, const torch::Tensor& targets) {
  require(projections_.defined(), "arnoldi is not fitted");
  return project(network, inputs, targets).matmul(projections_.t());
}

void ArnoldiInfluence::set_state(const std::map<std::string, torch::Tensor>& state) {
  eigenvalues_ = state.at("eigenvalues"), eigenvectors_ = state.at("eigenvectors"), projections_ = state.at("projections");
  require(eigenvalues_.dim() == 1 && eigenvectors_.dim() == 2 && projections_.dim() == 2 &&
              eigenvectors_.size(0) == eigenvalues_.size(0) && projections_.size(1) == eigenvalues_.size(0) &&
              (eigenvalues_ > 0).all().item<bool>(),
          "the Arnoldi fit's arrays do not fit together; re-run the fit");
}

}  // namespace prism
