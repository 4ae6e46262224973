// FLINT (seed 001): each loss term against a hand computation, the entropies' signs, output fidelity that
// leaves f alone, relevance and conciseness on constructed attributes, post hoc training that leaves f
// bit-identical, the folder round trip, and the prism flint commands end to end with their bad input.
#include <cmath>
#include <fstream>

#include "test_util.h"

namespace prism {
namespace {

using test::run_prism;

double entropy_by_hand(const std::vector<double>& v) {
  double top = *std::max_element(v.begin(), v.end()), z = 0, h = 0;
  for (double x : v) z += std::exp(x - top);
  for (double x : v) {
    const double p = std::exp(x - top) / z;
    h -= p * std::log(p);
  }
  return h;
}

std::unique_ptr<Network> small_cnn(uint64_t seed = 0) {
  ZooOptions options;
  options.seed = seed;
  return make_zoo_network(options, test::fashion_test());
}

TEST(FlintLosses, EntropyMatchesAHandComputation) {
  const auto v = torch::tensor({{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}}, torch::kFloat64);
  const auto e = attribute_entropy(v);
  EXPECT_NEAR(e[0].item<double>(), entropy_by_hand({1, 2, 3}), 1e-12);
  EXPECT_NEAR(e[1].item<double>(), std::log(3.0), 1e-12);  // uniform: the largest entropy
}

TEST(FlintLosses, EachTermMatchesAHandComputation) {
  // Two samples, three attributes, two classes, "images" of 2 pixels.
  const auto f = torch::tensor({{2.0, 0.0}, {0.5, 1.5}}, torch::kFloat64);
  const auto labels = torch::tensor({0, 0}, torch::kInt64);
  const auto g = torch::tensor({{1.0, 1.0}, {0.0, 2.0}}, torch::kFloat64);
  const auto phi = torch::tensor({{3.0, 0.0, 0.0}, {0.0, 1.0, 1.0}}, torch::kFloat64);
  const auto reconstruction = torch::tensor({{0.5, 0.5}, {1.0, 0.0}}, torch::kFloat64);
  const auto images = torch::tensor({{0.0, 1.0}, {1.0, 1.0}}, torch::kFloat64);
  const auto t = flint_loss_terms(f, labels, g, phi, reconstruction, images);

  auto softmax = [](double a, double b) { return std::vector<double>{1 / (1 + std::exp(b - a)), 1 / (1 + std::exp(a - b))}; };
  const double ce = (-std::log(softmax(2, 0)[0]) - std::log(softmax(0.5, 1.5)[0])) / 2;
  EXPECT_NEAR(t.prediction.item<double>(), ce, 1e-12);
  const auto p0 = softmax(2, 0), p1 = softmax(0.5, 1.5), q0 = softmax(1, 1), q1 = softmax(0, 2);
  const double of = (-(p0[0] * std::log(q0[0]) + p0[1] * std::log(q0[1])) - (p1[0] * std::log(q1[0]) + p1[1] * std::log(q1[1]))) / 2;
  EXPECT_NEAR(t.output_fidelity.item<double>(), of, 1e-12);
  EXPECT_NEAR(t.input_fidelity.item<double>(), (0.25 + 0.25 + 0 + 1) / 4, 1e-12);
  const auto l1 = flint_loss_terms(f, labels, g, phi, reconstruction, images, "l1");
  EXPECT_NEAR(l1.input_fidelity.item<double>(), (0.5 + 0.5 + 0 + 1) / 4, 1e-12);
  EXPECT_NEAR(t.conciseness.item<double>(), (entropy_by_hand({3, 0, 0}) + entropy_by_hand({0, 1, 1})) / 2, 1e-12);
  EXPECT_NEAR(t.diversity.item<double>(), entropy_by_hand({1.5, 0.5, 0.5}), 1e-12);
  EXPECT_NEAR(t.sparsity.item<double>(), 5.0 / 6, 1e-12);

  // The warm-up: epoch 1 has CE and input fidelity only; from epoch 5 every term.
  FlintLossWeights w;
  EXPECT_NEAR(flint_total_loss(t, w, 1, true).item<double>(), ce + 0.8 * t.input_fidelity.item<double>(), 1e-12);
  EXPECT_NEAR(flint_total_loss(t, w, 1, false).item<double>(), 0.8 * t.input_fidelity.item<double>(), 1e-12);
  const double all = ce + 0.8 * t.input_fidelity.item<double>() + 0.5 * of +
                     0.2 * (t.conciseness.item<double>() - t.diversity.item<double>()) + 0.1 * 5.0 / 6;
  EXPECT_NEAR(flint_total_loss(t, w, 5, true).item<double>(), all, 1e-12);
  EXPECT_NEAR(flint_total_loss(t, w, 4, true).item<double>(), all - 0.2 * (t.conciseness.item<double>() - t.diversity.item<double>()), 1e-12);
}

TEST(FlintLosses, ConciseSamplesAndADiverseBatchLowerTheLoss) {
  const auto f = torch::zeros({4, 2}), g = torch::zeros({4, 2}), images = torch::zeros({4, 1});
  const auto labels = torch::zeros({4}, torch::kInt64);
  auto cd = [&](const torch::Tensor& phi) {
    const auto t = flint_loss_terms(f, labels, g, phi, images, images);
    return (t.conciseness - t.diversity).item<double>();
  };
  // Same total activation: each sample on one attribute (concise), a different one each (diverse) ...
  const auto concise_diverse = torch::eye(4) * 4;
  // ... each sample spread over all attributes (not concise) ...
  const auto spread = torch::ones({4, 4});
  // ... each sample on one attribute, all on the same one (concise, not diverse).
  const auto concise_same = torch::zeros({4, 4}).index_fill_(1, torch::tensor({0}), 4.0);
  EXPECT_LT(cd(concise_diverse), cd(spread));
  EXPECT_LT(cd(concise_diverse), cd(concise_same));
  EXPECT_LT(flint_loss_terms(f, labels, g, concise_diverse, images, images).conciseness.item<double>(),
            flint_loss_terms(f, labels, g, spread, images, images).conciseness.item<double>());
  EXPECT_GT(flint_loss_terms(f, labels, g, concise_diverse, images, images).diversity.item<double>(),
            flint_loss_terms(f, labels, g, concise_same, images, images).diversity.item<double>());
}

// L_of's target is f's softmax, detached: the term teaches g (Ψ and h) to follow f and gives f's outputs no
// gradient. (In joint training f still feels the interpretability terms through the hidden layers Ψ reads,
// as in the paper.)
TEST(FlintLosses, OutputFidelityTeachesGAndLeavesFsOutputAlone) {
  auto network = small_cnn();
  FlintInterpreter interpreter(describe_flint_layers(*network, {"relu2", "relu3"}, 5));
  network->set_training(false);
  const auto images = test::fashion_test().images.narrow(0, 0, 8);
  const auto [logits, hidden] = forward_with_layers(*network, images, {"relu2", "relu3"});
  const auto phi = interpreter->attributes(hidden);
  const auto labels = torch::zeros({8}, torch::kLong);
  const auto t = flint_loss_terms(logits, labels, interpreter->classify(phi), phi, interpreter->decode(phi), images);
  const auto to_logits = torch::autograd::grad({t.output_fidelity}, {logits}, {}, true, false, true)[0];
  EXPECT_TRUE(!to_logits.defined() || to_logits.abs().max().item<double>() == 0);
  // With the attributes cut from f, no parameter of f gets any gradient from L_of.
  const auto cut = flint_loss_terms(logits, labels, interpreter->classify(phi.detach()), phi, interpreter->decode(phi), images);
  for (const auto& gradient : torch::autograd::grad({cut.output_fidelity}, network->parameters(), {}, true, false, true))
    EXPECT_TRUE(!gradient.defined() || gradient.abs().max().item<double>() == 0);
  // g's head does learn from it.
  const auto head = torch::autograd::grad({t.output_fidelity}, {interpreter->head_weight()}, {}, true)[0];
  EXPECT_GT(head.abs().max().item<double>(), 0);
}

TEST(FlintRelevance, LocalGlobalAndConcisenessOnConstructedAttributes) {
  const auto phi = torch::tensor({{2.0, 1.0, 0.0}, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0}}, torch::kFloat64);
  const auto w = torch::tensor({{1.0, -4.0, 1.0}, {0.5, 0.5, 0.25}}, torch::kFloat64);  // [classes, J]
  const auto classes = torch::tensor({0, 1, 1}, torch::kInt64);
  const auto r = local_relevance(phi, w, classes);
  // Sample 0, class 0: α = (2, −4, 0), max |α| = 4. Sample 1, class 1: α = (0.5, 0.5, 0.25). Sample 2: all zero.
  const auto expected = torch::tensor({{0.5, -1.0, 0.0}, {1.0, 1.0, 0.5}, {0.0, 0.0, 0.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(r, expected));
  EXPECT_NEAR(conciseness(r, 2), (0 + 2 + 0) / 3.0, 1e-12);    // > 0.5
  EXPECT_NEAR(conciseness(r, 2.5), (1 + 3 + 0) / 3.0, 1e-12);  // > 0.4
  EXPECT_EQ(local_interpretation(r, 2.5), (std::vector<std::vector<int64_t>>{{0}, {0, 1, 2}, {}}));
  const auto global = global_relevance(r, classes, 3);
  EXPECT_TRUE(torch::allclose(global, torch::tensor({{0.5, -1.0, 0.0}, {0.5, 0.5, 0.25}, {0.0, 0.0, 0.0}}, torch::kFloat64)));
  EXPECT_EQ(global_interpretation(global, 4), (std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 0}, {1, 1}}));
}

TEST(FlintAttributor, AttributesEachPredictionToTheConceptsByDefinitionOne) {
  test::TempDir dir;
  auto network = small_cnn(3);
  const auto train = random_subset(test::fashion_train(), 64, 0);
  FlintFitOptions fit;
  fit.attributes = 4;
  fit.layers = {"relu2"};
  fit.train.train_predictor = false;
  fit.train.epochs = 1;
  fit.train.out = dir.path();
  fit.train.provenance = {"m.prism", "x", "test", 0, 0};
  auto learnt = learn_flint(*network, train, nullptr, fit);
  ASSERT_EQ(learnt.history.size(), 1u);

  // Behind the concept interface, opened from the folder: the same interpreter.
  std::unique_ptr<ConceptAttributor> concepts = FlintAttributor::open(dir.path());
  EXPECT_EQ(concepts->name(), "flint");
  EXPECT_EQ(concepts->num_concepts(), 4);
  const auto images = train.images.narrow(0, 0, 8);
  const auto outputs = run_flint(*network, learnt.interpreter, images);
  const auto phi = concepts->concepts(*network, images);
  EXPECT_TRUE(torch::allclose(phi, outputs.attributes, 1e-6, 1e-6));

  // r_{j,x} = φ_j(x) w_{j,c} / max_i |φ_i(x) w_{i,c}|, recomputed here for class 2 of every sample.
  const auto targets = torch::full({8}, 2, torch::kInt64);
  const auto r = concepts->attribute(*network, images, targets);
  const auto alpha = phi * learnt.interpreter->head_weight().detach()[2].unsqueeze(0);
  const auto largest = alpha.abs().amax(1, true);
  EXPECT_TRUE(torch::allclose(r, torch::where(largest > 0, alpha / largest, torch::zeros_like(alpha)), 1e-5, 1e-6));
  for (int64_t b = 0; b < 8; ++b) {
    const double top = r[b].abs().max().item<double>();
    EXPECT_TRUE(top == 0 || std::abs(top - 1) < 1e-6) << top;
  }
  // For f's own predictions it is the relevance FLINT's interpretations use.
  EXPECT_TRUE(torch::allclose(concepts->attribute(*network, images, outputs.predictor_logits.argmax(1)),
                              outputs.relevance, 1e-5, 1e-6));
  EXPECT_THROW(concepts->attribute(*network, images, torch::full({8}, 10, torch::kInt64)), Error);
  EXPECT_THROW(concepts->attribute(*network, images, targets.narrow(0, 0, 3)), Error);
}

TEST(FlintTraining, PostHocLeavesTheModelBitIdenticalAndTheFolderRoundTrips) {
  test::TempDir dir;
  auto network = small_cnn(3);
  const auto train = random_subset(test::fashion_train(), 64, 0);
  std::vector<torch::Tensor> before;
  for (const auto& p : network->parameters()) before.push_back(p.detach().clone());
  FlintInterpreter interpreter(describe_flint_layers(*network, {"relu2"}, 4));
  const auto initial = interpreter->head_weight().detach().clone();
  FlintTrainOptions options;
  options.train_predictor = false;
  options.epochs = 2;
  options.weights.beta_from = options.weights.delta_from = options.weights.eta_from = 1;
  options.out = dir.path();
  options.provenance = {"m.prism", "x", "test", 0, 0};
  const auto history = train_flint(*network, interpreter, train, nullptr, options);
  ASSERT_EQ(history.size(), 2u);
  const auto after = network->parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << "parameter " << i;
  EXPECT_FALSE(torch::equal(initial, interpreter->head_weight()));

  auto folder = open_flint(dir.path());
  EXPECT_EQ(folder.record.at("mode"), "posthoc");
  EXPECT_EQ(folder.record.at("history").size(), 2u);
  const auto images = train.images.narrow(0, 0, 8);
  const auto a = run_flint(*network, interpreter, images), b = run_flint(*network, folder.interpreter, images);
  EXPECT_TRUE(torch::equal(a.attributes, b.attributes));
  EXPECT_TRUE(torch::equal(a.interpreter_logits, b.interpreter_logits));

  // Run again: the finished epochs are found, nothing is retrained.
  const auto again = train_flint(*network, interpreter, train, nullptr, options);
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(again.back().total, history.back().total);

  // A weight file of the wrong shape is refused with a clear message.
  write_npy(dir / "interpreter/head.weight.npy", torch::zeros({3, 3}));
  try {
    open_flint(dir.path());
    FAIL() << "a corrupt interpreter was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head.weight.npy"), std::string::npos) << e.what();
  }
}

