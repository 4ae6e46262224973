// Data attribution: the Crammer–Singer dual solver against its own optimality conditions and against
// LIBLINEAR; DualView's, TracIn's, influence functions' and representer points' identities; the fit folder.
#include <ATen/CPUGeneratorImpl.h>
#include <linear.h>

#include <cmath>
#include <limits>

#include "test_util.h"

namespace prism {
namespace {
using test::run_prism;

// Real features: Fashion-MNIST images average-pooled to 7 × 7, a subset of `n`.
std::pair<torch::Tensor, torch::Tensor> pooled_fashion(int64_t n) {
  const auto data = random_subset(test::fashion_train(), n, 11);
  return {torch::avg_pool2d(data.images, 4).flatten(1).contiguous(), data.labels};
}

// LIBLINEAR's MCSVM_CS weights [K, d] on the same problem.
torch::Tensor liblinear_weights(const torch::Tensor& x, const torch::Tensor& y, int64_t classes, double C, double eps) {
  const int64_t n = x.size(0), d = x.size(1);
  std::vector<std::vector<feature_node>> rows(n);
  std::vector<feature_node*> pointers(n);
  std::vector<double> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) rows[i].push_back({static_cast<int>(j + 1), x[i][j].item<double>()});
    rows[i].push_back({-1, 0});
    pointers[i] = rows[i].data();
    labels[i] = static_cast<double>(y[i].item<int64_t>());
  }
  problem prob{static_cast<int>(n), static_cast<int>(d), labels.data(), pointers.data(), -1};
  parameter param{};
  param.solver_type = MCSVM_CS;
  param.C = C;
  param.eps = eps;
  set_print_string_function([](const char*) {});
  model* m = train(&prob, &param);
  auto w = torch::zeros({classes, d}, torch::kFloat64);
  for (int c = 0; c < m->nr_class; ++c)  // LIBLINEAR orders classes by first appearance
    for (int64_t j = 0; j < d; ++j) w[m->label[c]][j] = m->w[j * m->nr_class + c];
  free_and_destroy_model(&m);
  return w;
}

TEST(CrammerSinger, MeetsItsOptimalityConditionsAndMatchesLiblinear) {
  const auto [x, y] = pooled_fashion(1500);
  CrammerSingerOptions options;
  options.C = 0.1;
  options.tolerance = 1e-4;
  options.max_iterations = 5000;
  const auto result = solve_crammer_singer(x, y, 10, options);
  ASSERT_TRUE(result.converged);
  const auto& alpha = result.alpha;
  // w = Σ_i α_i φ_i.
  EXPECT_TRUE(torch::allclose(result.weight, alpha.t().matmul(x.to(torch::kFloat64)), 1e-9, 1e-9));
  // Sign structure: α_{i,y_i} ∈ [0, C], the others ≤ 0, rows sum to 0.
  const auto own = alpha.gather(1, y.unsqueeze(1)).squeeze(1);
  EXPECT_GE(own.min().item<double>(), -1e-12);
  EXPECT_LE(own.max().item<double>(), options.C + 1e-12);
  const auto others = alpha.masked_fill(torch::one_hot(y, 10).to(torch::kBool), 0);
  EXPECT_LE(others.max().item<double>(), 1e-12);
  EXPECT_LT(alpha.sum(1).abs().max().item<double>(), 1e-10);
  // KKT: for every sample, max_m G − min over the variables that can decrease of G ≤ tolerance (+ rounding).
  const auto G = x.to(torch::kFloat64).matmul(result.weight.t()) + 1 - torch::one_hot(y, 10).to(torch::kFloat64);
  const auto is_own = torch::one_hot(y, 10).to(torch::kBool);
  const auto can_decrease = ((alpha < 0) & is_own.logical_not()) | (is_own & (alpha < options.C));
  const auto min_g = std::get<0>(G.masked_fill(can_decrease.logical_not(), 1e300).min(1));
  const auto violation = std::get<0>(G.max(1)) - min_g;
  EXPECT_LT(violation.max().item<double>(), 2 * options.tolerance);
  EXPECT_GE(result.duality_gap, -1e-9);
  EXPECT_LT(result.duality_gap / result.primal, 1e-3);
  // The same optimum as LIBLINEAR's MCSVM_CS.
  const auto reference = liblinear_weights(x, y, 10, options.C, 1e-4);
  const double relative = ((result.weight - reference).norm() / reference.norm()).item<double>();
  EXPECT_LT(relative, 1e-2) << "relative difference of w to LIBLINEAR";
  // With a bias: a constant feature 1 after the last, so w = Σ_i α_i [φ_i, 1] and the primal meets the dual.
  options.bias = true;
  const auto biased = solve_crammer_singer(x, y, 10, options);
  ASSERT_TRUE(biased.converged);
  const auto augmented = torch::cat({x.to(torch::kFloat64), torch::ones({x.size(0), 1}, torch::kFloat64)}, 1);
  EXPECT_TRUE(torch::allclose(biased.weight, biased.alpha.t().matmul(augmented), 1e-9, 1e-9));
  EXPECT_LT(biased.duality_gap, 1e-2 * std::abs(biased.primal));
}

// A small trained model and its data, shared by the attributor tests.
struct Trained {
  std::unique_ptr<Network> network;
  Dataset train, test;
};
const Trained& trained_mlp() {
  static const Trained t = [] {
    Trained out;
    out.train = random_subset(test::fashion_train(), 600, 3);
    out.test = random_subset(test::fashion_test(), 20, 3);
    ZooOptions zoo;
    zoo.architecture = "mlp";
    zoo.width = 32;
    out.network = make_zoo_network(zoo);
    set_metadata(*out.network, {1, 28, 28}, 10, out.train.class_names, out.train.normalization);
    TrainOptions options;
    options.epochs = 2;
    set_quiet(true);
    train_network(*out.network, out.train, nullptr, options);
    out.network->set_training(false);
    return out;
  }();
  return t;
}

