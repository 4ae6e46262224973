#include "prism/explain/concept/tcav.h"

#include <ATen/CPUGeneratorImpl.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>

#include "prism/core/error.h"
#include "prism/model/inference.h"

namespace prism {
namespace {

torch::Tensor seeded_permutation(int64_t n, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randperm(n, generator, torch::kInt64);
}

// The layer's activations of `images`, flattened to [N, D] float32.
torch::Tensor layer_activations(Network& network, const torch::Tensor& images, const std::string& layer,
                                int64_t batch_size) {
  InferenceOptions inference;
  inference.batch_size = batch_size;
  return infer(network, images, {layer}, inference)[0].flatten(1).to(torch::kFloat);
}

// `rows`' indices split per class into held-out and training parts, stratified.
std::pair<torch::Tensor, torch::Tensor> stratified_split(int64_t first, int64_t count, double held_out,
                                                         uint64_t seed) {
  const auto order = seeded_permutation(count, seed) + first;
  const auto held = std::min<int64_t>(count - 2, static_cast<int64_t>(std::llround(held_out * count)));
  return {order.narrow(0, held, count - held), order.narrow(0, 0, held)};
}

std::vector<double> as_doubles(const torch::Tensor& values) {
  const auto v = values.to(torch::kDouble).contiguous();
  return {v.data_ptr<double>(), v.data_ptr<double>() + v.numel()};
}

nlohmann::json tensor_json(const torch::Tensor& t) {
  if (t.dim() == 0) return t.item<double>();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(tensor_json(t[i]));
  return out;
}

torch::Tensor json_tensor(const nlohmann::json& value, const std::vector<int64_t>& shape) {
  std::vector<double> flat;
  std::function<void(const nlohmann::json&)> collect = [&](const nlohmann::json& v) {
    if (v.is_array())
      for (const auto& item : v) collect(item);
    else
      flat.push_back(v.get<double>());
  };
  collect(value);
  int64_t size = 1;
  for (auto s : shape) size *= s;
  require(static_cast<int64_t>(flat.size()) == size, "the TCAV record's arrays do not match its concepts and outputs");
  return torch::tensor(flat, torch::kDouble).view(shape).to(torch::kFloat);
}

}  // namespace

void check_tcav_options(const TcavOptions& o) {
  require(o.random_sets >= 2, "random_sets: TCAV's t-test needs at least 2 random sets (got " +
                                  std::to_string(o.random_sets) + ")");
  require(o.examples_per_set >= 4, "examples_per_set: a CAV needs at least 4 examples per set (got " +
                                       std::to_string(o.examples_per_set) + ")");
  require(o.inputs_per_output >= 1, "inputs_per_output must be at least 1");
  require(o.l2 >= 0 && std::isfinite(o.l2), "l2: the penalty must be finite and not negative");
  require(o.held_out >= 0 && o.held_out < 1, "held_out must lie in [0, 1)");
  require(o.alpha > 0 && o.alpha < 1, "alpha: the significance level must lie in (0, 1)");
  require(o.batch_size >= 1, "batch_size must be at least 1");
}

std::string default_tcav_layer(const Network& network) {
  const auto activations = activation_layers(network);
  return activations.size() >= 2 ? activations[activations.size() - 2] : penultimate_layer(network);
}

TcavOutputs class_outputs(const Network& network, const torch::Tensor& images, const torch::Tensor& labels,
                          std::vector<int64_t> classes, int64_t inputs_per_output, const std::string& output) {
  require(output == "logit" || output == "log-probability",
          "output: TCAV scores the classes' logit or log-probability (got '" + output + "')");
  if (classes.empty())
    for (int64_t k = 0; k < network.num_classes(); ++k) classes.push_back(k);
  TcavOutputs outputs;
  for (const auto k : classes) {
    require(k >= 0 && k < network.num_classes(), "class " + std::to_string(k) + " is not one of the model's " +
                                                     std::to_string(network.num_classes()) + " classes");
    const auto name = k < static_cast<int64_t>(network.class_names().size()) ? network.class_names()[k]
                                                                              : "class " + std::to_string(k);
    auto index = (labels == k).nonzero().flatten();
    require(index.numel() > 0, "the test data holds no images of class " + name +
                                   "; give data that does, or leave the class out");
    index = index.narrow(0, 0, std::min(index.numel(), inputs_per_output));
    outputs.names.push_back(name);
    outputs.columns.push_back(k);
    outputs.inputs.push_back(images.index_select(0, index));
  }
  if (output == "logit")
    outputs.compute = [](Network& n, const torch::Tensor& x, const TapSet& taps) { return n.forward(x, taps); };
  else
    outputs.compute = [](Network& n, const torch::Tensor& x, const TapSet& taps) {
      return torch::log_softmax(n.forward(x, taps), 1);
    };
  return outputs;
}

TcavOutputs flint_attribute_outputs(Network& network, FlintInterpreter& interpreter, const torch::Tensor& images,
                                    int64_t inputs_per_output) {
  const auto phi = run_flint(network, interpreter, images).attributes;
  TcavOutputs outputs;
  for (int64_t j = 0; j < phi.size(1); ++j) {
    auto index = (phi.select(1, j) > 0).nonzero().flatten();
    if (index.numel() == 0) continue;
    index = index.narrow(0, 0, std::min(index.numel(), inputs_per_output));
    outputs.names.push_back("phi " + std::to_string(j));
    outputs.columns.push_back(j);
    outputs.inputs.push_back(images.index_select(0, index));
  }
  require(!outputs.names.empty(), "none of FLINT's attributes is active on the images given");
  const auto layers = interpreter->architecture().layers;
  outputs.compute = [interpreter, layers](Network& n, const torch::Tensor& x, const TapSet& taps) mutable {
    TapSet all = taps;
    std::vector<torch::Tensor> hidden(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) all.capture(layers[i], &hidden[i]);
    n.forward(x, all);
    return interpreter->attributes(hidden);
  };
  return outputs;
}

Cav train_cav(const torch::Tensor& concept_acts, const torch::Tensor& random_acts, const TcavOptions& o, uint64_t seed) {
  const int64_t n = concept_acts.size(0), m = random_acts.size(0);
  require(n >= 4 && m >= 4, "a CAV needs at least 4 concept and 4 random examples");
  const auto x = torch::cat({concept_acts, random_acts}).to(torch::kDouble);
  const auto y = torch::cat({torch::ones({n}, torch::kDouble), torch::zeros({m}, torch::kDouble)});
  const auto [train_c, held_c] = stratified_split(0, n, o.held_out, seed);
  const auto [train_r, held_r] = stratified_split(n, m, o.held_out, seed + 1);
  const auto train = torch::cat({train_c, train_r}), held = torch::cat({held_c, held_r});
  // One scalar scale (unit RMS norm) conditions the problem without turning the direction.
  const auto xt = x.index_select(0, train);
  const double scale = std::max(xt.pow(2).sum(1).mean().sqrt().item<double>(), 1e-12);
  const auto xs = xt / scale, ys = y.index_select(0, train);

  // With the L2 penalty the optimum lies in the span of the training rows (the representer theorem). From the Gram
  // matrix K = XXᵀ = UΛUᵀ, X = USVᵀ with S = √Λ (rank r) and V = XᵀUS⁻¹; in the coordinates z = Vᵀw, Xw = USz and
  // ‖w‖ = ‖z‖: the same problem over r ≤ n unknowns, as well conditioned as over w, and fast where the layer is
  // wide (D in the tens of thousands) and the examples few.
  const auto [eigenvalues, eigenvectors] = torch::linalg_eigh(xs.matmul(xs.t()));
  const auto kept = (eigenvalues > 1e-12 * eigenvalues.max().clamp_min(1e-300)).nonzero().flatten();
  const auto singular = eigenvalues.index_select(0, kept).sqrt();
  const auto u = eigenvectors.index_select(1, kept);
  const auto design = u * singular;  // US [n, r]
  auto z = torch::zeros({design.size(1)}, torch::kDouble).requires_grad_(true);
  auto b = torch::zeros({}, torch::kDouble).requires_grad_(true);
  torch::optim::LBFGS solver({z, b}, torch::optim::LBFGSOptions(1).max_iter(500).tolerance_grad(1e-10)
                                         .tolerance_change(1e-14).line_search_fn("strong_wolfe"));
  solver.step([&] {
    solver.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(design.matmul(z) + b, ys) + 0.5 * o.l2 * z.dot(z);
    loss.backward();
    return loss;
  });
  const auto w = xs.t().matmul(u.matmul(z.detach() / singular));  // Vz = XᵀUS⁻¹z
  torch::NoGradGuard no_grad;
  const double norm = w.norm().item<double>();
  require(norm > 0 && std::isfinite(norm), "a CAV could not be fitted: the concept's activations cannot be told "
                                           "from the random ones' (identical sets?)");
  const auto scored = held.numel() > 0 ? held : train;
  const auto predicted = (x.index_select(0, scored).matmul(w) / scale + b) > 0;
  Cav cav;
  cav.direction = (w / norm).to(torch::kFloat);
  cav.accuracy = (predicted == y.index_select(0, scored).to(torch::kBool)).to(torch::kDouble).mean().item<double>();
  return cav;
}

torch::Tensor output_gradients(Network& network, const TcavOutputs& outputs, int64_t k, const torch::Tensor& images,
                               const std::string& layer, int64_t batch_size) {
  std::vector<torch::Tensor> rows;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const auto batch = images.narrow(0, start, std::min(batch_size, images.size(0) - start)).to(network.device());
    // The layer's activation becomes a leaf, so the gradient is taken with respect to it alone.
    torch::Tensor leaf;
    TapSet taps;
    taps.on(layer, [&leaf](const torch::Tensor& activation) {
      leaf = activation.detach().requires_grad_(true);
      return leaf;
    });
    const auto out = outputs.compute(network, batch, taps);
    require(leaf.defined(), "layer " + layer + " did not run in the forward pass");
    const auto grads = torch::autograd::grad({out.select(1, outputs.columns.at(k)).sum()}, {leaf}, {},
                                             /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
    require(grads[0].defined(), outputs.names.at(k) + " does not depend on layer " + layer +
                                    "; give a layer that it reads (at or before its inputs)");
    rows.push_back(grads[0].flatten(1).to(torch::kFloat).cpu());
  }
  return torch::cat(rows);
}

double welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  require(a.size() >= 2 && b.size() >= 2, "a t-test needs at least two values on each side");
  auto moments = [](const std::vector<double>& v) {
    double mean = 0, var = 0;
    for (double x : v) mean += x;
    mean /= v.size();
    for (double x : v) var += (x - mean) * (x - mean);
    return std::make_pair(mean, var / (v.size() - 1));
  };
  const auto [ma, va] = moments(a);
  const auto [mb, vb] = moments(b);
  const double sa = va / a.size(), sb = vb / b.size(), se2 = sa + sb;
  if (se2 <= 0) return ma == mb ? 1.0 : 0.0;
  const double t = (ma - mb) / std::sqrt(se2);
  // Welch–Satterthwaite degrees of freedom.
  const double df = se2 * se2 / (sa * sa / (a.size() - 1) + sb * sb / (b.size() - 1));
  return 2 * boost::math::cdf(boost::math::complement(boost::math::students_t(df), std::abs(t)));
}