TEST(FlintArchitecture, RefusesUnknownLayersAndTooFewAttributes) {
  auto network = small_cnn();
  try {
    describe_flint_layers(*network, {"conv9"}, 25);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("relu2"), std::string::npos) << e.what();  // lists the layers
  }
  EXPECT_THROW(describe_flint_layers(*network, {"relu2"}, 1), Error);
  EXPECT_EQ(default_flint_layers(*network), std::vector<std::string>{"relu2"});
  const auto a = describe_flint_layers(*network, {"relu1", "fc1"}, 6);
  EXPECT_EQ(a.layer_shapes, (std::vector<std::vector<int64_t>>{{32, 26, 26}, {128}}));
  EXPECT_EQ(FlintArchitecture::from_json(a.to_json()).to_json(), a.to_json());
}

TEST(FlintVisualisation, ActivationMaximisationRaisesTheAttribute) {
  auto network = small_cnn(1);
  torch::manual_seed(0);
  FlintInterpreter interpreter(describe_flint_layers(*network, {"relu2"}, 6));
  const auto images = test::fashion_test().images.narrow(0, 0, 32);
  const auto phi = run_flint(*network, interpreter, images).attributes;
  const auto tops = top_activating(phi, 3);
  ASSERT_EQ(tops.sizes(), (std::vector<int64_t>{6, 3}));
  for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(phi[tops[j][0].item<int64_t>()][j].item<float>(), phi.select(1, j).max().item<float>());
  const int64_t j = phi.amax(0).argmax().item<int64_t>();
  const auto start = images.index_select(0, tops[j].narrow(0, 0, 1));
  ActivationMaximisationOptions options;
  options.steps = 60;
  options.tv_weight = 0;  // pure ascent on φ_j (the start lies in [0, 1], so the range penalty starts at 0)
  const auto x = maximise_attributes(*network, interpreter, start, torch::tensor({j}), options);
  const double before = run_flint(*network, interpreter, start * options.start_scale).attributes[0][j].item<double>();
  const double after = run_flint(*network, interpreter, x).attributes[0][j].item<double>();
  EXPECT_GT(after, 1.5 * before + 1e-3);  // 60 ascent steps raise it by half at least, not by rounding
  EXPECT_GE(x.min().item<float>(), 0);
  EXPECT_LE(x.max().item<float>(), 1);
}

class FlintCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    test::build_once("flint-commands", dir_->path(), [](const std::filesystem::path& folder) {
      const auto d = folder.string();
      const auto result = run_prism("-q flint train --data fashion-mnist --train-size 600 --test-size 200 --model-arch cnn "
                                    "--attributes 6 --layers relu2,relu3 --epochs 2 --batch-size 32 --lr 1e-3 --beta-from 1 "
                                    "--eta-from 1 --delta-from 2 --out " + d + "/joint");
      ASSERT_EQ(result.exit_code, 0) << result.err;
      ASSERT_EQ(run_prism("-q train --data fashion-mnist --train-size 600 --test-size 200 --model-arch cnn --epochs 1 --out " + d +
                          "/f").exit_code, 0);
    });
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string d() { return dir_->path().string(); }
  static test::TempDir* dir_;
};
test::TempDir* FlintCommands::dir_ = nullptr;

TEST_F(FlintCommands, TrainLogsEveryTermAndEvaluateReportsTheMetrics) {
  const auto record = nlohmann::json::parse(std::ifstream(dir_->path() / "joint/flint.json"));
  ASSERT_EQ(record.at("history").size(), 2u);
  for (const char* term : {"prediction", "output_fidelity", "input_fidelity", "conciseness", "diversity", "sparsity",
                           "total", "test_fidelity"})
    EXPECT_TRUE(record["history"][1].at(term).is_number()) << term;
  // The total is the weighted sum of the terms under the warm-up: β and η from epoch 1, δ from epoch 2 (γ = 0.8,
  // β = 0.5, δ = 0.2, η = 0.1; the prediction term counts, f being trained).
  for (int64_t epoch = 1; epoch <= 2; ++epoch) {
    const auto& h = record["history"][epoch - 1];
    const auto term = [&](const char* name) { return h.at(name).get<double>(); };
    const double expected = term("prediction") + 0.8 * term("input_fidelity") + 0.5 * term("output_fidelity") +
                            (epoch >= 2 ? 0.2 * (term("conciseness") - term("diversity")) : 0.0) +
                            0.1 * term("sparsity");
    EXPECT_NEAR(term("total"), expected, 1e-4 * std::abs(expected)) << "epoch " << epoch;
  }
  const auto result = run_prism("-q flint evaluate --flint " + d() + "/joint --data fashion-mnist --test-size 200 --out " +
                                d() + "/evaluation");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("fidelity"), std::string::npos);
  const auto evaluation = nlohmann::json::parse(std::ifstream(dir_->path() / "evaluation/flint-evaluation.json"));
  EXPECT_EQ(evaluation.at("samples"), 200);
  EXPECT_EQ(evaluation.at("conciseness").size(), 6u);
  double previous = 0;  // 1/τ falls as τ grows: at least as many attributes pass
  for (const auto& c : evaluation["conciseness"]) {
    EXPECT_GE(c.at("conciseness").get<double>(), previous);
    previous = c["conciseness"].get<double>();
  }
  // The training's last test figures are the evaluation's.
  EXPECT_NEAR(evaluation.at("fidelity").get<double>(), record["history"][1].at("test_fidelity").get<double>(), 1e-9);
  // Fidelity is the share of test images where g's argmax is f's, recomputed here.
  auto folder = open_flint(dir_->path() / "joint");
  auto network = load_network(folder.provenance().model);
  const auto test_images = random_subset(test::fashion_test(), 200, 0).images;
  const auto outputs = run_flint(*network, folder.interpreter, test_images);
  const double agreement =
      outputs.interpreter_logits.argmax(1).eq(outputs.predictor_logits.argmax(1)).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(evaluation.at("fidelity").get<double>(), agreement, 1e-9);
}