TEST(DualView, AttributionsSumToTheSurrogateLogitWithTheRightSigns) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  DualView dualview(CrammerSingerOptions{0.01, 1e-4, 5000, false, 0});
  dualview.fit(net, t.train);
  const auto targets = torch::arange(t.test.size()) % 10;
  const auto a = dualview.attribute(net, t.test.images, targets).to(torch::kFloat64);
  const auto phi = dualview.features(net, t.test.images).to(torch::kFloat64);
  const auto logits = phi.matmul(dualview.weight().to(torch::kFloat64).t()).gather(1, targets.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(a.sum(1), logits, 1e-3, 1e-4));
  // Training samples of the target class support, the others oppose.
  const auto same = t.train.labels.unsqueeze(0) == targets.unsqueeze(1);
  EXPECT_GE(a.masked_select(same).min().item<double>(), -1e-9);  // 0 up to rounding of α
  EXPECT_LE(a.masked_select(same.logical_not()).max().item<double>(), 1e-9);
  // Non-support vectors get zero for every test point; the support vectors are a strict subset.
  const int64_t support = dualview.fit_report()["support_vectors"].get<int64_t>();
  EXPECT_LT(support, t.train.size());
  EXPECT_EQ((a.ne(0).any(0)).sum().item<int64_t>() <= support, true);
  // Self-influence (the slack by default) ≥ 0.
  EXPECT_GE(dualview.self_influence().min().item<float>(), -1e-6f);

  // The slack form: ξ_i = max(0, 1 + max_{c≠y_i} w_c·φ_i − w_{y_i}·φ_i), recomputed from every training sample's
  // features; by the KKT conditions a sample with ξ_i > 0 has its α_{i,y_i} at the bound C.
  const auto& slack = dualview;
  DualView alpha_form(DualViewOptions{{0.01, 1e-4, 5000, false, 0}, "alpha"});
  alpha_form.fit(net, t.train);
  const auto scores = dualview.features(net, t.train.images).matmul(dualview.weight().t()).to(torch::kFloat64);
  const auto own_score = scores.gather(1, t.train.labels.unsqueeze(1)).squeeze(1);
  const auto rival = scores.scatter(1, t.train.labels.unsqueeze(1), -1e30).amax(1);
  const auto xi = (1 + rival - own_score).clamp_min(0);
  EXPECT_TRUE(torch::allclose(slack.self_influence().to(torch::kFloat64), xi, 1e-3, 2e-3));
  const auto violating = xi.gt(0.05).nonzero().squeeze(1);
  ASSERT_GT(violating.size(0), 0);
  const auto own_alpha = alpha_form.self_influence().to(torch::kFloat64);
  EXPECT_NEAR(own_alpha.index_select(0, violating).min().item<double>(), 0.01, 1e-4);
  EXPECT_THROW(make_data_attributor("dualview", {{"self_influence", "loss"}}), Error);

  // A fit folder round trip gives the same attributions.
  test::TempDir dir;
  save_data_fit(dir.path(), dualview, {"test", "x", "test", 0, 0});
  auto reopened = open_data_fit(dir.path());
  EXPECT_TRUE(torch::allclose(reopened.attributor->attribute(net, t.test.images, targets), a.to(torch::kFloat32), 1e-5, 1e-6));
  // A damaged array is refused.
  test::write_bytes(dir / "support_alpha.npy", {1, 2, 3});
  EXPECT_THROW(open_data_fit(dir.path()), Error);
}

TEST(DualView, FitsOnBf16FeaturesAndExplainsAsOnFloat32Ones) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = random_subset(test::fashion_train(), 1100, 3);  // enough for a compiled pass: in bf16
  const CrammerSingerOptions solver{0.01, 1e-4, 5000, false, 0};
  DualView fp32(solver), bf16(solver);
  fp32.fit(net, train);
  {
    // The features rebuild the float32 logits to bf16's error, not float32's: the fit's check must allow it.
    const PrecisionScope scope(Precision::kBFloat16);
    bf16.fit(net, train);
  }
  EXPECT_NE(bf16.fit_report()["dual"].get<double>(), fp32.fit_report()["dual"].get<double>());  // other features
  const auto targets = predict_logits(net, t.test.images).argmax(1);
  const auto a = fp32.attribute(net, t.test.images, targets), b = bf16.attribute(net, t.test.images, targets);
  EXPECT_GT(recall_at_k(std::get<1>(b.topk(10, 1)), std::get<1>(a.topk(10, 1))), 0.8);
}

// ∇_θ L for θ = (W, b) of the last layer, by autograd, flattened.
torch::Tensor last_layer_gradient(Network& net, const torch::Tensor& image, int64_t target) {
  const auto layer = net.layers().back().name;
  auto parameters = *net.layer_parameters(layer);
  const auto loss = torch::nn::functional::cross_entropy(net.forward(image.unsqueeze(0)), torch::tensor({target}));
  const auto grads = torch::autograd::grad({loss}, {parameters.weight, parameters.bias});
  return torch::cat({grads[0].flatten(), grads[1].flatten()}).to(torch::kFloat64);
}

TEST(TracIn, LastLayerShortcutEqualsTheAutogradGradientDotProduct) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  TracIn tracin;
  tracin.fit(net, t.train);
  const auto targets = torch::tensor({3, 7}, torch::kInt64);
  const auto a = tracin.attribute(net, t.test.images.narrow(0, 0, 2), targets);
  for (int64_t b = 0; b < 2; ++b)
    for (const int64_t i : {0, 5, 99}) {
      const double expected = last_layer_gradient(net, t.test.images[b], targets[b].item<int64_t>())
                                  .dot(last_layer_gradient(net, t.train.images[i], t.train.labels[i].item<int64_t>()))
                                  .item<double>();
      EXPECT_NEAR(a[b][i].item<double>(), expected, 1e-4 * (1 + std::abs(expected)));
    }
}