TcavResult tcav(Network& network, const std::vector<ConceptExamples>& concepts, const torch::Tensor& random_pool,
                const TcavOutputs& outputs, const TcavOptions& o) {
  check_tcav_options(o);
  require(!concepts.empty(), "TCAV needs at least one concept");
  require(!outputs.names.empty() && outputs.inputs.size() == outputs.names.size() &&
              outputs.columns.size() == outputs.names.size(),
          "TCAV needs at least one output, each with its inputs");
  network.set_training(false);
  const auto layer = o.layer.empty() ? default_tcav_layer(network) : network.layer(o.layer).name;
  const int64_t M = o.random_sets, n = o.examples_per_set;
  require(random_pool.size(0) >= (M + 1) * n,
          "TCAV's " + std::to_string(M + 1) + " random sets of " + std::to_string(n) + " images need " +
              std::to_string((M + 1) * n) + " random images, but " + std::to_string(random_pool.size(0)) +
              " were given; lower random_sets or examples_per_set, or give more data");

  // Disjoint random sets R_0 (the null's concept) and R_1..R_M.
  const auto order = seeded_permutation(random_pool.size(0), o.seed);
  std::vector<torch::Tensor> random_acts;
  for (int64_t i = 0; i <= M; ++i)
    random_acts.push_back(
        layer_activations(network, random_pool.index_select(0, order.narrow(0, i * n, n)), layer, o.batch_size));

  TcavResult result;
  result.layer = layer;
  result.alpha = o.alpha;
  result.outputs = outputs.names;
  const int64_t C = concepts.size(), K = outputs.names.size();
  result.cav_accuracy = torch::zeros({C, M});
  result.null_accuracy = torch::zeros({M});
  std::vector<torch::Tensor> directions;  // C·M concept CAVs, then M null CAVs
  for (int64_t c = 0; c < C; ++c) {
    const auto& examples = concepts[c];
    require(examples.images.defined() && examples.images.size(0) >= 4,
            "concept " + examples.name + " has " +
                std::to_string(examples.images.defined() ? examples.images.size(0) : 0) +
                " images; a CAV needs at least 4");
    result.concepts.push_back(examples.name);
    auto images = examples.images;
    if (images.size(0) > n) images = images.index_select(0, seeded_permutation(images.size(0), o.seed + 7 + c).narrow(0, 0, n));
    const auto acts = layer_activations(network, images, layer, o.batch_size);
    for (int64_t i = 0; i < M; ++i) {
      const auto cav = train_cav(acts, random_acts[i + 1], o, o.seed * 7919 + c * 1009 + i);
      directions.push_back(cav.direction);
      result.cav_accuracy[c][i] = cav.accuracy;
    }
  }
  for (int64_t i = 0; i < M; ++i) {
    const auto cav = train_cav(random_acts[0], random_acts[i + 1], o, o.seed * 7919 + C * 1009 + i);
    directions.push_back(cav.direction);
    result.null_accuracy[i] = cav.accuracy;
  }
  const auto V = torch::stack(directions);  // [(C + 1) M, D]
  result.cavs = V.view({C + 1, M, -1});

  result.scores = torch::zeros({C, K, M});
  result.magnitudes = torch::zeros({C, K, M});
  result.null_scores = torch::zeros({K, M});
  result.inputs = torch::zeros({K}, torch::kInt64);
  for (int64_t k = 0; k < K; ++k) {
    require(outputs.inputs[k].size(0) > 0, outputs.names[k] + " has no inputs to score");
    const auto gradients = output_gradients(network, outputs, k, outputs.inputs[k], layer, o.batch_size);
    const auto S = gradients.matmul(V.t());  // [N_k, (C + 1) M], Eq. 1
    const auto share = (S > 0).to(torch::kFloat).mean(0).view({C + 1, M});  // Eq. 2
    const auto magnitude = (S.clamp_min(0).sum(0) / S.abs().sum(0).clamp_min(1e-30)).view({C + 1, M});
    result.scores.select(1, k).copy_(share.narrow(0, 0, C));
    result.magnitudes.select(1, k).copy_(magnitude.narrow(0, 0, C));
    result.null_scores[k].copy_(share[C]);
    result.inputs[k] = outputs.inputs[k].size(0);
  }
  result.p_values = torch::zeros({C, K});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < K; ++k)
      result.p_values[c][k] = welch_t_test(as_doubles(result.scores[c][k]), as_doubles(result.null_scores[k]));
  return result;
}

