#include "prism/explain/data/crammer_singer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "prism/core/error.h"
#include "prism/core/progress.h"
#include "prism/explain/data/last_layer.h"

namespace prism {
namespace {

// The exact solution of one sample's sub-problem over its `active` classes (Crammer & Singer 2001;
// Keerthi et al. 2008, Alg. 3): min ½ A ‖α‖² + B·α subject to the sample's constraints. `yi` is the
// position of the true class among the active ones (active if yi < active).
void solve_sub_problem(double A, int64_t yi, double C, int64_t active, const std::vector<double>& B,
                       std::vector<double>& D, std::vector<double>& alpha_new) {
  D.assign(B.begin(), B.begin() + active);
  if (yi < active) D[yi] += A * C;
  std::sort(D.begin(), D.end(), std::greater<>());
  double beta = D[0] - A * C;
  int64_t r = 1;
  for (; r < active && beta < static_cast<double>(r) * D[r]; ++r) beta += D[r];
  beta /= static_cast<double>(r);
  for (int64_t m = 0; m < active; ++m)
    alpha_new[m] = m == yi ? std::min(C, (beta - B[m]) / A) : std::min(0.0, (beta - B[m]) / A);
}

}  // namespace

double crammer_singer_primal(const torch::Tensor& weight, const torch::Tensor& features, const torch::Tensor& labels,
                             double C) {
  // In blocks of rows: no float64 copy of all the features.
  double hinge = 0;
  for (int64_t begin = 0; begin < features.size(0); begin += 16384) {
    const int64_t size = std::min<int64_t>(16384, features.size(0) - begin);
    auto x = features.narrow(0, begin, size).to(torch::kFloat64);
    if (x.size(1) + 1 == weight.size(1)) x = with_constant_feature(x);  // the weight's last column is the bias
    const auto y = labels.narrow(0, begin, size);
    const auto scores = x.matmul(weight.t());  // [b, K]
    const auto margins = 1 - torch::one_hot(y, weight.size(0)).to(torch::kFloat64) + scores - scores.gather(1, y.unsqueeze(1));
    hinge += std::get<0>(margins.max(1)).sum().item<double>();
  }
  return 0.5 * weight.pow(2).sum().item<double>() + C * hinge;
}

namespace {

// Each sample's non-zero features (ReLU features are sparse), as LIBLINEAR stores them, in the features' own
// float type (float32 features cost 8 bytes per non-zero, not a float64 copy of the dense matrix); with `bias`, a
// constant feature 1 after the last.
template <typename Value>
struct SparseRows {
  std::vector<int64_t> row_start;
  std::vector<int32_t> column;
  std::vector<Value> value;

  SparseRows(const torch::Tensor& dense, bool bias) : row_start(dense.size(0) + 1, 0) {
    const int64_t n = dense.size(0), d = dense.size(1);
    const Value* X = dense.data_ptr<Value>();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d; ++j)
        if (X[i * d + j] != 0) column.push_back(static_cast<int32_t>(j)), value.push_back(X[i * d + j]);
      if (bias) column.push_back(static_cast<int32_t>(d)), value.push_back(1);
      row_start[i + 1] = static_cast<int64_t>(column.size());
    }
  }
};