// ∇_θ L over every parameter of the network, by autograd, flattened.
torch::Tensor full_gradient(Network& net, const torch::Tensor& image, int64_t target) {
  auto parameters = net.parameters();
  for (auto& p : parameters) p.requires_grad_(true);
  const auto loss = torch::nn::functional::cross_entropy(net.forward(image.unsqueeze(0)), torch::tensor({target}));
  std::vector<torch::Tensor> flat;
  for (const auto& g : torch::autograd::grad({loss}, parameters)) flat.push_back(g.flatten());
  return torch::cat(flat).to(torch::kFloat64);
}

TEST(GradientSimilarity, IsTheDotOrCosineOfFullGradientsAndItsSketchKeepsThem) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(40));
  const auto images = t.test.images.narrow(0, 0, 3);
  const auto targets = torch::tensor({1, 4, 8}, torch::kInt64);
  auto exact_dot = make_data_attributor("gradient-similarity", {{"metric", "dot"}, {"projection_dim", 0}});
  exact_dot->fit(net, train);
  const auto dot = exact_dot->attribute(net, images, targets).to(torch::kFloat64);
  std::vector<torch::Tensor> train_gradients;
  for (int64_t i = 0; i < train.size(); ++i)
    train_gradients.push_back(full_gradient(net, train.images[i], train.labels[i].item<int64_t>()));
  const auto G = torch::stack(train_gradients);
  for (int64_t b = 0; b < 3; ++b) {
    const auto g = full_gradient(net, images[b], targets[b].item<int64_t>());
    EXPECT_TRUE(torch::allclose(dot[b], G.matmul(g), 1e-3, 1e-4 * g.norm().item<double>()));
  }
  EXPECT_TRUE(torch::allclose(exact_dot->self_influence().to(torch::kFloat64), G.pow(2).sum(1), 1e-3, 1e-6));

  // The cosine form: a training sample is most similar to itself, at 1.
  auto exact_cosine = make_data_attributor("gradient-similarity", {{"projection_dim", 0}});
  exact_cosine->fit(net, train);
  const auto self = exact_cosine->attribute(net, train.images.narrow(0, 0, 5), train.labels.narrow(0, 0, 5));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(self[i][i].item<double>(), 1.0, 1e-4);
    EXPECT_EQ(self[i].argmax().item<int64_t>(), i);
  }
  const auto exact = exact_cosine->attribute(net, images, targets);

  // The count sketch keeps inner products in expectation, with error ~ 1/√k: at k = 4096 the cosines stay close.
  auto sketched = make_data_attributor("gradient-similarity", {{"projection_dim", 4096}, {"seed", 5}});
  sketched->fit(net, train);
  const auto approx = sketched->attribute(net, images, targets);
  EXPECT_LT((approx - exact).abs().mean().item<double>(), 0.05);
  const auto correlation = torch::corrcoef(torch::stack({approx.flatten(), exact.flatten()}))[0][1].item<double>();
  EXPECT_GT(correlation, 0.95);

  // A fit folder round trip gives the same attributions; a bad metric is refused with the choices.
  test::TempDir dir;
  save_data_fit(dir.path(), *sketched, {"test", "x", "test", 0, 0});
  EXPECT_TRUE(torch::allclose(open_data_fit(dir.path()).attributor->attribute(net, images, targets), approx, 1e-5, 1e-6));
  try {
    make_data_attributor("gradient-similarity", {{"metric", "l2"}});
    ADD_FAILURE() << "a bad metric was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cosine or dot"), std::string::npos) << e.what();
  }
}

// The batched per-example gradients (each layer's from its input and output gradient) equal one backward pass per
// sample: on the MLP (linear), the zoo cnn (conv, linear, dropout) and a scripted ResNet-18 (convs without bias,
// strides and padding, batch norms, downsampling shortcuts).
TEST(PerExampleGradients, OneBatchedPassEqualsAPassPerSample) {
  const auto& t = trained_mlp();
  ZooOptions zoo;
  auto cnn = make_zoo_network(zoo, t.train);
  auto resnet = load_network(test::fixtures() / "resnet18.pt", {3, 32, 32});
  const auto rgb = read_npy(test::fixtures() / "resnet18.input.npy");
  struct Case {
    Network* network;
    torch::Tensor images;
  };
  for (const auto& [network, images] : {Case{t.network.get(), t.test.images.narrow(0, 0, 5)},
                                        Case{cnn.get(), t.test.images.narrow(0, 0, 5)}, Case{resnet.get(), rgb}}) {
    const auto labels = torch::arange(images.size(0)) % 3;
    const auto parameters = gradient_parameters(*network, {});
    const auto batched = batched_per_example_gradients(*network, parameters, images, labels);
    ASSERT_TRUE(batched.has_value()) << network->architecture();
    const auto by_sample = per_example_gradients_by_sample(*network, parameters, images, labels);
    EXPECT_TRUE(torch::allclose(*batched, by_sample, 1e-3, 1e-5 * by_sample.abs().max().item<double>()))
        << network->architecture() << ": " << (*batched - by_sample).abs().max().item<double>();
  }
}

// E⟨Sg, Sg'⟩ = ⟨g, g'⟩ needs the random signs: without them the buckets' collisions add about (Σg)(Σg')/k, which
// vectors with a large sum make plain (here 16 times the true product).
TEST(CountSketch, KeepsInnerProductsInExpectation) {
  torch::manual_seed(0);
  const auto g = 1 + 0.1 * torch::randn({2, 1000});
  const double exact = g[0].dot(g[1]).item<double>();
  double mean = 0;
  const int seeds = 50;
  for (int seed = 0; seed < seeds; ++seed) {
    const auto s = CountSketch(1000, 64, seed).apply(g);
    mean += s[0].dot(s[1]).item<double>() / seeds;
  }
  EXPECT_NEAR(mean, exact, 0.1 * exact);
  // Each coordinate lands in one bucket with its sign: the sketch of a basis vector is ±1 in one place.
  const auto e = CountSketch(1000, 64, 3).apply(torch::eye(1000).narrow(0, 0, 10));
  EXPECT_TRUE(torch::equal(e.abs().sum(1), torch::ones({10})));
  EXPECT_TRUE(torch::equal(CountSketch(1000, 64, 3).apply(g), CountSketch(1000, 64, 3).apply(g)));
}