nlohmann::json TcavResult::to_json() const {
  return {{"layer", layer},
          {"concepts", concepts},
          {"outputs", outputs},
          {"alpha", alpha},
          {"random_sets", scores.size(2)},
          {"scores", tensor_json(scores)},
          {"magnitudes", tensor_json(magnitudes)},
          {"null_scores", tensor_json(null_scores)},
          {"cav_accuracy", tensor_json(cav_accuracy)},
          {"null_accuracy", tensor_json(null_accuracy)},
          {"p_values", tensor_json(p_values)},
          {"inputs", tensor_json(inputs)}};
}

TcavResult TcavResult::from_json(const nlohmann::json& record) {
  TcavResult r;
  try {
    r.layer = record.at("layer").get<std::string>();
    r.concepts = record.at("concepts").get<std::vector<std::string>>();
    r.outputs = record.at("outputs").get<std::vector<std::string>>();
    r.alpha = record.at("alpha").get<double>();
    const int64_t C = r.concepts.size(), K = r.outputs.size(), M = record.at("random_sets").get<int64_t>();
    r.scores = json_tensor(record.at("scores"), {C, K, M});
    r.magnitudes = json_tensor(record.at("magnitudes"), {C, K, M});
    r.null_scores = json_tensor(record.at("null_scores"), {K, M});
    r.cav_accuracy = json_tensor(record.at("cav_accuracy"), {C, M});
    r.null_accuracy = json_tensor(record.at("null_accuracy"), {M});
    r.p_values = json_tensor(record.at("p_values"), {C, K});
    r.inputs = json_tensor(record.at("inputs"), {K}).to(torch::kInt64);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("the TCAV record is corrupt (") + e.what() + "); run prism concepts tcav again");
  }
  return r;
}

std::string TcavResult::markdown() const {
  std::string out = "| concept | output | TCAV score (mean ± std over " + std::to_string(scores.size(2)) +
                    " random sets) | random CAVs' score | p (Welch) | significant | CAV accuracy |\n"
                    "|---|---|---|---|---|---|---|\n";
  char line[512];
  for (size_t c = 0; c < concepts.size(); ++c)
    for (size_t k = 0; k < outputs.size(); ++k) {
      const auto s = scores[c][k];
      std::snprintf(line, sizeof line, "| %s | %s | %.3f ± %.3f | %.3f ± %.3f | %.3g | %s | %.3f |\n",
                    concepts[c].c_str(), outputs[k].c_str(), s.mean().item<double>(), s.std().item<double>(),
                    null_scores[k].mean().item<double>(), null_scores[k].std().item<double>(),
                    p_values[c][k].item<double>(), significant(c, k) ? "yes" : "no",
                    cav_accuracy[c].mean().item<double>());
      out += line;
    }
  return out;
}

}  // namespace prism