TEST_F(FlintCommands, InterpretWritesLocalGlobalAndAttributePictures) {
  const auto out = dir_->path() / "interpretation";
  const auto result = run_prism("-q flint interpret --flint " + d() + "/joint --data fashion-mnist --test-size 200 "
                                "--indices 0:3 --top 4 --am-steps 20 --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* file : {"sample-000.png", "sample-002.png", "global-relevance.png", "attributes.png",
                           "attribute-05.png", "relevance.npy", "global-relevance.npy"})
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  const auto record = nlohmann::json::parse(std::ifstream(out / "interpretation.json"));
  ASSERT_EQ(record.at("samples").size(), 3u);
  for (const auto& sample : record["samples"]) {
    const auto r = sample.at("relevance").get<std::vector<double>>();
    double largest = 0;
    for (double v : r) largest = std::max(largest, std::abs(v));
    EXPECT_TRUE(largest == 0 || std::abs(largest - 1) < 1e-6);
    for (int64_t j : sample.at("local_interpretation").get<std::vector<int64_t>>()) EXPECT_GT(r[j], 0.5);
  }
  EXPECT_EQ(record.at("attributes").size(), 6u);
  EXPECT_EQ(read_npy(out / "global-relevance.npy").sizes(), (std::vector<int64_t>{10, 6}));
}