// With a projection TracIn takes every parameter: at one checkpoint it is the count-sketched gradient dot product.
TEST(TracIn, WithAProjectionIsTheSketchedFullGradientDotProduct) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(40));
  const auto images = t.test.images.narrow(0, 0, 3);
  const auto targets = torch::tensor({1, 4, 8}, torch::kInt64);
  TracInOptions options;
  options.projection_dim = 4096;
  options.seed = 2;
  TracIn tracin(options);
  tracin.fit(net, train);
  const auto approx = tracin.attribute(net, images, targets).to(torch::kFloat64);
  std::vector<torch::Tensor> train_gradients;
  for (int64_t i = 0; i < train.size(); ++i)
    train_gradients.push_back(full_gradient(net, train.images[i], train.labels[i].item<int64_t>()));
  const auto G = torch::stack(train_gradients);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < 3; ++b) rows.push_back(G.matmul(full_gradient(net, images[b], targets[b].item<int64_t>())));
  const auto exact = torch::stack(rows);
  const auto correlation = torch::corrcoef(torch::stack({approx.flatten(), exact.flatten()}))[0][1].item<double>();
  EXPECT_GT(correlation, 0.95);
  EXPECT_TRUE(torch::allclose(tracin.self_influence().to(torch::kFloat64), G.pow(2).sum(1), 1e-3, 1e-6));
  // The same estimator as gradient similarity's dot form with the same sketch.
  auto dot = make_data_attributor("gradient-similarity", {{"metric", "dot"}, {"projection_dim", 4096}, {"seed", 2}});
  dot->fit(net, train);
  EXPECT_TRUE(torch::allclose(dot->attribute(net, images, targets).to(torch::kFloat64), approx, 1e-5, 1e-6));
  test::TempDir dir;
  save_data_fit(dir.path(), tracin, {"test", "x", "test", 0, 0});
  EXPECT_TRUE(torch::allclose(open_data_fit(dir.path()).attributor->attribute(net, images, targets).to(torch::kFloat64),
                              approx, 1e-5, 1e-6));
}

// Arnoldi's top eigenpairs equal an explicit eigendecomposition's; over the trained MLP's last layer its influence is
// ∇L(x)ᵀ U_k Λ_k⁻¹ U_kᵀ ∇L(x_i) with the top eigenpairs of the Hessian built column by column.
TEST(ArnoldiInfluence, TopEigenpairsAndInfluenceMatchTheExplicitHessian) {
  torch::manual_seed(0);
  const auto a = torch::randn({30, 30}, torch::kDouble);
  const auto m = a.matmul(a.t());
  const auto [values, vectors] =
      arnoldi_eigenpairs([&](const torch::Tensor& v) { return m.matmul(v.to(torch::kDouble)).to(torch::kFloat32); },
                         30, 30, 5, 0);
  const auto [exact_values, exact_vectors] = torch::linalg_eigh(m);
  EXPECT_TRUE(torch::allclose(values.to(torch::kDouble), exact_values.flip(0).narrow(0, 0, 5), 1e-4, 1e-6));
  const auto alignment = vectors.to(torch::kDouble).matmul(exact_vectors.flip(1).narrow(1, 0, 5)).diagonal().abs();
  EXPECT_TRUE(torch::allclose(alignment, torch::ones({5}, torch::kDouble), 1e-4, 1e-4)) << alignment;

  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(40));
  const auto images = t.test.images.narrow(0, 0, 3);
  const auto targets = torch::tensor({1, 4, 8}, torch::kInt64);
  ArnoldiOptions options;
  options.layers = {"fc3"};
  options.arnoldi_dim = 60;
  options.projection_dim = 8;
  options.hessian_samples = 0;
  ArnoldiInfluence arnoldi(options);
  arnoldi.fit(net, train);
  const auto parameters = layer_parameter_tensors(net, {"fc3"});
  int64_t size = 0;
  for (const auto& p : parameters) size += p.numel();
  std::vector<torch::Tensor> columns;
  for (int64_t j = 0; j < size; ++j)
    columns.push_back(hessian_vector_product(net, parameters, train.images, train.labels,
                                             torch::one_hot(torch::tensor(j), size).to(torch::kFloat32), 0.0)
                          .to(torch::kDouble));
  const auto hessian = torch::stack(columns, 1);
  const auto [h_values, h_vectors] = torch::linalg_eigh((hessian + hessian.t()) / 2);
  const auto top = h_vectors.flip(1).narrow(1, 0, 8) / h_values.flip(0).narrow(0, 0, 8).sqrt();  // U Λ^{-1/2}
  const auto train_side = per_example_gradients(net, parameters, train.images, train.labels).to(torch::kDouble).matmul(top);
  const auto test_side = per_example_gradients(net, parameters, images, targets).to(torch::kDouble).matmul(top);
  const auto expected = test_side.matmul(train_side.t());
  const auto got = arnoldi.attribute(net, images, targets).to(torch::kDouble);
  EXPECT_LT(((got - expected).norm() / expected.norm()).item<double>(), 1e-3);
  EXPECT_LT(((arnoldi.self_influence().to(torch::kDouble) - train_side.pow(2).sum(1)).norm() /
             train_side.pow(2).sum(1).norm()).item<double>(), 1e-3);
  test::TempDir dir;
  save_data_fit(dir.path(), arnoldi, {"test", "x", "test", 0, 0});
  EXPECT_TRUE(torch::allclose(open_data_fit(dir.path()).attributor->attribute(net, images, targets), got.to(torch::kFloat32),
                              1e-5, 1e-6));
  EXPECT_THROW(make_data_attributor("arnoldi", {{"projection_dim", 80}}), Error);  // more than arnoldi_dim
}