template <typename Value>
CrammerSingerResult solve(const torch::Tensor& x, const torch::Tensor& labels, int64_t K, const CrammerSingerOptions& o) {
  const int64_t n = x.size(0), d = x.size(1) + (o.bias ? 1 : 0);
  const int64_t* Y = labels.data_ptr<int64_t>();
  const SparseRows<Value> rows(x, o.bias);
  const auto& row_start = rows.row_start;
  const auto& column = rows.column;
  const auto& value = rows.value;

  // Weights stored feature-major ([d, K]) as LIBLINEAR does, so one sample's update touches contiguous rows.
  std::vector<double> alpha(n * K, 0.0), w(d * K, 0.0), QD(n), G(K), B(K), D(K), alpha_new(K);
  std::vector<int32_t> alpha_index(n * K);  // each sample's classes, active first (K < 2^31)
  std::vector<int64_t> y_index(n), active_size_i(n, K), index(n), d_ind(K);
  std::vector<double> d_val(K);
  for (int64_t i = 0; i < n; ++i) {
    std::iota(alpha_index.begin() + i * K, alpha_index.begin() + (i + 1) * K, 0);
    QD[i] = 0;
    for (int64_t e = row_start[i]; e < row_start[i + 1]; ++e) QD[i] += static_cast<double>(value[e]) * value[e];
    y_index[i] = Y[i];
    index[i] = i;
  }
  std::mt19937_64 random(o.seed);
  int64_t active_size = n, iteration = 0;
  double eps_shrink = std::max(10.0 * o.tolerance, 1.0), last_full_violation = std::numeric_limits<double>::infinity();
  bool start_from_all = true, converged = false;
  // A variable at its bound whose gradient points outward stays there: skip it until the next full pass.
  auto be_shrunk = [&](int64_t m, int64_t yi, double value, double minG) {
    const double bound = m == yi ? o.C : 0.0;
    return o.shrinking && value == bound && G[m] < minG;
  };
  Progress progress("Crammer-Singer SVM", o.max_iterations, "passes");
  while (iteration < o.max_iterations) {
    double stopping = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < active_size; ++i)
      std::swap(index[i], index[i + static_cast<int64_t>(random() % static_cast<uint64_t>(active_size - i))]);
    for (int64_t s = 0; s < active_size; ++s) {
      const int64_t i = index[s];
      const double Ai = QD[i];
      if (Ai <= 0) continue;
      double* alpha_i = &alpha[i * K];
      int32_t* alpha_index_i = &alpha_index[i * K];
      int64_t& active = active_size_i[i];
      for (int64_t m = 0; m < active; ++m) G[m] = 1;
      if (y_index[i] < active) G[y_index[i]] = 0;
      for (int64_t e = row_start[i]; e < row_start[i + 1]; ++e) {
        const double* w_j = &w[column[e] * K];
        for (int64_t m = 0; m < active; ++m) G[m] += w_j[alpha_index_i[m]] * value[e];
      }
      double minG = std::numeric_limits<double>::infinity(), maxG = -minG;
      for (int64_t m = 0; m < active; ++m) {
        if (alpha_i[alpha_index_i[m]] < 0 && G[m] < minG) minG = G[m];
        if (G[m] > maxG) maxG = G[m];
      }
      if (y_index[i] < active && alpha_i[Y[i]] < o.C && G[y_index[i]] < minG) minG = G[y_index[i]];
      for (int64_t m = 0; m < active; ++m) {
        if (!be_shrunk(m, y_index[i], alpha_i[alpha_index_i[m]], minG)) continue;
        --active;
        while (active > m) {
          if (!be_shrunk(active, y_index[i], alpha_i[alpha_index_i[active]], minG)) {
            std::swap(alpha_index_i[m], alpha_index_i[active]);
            std::swap(G[m], G[active]);
            if (y_index[i] == active) y_index[i] = m;
            else if (y_index[i] == m) y_index[i] = active;
            break;
          }
          --active;
        }
      }
      if (active <= 1) {
        --active_size;
        std::swap(index[s], index[active_size]);
        --s;
        continue;
      }
      if (maxG - minG <= 1e-12) continue;
      stopping = std::max(stopping, maxG - minG);
      for (int64_t m = 0; m < active; ++m) B[m] = G[m] - Ai * alpha_i[alpha_index_i[m]];
      solve_sub_problem(Ai, y_index[i], o.C, active, B, D, alpha_new);
      int64_t nonzero = 0;
      for (int64_t m = 0; m < active; ++m) {
        const double change = alpha_new[m] - alpha_i[alpha_index_i[m]];
        alpha_i[alpha_index_i[m]] = alpha_new[m];
        if (std::abs(change) >= 1e-12) d_ind[nonzero] = alpha_index_i[m], d_val[nonzero] = change, ++nonzero;
      }
      for (int64_t e = row_start[i]; e < row_start[i + 1]; ++e) {
        double* w_j = &w[column[e] * K];
        for (int64_t m = 0; m < nonzero; ++m) w_j[d_ind[m]] += d_val[m] * value[e];
      }
    }
    ++iteration;
    progress.advance(1, {{"violation", std::to_string(stopping)}});
    if (stopping < eps_shrink) {
      if (start_from_all) last_full_violation = std::max(stopping, 0.0);
      if (stopping < o.tolerance && start_from_all) {
        converged = true;
        break;
      }
      // Converged on the shrunk problem: check again on all variables, with a tighter shrinking threshold.
      active_size = n;
      std::fill(active_size_i.begin(), active_size_i.end(), K);
      eps_shrink = std::max(eps_shrink / 2, o.tolerance);
      start_from_all = true;
    } else {
      if (start_from_all) last_full_violation = stopping;
      start_from_all = false;
    }
  }
  progress.finish({{"passes", std::to_string(iteration)}});

  CrammerSingerResult result;
  result.alpha = torch::from_blob(alpha.data(), {n, K}, torch::kFloat64).clone();
  result.weight = torch::from_blob(w.data(), {d, K}, torch::kFloat64).t().contiguous();
  result.iterations = iteration;
  result.max_violation = last_full_violation;
  result.converged = converged;
  result.primal = crammer_singer_primal(result.weight, x, labels, o.C);
  const auto e = 1 - torch::one_hot(labels, K).to(torch::kFloat64);
  result.dual = -(0.5 * result.weight.pow(2).sum().item<double>() + (e * result.alpha).sum().item<double>());
  result.duality_gap = result.primal - result.dual;
  return result;
}

}  // namespace

CrammerSingerResult solve_crammer_singer(const torch::Tensor& features, const torch::Tensor& labels_in,
                                         int64_t num_classes, const CrammerSingerOptions& o) {
  require(o.C > 0, "C must be positive (got " + std::to_string(o.C) + ")");
  require(o.tolerance > 0 && o.max_iterations >= 1, "the solver's tolerance and iteration cap must be positive");
  require(features.dim() == 2 && labels_in.dim() == 1 && features.size(0) == labels_in.size(0),
          "the SVM needs features [N, d] and labels [N]");
  require(num_classes >= 2, "the SVM needs at least two classes");
  require(features.size(1) < std::numeric_limits<int32_t>::max() && num_classes < std::numeric_limits<int32_t>::max(),
          "the SVM takes fewer than 2^31 features and classes");
  const auto labels = labels_in.to(torch::kCPU, torch::kInt64).contiguous();
  require(labels.numel() == 0 || (labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < num_classes),
          "labels must lie in [0, " + std::to_string(num_classes) + ")");
  // Float32 features stay float32 (every product is taken in float64, exactly as from a float64 copy).
  if (features.scalar_type() == torch::kFloat32)
    return solve<float>(features.to(torch::kCPU).contiguous(), labels, num_classes, o);
  return solve<double>(features.to(torch::kCPU, torch::kFloat64).contiguous(), labels, num_classes, o);
}

}  // namespace prism