TEST_F(FlintCommands, PostHocLeavesTheModelFileUnchanged) {
  const auto model = dir_->path() / "f/model.prism";
  const auto before = file_fingerprint(model);
  const auto result = run_prism("-q flint posthoc --model " + model.string() + " --data fashion-mnist --train-size 600 "
                                "--test-size 200 --attributes 5 --epochs 1 --batch-size 32 --out " + d() + "/posthoc");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(file_fingerprint(model), before);
  EXPECT_FALSE(std::filesystem::exists(dir_->path() / "posthoc/model.prism"));
  // Evaluating it with another model is refused.
  test::expect_clean_failure(run_prism("-q flint evaluate --flint " + d() + "/posthoc --data fashion-mnist --test-size 50 "
                                       "--model " + d() + "/joint/model.prism"),
                             "is not the one");
}

TEST_F(FlintCommands, BadInputGetsOneClearLine) {
  const std::string train = "-q flint train --data fashion-mnist --train-size 100 --test-size 50 --epochs 1 ";
  test::expect_clean_failure(run_prism(train + "--attributes 1 --out " + d() + "/bad1"), "at least 2 attributes");
  test::expect_clean_failure(run_prism(train + "--layers relu2,nope --out " + d() + "/bad2"), "relu3");
  test::expect_clean_failure(run_prism(train + "--input-fidelity l3 --out " + d() + "/bad3"), "l2 or l1");
  test::expect_clean_failure(run_prism("-q flint evaluate --flint " + d() + "/f --data fashion-mnist"),
                             "holds no finished fit (no flint.json)");
  test::expect_clean_failure(run_prism("-q flint evaluate --flint " + d() + "/joint --data fashion-mnist --taus 1,2"),
                             "above 1");
  test::expect_clean_failure(run_prism("-q flint interpret --flint " + d() + "/joint --data fashion-mnist --tau 0.5 "
                                       "--out " + d() + "/bad4"),
                             "--tau");
  for (const char* folder : {"bad1", "bad2", "bad3", "bad4"}) EXPECT_FALSE(std::filesystem::exists(dir_->path() / folder));
}

}  // namespace
}  // namespace prism