TEST(Influence, EqualsAHandComputedInverseHessianOnATinyProblem) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(40));
  InfluenceFunctions influence({0.01});
  influence.fit(net, train);
  // The Hessian of the mean training loss over (W, b) by double backward.
  auto parameters = *net.layer_parameters(net.layers().back().name);
  const auto loss = torch::nn::functional::cross_entropy(net.forward(train.images), train.labels);
  const auto grads = torch::autograd::grad({loss}, {parameters.weight, parameters.bias}, {}, true, true);
  // Order (class, [features, bias]) as the method's Kronecker layout.
  const auto flat = torch::cat({grads[0], grads[1].unsqueeze(1)}, 1).flatten();
  const int64_t P = flat.size(0);
  auto hessian = torch::zeros({P, P}, torch::kFloat64);
  for (int64_t p = 0; p < P; ++p) {
    const auto row = torch::autograd::grad({flat[p]}, {parameters.weight, parameters.bias}, {}, true);
    hessian[p] = torch::cat({row[0], row[1].unsqueeze(1)}, 1).flatten().to(torch::kFloat64);
  }
  const auto inverse = torch::linalg::inv(hessian + 0.01 * torch::eye(P, torch::kFloat64));
  auto ordered = [&](const torch::Tensor& image, int64_t target) {
    const auto g = last_layer_gradient(net, image, target);  // [W (K×d) flattened, b (K)]
    const int64_t K = parameters.bias.size(0), d = parameters.weight.size(1);
    return torch::cat({g.narrow(0, 0, K * d).view({K, d}), g.narrow(0, K * d, K).unsqueeze(1)}, 1).flatten();
  };
  const auto a = influence.attribute(net, t.test.images.narrow(0, 0, 1), torch::tensor({4}, torch::kInt64));
  for (const int64_t i : {0, 7, 31}) {
    const double expected =
        ordered(t.test.images[0], 4).dot(inverse.matmul(ordered(train.images[i], train.labels[i].item<int64_t>()))).item<double>();
    EXPECT_NEAR(a[0][i].item<double>(), expected, 1e-3 * (1 + std::abs(expected)));
  }
}

TEST(TracIn, OverChosenLayersEqualsTheShortcutOnTheLastLayer) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(50));
  TracIn shortcut, autograd({{}, {}, {net.layers().back().name}});
  shortcut.fit(net, train);
  autograd.fit(net, train);
  const auto images = t.test.images.narrow(0, 0, 3);
  const auto targets = torch::tensor({1, 2, 3}, torch::kInt64);
  EXPECT_TRUE(torch::allclose(autograd.attribute(net, images, targets), shortcut.attribute(net, images, targets), 1e-3, 1e-5));
  EXPECT_TRUE(torch::allclose(autograd.self_influence(), shortcut.self_influence(), 1e-3, 1e-5));
}

TEST(Influence, ConjugateGradientsOverChosenLayersMatchTheExactLastLayer) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(60));
  InfluenceFunctions exact({0.01}), iterative({0.01, {net.layers().back().name}, 300, 1e-8});
  exact.fit(net, train);
  iterative.fit(net, train);
  const auto images = t.test.images.narrow(0, 0, 2);
  const auto targets = torch::tensor({5, 6}, torch::kInt64);
  const auto a = exact.attribute(net, images, targets), b = iterative.attribute(net, images, targets);
  EXPECT_LT(((a - b).norm() / a.norm()).item<double>(), 1e-3);
  EXPECT_THROW(iterative.self_influence(), Error);
}

TEST(Representer, AttributionsSumToTheRefittedLogit) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  RepresenterPoints representer({0.01, 300});
  representer.fit(net, t.train);
  EXPECT_LT(representer.fit_report()["relative_stationarity_error"].get<double>(), 1e-3);
  const auto targets = torch::arange(t.test.size()) % 10;
  const auto a = representer.attribute(net, t.test.images, targets);
  const auto phi = penultimate_features(net, last_linear_layer(net), t.test.images);
  const auto logits = phi.matmul(representer.refitted_weight().t()).gather(1, targets.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(a.sum(1), logits, 1e-2, 1e-2));
}

// α recomputed from the refitted W by Eq. 2, W = Σ_i α_i φ_iᵀ checked here (not by the fit's own report), and
// the attributions and self-influences rebuilt from them.
TEST(Representer, AlphaIsTheScaledLossGradientAndReproducesTheRefittedWeight) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const double lambda = 0.01;
  RepresenterPoints representer({lambda, 300});
  representer.fit(net, t.train);
  const auto state = representer.state();
  const auto& w = representer.refitted_weight();
  const auto phi = net.activation(t.train.images, last_linear_layer(net).input).flatten(1).detach();
  const auto p = torch::softmax(phi.matmul(w.t()), 1);
  const auto alpha = (p - torch::one_hot(t.train.labels, 10).to(p.dtype())) * (-1.0 / (2 * lambda * t.train.size()));
  EXPECT_TRUE(torch::allclose(state.at("alpha"), alpha, 1e-4, 1e-7));
  EXPECT_LT(((alpha.t().matmul(phi) - w).norm() / w.norm()).item<double>(), 1e-3);
  const auto targets = torch::tensor({3, 0, 9, 9, 1}, torch::kInt64);
  const auto images = t.test.images.narrow(0, 0, 5);
  const auto test_phi = net.activation(images, last_linear_layer(net).input).flatten(1).detach();
  const auto expected = test_phi.matmul(phi.t()) * alpha.index_select(1, targets).t();
  EXPECT_TRUE(torch::allclose(representer.attribute(net, images, targets), expected, 1e-4, 1e-6));
  const auto self = alpha.gather(1, t.train.labels.unsqueeze(1)).squeeze(1) * phi.pow(2).sum(1);
  EXPECT_TRUE(torch::allclose(representer.self_influence(), self, 1e-4, 1e-6));
}

// TRAK rebuilt from autograd: per-example gradients of the margin log(p_y / (1 − p_y)) with respect to the last
// layer (W, b), projected by the same seeded Gaussian matrix, then g(x)ᵀ (ΦᵀΦ + λI)⁻¹ Φ_iᵀ (1 − p_i).
TEST(Trak, EqualsAnAutogradComputationWithTheSameSeededProjection) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto train = t.train.select(torch::arange(120));
  TrakOptions options;
  options.projection_dim = 48;
  options.lambda = 0.01;
  options.seed = 5;
  Trak trak(options);
  trak.fit(net, train);
  const auto layer = last_linear_layer(net);
  const int64_t K = layer.weight.size(0), d = layer.weight.size(1), k = options.projection_dim;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto projection = at::normal(0.0, 1.0 / std::sqrt(double(k)), {K, d + 1, k}, generator, torch::kFloat64);
  const auto projected = [&](const torch::Tensor& images, const torch::Tensor& labels) {
    const auto phi = net.activation(images, layer.input).flatten(1).detach().to(torch::kFloat64);
    auto rows = torch::zeros({images.size(0), k}, torch::kFloat64);
    auto residual = torch::zeros({images.size(0)}, torch::kFloat64);
    for (int64_t i = 0; i < images.size(0); ++i) {
      auto w = layer.weight.to(torch::kFloat64).clone().requires_grad_(true);
      auto b = layer.bias.to(torch::kFloat64).clone().requires_grad_(true);
      const auto p = torch::softmax(w.matmul(phi[i]) + b, 0);
      const auto own = p[labels[i].item<int64_t>()];
      const auto margin = torch::log(own) - torch::log(1 - own);
      const auto g = torch::autograd::grad({margin}, {w, b});
      rows[i] = torch::cat({g[0], g[1].unsqueeze(1)}, 1).flatten().matmul(projection.view({K * (d + 1), k}));
      residual[i] = 1 - own.item<double>();
    }
    return std::make_pair(rows, residual);
  };
  const auto [train_rows, residual] = projected(train.images, train.labels);
  auto kernel = train_rows.t().matmul(train_rows);
  kernel += options.lambda * kernel.diagonal().mean().item<double>() * torch::eye(k, torch::kFloat64);
  const auto images = t.test.images.narrow(0, 0, 6);
  const auto targets = torch::tensor({0, 3, 7, 1, 9, 4}, torch::kInt64);  // mixed, not the predicted classes
  const auto test_rows = projected(images, targets).first;
  const auto expected = test_rows.matmul(torch::linalg::inv(kernel)).matmul(train_rows.t()) * residual.unsqueeze(0);
  const auto a = trak.attribute(net, images, targets).to(torch::kFloat64);
  EXPECT_LT(((a - expected).norm() / expected.norm()).item<double>(), 1e-3);
  const auto self = (train_rows.matmul(torch::linalg::inv(kernel)) * train_rows).sum(1) * residual;
  EXPECT_LT(((trak.self_influence().to(torch::kFloat64) - self).norm() / self.norm()).item<double>(), 1e-3);
}

// Over several checkpoints TRAK averages and TracIn sums η_t-weighted per-checkpoint scores, each computed at
// its own checkpoint (not at the network passed to fit).
TEST(Checkpoints, TrakAveragesAndTracInSumsTheirCheckpointsScores) {
  const auto& t = trained_mlp();
  test::TempDir dir;
  const auto trained_path = (dir / "trained.prism").string(), fresh_path = (dir / "fresh.prism").string();
  save_network(*t.network, trained_path);
  ZooOptions zoo;
  zoo.architecture = "mlp";
  zoo.width = 32;
  zoo.seed = 9;
  auto fresh = make_zoo_network(zoo);
  set_metadata(*fresh, {1, 28, 28}, 10, t.train.class_names, t.train.normalization);
  save_network(*fresh, fresh_path);
  auto& net = *fresh;  // what fit is given: the checkpoints must be used instead
  const auto train = t.train.select(torch::arange(100));
  const auto images = t.test.images.narrow(0, 0, 4);
  const auto targets = torch::tensor({2, 5, 5, 8}, torch::kInt64);
  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).norm() / b.norm()).item<double>();
  };

  const auto trak_over = [&](std::vector<std::string> checkpoints) {
    TrakOptions options;
    options.projection_dim = 32;
    options.checkpoints = std::move(checkpoints);
    auto trak = std::make_unique<Trak>(options);
    trak->fit(net, train);
    return trak;
  };
  auto both = trak_over({trained_path, fresh_path}), first = trak_over({trained_path}), second = trak_over({fresh_path});
  const auto mean = (first->attribute(net, images, targets) + second->attribute(net, images, targets)) / 2;
  EXPECT_LT(relative(both->attribute(net, images, targets), mean), 1e-5);
  EXPECT_LT(relative(both->self_influence(), (first->self_influence() + second->self_influence()) / 2), 1e-5);
  Trak at_trained({32});
  at_trained.fit(*t.network, train);
  EXPECT_LT(relative(first->attribute(net, images, targets), at_trained.attribute(*t.network, images, targets)), 1e-5);

  const auto tracin_over = [&](std::vector<std::string> checkpoints, std::vector<double> rates) {
    auto tracin = std::make_unique<TracIn>(TracInOptions{std::move(checkpoints), std::move(rates), {}});
    tracin->fit(net, train);
    return tracin;
  };
  auto summed = tracin_over({trained_path, fresh_path}, {0.5, 2.0});
  auto one = tracin_over({trained_path}, {}), other = tracin_over({fresh_path}, {});
  const auto weighted = 0.5 * one->attribute(net, images, targets) + 2.0 * other->attribute(net, images, targets);
  EXPECT_LT(relative(summed->attribute(net, images, targets), weighted), 1e-5);
  EXPECT_LT(relative(summed->self_influence(), 0.5 * one->self_influence() + 2.0 * other->self_influence()), 1e-5);
  TracIn plain;
  plain.fit(*t.network, train);
  EXPECT_LT(relative(one->attribute(net, images, targets), plain.attribute(*t.network, images, targets)), 1e-5);
  EXPECT_THROW(TracIn(TracInOptions{{trained_path}, {1.0, 2.0}, {}}), Error);  // one rate per checkpoint
  // With a projection too, each checkpoint's sketched products are summed with its rate.
  const auto projected_over = [&](std::vector<std::string> checkpoints, std::vector<double> rates) {
    auto tracin = std::make_unique<TracIn>(TracInOptions{std::move(checkpoints), std::move(rates), {}, 256, 1});
    tracin->fit(net, train);
    return tracin;
  };
  auto projected = projected_over({trained_path, fresh_path}, {0.5, 2.0});
  const auto projected_weighted = 0.5 * projected_over({trained_path}, {})->attribute(net, images, targets) +
                                  2.0 * projected_over({fresh_path}, {})->attribute(net, images, targets);
  EXPECT_LT(relative(projected->attribute(net, images, targets), projected_weighted), 1e-5);
}

// The control: seeded standard normal scores, the same on every call, different for different test points.
// EBE-DNN's attribution is its kNN vote, recomputed here by brute force on the penultimate features: all
// distances, the k smallest, weights 1/k; each row sums to the vote's share of the target. Its self-influence is
// the share of a sample's k nearest others (itself left out) whose label differs from its own.
TEST(EbeDnnAttributor, IsTheKnnVoteAndItsLeaveOneOutDisagreement) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  EbeDnnAttributor ebe({"", "flatten", "l2", 5, "uniform"});
  ebe.fit(net, t.train);
  const auto queries = t.test.images.narrow(0, 0, 6);
  const auto targets = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64);
  const auto a = ebe.attribute(net, queries, targets);
  EmbeddingOptions penultimate;
  penultimate.layer = penultimate_layer(net);
  const auto train_features = embed(net, t.train.images, penultimate);
  const auto distances = torch::cdist(embed(net, queries, penultimate), train_features);
  const auto nearest = std::get<1>(distances.topk(5, 1, /*largest=*/false));
  for (int64_t b = 0; b < 6; ++b) {
    double vote = 0;
    for (int64_t j = 0; j < 5; ++j) {
      const int64_t i = nearest[b][j].item<int64_t>();
      const bool same = t.train.labels[i].item<int64_t>() == targets[b].item<int64_t>();
      vote += same ? 0.2 : 0.0;
      EXPECT_NEAR(a[b][i].item<double>(), same ? 0.2 : 0.0, 1e-6) << b << ", " << i;
    }
    EXPECT_NEAR(a[b].sum().item<double>(), vote, 1e-5);
    EXPECT_EQ((a[b] != 0).sum().item<int64_t>(), static_cast<int64_t>(std::lround(vote / 0.2)));
  }
  const auto self_distances = torch::cdist(train_features, train_features);
  self_distances.fill_diagonal_(std::numeric_limits<float>::infinity());
  const auto others = std::get<1>(self_distances.topk(5, 1, /*largest=*/false));
  const auto disagree = t.train.labels.index_select(0, others.flatten()).view({-1, 5}).ne(t.train.labels.unsqueeze(1));
  EXPECT_TRUE(torch::allclose(ebe.self_influence(), disagree.to(torch::kFloat32).mean(1), 1e-5, 1e-6));
  EXPECT_THROW(EbeDnnAttributor({"", "flatten", "manhattan"}), Error);
}

TEST(RandomAttributor, IsSeededStandardNormalNoise) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  RandomAttributor random({4});
  random.fit(net, t.train);
  const auto images = t.test.images.narrow(0, 0, 8);
  const auto targets = torch::arange(8) % 10;
  const auto a = random.attribute(net, images, targets);
  EXPECT_TRUE(torch::equal(a, random.attribute(net, images, targets)));
  EXPECT_FALSE(torch::equal(a[0], a[1]));
  const double n = static_cast<double>(a.numel());
  EXPECT_LT(std::abs(a.mean().item<double>()), 4 / std::sqrt(n));
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.05);
  RandomAttributor other_seed({5});
  other_seed.fit(net, t.train);
  EXPECT_FALSE(torch::equal(other_seed.attribute(net, images, targets), a));
  ZooOptions zoo;
  zoo.architecture = "mlp";
  zoo.width = 32;
  auto other_model = make_zoo_network(zoo);
  RandomAttributor same_seed({4});
  same_seed.fit(*other_model, t.train);  // another model: independent scores, as the randomisation metric needs
  EXPECT_FALSE(torch::equal(same_seed.attribute(*other_model, images, targets), a));
  same_seed.set_state(random.state());
  EXPECT_TRUE(torch::equal(same_seed.attribute(net, images, targets), a));
}

TEST(DataAttributors, ShareOneInterfaceAndRejectBadOptions) {
  const auto& t = trained_mlp();
  auto& net = *t.network;
  const auto targets = torch::tensor({0, 4, 7}, torch::kInt64);
  for (const auto& method : data_methods()) {
    auto attributor = make_data_attributor(method);
    attributor->fit(net, t.train);
    const auto a = attributor->attribute(net, t.test.images.narrow(0, 0, 3), targets);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, t.train.size()})) << method;
    EXPECT_TRUE(torch::isfinite(a).all().item<bool>()) << method;
    EXPECT_EQ(attributor->self_influence().size(0), t.train.size()) << method;
  }
  // Cosine similarity of a training image with itself is the largest, 1.
  auto similarity = make_data_attributor("similarity");
  similarity->fit(net, t.train);
  const auto self = similarity->attribute(net, t.train.images.narrow(0, 0, 4), targets.narrow(0, 0, 1).expand({4}));
  EXPECT_TRUE(torch::allclose(self.diagonal(0, 0, 1).narrow(0, 0, 4), torch::ones({4}), 1e-4, 1e-4));
  // Its self-influence is that ⟨φ̂, φ̂⟩: exactly 1 (not its rounding, which would order the samples), and ‖φ‖² for dot.
  EXPECT_TRUE(torch::equal(similarity->self_influence(), torch::ones({t.train.size()})));
  auto dot = make_data_attributor("similarity", {{"metric", "dot"}});
  dot->fit(net, t.train);
  const auto dot_self = dot->attribute(net, t.train.images.narrow(0, 0, 4), targets.narrow(0, 0, 1).expand({4}));
  EXPECT_TRUE(torch::allclose(dot_self.diagonal(0, 0, 1).narrow(0, 0, 4), dot->self_influence().narrow(0, 0, 4), 1e-4, 1e-4));
  EXPECT_THROW(make_data_attributor("dualview", {{"C", 0.0}}), Error);
  EXPECT_THROW(make_data_attributor("dualview", {{"steps", 3}}), Error);
  EXPECT_THROW(make_data_attributor("shapley"), Error);
}

TEST(Xda, SplitsTheAttributionOverFeaturesAndConservesItOnBothImages) {
  ZooOptions zoo;
  zoo.architecture = "mlp";
  zoo.width = 32;
  auto net = make_zoo_network(zoo);
  net->set_training(false);
  {
    torch::NoGradGuard no_grad;  // without biases, the ε-rule conserves relevance exactly
    for (const auto& layer : net->layers())
      if (const auto p = net->layer_parameters(layer.name); p && p->bias.defined()) p->bias.zero_();
  }
  const auto images = random_subset(test::fashion_test(), 5, 2).images;
  const auto attributions = torch::tensor({0.7f, -0.3f, 1.5f, -2.0f});
  const auto maps = xda_heatmaps(*net, images[0], images.narrow(0, 1, 4), attributions, {"epsilon", 1e-12});
  EXPECT_TRUE(torch::allclose(maps.feature_relevance.sum(1), attributions, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(maps.test_maps.flatten(1).sum(1), attributions, 1e-3, 1e-4));
  EXPECT_TRUE(torch::allclose(maps.train_maps.flatten(1).sum(1), attributions, 1e-3, 1e-4));
  EXPECT_TRUE(supports_xda("dualview"));
  EXPECT_FALSE(supports_xda("tracin"));
}

TEST(InfluenceCli, FitsExplainsRanksAndRefusesBadInput) {
  test::TempDir dir;
  const auto model = (dir / "cnn.prism").string();
  save_network(*make_zoo_network({"cnn"}), model);
  const std::string data = " --train-size 300 --test-size 50";
  auto fit = run_prism("influence fit --model " + model + " --train fashion-mnist" + data + " --method dualview --C 0.01 --out " +
                       (dir / "fit").string());
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  auto explain = run_prism("influence explain --fit " + (dir / "fit").string() + " --data fashion-mnist" + data +
                           " --indices 0:3 --top 4 --dense --xda --xda-pairs 2 --out " + (dir / "x").string());
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_EQ(read_npy(dir / "x/proponents.npy").sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(read_npy(dir / "x/attributions.npy").sizes(), (std::vector<int64_t>{3, 300}));
  EXPECT_TRUE(std::filesystem::exists(dir / "x/influence-002.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "x/xda-002.png"));
  EXPECT_EQ(read_npy(dir / "x/xda-000.npy").sizes(), (std::vector<int64_t>{4, 2, 1, 28, 28}));  // 2 + 2 pairs
  // The proponents are the top of the dense attributions.
  const auto dense = read_npy(dir / "x/attributions.npy");
  const auto [top_values, top_indices] = dense.topk(4, 1);
  EXPECT_TRUE(torch::equal(read_npy(dir / "x/proponents.npy"), top_indices));
  EXPECT_TRUE(torch::equal(read_npy(dir / "x/proponent_values.npy"), top_values));
  auto self = run_prism("influence self --fit " + (dir / "fit").string() + " --top 3");
  ASSERT_EQ(self.exit_code, 0) << self.err;
  // Self-influence, by default the surrogate's slack max(0, 1 + max_{c≠y} w_c·φ_i − w_y·φ_i), from the fit's own
  // arrays; 0 off the support vectors.
  const auto support = read_npy(dir / "fit/support_indices.npy"), weight = read_npy(dir / "fit/weight.npy");
  const auto features = read_npy(dir / "fit/support_features.npy"), labels = read_npy(dir / "fit/support_labels.npy");
  const auto scores = features.matmul(weight.t());
  const auto own = scores.gather(1, labels.unsqueeze(1)).squeeze(1);
  const auto rival = scores.scatter(1, labels.unsqueeze(1), -1e30).amax(1);
  const auto expected = torch::zeros({300}).index_put_({support}, (1 + rival - own).clamp_min(0));
  EXPECT_TRUE(torch::allclose(read_npy(dir / "fit/self_influence.npy"), expected, 1e-5, 1e-7));

  auto fails = [](const std::string& arguments, const std::string& fragment) {
    SCOPED_TRACE(arguments);
    test::expect_clean_failure(run_prism(arguments), fragment);
  };
  const auto none = (dir / "none").string();
  fails("influence fit --model " + model + " --train fashion-mnist" + data + " --method dualview --C 0 --out " + none,
        "C must be positive");
  // TracIn on a model without kept checkpoints uses the model alone (with a warning, silent under --quiet).
  const auto tracin = run_prism("influence fit --model " + model + " --train fashion-mnist" + data +
                                " --method tracin --out " + (dir / "tracin").string());
  ASSERT_EQ(tracin.exit_code, 0) << tracin.err;
  EXPECT_TRUE(open_data_fit(dir / "tracin").record.at("options").at("checkpoints").empty());
  fails("influence explain --fit " + none + " --data fashion-mnist --out " + none, "no finished fit");
  // A scripted model whose output is not its last linear layer's (log-softmax after it): say what is needed.
  fails("influence fit --model " + (test::fixtures() / "log_softmax_head.pt").string() + " --train fashion-mnist" +
            data + " --out " + none,
        "data attribution needs the logits to be that linear layer's output");
  save_network(*make_zoo_network({"mlp"}), model);
  fails("influence explain --fit " + (dir / "fit").string() + " --data fashion-mnist" + data + " --out " + none,
        "is not the one the fit");
  EXPECT_FALSE(std::filesystem::exists(none)) << "a failed command left output behind";
}

}  // namespace
}  // namespace prism
